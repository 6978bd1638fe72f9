/** `athanor heads [--check]`: the heads of the revision graph. No database needed. */
import { ProblemError } from "../errors.js";
import { listIds, type RevisionGraph } from "../revisions/graph.js";
import { loadRevisionGraph } from "../revisions/script-directory.js";
import { summarizeRevision, type RevisionSummary } from "../revisions/summary.js";

/** Where the graph comes from: a migrations directory, or a graph already built. */
export interface GraphOptions {
  readonly migrationsDir: string;
  readonly graph?: RevisionGraph | undefined;
  /** The header cache's directory (the project's `.athanor/`, see `projectCacheDir`); none when absent. */
  readonly cacheDir?: string | null | undefined;
}

/**
 * The graph the inspection commands work on: headers only, from the cache where the
 * files are unchanged; a checksum is read from its file only if asked for.
 */
export function inspectedGraph(options: GraphOptions): Promise<RevisionGraph> {
  return options.graph !== undefined ? Promise.resolve(options.graph) : loadRevisionGraph(options.migrationsDir, { cacheDir: options.cacheDir, checksums: false });
}

/** What {@link heads} returns; `heads --json` prints it. */
export interface HeadsResult {
  /** The heads, oldest first. */
  readonly heads: readonly RevisionSummary[];
}

/**
 * The heads of the revision graph (revisions nothing follows).
 * @example
 * (await heads({ migrationsDir: "./migrations" })).heads.map((head) => head.id)
 */
export async function heads(options: GraphOptions): Promise<HeadsResult> {
  const graph = await inspectedGraph(options);
  return { heads: graph.heads().map((id) => summarizeRevision(graph, id)) };
}

/**
 * Throws a ProblemError (exit 5) when there is more than one head: the `heads --check`
 * gate that keeps a branch from being merged with two heads.
 */
export function assertSingleHead(result: HeadsResult): void {
  if (result.heads.length <= 1) return;
  const ids = result.heads.map((head) => head.id);
  throw new ProblemError("multiple-heads", `the revision graph has ${ids.length} heads: ${listIds(ids)}`, {
    hint: 'merge them with `athanor merge -m "merge heads" heads` and commit the merge revision',
    details: { heads: result.heads },
  });
}
