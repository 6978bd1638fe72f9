/**
 * Planning (pure): graph + applied revisions + target → ordered steps. athanor keeps
 * one version row per applied revision, so planning works on sets: an upgrade applies
 * every ancestor of the target that is not applied yet, a downgrade reverts every
 * applied revision that descends from the target, and the database's current heads are
 * the applied revisions with no applied child.
 */
import { RevisionError } from "../errors.js";
import { listIds, type RevisionGraph } from "../revisions/graph.js";
import { parseTarget, resolveTarget, type ParsedTarget } from "../revisions/targets.js";
import type { Plan, Step } from "./types.js";

/**
 * The applied revisions that no applied revision names as its parent, in topological
 * order, followed by applied ids the graph does not know (sorted): what `current` shows.
 * @example
 * currentHeads(graph, new Set(["aaaaaaaaaaaa", "bbbbbbbbbbbb"])) // ["bbbbbbbbbbbb"] when b's parent is a
 */
export function currentHeads(graph: RevisionGraph, applied: ReadonlySet<string>): string[] {
  const unknown: string[] = [];
  for (const id of applied) if (!graph.has(id)) unknown.push(id);
  return [...graph.headsOf(applied), ...unknown.sort()];
}

function steps(graph: RevisionGraph, ids: Iterable<string>, direction: "up" | "down"): Step[] {
  return [...ids].map((id) => ({ revision: graph.get(id), direction }));
}

/**
 * Plans an upgrade to `target` (default `head` at the CLI): every ancestor-or-self of the
 * target's revisions (parents and dependencies) that is not applied, parents first.
 * Throws `target-below-current` when the target is already applied below a current head
 * (that is a downgrade), and the errors of {@link resolveTarget}. `current` is
 * {@link currentHeads} of `applied`, when the caller has it already.
 * @example
 * planUpgrade(graph, new Set(), "head").steps.map((step) => step.revision.id)
 */
export function planUpgrade(graph: RevisionGraph, applied: ReadonlySet<string>, target: string, current: readonly string[] = currentHeads(graph, applied)): Plan {
  const parsed = parsedTarget(graph, target);
  if (parsed?.kind === "branch-relative" && parsed.steps < 0) {
    throw new RevisionError("wrong-direction", `cannot upgrade to \`${target}\`: it counts down the branch`, {
      hint: `to revert, run \`athanor downgrade ${target}\`; \`${parsed.branch}@+${-parsed.steps}\` counts up`,
      details: { target },
    });
  }
  const resolved = resolveTarget(graph, parsed ?? target, current);
  if (resolved.kind === "base") {
    throw new RevisionError("target-below-current", `cannot upgrade to \`${target}\`: it is below every revision`, {
      hint: `to revert, run \`athanor downgrade ${target}\``,
      details: { target },
    });
  }
  const currentSet = new Set(current);
  const below = resolved.ids.filter((id) => applied.has(id) && !currentSet.has(id));
  if (below.length > 0) {
    throw new RevisionError("target-below-current", `cannot upgrade to \`${target}\` (${listIds(below)}): it is below the current revision (${listIds(current)})`, {
      hint: `to go back to it, run \`athanor downgrade ${target}\``,
      details: { target, revisions: below, current },
    });
  }
  const needed = graph.ancestorsNotIn(resolved.ids, applied);
  return { direction: "up", steps: steps(graph, needed, "up"), target };
}

/**
 * Plans a downgrade to `target`: every applied revision that descends from the target's
 * revisions (through parents or dependencies), children before parents. `base` reverts
 * everything applied. As in Alembic, branches that do not descend from the target stay.
 * Throws `target-not-applied` when the target is not applied, and
 * `unknown-applied-revision` when the database holds revisions without a file here.
 * `current` is {@link currentHeads} of `applied`, when the caller has it already.
 * @example
 * planDowngrade(graph, applied, "-1").steps[0]?.revision.id
 */
