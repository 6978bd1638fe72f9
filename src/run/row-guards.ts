/**
 * The guards of the commands that change version rows without a plan of revisions
 * (`repair`, `resolve`): the same pipeline as `stamp` (src/guard/hook.ts) — identity,
 * the plan shown and the confirmation on a protected environment, the backup, the
 * environment's name recorded — with what the command will change as the plan's lines
 * and no step. Storing a checksum or settling an unfinished revision is how a file's edit
 * or a half-run revision gets past the checks, so it needs the same consent as a stamp.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import type { Session } from "../dialects/types.js";
import type { GuardrailOptions } from "../guard/hook.js";
import { currentHeads } from "../plan/plan.js";
import type { RevisionGraph } from "../revisions/graph.js";
import type { LockedCommandOptions } from "./connect.js";
import type { EventInput } from "./events.js";
import { guardsFor, type MigrationHookContext } from "./migrate.js";
import type { AppliedState } from "./version-table.js";

/** What a row-changing command is about to do, read under the lock. */
export interface RowChange {
  readonly command: "repair" | "resolve";
  readonly session: Session;
  readonly graph: RevisionGraph;
  readonly state: AppliedState;
  /** One line per change, as the confirmation lists them (none: only the identity is checked). */
  readonly otherChanges: readonly string[];
  readonly emit: (event: EventInput) => void;
}

/**
 * Runs the guardrails (unless `guardrails: false`) before a row-changing command writes.
 * Call it with the lock held, after reading the rows, before the first write.
 * @throws RefusedError (exit 3): another environment's database, a protected environment without confirmation
 * @throws DatabaseError (exit 1): the backup could not be taken
 */
export async function runRowGuards(env: ResolvedEnvironment, options: GuardrailOptions & LockedCommandOptions, change: RowChange): Promise<void> {
  const context: MigrationHookContext = {
    env,
    command: change.command,
    session: change.session,
    graph: change.graph,
    state: change.state,
    current: currentHeads(change.graph, change.state.ids),
    plan: { direction: "up", steps: [], target: "" },
    otherChanges: change.otherChanges,
    signal: options.signal,
    emit: change.emit,
  };
  for (const guard of guardsFor(env, options)) await guard(context);
}
