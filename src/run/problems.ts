/**
 * What in a database's version rows blocks a run (DESIGN.md §4 and §6): an applied
 * revision whose file changed (checksum mismatch), a non-transactional revision that
 * started and never finished, and an applied revision that no file defines. Pure: the
 * graph and the rows in, the problems out. `upgrade`/`downgrade` refuse on any of them
 * (exit 5); `status` and `check` report them.
 */
import { ProblemError } from "../errors.js";
import type { RevisionGraph } from "../revisions/graph.js";
import type { AppliedRevision, AppliedState, AppliedSummary, UnfinishedAttempt } from "./version-table.js";

/** One problem of the version rows, with the fix. */
export interface StateProblem {
  /** `checksum-mismatch`, `unfinished-revision` or `unknown-applied-revision`. */
  readonly code: "checksum-mismatch" | "unfinished-revision" | "unknown-applied-revision";
  readonly revision: string;
  /** The revision's file (relative to the migrations directory), when one defines it. */
  readonly file: string | null;
  readonly message: string;
  readonly hint: string;
}

/** Options of {@link findStateProblems} and {@link assertRunnable}. */
export interface StateProblemOptions {
  /**
   * Compare each applied revision's stored checksum with its file's (true, the default):
   * this reads every applied revision's file. False looks at the rows and the graph only.
   */
  readonly checksums?: boolean | undefined;
}

/**
 * Every problem of the version rows, in the order of the rows. Without checksums the
 * {@link AppliedSummary} is enough: the ids and the unfinished rows.
 */
export function findStateProblems(graph: RevisionGraph, state: AppliedState, options?: StateProblemOptions): StateProblem[];
export function findStateProblems(graph: RevisionGraph, state: AppliedSummary, options: { readonly checksums: false }): StateProblem[];
export function findStateProblems(graph: RevisionGraph, state: AppliedSummary | AppliedState, options: StateProblemOptions = {}): StateProblem[] {
  const byId = "byId" in state ? state.byId : null;
  const checksums = byId !== null && (options.checksums ?? true);
  const unfinished = new Map<string, AppliedRevision>();
  for (const row of state.unfinished) unfinished.set(row.revision, row);
  const problems: StateProblem[] = [];
  for (const revision of state.ids) {
    const started = unfinished.get(revision);
    const file = graph.find(revision);
    if (file === undefined) {
      problems.push({
        code: "unknown-applied-revision",
        revision,
        file: null,
        message: `revision ${revision} is recorded as ${started === undefined ? "applied" : "started"} in the database, but no file in the migrations directory defines it`,
        hint: `Restore its file (e.g. from version control), or record what the database really holds with \`athanor stamp <revision>\`.`,
      });
      continue;
    }
    if (started !== undefined) {
      problems.push(unfinishedProblem(started, file.relativePath, state.attempts?.get(revision)));
      continue;
    }
    const row = checksums ? byId?.get(revision) : undefined;
    if (row !== undefined && row.checksum !== file.checksum) {
      problems.push({
        code: "checksum-mismatch",
        revision,
        file: file.relativePath,
        message: `${file.relativePath} (revision ${revision}) changed after it was applied (checksum ${row.checksum.slice(0, 12)} in the database, ${file.checksum.slice(0, 12)} on disk)`,
        hint: "Restore the file as it was applied, or accept the edit with `athanor repair` (the database is not changed, only the stored checksum) or `athanor stamp`.",
      });
    }
  }
  return problems;
}

/**
 * The problem of a non-transactional revision that started and never finished. Its last
 * attempt (from the history) says whether an upgrade or a downgrade was cut short: after a
 * downgrade it is neither cleanly applied nor cleanly reverted, and the fix differs.
 */
function unfinishedProblem(row: AppliedRevision, file: string | null, attempt: UnfinishedAttempt | undefined): StateProblem {
  const revision = row.revision;
  const named = `revision ${revision}${file === null ? "" : ` (${file})`} is non-transactional`;
  if (attempt?.direction === "down") {
    return {
      code: "unfinished-revision",
      revision,
      file,
      message: `${named}; its downgrade started${attempt.startedAt === null ? "" : ` at ${attempt.startedAt}`} and never finished, so it is neither cleanly applied nor cleanly reverted`,
      hint:
        `Check what its downgrade did (an interrupted DROP INDEX CONCURRENTLY leaves an invalid index: \`athanor check\` lists them), then run \`athanor resolve ${revision} --rolled-back\` once none of its changes are left (finish the downgrade by hand first), ` +
        `or \`athanor resolve ${revision} --applied\` once all of them are in place again (redo what the downgrade undid).`,
    };
  }
  return {
    code: "unfinished-revision",
    revision,
    file,
    message: `${named}; it started at ${row.appliedAt} and never finished`,
    hint: `Check what it did (an interrupted CREATE INDEX CONCURRENTLY leaves an invalid index: \`athanor check\` lists them), then run \`athanor resolve ${revision} --applied\` or \`athanor resolve ${revision} --rolled-back\`.`,
  };
}

