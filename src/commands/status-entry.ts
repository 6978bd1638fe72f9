/**
 * One environment's entry of `athanor status` (DESIGN.md §5, "JSON"): reachability,
 * current heads, the graph's heads, pending count, state and problems. Read-only (no
 * lock, no table, no PGlite directory created) and it never throws for a problem it can
 * describe: an unreachable or broken environment is an entry too, so `status` can show
 * every environment side by side.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import { opensLocally } from "../dialects/open.js";
import { untilAborted } from "../dialects/abortable-session.js";
import type { AbortSignalLike, Session } from "../dialects/types.js";
import { InterruptedError, isAthanorError } from "../errors.js";
import type { PromotionSummary } from "../guard/promotion.js";
import { classifyState } from "../plan/plan.js";
import type { RevisionGraph } from "../revisions/graph.js";
import { loadRevisionGraph, projectCacheDir } from "../revisions/script-directory.js";
import { openReadSession } from "../run/connect.js";
import { findStateProblems, unfinishedRevisions, type UnfinishedRevision } from "../run/problems.js";
import { EMPTY_STATE, readAppliedState, type AppliedState } from "../run/version-table.js";
import { scrubSecrets } from "../secrets/redact.js";

/**
 * The state of an environment as `status` shows it. `not-configured`: its url uses
 * variables nothing sets yet (a fresh project's testing and production); the entry's
 * `unsetVariables` names them. It is not a failure of `status`. `unfinished`: a
 * non-transactional revision's upgrade or downgrade began and never finished (the entry's
 * `unfinished` says which); whatever the heads say, the database is not at a revision.
 */
export type StatusState = "up-to-date" | "behind" | "ahead" | "diverged" | "unfinished" | "unreachable" | "error" | "not-configured";

/** A problem found, as `status --json` lists it. */
export interface StatusProblem {
  /** `unreachable`, `checksum-mismatch`, `unfinished-revision`, `unknown-applied-revision`, or an error's code. */
  readonly code: string;
  readonly message: string;
}

/** One environment in `status --json`. */
export interface StatusEntry {
  readonly name: string;
  /** Redacted: the password is masked. */
  readonly url: string;
  readonly reachable: boolean;
  /** The database's applied heads. */
  readonly current: readonly string[];
  /** The revision graph's heads. */
  readonly heads: readonly string[];
  /** How many revisions are not applied. */
  readonly pending: number;
  readonly state: StatusState;
  readonly problems: readonly StatusProblem[];
  /** For `state: "not-configured"`: the variables to set, in the order the url uses them. */
  readonly unsetVariables?: readonly string[] | undefined;
  /** For `state: "unfinished"`: the revisions whose step began and never finished. */
  readonly unfinished?: readonly UnfinishedRevision[] | undefined;
  /** The promotion gate, for an environment with `promoteFrom` (added by `status`, src/guard/promotion.ts). */
  readonly promotion?: PromotionSummary | undefined;
}

/** Options of {@link getStatus}. */
export interface StatusOptions {
  /**
   * How long the environment may take to answer, connection included (default 5 s); for an
   * embedded (PGlite) database, counted from when it is open.
   */
  readonly timeoutMs?: number | undefined;
  /** The graph, read once and shared by all environments (they share the migrations directory). */
  readonly graph?: RevisionGraph | undefined;
  /** A session the caller owns. */
  readonly session?: Session | undefined;
  /**
   * Stops the reading (SIGINT/SIGTERM): the running query is cancelled and getStatus
   * rejects with InterruptedError at once, instead of an entry once its timeout is over.
   */
  readonly signal?: AbortSignalLike | undefined;
}

/** The line an interrupted `status` ends with. */
export const STATUS_STOPPED = "status stopped: its query was cancelled; it changes nothing";

/** The default time an environment gets to answer. */
export const DEFAULT_STATUS_TIMEOUT_MS = 5_000;

type Reading =
  | { readonly kind: "state"; readonly state: AppliedState }
  | { readonly kind: "unreachable"; readonly problem: StatusProblem }
  | { readonly kind: "error"; readonly problem: StatusProblem };

/**
 * The status entry of one environment. Never throws for an unreachable database or a
 * broken graph: they become `state: "unreachable"` / `"error"` with a problem.
 * @example
 * const entries = await Promise.all(names.map(async (name) => getStatus(await resolveEnvironment(project, { environment: name }))));
 */
