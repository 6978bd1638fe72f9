/**
 * `athanor stamp TARGET`: records the database as being at TARGET without running any
 * migration: the version rows become exactly the target's revisions and their ancestors
 * (other branches stay), rows no file defines are dropped, and the stored checksums of
 * the kept rows are set to the files' (so stamping acknowledges edited revisions).
 * Takes the lock, runs the guards, writes one history row.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import type { GuardrailOptions } from "../guard/hook.js";
import { currentHeads } from "../plan/plan.js";
import type { Plan, Step } from "../plan/types.js";
import type { RevisionGraph } from "../revisions/graph.js";
import { loadRevisionGraph } from "../revisions/script-directory.js";
import { resolveTarget } from "../revisions/targets.js";
import { runIdentity, runLockedCommand, type LockedCommandOptions } from "../run/connect.js";
import { plannedRevisions, guardsFor, type BeforeExecute, type MigrationHookContext } from "../run/migrate.js";
import {
  EMPTY_STATE,
  deleteVersionRowSql,
  ensureVersionTables,
  insertHistorySql,
  insertVersionRowSql,
  readAppliedState,
  versionTables,
  type AppliedState,
} from "../run/version-table.js";
import { quoteLiteral } from "../dialects/sql.js";

/** Options of {@link stamp}. */
export interface StampOptions extends LockedCommandOptions, GuardrailOptions {
  /** `head`, `heads`, `base`, an id or prefix, `label@head`, `+N`/`-N`... */
  readonly target: string;
  readonly graph?: RevisionGraph | undefined;
  /** Guards of the caller's own, run after the guardrails, before the rows change. */
  readonly beforeExecute?: readonly BeforeExecute[] | undefined;
}

/** What {@link stamp} changed. */
export interface StampResult {
  readonly environment: string;
  readonly target: string;
  /** Applied heads before and after. */
  readonly before: readonly string[];
  readonly current: readonly string[];
  /** Revisions recorded as applied (parents first). */
  readonly recorded: readonly string[];
  /** Revisions whose rows were removed. */
  readonly removed: readonly string[];
  /** Kept rows whose checksum (or unfinished state) was refreshed from the files. */
  readonly refreshed: readonly string[];
}

/** The applied set after stamping `target` over `applied` (pure). */
export function stampedSet(graph: RevisionGraph, applied: ReadonlySet<string>, target: string): Set<string> {
  const known = new Set([...applied].filter((id) => graph.has(id)));
  const resolved = resolveTarget(graph, target, currentHeads(graph, known));
  if (resolved.kind === "base") return new Set();
  let result = known;
  for (const id of resolved.ids) {
    const above = graph.descendants(id);
    result = new Set([...result].filter((applied) => !above.has(applied)));
    for (const ancestor of graph.ancestors(id, { inclusive: true })) result.add(ancestor);
  }
  return new Set(graph.sortTopologically(result));
}

/**
 * Sets the version rows to `target` without running migrations.
 * @example
 * await stamp(env, { target: "head" }); // an existing schema, now managed by athanor
 */
export async function stamp(env: ResolvedEnvironment, options: StampOptions): Promise<StampResult> {
  const graph = options.graph ?? (await loadRevisionGraph(env.migrationsDir));
  return runLockedCommand(env, "stamp", options, async (session, emit) => {
    const state: AppliedState = (await readAppliedState(session, env.versionTable)) ?? EMPTY_STATE;
    const before = currentHeads(graph, state.ids);
    const next = stampedSet(graph, state.ids, options.target);
    const recorded = [...next].filter((id) => !state.ids.has(id));
    const removedKnown = graph.sortTopologically([...state.ids].filter((id) => graph.has(id) && !next.has(id))).reverse();
    const removed = [...removedKnown, ...[...state.ids].filter((id) => !graph.has(id)).sort()];
    const refreshed = [...next].filter((id) => {
      const row = state.byId.get(id);
      return row !== undefined && (row.checksum !== graph.get(id).checksum || row.state !== "applied");
    });
    const steps: Step[] = [
      ...removedKnown.map((id): Step => ({ revision: graph.get(id), direction: "down" })),
      ...recorded.map((id): Step => ({ revision: graph.get(id), direction: "up" })),
    ];
    const plan: Plan = { direction: recorded.length > 0 || removed.length === 0 ? "up" : "down", steps, target: options.target };
    emit({ type: "plan", command: "stamp", direction: plan.direction, target: options.target, current: before, revisions: plannedRevisions(plan), singleTransaction: true });
    const context: MigrationHookContext = { env, command: "stamp", session, graph, state, current: before, plan, signal: options.signal, emit };
    for (const guard of guardsFor(env, options)) await guard(context);
    const after = currentHeads(graph, next);
    if (recorded.length > 0 || removed.length > 0 || refreshed.length > 0) {
      await ensureVersionTables(session, env.versionTable);
      const tables = versionTables(env.versionTable);
      const identity = runIdentity(env);
      const timing = { startedAt: "clock_timestamp()", durationMs: "NULL" };
      const sql = [
        "BEGIN;",
        ...removed.map((id) => deleteVersionRowSql(tables, id)),
        ...recorded.map((id) => insertVersionRowSql(tables, identity, id, graph.get(id).checksum, "applied", timing)),
        ...refreshed.map((id) => `UPDATE ${tables.versions} SET checksum = ${quoteLiteral(graph.get(id).checksum)}, state = 'applied' WHERE revision = ${quoteLiteral(id)};`),
        insertHistorySql(
          tables,
          identity,
          {
            direction: "stamp",
            revision: after.length === 0 ? null : after.join(","),
            outcome: "success",
            note: `stamp ${options.target}: ${recorded.length} recorded, ${removed.length} removed, ${refreshed.length} refreshed`,
          },
          timing,
        ),
        "COMMIT;",
      ].join("\n");
      await session.exec(sql).catch(async (error: unknown) => {
        await session.exec("ROLLBACK").catch(() => {});
        throw error;
      });
    }
    return { environment: env.name, target: options.target, before, current: after, recorded, removed, refreshed };
  });
}
