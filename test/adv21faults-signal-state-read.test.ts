/**
 * adv21faults finding 4: SIGINT while `upgrade`/`downgrade` reads the version table and that
 * read waits on a table lock another session holds (an `ALTER TABLE athanor_version ...`
 * left open in psql, a long maintenance transaction). The read is not cancelled: the
 * process waits for the other session however long it holds the lock, though the note said
 * "stopping: the running statement is cancelled". When the other session lets go:
 * - with revisions to run, it exits 130 with the old generic "any revision that was running
 *   was rolled back, and the lock released", which docs/runtime.md says was replaced (no
 *   revision was running; the words for this moment are "before the first change: no
 *   revision ran, nothing was changed");
 * - with nothing to run, it exits 0 (docs/runtime.md: "A run that got SIGINT/SIGTERM never
 *   exits 0").
 * Through the real binary on PostgreSQL (`npm run build` first).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { baseEnv, runCli } from "./support/cli.js";
import type { TestDatabase } from "./support/databases.js";
import type { EngineProject } from "./support/engine-project.js";
import { athanorWaitsOnLock, connect, startCli, startTwoTableProject, until, type TwoTableProject } from "./support/faults.js";

const A = "a21e21a21e21";
const B = "b21e21b21e21";

describe("adv21faults: a signal while the version table's read waits on a lock (PostgreSQL)", { timeout: 120_000 }, () => {
  let project: EngineProject;
  let db: TestDatabase;
  let observer: pg.Client;
  const env = () => baseEnv({ DATABASE_URL: db.url });
  const cli = (...argv: string[]) => runCli(argv, { cwd: project.dir, env: env() });
  const waitingOnLock = () => athanorWaitsOnLock(observer);

  let started: TwoTableProject;
  beforeAll(async () => {
    started = await startTwoTableProject("athanor_adv21_read", A, B);
    ({ project, db, observer } = started);
  });
  afterAll(async () => {
    await started?.stop();
  });

  /** Starts `argv` while another session holds ACCESS EXCLUSIVE on the version table, sends SIGINT once the read waits; `releaseFirst`: let go before the process ends. */
  async function interruptedRead(argv: string[], releaseFirst: boolean) {
    const holder = await connect(db.url);
    await holder.query("BEGIN");
    await holder.query("LOCK TABLE athanor_version IN ACCESS EXCLUSIVE MODE");
    let held = true;
    try {
      const run = startCli(argv, project.dir, env(), 60_000);
      await until(waitingOnLock, 20_000, "the version table's read waiting on the lock");
      run.child.kill("SIGINT");
      await until(() => run.stderr().includes("SIGINT: stopping"), 10_000, "the signal's note");
      if (releaseFirst) {
        await holder.query("COMMIT");
        held = false;
      } else {
        // The note says the running statement is cancelled: the process should end while the lock is still held.
        await until(() => run.child.exitCode !== null || run.child.signalCode !== null, 20_000, "the process to end while the other session still holds its lock");
      }
      return await run.done;
    } finally {
      if (held) await holder.query("COMMIT").catch(() => {});
      await holder.end();
    }
  }

  it("upgrade with revisions to run: the read is cancelled, exit 130, and the message says no revision ran", async () => {
    expect((await cli("stamp", A)).status).toBe(0);
    const result = await interruptedRead(["upgrade", "--json"], false);
    expect(result.status, result.stderr).toBe(130);
    const document = JSON.parse(result.stdout) as { error: { code: string; message: string } };
    expect(document.error.code).toBe("interrupted");
    expect(document.error.message).not.toContain("any revision that was running was rolled back");
    expect(document.error.message).toContain("no revision ran");
    expect((await observer.query("SELECT revision FROM athanor_version")).rows).toEqual([{ revision: A }]);
  });

  it("upgrade with nothing to run: a run that got SIGINT never exits 0", async () => {
    expect((await cli("stamp", B)).status).toBe(0);
    const result = await interruptedRead(["upgrade"], true);
    // Today: exit 0 and "development is up to date" after the note said the run stops.
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(130);
  });
});
