/**
 * `athanor lint [REV...]`: dangerous operations in revisions. With revisions given, those
 * (full ids or unique prefixes); without, the revisions pending in the selected
 * environment (not in its version table). When that environment's database cannot be
 * read, every revision is linted and the report says why. Read-only: takes no lock and
 * creates nothing.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import { databaseMissing, openSession } from "../dialects/open.js";
import { abortableSession } from "../dialects/abortable-session.js";
import type { Session } from "../dialects/types.js";
import { isAthanorError } from "../errors.js";
import { lintRevision, type RevisionLint } from "../guard/lint-gate.js";
import { loadRevisionGraph } from "../revisions/script-directory.js";
import { endsLockWait, type DirectoryWait } from "../run/connect.js";
import { readAppliedState } from "../run/version-table.js";

/** One finding, as `lint` reports it (and `--json` prints it). */
export interface LintReportFinding {
  readonly revision: string;
  readonly file: string;
  readonly line: number;
  readonly rule: string;
  readonly severity: "danger" | "warning";
  /** The statement, on one line, cut to about 80 characters. */
  readonly statement: string;
  /** Why it is dangerous. */
  readonly why: string;
  /** The safe pattern. */
  readonly safe: string;
}

/** What `lint` found. */
export interface LintReport {
  /** The environment whose pending revisions were linted, or null when revisions were given. */
  readonly environment: string | null;
  /** `given`: the revisions named; `pending`: those the environment has not applied; `all`: every revision. */
  readonly scope: "given" | "pending" | "all";
  /** Why the scope is not what was asked (the database could not be read), or null. */
  readonly note: string | null;
  /** Every revision linted, in topological order, with why one was not (TypeScript). */
  readonly revisions: readonly { readonly revision: string; readonly file: string; readonly message: string; readonly linted: boolean; readonly reason: string | null }[];
  readonly findings: readonly LintReportFinding[];
  readonly danger: number;
  readonly warning: number;
}

/** Options of {@link lintRevisions}. */
export interface LintCommandOptions {
  /** The migrations directory. */
  readonly migrationsDir: string;
  /** Revision ids or unique prefixes; empty or absent: the environment's pending revisions. */
  readonly revisions?: readonly string[] | undefined;
  /** The selected environment, or the error that kept it from resolving. */
  readonly environment: ResolvedEnvironment | { readonly error: string; readonly name: string | null };
  /** Opens a session (defaults to `openSession`). */
  readonly openSession?: ((env: ResolvedEnvironment) => Promise<Session>) | undefined;
  /** How opening the environment's PGlite directory waits for another process that has it open (`--lock-wait`). */
  readonly directoryWait?: DirectoryWait | undefined;
}

function toFinding(result: RevisionLint): LintReportFinding[] {
  return result.findings.map((f) => ({
    revision: result.revision.id,
    file: result.revision.relativePath,
    line: f.line,
    rule: f.rule,
    severity: f.severity,
    statement: f.statement,
    why: f.message,
    safe: f.safe,
  }));
}

/**
 * Lints revisions for `athanor lint`.
 * @example
 * const report = await lintRevisions({ migrationsDir: env.migrationsDir, environment: env });
 * process.exitCode = report.danger > 0 ? 3 : 0;
 */
export async function lintRevisions(options: LintCommandOptions): Promise<LintReport> {
  const graph = await loadRevisionGraph(options.migrationsDir);
  const given = options.revisions ?? [];
  let ids: string[];
  let scope: LintReport["scope"];
  let note: string | null = null;
  let environment: string | null = null;
  if (given.length > 0) {
    ids = graph.sortTopologically(new Set(given.map((rev) => graph.resolvePrefix(rev))));
    scope = "given";
  } else {
    const env = options.environment;
    environment = env.name;
    let applied: ReadonlySet<string> | null = null;
    if ("error" in env) {
      note = `the environment could not be resolved (${env.error}), so every revision was linted`;
    } else if (databaseMissing(env.target)) {
      // A PGlite database that does not exist yet has applied nothing (and lint must not create it).
      applied = new Set();
    } else {
      let session: Session | undefined;
      try {
        // The signal that ends the directory wait also stops the version table's read (a table another session locked): cancelled, exit 130/143.
        session = options.openSession
          ? await options.openSession(env)
          : abortableSession(await openSession(env.target, { secrets: env.secrets, searchPath: env.searchPath, applicationName: "athanor lint", connectTimeoutMs: 5_000, ...options.directoryWait }), options.directoryWait?.signal, { stopped: "lint stopped: its query was cancelled; it changes nothing" });
        const state = await readAppliedState(session, env.versionTable);
        applied = state?.ids ?? new Set();
      } catch (error) {
        // A database another process has open past --lock-wait is busy, not unreadable: exit 4 as every
        // command does; an interruption stops the command (130/143).
        if (endsLockWait(error)) throw error;
        note = `the database of "${env.name}" (${env.redactedUrl}) could not be read (${isAthanorError(error) ? error.message : String(error)}), so every revision was linted`;
      } finally {
        await session?.close().catch(() => {});
      }
    }
    const order = graph.topologicalOrder();
    ids = applied === null ? order : order.filter((id) => !applied.has(id));
    scope = applied === null ? "all" : "pending";
  }
  const results: RevisionLint[] = [];
  for (const id of ids) results.push(await lintRevision(graph.get(id), "up"));
  const findings = results.flatMap(toFinding);
  return {
    environment,
    scope,
    note,
    revisions: results.map((r) => ({ revision: r.revision.id, file: r.revision.relativePath, message: r.revision.message, linted: r.notLinted === null, reason: r.notLinted })),
    findings,
    danger: findings.filter((f) => f.severity === "danger").length,
    warning: findings.filter((f) => f.severity === "warning").length,
  };
}
