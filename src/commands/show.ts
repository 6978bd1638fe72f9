/** `athanor show REV`: everything about one revision (or every head), without running it. */
import type { RevisionGraph } from "../revisions/graph.js";
import { readRevisionText } from "../revisions/script-directory.js";
import { splitSqlSections, type SqlSection } from "../revisions/sql-sections.js";
import { describeRevision, type RevisionDetails } from "../revisions/summary.js";
import { resolveRevision } from "../revisions/targets.js";
import { inspectedGraph, type GraphOptions } from "./heads.js";

/** Options of {@link show}. */
export interface ShowOptions extends GraphOptions {
  /** A revision id or prefix, a branch label, `head`, `<branch>@head`, `<branch>@-N` (down from the branch's head), `<rev>-N`, or `heads`. */
  readonly revision: string;
}

/** One revision as `show` prints it. */
export interface ShownRevision extends RevisionDetails {
  /** The SQL sections of an SQL revision (null for TypeScript, whose code is not run to show it). */
  readonly sql: { readonly upgrade: SqlSection; readonly downgrade: SqlSection | null } | null;
}

/** What {@link show} returns; `show --json` prints it. */
export interface ShowResult {
  readonly revisions: readonly ShownRevision[];
}

function shown(graph: RevisionGraph, id: string): ShownRevision {
  const details = describeRevision(graph, id);
  if (details.format !== "sql") return { ...details, sql: null };
  const sections = splitSqlSections(readRevisionText(details.path, details.file), details.file);
  return { ...details, sql: { upgrade: sections.upgrade, downgrade: sections.downgrade } };
}

/**
 * Describes a revision: header, file, checksum, neighbours and, for SQL, its sections.
 * `heads` describes every head.
 * @example
 * (await show({ migrationsDir: "./migrations", revision: "3f2a" })).revisions[0]?.message
 */
export async function show(options: ShowOptions): Promise<ShowResult> {
  const graph = await inspectedGraph(options);
  const ids = options.revision.trim().toLowerCase() === "heads" ? graph.heads() : [resolveRevision(graph, options.revision)];
  return { revisions: ids.map((id) => shown(graph, id)) };
}
