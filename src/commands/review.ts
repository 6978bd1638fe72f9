/**
 * `athanor review [--base REF] [--env NAME ...]`: what a branch's revisions will do,
 * for a pull request. It reads the revision files of the working tree and of the base
 * commit (through git), compares them, lints the added and edited revisions, reads their
 * SQL, and, for each environment given, reads its version table (read only: no migration
 * lock, no write, nothing created; a PGlite directory is held while read, waited for up
 * to `directoryWait`) to plan `upgrade head` and evaluate the promotion gate. The
 * report is built by review-model.ts; this module only gathers.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import type { Session } from "../dialects/types.js";
import { isAthanorError, RevisionError } from "../errors.js";
import { lintRevision } from "../guard/lint-gate.js";
import { evaluatePromotion, type PromotionEvaluation } from "../guard/promotion.js";
import { currentHeads } from "../plan/plan.js";
import { RevisionGraph } from "../revisions/graph.js";
import { normalizeLineEndings, parseRevisionHeader } from "../revisions/header.js";
import { loadRevisionBody, readScriptDirectory, refuseControlCharacterName, revisionChecksum } from "../revisions/script-directory.js";
import { escapeControlCharacters } from "../control-characters.js";
import type { RevisionFile } from "../revisions/types.js";
import { endsLockWait, openReadSession, type DirectoryWait } from "../run/connect.js";
import { recordStatements, renderOfflineScript } from "../run/offline.js";
import { EMPTY_STATE, readAppliedState, type AppliedState } from "../run/version-table.js";
import { scrubSecrets } from "../secrets/redact.js";
import { compareRevisionSets } from "./review-compare.js";
import { locateMigrations, readRevisionBlobs, resolveReviewBase, type GitEnv, type GitLocation, type GitRevisionBlob } from "./review-git.js";
import {
  buildReviewReport,
  planReviewUpgrade,
  type BaseRevision,
  type EnvironmentInput,
  type ReviewedRevisionInput,
  type ReviewReport,
  type ReviewSeverity,
  type RevisionLintResult,
} from "./review-model.js";

/** Options of {@link review}. */
export interface ReviewOptions {
  /** The migrations directory of the working tree (absolute). */
  readonly migrationsDir: string;
  /** The git ref to compare with; default: the merge base of HEAD and the default branch. */
  readonly base?: string | undefined;
  /** The environments whose state to read (`--env`), resolved. */
  readonly environments?: readonly ResolvedEnvironment[] | undefined;
  /** Resolves an environment by name, for promotion gates (their source). */
  readonly resolveEnvironment?: ((name: string) => Promise<ResolvedEnvironment>) | undefined;
  /** The least serious finding that fails the review (default `error`). */
  readonly failOn?: ReviewSeverity | undefined;
  /** The process environment git runs with (PATH, HOME). */
  readonly gitEnv: GitEnv;
  /** How long connecting to an environment may take (default 10 s). */
  readonly connectTimeoutMs?: number | undefined;
  /** How opening an environment's (or a promotion source's) PGlite directory waits for another process that has it open (`--lock-wait`). */
  readonly directoryWait?: DirectoryWait | undefined;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** The base's files as revisions; a file whose header does not parse becomes a note. */
function baseRevisions(location: GitLocation, commit: string, blobs: readonly GitRevisionBlob[], notes: string[]): BaseRevision[] {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const revisions: BaseRevision[] = [];
  for (const blob of blobs) {
    try {
      refuseControlCharacterName(blob.name);
      const text = normalizeLineEndings(decoder.decode(blob.content));
      const header = parseRevisionHeader(text, blob.name, blob.format);
      revisions.push({ ...header, path: `${commit}:${location.prefix}${blob.name}`, relativePath: blob.name, format: blob.format, checksum: revisionChecksum(text) });
    } catch (error) {
      notes.push(`${escapeControlCharacters(`${location.prefix}${blob.name}`)} at the base could not be read (${error instanceof Error ? error.message : String(error)}); it is left out of the comparison`);
    }
  }
  return revisions;
}

function graphErrorOf(error: unknown): { code: string; message: string; file: string | null } {
  if (!isAthanorError(error)) throw error;
  const { file, files } = error.details;
  const first = typeof file === "string" ? file : Array.isArray(files) && typeof files[0] === "string" ? files[0] : null;
  return { code: error.code, message: error.message, file: first };
}

async function lintOf(file: RevisionFile): Promise<RevisionLintResult> {
  try {
    const result = await lintRevision(file, "up");
    return { findings: result.findings, notLinted: result.notLinted };
  } catch (error) {
    if (!(error instanceof RevisionError)) throw error;
    const line = typeof error.details["line"] === "number" ? error.details["line"] : null;
    return { error: { rule: error.code === "sql-syntax" ? "sql-syntax" : "broken-revision", message: error.message, line } };
  }
}

async function sqlOf(file: RevisionFile, environment: string): Promise<{ sql: string | null; sqlNote: string | null }> {
  try {
    const body = await loadRevisionBody(file);
    if (body.format === "sql") return { sql: body.upgrade.sql, sqlNote: null };
    return { sql: await recordStatements(body.upgrade, environment, file.relativePath), sqlNote: null };
  } catch (error) {
    return { sql: null, sqlNote: error instanceof Error ? error.message : String(error) };
  }
}

async function readState(env: ResolvedEnvironment, timeoutMs: number, wait: DirectoryWait): Promise<{ applied: AppliedState } | { error: string }> {
  let session: Session | null = null;
  try {
    session = await openReadSession(env, "review", { connectTimeoutMs: timeoutMs, ...wait });
    const applied = session === null ? EMPTY_STATE : ((await readAppliedState(session, env.versionTable)) ?? EMPTY_STATE);
    return { applied };
  } catch (error) {
    // A database another process has open past --lock-wait is busy, not unreadable: exit 4 as every command does.
    if (endsLockWait(error)) throw error;
    return { error: scrubSecrets(error instanceof Error ? error.message : String(error), env.secrets) };
  } finally {
    await session?.close().catch(() => {});
  }
}

async function environmentInput(env: ResolvedEnvironment, graph: RevisionGraph | null, options: ReviewOptions): Promise<EnvironmentInput> {
  const state = await readState(env, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, options.directoryWait ?? {});
  const base = { name: env.name, url: env.redactedUrl, state, plan: null, promotion: null, sql: null };
  if (!("applied" in state) || graph === null) return base;
  let planned: ReturnType<typeof planReviewUpgrade>;
  try {
    planned = planReviewUpgrade(graph, state.applied.ids);
  } catch (error) {
    if (!isAthanorError(error)) throw error;
    return { ...base, plan: { error: error.message } };
  }
  let promotion: PromotionEvaluation | null = null;
  if (options.resolveEnvironment !== undefined) promotion = await evaluatePromotion(env, planned.plan, { resolveEnvironment: options.resolveEnvironment, directoryWait: options.directoryWait });
  let sql: string | null = null;
  if (planned.plan.steps.length > 0) {
    const from = state.applied.ids.size === 0 ? "base" : currentHeads(graph, state.applied.ids).join(", ");
    sql = await renderOfflineScript({ env, plan: planned.plan, command: "upgrade", from, singleTransaction: false }).catch(() => null);
  }
  return { ...base, plan: planned, promotion, sql };
}

/**
 * Reviews the branch checked out around `migrationsDir` against a base commit.
 * Throws ConfigError (exit 2) for a bad ref, a directory outside git, or no default base;
 * RevisionError (exit 2) for a working-tree file whose header does not parse. Everything
 * else, a broken graph included, is a finding in the report.
 * @example
 * const report = await review({ migrationsDir: "/app/migrations", base: "origin/main", gitEnv: process.env });
 * if (report.summary.failed) process.exitCode = 5;
 */
export async function review(options: ReviewOptions): Promise<ReviewReport> {
  const location = await locateMigrations(options.migrationsDir, options.gitEnv);
  const base = await resolveReviewBase(location, options.gitEnv, options.base);
  const notes: string[] = [];
  const [headFiles, baseFiles] = await Promise.all([readScriptDirectory(options.migrationsDir), readRevisionBlobs(location, options.gitEnv, base.commit)]);
  for (const skipped of baseFiles.skipped) notes.push(`${escapeControlCharacters(`${location.prefix}${skipped.name}`)} at the base was not compared: ${skipped.reason}`);
  const before = baseRevisions(location, base.commit, baseFiles.files, notes);

  let graph: RevisionGraph | null = null;
  let graphError: ReturnType<typeof graphErrorOf> | null = null;
  try {
    graph = RevisionGraph.build(headFiles);
  } catch (error) {
    graphError = graphErrorOf(error);
  }
  let baseHeads: string[] | null = null;
  try {
    baseHeads = RevisionGraph.build(before).heads();
  } catch {
    notes.push("the base's revision graph is broken, so its heads are unknown");
  }

  const comparison = compareRevisionSets(before, headFiles);
  const baseById = new Map(comparison.edited.map((pair) => [pair.head.id, pair.base] as const));
  const changed = [...comparison.added, ...comparison.edited.map((pair) => pair.head)];
  const ordered = graph === null ? changed : graph.sortTopologically(changed.map((file) => file.id)).map((id) => (graph as RevisionGraph).get(id));
  const environments = options.environments ?? [];
  const recordFor = environments[0]?.name ?? "review";
  const revisions: ReviewedRevisionInput[] = [];
  for (const file of ordered) {
    revisions.push({ file, base: baseById.get(file.id) ?? null, ...(await sqlOf(file, recordFor)), lint: await lintOf(file) });
  }
  const environmentInputs: EnvironmentInput[] = [];
  for (const env of environments) environmentInputs.push(await environmentInput(env, graph, options));

  return buildReviewReport({
    base,
    prefix: location.prefix,
    comparison,
    graph,
    graphError,
    baseHeads,
    revisions,
    environments: environmentInputs,
    failOn: options.failOn ?? "error",
    notes,
  });
}
