/** `athanor branches`: the branch points of the revision graph and where they lead. */
import { summarizeRevision, type RevisionSummary } from "../revisions/summary.js";
import { inspectedGraph, type GraphOptions } from "./heads.js";

/** A revision that two or more revisions follow. */
export interface BranchPoint {
  readonly revision: RevisionSummary;
  /** The revisions that follow it, oldest first. */
  readonly children: readonly RevisionSummary[];
  /** The heads each branch ends in (ids), oldest first. */
  readonly heads: readonly string[];
}

/** What {@link branches} returns; `branches --json` prints it. */
export interface BranchesResult {
  readonly branchPoints: readonly BranchPoint[];
}

/**
 * The branch points of the revision graph, oldest first.
 * @example
 * (await branches({ migrationsDir: "./migrations" })).branchPoints.length
 */
export async function branches(options: GraphOptions): Promise<BranchesResult> {
  const graph = await inspectedGraph(options);
  return {
    branchPoints: graph.branchPoints().map((id) => ({
      revision: summarizeRevision(graph, id),
      children: graph.childrenOf(id).map((child) => summarizeRevision(graph, child)),
      heads: graph.headsAbove(id),
    })),
  };
}
