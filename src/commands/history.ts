/**
 * `athanor history [-r A:B] [--verbose]`: the revisions of the graph, newest first. No
 * database needed: ranges are made of revisions, labels and `head`/`heads`/`base`.
 */
import { RevisionError } from "../errors.js";
import type { RevisionGraph } from "../revisions/graph.js";
import { describeRevision, type RevisionDetails } from "../revisions/summary.js";
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

const RANGE_HINT = "write `-r A:B` with revisions, labels, `base`, `head` or `heads` on each side; either side may be empty (`-r :head`, `-r ae10:`)";

function resolveEnd(graph: RevisionGraph, text: string, range: string): Set<string> | "base" {
  const trimmed = text.trim();
  if (trimmed.toLowerCase() === "current") {
    throw new RevisionError("invalid-range", `\`${range}\`: \`current\` needs a database, and history reads only the migrations directory`, {
      hint: "run `athanor current` to see the database's revision, then use it in the range",
      details: { range },
    });
  }
  const parsed = parseTarget(trimmed);
  if (parsed.kind === "relative" && parsed.from === null) {
    throw new RevisionError("invalid-range", `\`${range}\`: \`${trimmed}\` counts from the database's current revision, and history reads only the migrations directory`, {
      hint: `count from a revision instead, such as \`head${trimmed}\``,
      details: { range },
    });
  }
  const resolved = resolveTarget(graph, trimmed, []);
  return resolved.kind === "base" ? "base" : new Set(resolved.ids);
}

/**
 * The revision history, newest first, optionally limited to a range.
 * @example
 * (await history({ migrationsDir: "./migrations", range: "ae10:head" })).revisions.map((r) => r.id)
 */
export async function history(options: HistoryOptions): Promise<HistoryResult> {
  const graph = await inspectedGraph(options);
  let selected: string[];
  let range: HistoryResult["range"] = null;
  if (options.range === undefined) {
    selected = graph.topologicalOrder();
  } else {
    const colon = options.range.indexOf(":");
    if (colon === -1 || options.range.indexOf(":", colon + 1) !== -1) {
      throw new RevisionError("invalid-range", `\`${options.range}\` is not a range`, { hint: RANGE_HINT, details: { range: options.range } });
    }
    const from = options.range.slice(0, colon).trim() || "base";
    const to = options.range.slice(colon + 1).trim() || "heads";
    range = { from, to };
    const lower = resolveEnd(graph, from, options.range);
    const upper = resolveEnd(graph, to, options.range);
    if (upper === "base") {
      selected = [];
    } else {
      const below = graph.ancestors(upper, { inclusive: true });
      const above = lower === "base" ? null : graph.descendants(lower, { inclusive: true });
      selected = [...below].filter((id) => above === null || above.has(id));
    }
  }
  return { range, revisions: selected.reverse().map((id) => describeRevision(graph, id)) };
}