export function planDowngrade(graph: RevisionGraph, applied: ReadonlySet<string>, target: string, current: readonly string[] = currentHeads(graph, applied)): Plan {
  const unknown = [...applied].filter((id) => !graph.has(id)).sort();
  if (unknown.length > 0) {
    throw new RevisionError("unknown-applied-revision", `the database has applied revisions that are not in the migrations directory: ${listIds(unknown)}`, {
      hint: "check out the code that has those revision files before downgrading (`athanor current` shows the database's revisions)",
      details: { unknown },
    });
  }
  const parsed = parsedTarget(graph, target);
  if (parsed?.kind === "branch-relative" && parsed.steps > 0) {
    throw new RevisionError("wrong-direction", `cannot downgrade to \`${target}\`: it counts up the branch`, {
      hint: `to apply, run \`athanor upgrade ${target}\`; \`${parsed.branch}@-${parsed.steps}\` counts down`,
      details: { target },
    });
  }
  const resolved = resolveTarget(graph, parsed ?? target, current);
  let revert: string[];
  if (resolved.kind === "base") {
    revert = resolved.along === undefined ? graph.sortTopologically(applied) : revertAlong(graph, applied, graph.bases(), resolved.along);
  } else if (resolved.along !== undefined) {
    const notApplied = resolved.ids.filter((id) => !applied.has(id));
    if (notApplied.length > 0) throw targetNotApplied(target, notApplied, current);
    revert = revertAlong(graph, applied, resolved.ids.flatMap((id) => graph.childrenOf(id)), resolved.along);
  } else {
    const notApplied = resolved.ids.filter((id) => !applied.has(id));
    if (notApplied.length > 0) throw targetNotApplied(target, notApplied, current);
    const keep = graph.ancestors(resolved.ids, { inclusive: true });
    revert = [...graph.descendants(resolved.ids)].filter((id) => applied.has(id) && !keep.has(id));
  }
  return { direction: "down", steps: steps(graph, revert.reverse(), "down"), target };
}

/** The target's syntax, or null for a bare branch label (which {@link resolveTarget} reads first). */
function parsedTarget(graph: RevisionGraph, target: string): ParsedTarget | null {
  return graph.hasLabel(target.trim()) ? null : parseTarget(target);
}

function targetNotApplied(target: string, notApplied: readonly string[], current: readonly string[]): RevisionError {
  return new RevisionError("target-not-applied", `cannot downgrade to \`${target}\` (${listIds(notApplied)}): it is not applied`, {
    hint: `to apply it, run \`athanor upgrade ${target}\`; \`athanor current\` shows what is applied`,
    details: { target, revisions: notApplied, current },
  });
}

/**
 * A downgrade along one branch: of `starts` (the target's children, or the roots for a
 * branch's base), those on the way up to `along` and everything applied above them
 * (through parents or dependencies), as in Alembic's downgrade to `<branch>@-N` or
 * `<branch>@base`. Other branches above the target stay.
 */
function revertAlong(graph: RevisionGraph, applied: ReadonlySet<string>, starts: readonly string[], along: string): string[] {
  const way = graph.ancestors(along, { inclusive: true, dependencies: false });
  const onWay = starts.filter((id) => way.has(id));
  if (onWay.length === 0) return [];
  return [...graph.descendants(onWay, { inclusive: true })].filter((id) => applied.has(id));
}

/** How a database's applied revisions compare with the migrations directory. */
export type DatabaseState = "up-to-date" | "behind" | "ahead" | "diverged";

/** The state and the facts behind it. */
export interface StateReport {
  /**
   * `up-to-date`: every revision applied and nothing else; `behind`: revisions to apply;
   * `ahead`: the database has revisions this directory lacks; `diverged`: both.
   */
  readonly state: DatabaseState;
  /** Revisions not applied yet, parents first. */
  readonly pending: readonly string[];
  /** Applied ids the graph does not know, sorted. */
  readonly unknown: readonly string[];
  /** The database's current heads (see {@link currentHeads}). */
  readonly current: readonly string[];
  /** The graph's heads. */
  readonly heads: readonly string[];
}

/**
 * Compares the applied revisions with the graph, for `status` and `check`.
 * @example
 * classifyState(graph, new Set()).state // "behind" (or "up-to-date" for an empty directory)
 */
export function classifyState(graph: RevisionGraph, applied: ReadonlySet<string>): StateReport {
  const pending = graph.topologicalOrder().filter((id) => !applied.has(id));
  const unknown = [...applied].filter((id) => !graph.has(id)).sort();
  const state: DatabaseState = unknown.length > 0 ? (pending.length > 0 ? "diverged" : "ahead") : pending.length > 0 ? "behind" : "up-to-date";
  return { state, pending, unknown, current: currentHeads(graph, applied), heads: graph.heads() };
}
