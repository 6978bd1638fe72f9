/**
 * The plan's check begun before the plan is known (issue #15, the apply row). A run on a
 * server spends its first tens of milliseconds waiting: for its two connections'
 * handshakes, for the lock, then for the applied state. Only then is the plan known, and
 * every revision of it read and checked before the first one runs (src/run/execute.ts,
 * preparePlan) — 1,000 files took ~60–100 ms of a fresh process, on the path to the
 * first change. While the state is awaited, the SQL revisions are checked here instead,
 * newest first (what an upgrade most likely runs), in slices of about a millisecond
 * between which the event loop answers the connections (src/event-loop-turns.ts); it stops as soon as the state
 * has arrived, and the plan's check uses what was checked and does the rest.
 *
 * Nothing here changes what a run checks or refuses: the check made here is the plan's
 * own (checkStep), run earlier on the same file; a file read here gets its checksum here,
 * and when its revision is sent its text must still have it ("edited after the check"
 * stops the run, as it always has). A failing check is not kept: the plan's check makes it
 * again, and throws, only if the revision is in the plan. Left for the plan's check: a
 * TypeScript revision (loading it runs its code, which an applied revision must never
 * do), and an SQL one whose check needs the SQL parser (loading it would outlast the wait).
 * Skipped: a revision whose check the header cache holds (src/revisions/section-check.ts),
 * which the plan's check does not read at all.
 */
import { sliceTurns } from "../event-loop-turns.js";
import { scannedSectionCheck } from "../revisions/script-directory.js";
import { sectionPassed } from "../revisions/section-check.js";
import type { RevisionGraph } from "../revisions/graph.js";
import type { RevisionFile } from "../revisions/types.js";
import { checkStep, type CheckedAhead, type CheckedSection } from "./execute.js";

/** A check of a graph's SQL revisions running until {@link CheckAhead.finish}. */
export class CheckAhead {
  readonly #checked = new Map<RevisionFile, CheckedSection>();
  #stopped = false;
  readonly #running: Promise<void>;

  /** Starts when the caller next awaits (what it does synchronously now comes first). */
  constructor(graph: RevisionGraph, echo: boolean) {
    this.#running = this.#run(graph, echo);
    // A run that fails before its plan's check never asks for the result.
    this.#running.catch(() => {});
  }

  /** Stops at the end of the current slice. */
  stop(): void {
    this.#stopped = true;
  }

  /** Stops, and gives what was checked once the slice running has ended. */
  async finish(): Promise<CheckedAhead> {
    this.stop();
    await this.#running;
    return this.#checked;
  }

  async #run(graph: RevisionGraph, echo: boolean): Promise<void> {
    const files = graph.revisions();
    const turn = sliceTurns();
    const options = { echo, parse: false, cachedChecks: true };
    await Promise.resolve();
    for (let i = files.length - 1; i >= 0; i--) {
      const next = turn();
      if (next !== null) await next;
      if (this.#stopped) return;
      const file = files[i] as RevisionFile;
      // Checked by a scan already (src/revisions/section-check.ts): the plan's check reads nothing for it.
      if (sectionPassed(scannedSectionCheck(file))) continue;
      try {
        const checked = await checkStep(file, "up", options);
        if (checked !== null) this.#checked.set(file, checked);
      } catch {
        // Checked again by the plan, which reports it if the revision is to run.
      }
    }
  }
}
