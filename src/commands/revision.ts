/**
 * `athanor revision -m MSG`: writes a new revision file on top of the current head (or
 * of `--head`), in SQL or TypeScript. No database is involved; autogenerate calls this
 * with the SQL it computed.
 */
import { RevisionError } from "../errors.js";
import { listIds, type RevisionGraph } from "../revisions/graph.js";
import type { RevisionFormat } from "../revisions/header.js";
import { branchLabelProblem } from "../revisions/ids.js";
import { loadRevisionGraph } from "../revisions/script-directory.js";
import { resolveRevision } from "../revisions/targets.js";
import type { RevisionHeader } from "../revisions/types.js";
import { newRevisionId, writeRevisionFile, type RevisionBodies } from "../revisions/write.js";

/** Options of {@link createRevision}. */
export interface CreateRevisionOptions {
  /** Absolute or relative path of the migrations directory. */
  readonly migrationsDir: string;
  readonly message: string;
  /** `sql` (default) or `ts`. */
  readonly format?: RevisionFormat | undefined;
  /**
   * The parent: `head` (the default, which needs a single head), a revision id or prefix,
   * `<label>@head`, a branch label, or `base` for a new root.
   */
  readonly head?: string | undefined;
  /** Allow `head` to name a revision that is not a head (starting a new branch). */
  readonly splice?: boolean | undefined;
  readonly branchLabel?: string | readonly string[] | undefined;
  /** Revisions (ids, prefixes or labels) this one depends on. */
  readonly dependsOn?: string | readonly string[] | undefined;
  /** False writes `transaction false` (for CREATE INDEX CONCURRENTLY and the like). */
  readonly transactional?: boolean | undefined;
  readonly upgradeSql?: string | undefined;
  readonly downgradeSql?: string | undefined;
  /** The graph, when the caller already built it. */
  readonly graph?: RevisionGraph | undefined;
  /** The header cache's directory (the project's `.athanor/`); none when absent. */
  readonly cacheDir?: string | null | undefined;
}

/** What {@link createRevision} wrote. */
export interface CreatedRevision {
  readonly id: string;
  readonly parents: readonly string[];
  readonly message: string;
  readonly branchLabels: readonly string[];
  readonly dependsOn: readonly string[];
  readonly format: RevisionFormat;
  /** Absolute path of the new file. */
  readonly path: string;
  /** Its name inside the migrations directory. */
  readonly file: string;
}

function asList(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return (typeof value === "string" ? [value] : [...value]).flatMap((item) => item.split(",")).map((item) => item.trim()).filter((item) => item !== "");
}

function parentOf(graph: RevisionGraph, head: string | undefined, splice: boolean): string[] {
  if (head === undefined || head.trim().toLowerCase() === "head") {
    const heads = graph.heads();
    if (heads.length <= 1) return heads;
    throw new RevisionError("multiple-heads", `there are ${heads.length} heads (${listIds(heads)}): which one should the new revision follow?`, {
      hint: `name it with \`--head ${heads[0] ?? ""}\` (or \`--head <label>@head\`), or merge them first with \`athanor merge -m "merge heads" heads\``,
      details: { heads },
    });
  }
  if (head.trim().toLowerCase() === "base") return [];
  const parent = resolveRevision(graph, head);
  if (!splice && graph.childrenOf(parent).length > 0) {
    throw new RevisionError("not-a-head", `${parent} is not a head: a revision on top of it would start a new branch`, {
      hint: `pass \`--splice\` to branch from it on purpose, or build on a head (\`athanor heads\` lists them)`,
      details: { revision: parent, heads: graph.headsAbove(parent) },
    });
  }
  return [parent];
}

/** Checks new branch labels: well-formed and not used yet. */
export function checkNewBranchLabels(graph: RevisionGraph, labels: readonly string[]): void {
  for (const label of labels) {
    const problem = branchLabelProblem(label);
    if (problem !== null) throw new RevisionError("invalid-branch-label", `\`${label}\` is not a valid branch label`, { hint: problem, details: { label } });
    if (graph.hasLabel(label)) {
      throw new RevisionError("duplicate-branch-label", `branch label \`${label}\` is already used by ${graph.byLabel(label)}`, {
        hint: "choose another label: each names one branch",
        details: { label, revision: graph.byLabel(label) },
      });
    }
  }
  if (new Set(labels).size !== labels.length) {
    throw new RevisionError("duplicate-branch-label", "the same branch label is given twice", { hint: "give each label once" });
  }
}

/**
 * Writes the file of a new revision whose parents are already decided (shared by
 * `revision` and `merge`).
 */
export async function writeNewRevision(
  graph: RevisionGraph,
  migrationsDir: string,
  fields: Omit<RevisionHeader, "id">,
  format: RevisionFormat,
  bodies: RevisionBodies,
): Promise<CreatedRevision> {
  if (fields.message.trim() === "") {
    throw new RevisionError("empty-message", "a revision needs a message", { hint: 'say what it changes with `-m "add orders table"`' });
  }
  checkNewBranchLabels(graph, fields.branchLabels);
  const header: RevisionHeader = { id: newRevisionId(new Set(graph.topologicalOrder())), ...fields, message: fields.message.trim() };
  const written = await writeRevisionFile(migrationsDir, header, format, bodies);
  return {
    id: header.id,
    parents: header.parents,
    message: header.message,
    branchLabels: header.branchLabels,
    dependsOn: header.dependsOn,
    format,
    path: written.path,
    file: written.relativePath,
  };
}

/**
 * Creates a revision file. Its parent is the single head unless `head` says otherwise;
 * several heads are an error with the hint to name one or merge.
 * @example
 * const created = await createRevision({ migrationsDir: "./migrations", message: "add orders table" });
 * created.file // "3f2a9c1d0b7e_add_orders_table.sql"
 */
export async function createRevision(options: CreateRevisionOptions): Promise<CreatedRevision> {
  const graph = options.graph ?? (await loadRevisionGraph(options.migrationsDir, { cacheDir: options.cacheDir, checksums: false }));
  const parents = parentOf(graph, options.head, options.splice === true);
  const dependsOn = [...new Set(asList(options.dependsOn).map((ref) => resolveRevision(graph, ref)))];
  return writeNewRevision(
    graph,
    options.migrationsDir,
    {
      parents,
      message: options.message,
      branchLabels: asList(options.branchLabel),
      dependsOn,
      transactional: options.transactional ?? true,
      allow: [],
    },
    options.format ?? "sql",
    { upgradeSql: options.upgradeSql, downgradeSql: options.downgradeSql },
  );
}
