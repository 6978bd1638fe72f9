/**
 * `athanor history [-r A:B] [--verbose]`: the revisions of the graph, newest first. No
 * database needed: ranges are made of revisions, labels and `head`/`heads`/`base`.
 */
import { RevisionError } from "../errors.js";
import { listIds, type RevisionGraph } from "../revisions/graph.js";
import { describeRevision, outlineRevision, type RevisionDetails, type RevisionOutline } from "../revisions/summary.js";
import { parseTarget, resolveTarget } from "../revisions/targets.js";
import { inspectedGraph, type GraphOptions } from "./heads.js";

/** Options of {@link history}. */
export interface HistoryOptions extends GraphOptions {
  /**
   * `A:B`: the revisions that descend from A and lead to B, both included. Either side
   * may be empty (`:B` from base, `A:` up to every head).
   */
  readonly range?: string | undefined;
}

/** What {@link history} returns; `history --json` prints it. */
export interface HistoryResult {
  readonly range: { readonly from: string; readonly to: string } | null;
  /** Newest first (children before parents). */
  readonly revisions: readonly RevisionDetails[];
}

const RANGE_HINT =
  "write `-r A:B` with revisions, labels, `base`, `head`, `heads` or `<branch>@head`/`@base`/`@-N` on each side, the older first; either side may be empty (`-r :head`, `-r ae10:`)";

/**
 * One end of a range: revisions, or `base` (nothing). As the lower end, `<branch>@base`
 * is the roots of that branch's line (a range from the branch's base up).
 */
function resolveEnd(graph: RevisionGraph, text: string, range: string, end: "lower" | "upper"): readonly string[] | "base" {
  const trimmed = text.trim();
  if (trimmed.toLowerCase() === "current") {
    throw new RevisionError("invalid-range", `\`${range}\`: \`current\` needs a database, and history reads only the migrations directory`, {
      hint: "run `athanor current` to see the database's revision, then use it in the range",
      details: { range },
    });
  }
  const parsed = graph.hasLabel(trimmed) ? null : parseTarget(trimmed);
  if (parsed?.kind === "relative" && parsed.from === null) {
    throw new RevisionError("invalid-range", `\`${range}\`: \`${trimmed}\` counts from the database's current revision, and history reads only the migrations directory`, {
      hint: `count from a revision instead, such as \`head${trimmed}\``,
      details: { range },
    });
  }
  const resolved = resolveTarget(graph, parsed ?? trimmed, null);
  if (resolved.kind === "revisions") return resolved.ids;
  if (resolved.along === undefined || end === "upper") return "base";
  const way = graph.ancestors(resolved.along, { inclusive: true, dependencies: false });
  return graph.bases().filter((id) => way.has(id));
}

/**
 * Alembic's `RangeNotAncestorError`: the lower end of `-r A:B` must be below the upper
 * one. A reversed range (`-r head:base`, `-r new:old`) or ends on unrelated branches
 * would otherwise print nothing, as if there were no revisions.
 */
function checkRangeOrder(graph: RevisionGraph, range: string, from: string, to: string, lower: readonly string[] | "base", upper: readonly string[] | "base"): void {
  if (lower === "base") return;
  const below = upper === "base" ? new Set<string>() : graph.ancestors(upper, { inclusive: true });
  const outside = lower.filter((id) => !below.has(id));
  if (outside.length === 0) return;
  const reversed = upper === "base" || upper.every((id) => graph.ancestors(outside, { inclusive: true }).has(id));
  if (reversed) {
    throw new RevisionError("invalid-range", `\`${range}\` is reversed: ${from} (${listIds(outside)}) is not below ${to}`, {
      hint: `write the older end first: \`athanor history -r ${to}:${from}\``,
      details: { range, from, to },
    });
  }
  throw new RevisionError("invalid-range", `\`${range}\`: ${from} (${listIds(outside)}) is not an ancestor of ${to}: they are on different branches`, {
    hint: "`athanor history --graph` shows how the revisions relate; a range follows one line from an older revision to a newer one",
    details: { range, from, to },
  });
}

/**
 * The revision history, newest first, optionally limited to a range.
 * @example
 * (await history({ migrationsDir: "./migrations", range: "ae10:head" })).revisions.map((r) => r.id)
 */
export async function history(options: HistoryOptions): Promise<HistoryResult> {
  const { graph, range, ids } = await selectHistory(options);
  return { range, revisions: ids.map((id) => describeRevision(graph, id)) };
}

/** What {@link historyOutline} returns: the same revisions as {@link history}, in outline. */
export interface HistoryOutline {
  readonly range: HistoryResult["range"];
  /** Newest first. */
  readonly revisions: readonly RevisionOutline[];
}

/**
 * The revisions of {@link history} in outline (what a line of text shows): no lists of
 * children or dependents, no checksum getter per revision.
 */
export async function historyOutline(options: HistoryOptions): Promise<HistoryOutline> {
  const { graph, range, ids } = await selectHistory(options);
  return { range, revisions: ids.map((id) => outlineRevision(graph, id)) };
}

/** The graph, the range as written, and the ids it selects, newest first. */
async function selectHistory(options: HistoryOptions): Promise<{ graph: RevisionGraph; range: HistoryResult["range"]; ids: string[] }> {
  const graph = await inspectedGraph(options);
  if (options.range === undefined) return { graph, range: null, ids: graph.topologicalOrder().reverse() };
  const colon = options.range.indexOf(":");
  if (colon === -1 || options.range.indexOf(":", colon + 1) !== -1) {
    throw new RevisionError("invalid-range", `\`${options.range}\` is not a range`, { hint: RANGE_HINT, details: { range: options.range } });
  }
  const from = options.range.slice(0, colon).trim() || "base";
  const to = options.range.slice(colon + 1).trim() || "heads";
  const lower = resolveEnd(graph, from, options.range, "lower");
  const upper = resolveEnd(graph, to, options.range, "upper");
  checkRangeOrder(graph, options.range, from, to, lower, upper);
  if (upper === "base") return { graph, range: { from, to }, ids: [] };
  const below = graph.ancestors(upper, { inclusive: true });
  const above = lower === "base" ? null : graph.descendants(lower, { inclusive: true });
  return { graph, range: { from, to }, ids: [...below].filter((id) => above === null || above.has(id)).reverse() };
}
