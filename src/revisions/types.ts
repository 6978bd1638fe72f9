/**
 * What a revision is (DESIGN.md §4). Headers are read from files by scanning text,
 * never by importing a module: building the graph of 10,000 revisions must stay fast.
 */

/** What the header of a revision file says. */
export interface RevisionHeader {
  /** 12 hex characters. */
  readonly id: string;
  /** Parent ids: none for a root, two or more for a merge. */
  readonly parents: readonly string[];
  readonly message: string;
  readonly branchLabels: readonly string[];
  readonly dependsOn: readonly string[];
  /** False for `-- athanor:transaction false` (e.g. CREATE INDEX CONCURRENTLY). */
  readonly transactional: boolean;
  /** Linter rules this revision explicitly allows (`-- athanor:allow RULE`). */
  readonly allow: readonly string[];
}

/** A revision as found in the migrations directory: header, where it is, its checksum. */
export interface RevisionFile extends RevisionHeader {
  /** Absolute path. */
  readonly path: string;
  /** Path relative to the migrations directory, for messages. */
  readonly relativePath: string;
  readonly format: "sql" | "ts";
  /** sha256 hex of the file's text with line endings normalised to \n. */
  readonly checksum: string;
}
