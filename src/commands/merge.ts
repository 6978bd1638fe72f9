/** `athanor merge -m MSG REV...`: a revision whose parents are the given revisions (or every head). */
import { RevisionError } from "../errors.js";
import type { RevisionFormat } from "../revisions/header.js";
import { resolveRevision } from "../revisions/targets.js";
import { inspectedGraph, type GraphOptions } from "./heads.js";
import { writeNewRevision, type CreatedRevision } from "./revision.js";

/** Options of {@link merge}. */
export interface MergeOptions extends GraphOptions {
  readonly message: string;
  /** Revisions to merge: ids, prefixes, labels, `<label>@head`, or `heads` for every head. */
  readonly revisions: readonly string[];
  /** `sql` (default) or `ts`. */
  readonly format?: RevisionFormat | undefined;
  readonly branchLabel?: string | undefined;
}

/**
 * Writes a merge revision (no SQL of its own) joining two or more branches.
 * @example
 * await merge({ migrationsDir: "./migrations", message: "merge heads", revisions: ["heads"] });
 */
export async function merge(options: MergeOptions): Promise<CreatedRevision> {
  const graph = await inspectedGraph(options);
  const ids: string[] = [];
  for (const ref of options.revisions) {
    const found = ref.trim().toLowerCase() === "heads" ? graph.heads() : [resolveRevision(graph, ref)];
    for (const id of found) if (!ids.includes(id)) ids.push(id);
  }
  if (ids.length < 2) {
    throw new RevisionError("nothing-to-merge", ids.length === 0 ? "there is nothing to merge" : `only one revision to merge (${ids[0] ?? ""})`, {
      hint: "a merge joins two or more heads: `athanor heads` lists them, `athanor merge -m MSG heads` merges them all",
      details: { revisions: ids },
    });
  }
  for (const id of ids) {
    // Only descent through `down` makes a merge pointless; a dependency does not.
    const ancestors = graph.ancestors(id, { dependencies: false });
    const covered = ids.find((other) => other !== id && ancestors.has(other));
    if (covered !== undefined) {
      throw new RevisionError("merge-of-ancestor", `${covered} is an ancestor of ${id}: there is nothing to merge between them`, {
        hint: `leave ${covered} out of the merge`,
        details: { ancestor: covered, descendant: id },
      });
    }
  }
  const labels = options.branchLabel === undefined ? [] : [options.branchLabel];
  const format = options.format ?? "sql";
  const bodies = format === "sql" ? { upgradeSql: "-- a merge revision: nothing to apply\n", downgradeSql: "-- a merge revision: nothing to revert\n" } : {};
  return writeNewRevision(graph, options.migrationsDir, { parents: ids, message: options.message, branchLabels: labels, dependsOn: [], transactional: true, allow: [] }, format, bodies);
}
