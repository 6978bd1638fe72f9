/**
 * `athanor stamp TARGET... [--purge]`: records the database as being at the targets
 * without running any migration (Alembic's `stamp`): for each target, the version rows
 * become its revisions and their ancestors, and its descendants go (other branches
 * stay); several targets stamp several branches at once. `--purge` empties the version
 * table first (rows of any revision, known or not). Rows no file defines are dropped, and
 * the stored checksums of the kept rows are set to the files' (so stamping acknowledges
 * edited revisions). Takes the lock, runs the guards, writes one history row. Refused
 * (exit 5) while a non-transactional revision is unfinished: `resolve` settles it first.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import { ConfigError } from "../errors.js";
import type { GuardrailOptions } from "../guard/hook.js";
import { currentHeads } from "../plan/plan.js";
import type { Plan, Step } from "../plan/types.js";
import type { RevisionGraph } from "../revisions/graph.js";
import { loadRevisionGraph } from "../revisions/script-directory.js";
import { resolveTarget } from "../revisions/targets.js";
import { Bookkeeping } from "../run/bookkeeping.js";
import { runIdentity, runLockedCommand, type LockedCommandOptions } from "../run/connect.js";
import { plannedRevisions, guardsFor, type BeforeExecute, type MigrationHookContext } from "../run/migrate.js";
import { assertNothingUnfinished } from "../run/problems.js";
import { EMPTY_STATE, readAppliedState, type AppliedState } from "../run/version-table.js";

/** Options of {@link stamp}. */
export interface StampOptions extends LockedCommandOptions, GuardrailOptions {
  /** `head`, `heads`, `base`, an id or prefix, `label@head`, `+N`/`-N`...; several stamp several branches. */
  readonly target: string | readonly string[];
  /** Empty the version table before stamping (Alembic's `--purge`). */
  readonly purge?: boolean | undefined;
  readonly graph?: RevisionGraph | undefined;
  /** Guards of the caller's own, run after the guardrails, before the rows change. */
  readonly beforeExecute?: readonly BeforeExecute[] | undefined;
}

/** What {@link stamp} changed. */
export interface StampResult {
  readonly environment: string;
  /** The targets, as given, joined with spaces. */
  readonly target: string;
  /** Applied heads before and after. */
  readonly before: readonly string[];
  readonly current: readonly string[];
  /** Revisions recorded as applied (parents first). */
  readonly recorded: readonly string[];
  /** Revisions whose rows were removed. */
  readonly removed: readonly string[];
  /** Kept rows whose checksum was refreshed from the files. */
  readonly refreshed: readonly string[];
}

/**
 * The applied set after stamping `targets` over `applied` (pure). Each target in turn:
 * its descendants go, it and its ancestors are recorded; `base` removes everything.
 * @throws ConfigError when two targets are on one line of descent (one would undo the other)
 */
export function stampedSet(graph: RevisionGraph, applied: ReadonlySet<string>, targets: string | readonly string[]): Set<string> {
  const list = typeof targets === "string" ? [targets] : targets;
  let result = new Set([...applied].filter((id) => graph.has(id)));
  const current = currentHeads(graph, result);
  const chosen: { target: string; id: string }[] = [];
  for (const target of list) {
    const resolved = resolveTarget(graph, target, current);
    if (resolved.kind === "base") {
      result = resolved.along === undefined ? new Set() : withoutBranch(graph, result, resolved.along);
      continue;
    }
    for (const id of resolved.ids) {
      const clash = chosen.find((c) => c.id !== id && (graph.ancestors(id).has(c.id) || graph.descendants(id).has(c.id)));
      if (clash !== undefined) {
        throw new ConfigError("stamp-targets-overlap", `stamp targets \`${clash.target}\` and \`${target}\` are on the same line of descent (${clash.id} and ${id}): one would undo the other`, {
          hint: "Give one target per branch: the revision each branch should be at.",
          details: { targets: list, revisions: [clash.id, id] },
        });
      }
      chosen.push({ target, id });
      const above = graph.descendants(id);
      result = new Set([...result].filter((kept) => !above.has(kept)));
      for (const ancestor of graph.ancestors(id, { inclusive: true })) result.add(ancestor);
    }
  }
  return new Set(graph.sortTopologically(result));
}

/**
 * `branch@base`: the rows of the branch through `along` go (its ancestors and
 * descendants), except revisions that another kept branch still stands on.
 */