/**
 * Throws a ProblemError (exit 5, as for `upgrade`) while a non-transactional revision is
 * unfinished: a command that sets the version rows without running anything (`stamp`)
 * would otherwise record it as applied, or drop its row, without anyone saying what it
 * did. Only `resolve` settles it. Rows no file defines count too (`resolve` takes them).
 */
export function assertNothingUnfinished(graph: RevisionGraph, state: AppliedSummary, command: string): void {
  if (state.unfinished.length === 0) return;
  const problems = state.unfinished.map((row) => unfinishedProblem(row, graph.find(row.revision)?.relativePath ?? null, state.attempts?.get(row.revision)));
  const first = problems[0] as StateProblem;
  const message =
    problems.length === 1
      ? `${first.message}; ${command} would record it without anyone saying what it did, so nothing was changed`
      : `these non-transactional revisions started and never finished; ${command} would record them without anyone saying what they did, so nothing was changed:\n${problems.map((problem) => `  ${problem.message}`).join("\n")}`;
  throw new ProblemError("unfinished-revision", message, {
    hint: `${problems.map((problem) => problem.hint).join(" ")} Then run \`athanor ${command}\` again.`,
    details: { problems: problems.map(({ code, revision, file }) => ({ code, revision, file })) },
  });
}

/**
 * A non-transactional revision that began and never finished, as `current --json` and
 * `status --json` list it (`unfinished`): which step began (`up`: its upgrade, so it is
 * not fully applied; `down`: its downgrade, so it is not fully reverted), and when.
 */
export interface UnfinishedRevision {
  readonly revision: string;
  readonly direction: "up" | "down";
  /** ISO 8601; null for a downgrade whose start the history does not record (older athanor versions). */
  readonly startedAt: string | null;
  /** Its file (relative to the migrations directory), or null when no file defines it. */
  readonly file: string | null;
}

/** The unfinished revisions of the version rows, in the order of the rows. Pure. */
export function unfinishedRevisions(graph: RevisionGraph, state: AppliedSummary): UnfinishedRevision[] {
  return state.unfinished.map((row) => {
    const attempt = state.attempts?.get(row.revision);
    return { revision: row.revision, direction: attempt?.direction ?? "up", startedAt: attempt?.direction === "down" ? attempt.startedAt : row.appliedAt, file: graph.find(row.revision)?.relativePath ?? null };
  });
}

/**
 * Throws a ProblemError (exit 5) when the version rows block a run; the message names
 * every file concerned and the hint names the fix.
 */
export function assertRunnable(graph: RevisionGraph, state: AppliedState, options?: StateProblemOptions): void;
export function assertRunnable(graph: RevisionGraph, state: AppliedSummary, options: { readonly checksums: false }): void;
export function assertRunnable(graph: RevisionGraph, state: AppliedSummary | AppliedState, options: StateProblemOptions = {}): void {
  const problems = "byId" in state ? findStateProblems(graph, state, options) : findStateProblems(graph, state, { checksums: false });
  if (problems.length === 0) return;
  const first = problems[0] as StateProblem;
  const sameKind = problems.every((problem) => problem.code === first.code);
  const heading: Record<StateProblem["code"], string> = {
    "checksum-mismatch": "applied revisions changed since they were applied",
    "unfinished-revision": "a non-transactional revision started and never finished",
    "unknown-applied-revision": "the database holds revisions that no file defines",
  };
  const message = sameKind && problems.length > 1
    ? `${heading[first.code]}:\n${problems.map((problem) => `  ${problem.message}`).join("\n")}`
    : problems.length === 1
      ? first.message
      : `the version rows block this run:\n${problems.map((problem) => `  ${problem.message}`).join("\n")}`;
  const hints = [...new Set(problems.map((problem) => problem.hint))];
  throw new ProblemError(sameKind ? first.code : "blocked-by-state", message, {
    hint: hints.join(" "),
    details: { problems: problems.map(({ code, revision, file }) => ({ code, revision, file })) },
  });
}