export async function getStatus(env: ResolvedEnvironment, options: StatusOptions = {}): Promise<StatusEntry> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_STATUS_TIMEOUT_MS;
  const base = { name: env.name, url: env.redactedUrl };
  const [graphResult, reading] = await Promise.all([
    options.graph !== undefined ? Promise.resolve<RevisionGraph | Error>(options.graph) : loadRevisionGraph(env.migrationsDir, { cacheDir: projectCacheDir(env.rootDir) }).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
    untilAborted(readWithTimeout(env, timeoutMs, options.session, options.signal), options.signal, STATUS_STOPPED),
  ]);
  if (reading.kind === "unreachable") {
    const heads = graphResult instanceof Error ? [] : graphResult.heads();
    const problems = [reading.problem];
    if (graphResult instanceof Error) problems.push(problemOf(graphResult, env));
    return { ...base, reachable: false, current: [], heads, pending: 0, state: "unreachable", problems };
  }
  if (reading.kind === "error") {
    const heads = graphResult instanceof Error ? [] : graphResult.heads();
    return { ...base, reachable: true, current: [], heads, pending: 0, state: "error", problems: [reading.problem] };
  }
  if (graphResult instanceof Error) {
    return { ...base, reachable: true, current: [], heads: [], pending: 0, state: "error", problems: [problemOf(graphResult, env)] };
  }
  const report = classifyState(graphResult, reading.state.ids);
  // The fix goes with the problem (as for an unresolved environment): an unfinished revision names `athanor resolve`.
  const problems = findStateProblems(graphResult, reading.state).map((problem) => ({ code: problem.code, message: `${problem.message} — ${problem.hint}` }));
  const unfinished = unfinishedRevisions(graphResult, reading.state);
  if (unfinished.length > 0) return { ...base, reachable: true, current: report.current, heads: report.heads, pending: report.pending.length, state: "unfinished", problems, unfinished };
  return { ...base, reachable: true, current: report.current, heads: report.heads, pending: report.pending.length, state: report.state, problems };
}

async function readWithTimeout(env: ResolvedEnvironment, timeoutMs: number, owned: Session | undefined, signal: AbortSignalLike | undefined): Promise<Reading> {
  const wait = { connectTimeoutMs: timeoutMs, lockWaitMs: timeoutMs, signal };
  // An embedded database has no server that could fail to answer: opening it is local
  // work (the WASM engine's start, seconds on a busy machine, several environments
  // sharing one CPU), so its timeout counts from when it is open, and only the read races it.
  let opened: Session | null | undefined = owned;
  if (opened === undefined && opensLocally(env.target)) {
    try {
      opened = await openReadSession(env, "status", wait);
    } catch (error) {
      if (error instanceof InterruptedError) throw error;
      return { kind: "unreachable", problem: { ...problemOf(error, env), code: "unreachable" } };
    }
  }
  const work = (async (): Promise<Reading> => {
    let session: Session | null;
    try {
      session = opened !== undefined ? opened : await openReadSession(env, "status", wait);
    } catch (error) {
      if (error instanceof InterruptedError) throw error;
      return { kind: "unreachable", problem: { ...problemOf(error, env), code: "unreachable" } };
    }
    try {
      const state = session === null ? EMPTY_STATE : ((await readAppliedState(session, env.versionTable)) ?? EMPTY_STATE);
      return { kind: "state", state };
    } catch (error) {
      // An interruption is not a problem of the environment: the status stops.
      if (error instanceof InterruptedError) throw error;
      return { kind: "error", problem: problemOf(error, env) };
    } finally {
      // Also when the answer came too late: the session is closed whenever it got there.
      if (owned === undefined) await session?.close().catch(() => {});
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<Reading>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "unreachable", problem: { code: "unreachable", message: `${env.redactedUrl} did not answer within ${formatMs(timeoutMs)}` } }), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function codeOf(error: unknown): string {
  return isAthanorError(error) ? error.code : "error";
}

function problemOf(error: unknown, env: ResolvedEnvironment): StatusProblem {
  const message = error instanceof Error ? error.message : String(error);
  return { code: codeOf(error), message: scrubSecrets(message, env.secrets) };
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