function withoutBranch(graph: RevisionGraph, applied: ReadonlySet<string>, along: string): Set<string> {
  const line = new Set([...graph.ancestors(along, { inclusive: true }), ...graph.descendants(along)]);
  const elsewhere = [...applied].filter((id) => !line.has(id));
  const needed = elsewhere.length === 0 ? new Set<string>() : graph.ancestors(elsewhere, { inclusive: true });
  return new Set([...applied].filter((id) => !line.has(id) || needed.has(id)));
}

/**
 * Sets the version rows to `target` without running migrations.
 * @example
 * await stamp(env, { target: "head" }); // an existing schema, now managed by athanor
 */
export async function stamp(env: ResolvedEnvironment, options: StampOptions): Promise<StampResult> {
  const graph = options.graph ?? (await loadRevisionGraph(env.migrationsDir));
  const targets = typeof options.target === "string" ? [options.target] : [...options.target];
  if (targets.length === 0) throw new ConfigError("stamp-target-missing", "stamp needs at least one target", { hint: "Name the revision to record, e.g. `athanor stamp head`." });
  const target = targets.join(" ");
  const purge = options.purge === true;
  return runLockedCommand(env, "stamp", options, async (session, emit) => {
    const state: AppliedState = (await readAppliedState(session, env.versionTable)) ?? EMPTY_STATE;
    assertNothingUnfinished(graph, state, "stamp");
    const before = currentHeads(graph, state.ids);
    const next = stampedSet(graph, purge ? new Set() : state.ids, targets);
    const recorded = [...next].filter((id) => purge || !state.ids.has(id));
    const removedKnown = graph.sortTopologically([...state.ids].filter((id) => graph.has(id) && (purge || !next.has(id)))).reverse();
    const removed = [...removedKnown, ...[...state.ids].filter((id) => !graph.has(id)).sort()];
    // Kept rows whose file changed since: a purge records them anew, otherwise their checksums are refreshed.
    const edited = [...next].filter((id) => {
      const row = state.byId.get(id);
      return row !== undefined && row.checksum !== graph.get(id).checksum;
    });
    const refreshed = purge ? [] : edited;
    const steps: Step[] = [
      ...removedKnown.filter((id) => !next.has(id)).map((id): Step => ({ revision: graph.get(id), direction: "down" })),
      ...recorded.filter((id) => !state.ids.has(id)).map((id): Step => ({ revision: graph.get(id), direction: "up" })),
    ];
    const plan: Plan = { direction: recorded.length > 0 || removed.length === 0 ? "up" : "down", steps, target };
    emit({ type: "plan", command: "stamp", direction: plan.direction, target, current: before, revisions: plannedRevisions(plan), singleTransaction: true });
    // For the confirmation: what the steps do not show. A purge rewrites every row (and so stores the files' checksums too).
    const unknownRemoved = removed.filter((id) => !graph.has(id));
    const otherChanges = [
      ...(purge && state.ids.size > 0 ? [`stamp --purge: empty the version table (${state.ids.size} row${state.ids.size === 1 ? "" : "s"}), then record ${next.size}`] : []),
      ...(unknownRemoved.length > 0 ? [`stamp: remove rows no file defines: ${unknownRemoved.join(", ")}`] : []),
      ...(edited.length > 0 ? [`stamp: accept the edited files (store their checksums): ${edited.join(", ")}`] : []),
    ];
    const context: MigrationHookContext = { env, command: "stamp", session, graph, state, current: before, plan, otherChanges, signal: options.signal, emit };
    for (const guard of guardsFor(env, options)) await guard(context);
    const after = currentHeads(graph, next);
    if (recorded.length > 0 || removed.length > 0 || refreshed.length > 0) {
      const bookkeeping = new Bookkeeping(session, env.versionTable, runIdentity(env));
      await bookkeeping.ensureTables();
      await bookkeeping.stamp({
        purge,
        removed,
        recorded: recorded.map((id) => ({ revision: id, checksum: graph.get(id).checksum })),
        refreshed: refreshed.map((id) => ({ revision: id, checksum: graph.get(id).checksum })),
        heads: after.length === 0 ? null : after.join(","),
        note: `stamp ${target}${purge ? " --purge" : ""}: ${recorded.length} recorded, ${removed.length} removed, ${refreshed.length} refreshed`,
      });
    }
    return { environment: env.name, target, before, current: after, recorded, removed, refreshed };
  });
}
