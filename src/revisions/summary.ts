/**
 * What the inspection commands (`heads`, `branches`, `history`, `show`) say about a
 * revision: plain data, ready for text rendering or `--json`. Pure.
 */
import type { RevisionGraph } from "./graph.js";

/** A revision as the inspection commands list it. */
export interface RevisionSummary {
  readonly id: string;
  /** Parent ids (`down`); empty for a root, two or more for a merge. */
  readonly parents: readonly string[];
  readonly message: string;
  readonly branchLabels: readonly string[];
  /** Ids this revision depends on (branch labels resolved). */
  readonly dependsOn: readonly string[];
  /** The file, relative to the migrations directory. */
  readonly file: string;
  readonly format: "sql" | "ts";
  readonly transactional: boolean;
  readonly isHead: boolean;
  readonly isBase: boolean;
  readonly isBranchPoint: boolean;
  readonly isMerge: boolean;
}

/** Everything known about a revision without running it. */
export interface RevisionDetails extends RevisionSummary {
  /** Ids of the revisions whose `down` names this one. */
  readonly children: readonly string[];
  /** Ids of the revisions that depend on this one. */
  readonly dependents: readonly string[];
  /** Linter rules this revision allows. */
  readonly allow: readonly string[];
  /** Absolute path of the file. */
  readonly path: string;
  /** sha256 of the file's text (LF line endings), as the version table records it. */
  readonly checksum: string;
}

/** What one line of `history` shows: a revision without the lists and the checksum of its details. */
export type RevisionOutline = Pick<RevisionSummary, "id" | "parents" | "message" | "branchLabels" | "isHead" | "isBranchPoint" | "isMerge">;

/**
 * The outline of one revision: a literal of seven fields, no array built. `history`
 * lists 10,000 of them where it prints one line each.
 */
export function outlineRevision(graph: RevisionGraph, id: string): RevisionOutline {
  const file = graph.get(id);
  const children = graph.childCount(id);
  return { id, parents: file.parents, message: file.message, branchLabels: file.branchLabels, isHead: children === 0, isBranchPoint: children > 1, isMerge: file.parents.length > 1 };
}

/**
 * The summary of one revision of the graph.
 * @example
 * summarizeRevision(graph, "3f2a9c1d0b7e").isHead // true
 */
export function summarizeRevision(graph: RevisionGraph, id: string): RevisionSummary {
  const file = graph.get(id);
  const children = graph.childrenOf(id);
  return {
    id,
    parents: file.parents,
    message: file.message,
    branchLabels: file.branchLabels,
    dependsOn: graph.dependenciesOf(id),
    file: file.relativePath,
    format: file.format,
    transactional: file.transactional,
    isHead: children.length === 0,
    isBase: file.parents.length === 0,
    isBranchPoint: children.length > 1,
    isMerge: file.parents.length > 1,
  };
}

/**
 * The details of one revision of the graph. The checksum is read from the file only when
 * it is used (printed, serialised): `history` lists details without reading any file.
 */
export function describeRevision(graph: RevisionGraph, id: string): RevisionDetails {
  const file = graph.get(id);
  const children = graph.childrenOf(id);
  // Written out rather than spread from summarizeRevision: `history` describes every
  // revision, and one literal of a fixed shape (children listed once) costs far less.
  // The order of the fields is the JSON's.
  return {
    id,
    parents: file.parents,
    message: file.message,
    branchLabels: file.branchLabels,
    dependsOn: graph.dependenciesOf(id),
    file: file.relativePath,
    format: file.format,
    transactional: file.transactional,
    isHead: children.length === 0,
    isBase: file.parents.length === 0,
    isBranchPoint: children.length > 1,
    isMerge: file.parents.length > 1,
    children,
    dependents: graph.dependentsOf(id),
    allow: file.allow,
    path: file.path,
    get checksum(): string {
      return file.checksum;
    },
  };
}
