/**
 * What a node-postgres connection needs when a session-pooling proxy (PgBouncer with
 * `pool_mode = session`) stands between it and the server, beyond a direct connection:
 *
 * - Its server session is handed out at its first statement, not when it connects:
 *   PgBouncer answers the connect (and the authentication) itself and queues the first
 *   statement until one of the pool's server connections is free, for up to its
 *   `query_wait_timeout` (120 s by default). athanor holds several connections at once
 *   ({@link SERVER_CONNECTIONS_NEEDED}); when the pool has room for fewer, one of them
 *   waits for a server connection that another of its own holds (round 15, pool15 F:
 *   `upgrade` hung 120 s, deaf to Ctrl-C). So the first answer counts as part of the
 *   connect: bounded by the connect timeout, and ended by the signal ({@link firstAnswer}).
 * - Its server session outlives it: PgBouncer gives it to its next client as it is, after
 *   its `server_reset_query` (`DISCARD ALL` by default), which may be empty. The session
 *   locks and settings athanor took on it (the run lock, the stop gate, the timeouts) then
 *   stayed on the pooled server connection, and every later run waited on that run lock and
 *   exited 4 (pool15 I). So athanor resets what it used before it lets go
 *   ({@link resetPooledSession}), on a connection known to keep its server session only
 *   ({@link markKeepsServerSession}): through transaction pooling the reset would run on
 *   whichever server session the pooler picked, and release another client's session
 *   locks there (another runner's lock, a lock left by a crashed client that athanor
 *   refused to run beside: advisory-lock.ts).
 * - A cancel by `pg_cancel_backend` needs a server connection of its own, which a full pool
 *   does not give: the canceller's first answer is bounded too, and the cancel then goes as
 *   a protocol CancelRequest, which the proxy forwards (postgres-cancel-request.ts).
 */
import type pg from "pg";
import { ConfigError } from "../errors.js";
import { interrupted } from "./lock-poll.js";
import { serverSessionState } from "./server-session-state.js";
import type { AbortSignalLike, Session } from "./types.js";

/**
 * Whether `session` goes through a proxy, as far as athanor can tell without a round trip:
 * the backend its opening statement ran on is not the one announced at connect time
 * (BackendKeyData: a proxy announces its own), or one of the two is unknown. False for a
 * session that knows neither (PGlite).
 */
export function behindProxy(session: Session): boolean {
  return session.announcedBackendPid?.() !== session.openingBackendPid?.();
}

/**
 * Notes that `session`, opened through a proxy, keeps one server session for as long as it
 * is open: the lock connection once it holds its lock and checked it (postgres-session.ts),
 * the migration session once its run lock is held and checked the same way. Only such a
 * connection is reset before it ends.
 */
export function markKeepsServerSession(session: Session): void {
  serverSessionState(session).keepsServerSession = true;
}

/** Notes that `session` was found to share server sessions with other clients after all: it is not reset. */
export function markSharesServerSession(session: Session): void {
  serverSessionState(session).keepsServerSession = false;
}

/** Whether `session` was found to keep one server session (see {@link markKeepsServerSession}). */
export function keepsServerSession(session: Session): boolean {
  return serverSessionState(session).keepsServerSession;
}

/**
 * How many server connections athanor holds at once through a pooler during a run: the
 * migration session, the connection that holds the migration lock, and a third, first to
 * check the pooler's pooling mode (src/dialects/postgres-pooler.ts) and later to cancel a
 * running statement on Ctrl-C and hold the stop gate.
 */
export const SERVER_CONNECTIONS_NEEDED = 3;

/** The sentence of messages that says what {@link SERVER_CONNECTIONS_NEEDED} counts. */
export const SERVER_CONNECTIONS_WHY = `athanor holds up to ${SERVER_CONNECTIONS_NEEDED} server connections through it at once while it migrates: the migration session, the connection that holds the migration lock, and a third that checks the pooler's pooling mode before the lock is taken and cancels a running statement on Ctrl-C`;

/** Where a proxy's pool size is set, for hints. */
export const RAISE_POOL = `raise the pooler's pool for this database and user to at least ${SERVER_CONNECTIONS_NEEDED} server connections more than other clients keep busy (PgBouncer: the database's pool_size or default_pool_size, and max_db_connections / max_user_connections if set)`;

/** Options of {@link firstAnswer}. */
export interface FirstAnswerOptions {
  /** How long the first answer may take, in milliseconds (the connect timeout); null: until the signal (a URL's connect_timeout=0). */
  readonly timeoutMs: number | null;
  /** Ends the wait with InterruptedError (SIGINT/SIGTERM). */
  readonly signal?: AbortSignalLike | undefined;
  /** `host:port/database`, for the message. */
  readonly where: string;
}

/**
 * The answer to a connection's first statement (`ask`), waited for at most `timeoutMs`
 * and until `signal` aborts. When it does not come, the connection is ended (a pooler
 * drops its queued statement) and the error is ConfigError `pooler-pool-full` (exit 2,
 * as `pooler-unchecked`, the same pool seen from the pooler check) or InterruptedError.
 */
export async function firstAnswer<T>(client: pg.Client, ask: () => Promise<T>, options: FirstAnswerOptions): Promise<T> {
  const { signal } = options;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== null) timer = setTimeout(() => reject(poolFull(options.where, timeoutMs)), timeoutMs);
    if (signal === undefined) return;
    onAbort = () => reject(interrupted(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  const answer = ask();
  try {
    return await Promise.race([answer, stopped]);
  } catch (error) {
    // The statement fails once the connection ends; its error is not the one to report.
    answer.catch(() => {});
    await client.end().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}

function poolFull(where: string, timeoutMs: number): ConfigError {
  return new ConfigError(
    "pooler-pool-full",
    `connected to ${where}, but its first statement got no answer within ${timeoutMs / 1000} s: through a session-pooling proxy (PgBouncer) this is a pool with no free server connection, and ${SERVER_CONNECTIONS_WHY}; nothing was changed`,
    {
      hint: `Give migrations a direct connection: set \`migrationUrl\` to the server's own host and port, e.g. migrationUrl: "postgresql://app:\${DB_PASSWORD}@db-primary:5432/app"; or ${RAISE_POOL}. On a direct connection, the server is too busy to answer: retry when it is not.`,
      details: { where, timeoutMs, serverConnectionsNeeded: SERVER_CONNECTIONS_NEEDED },
    },
  );
}

/** pg's state of a client (not in its typings): idle, nothing queued, and the transaction status of its last ReadyForQuery. */
interface ClientState {
  readonly readyForQuery?: boolean;
  readonly _queryable?: boolean;
  readonly _queryQueue?: readonly unknown[];
  readonly _txStatus?: string | null;
}

/** How long the reset may take before the connection is ended all the same. */
const RESET_WAIT_MS = 2_000;

/**
 * Before a pooled connection is ended: `DISCARD ALL` (PgBouncer's default
 * `server_reset_query`) releases every advisory lock of the server session (the run lock,
 * the stop gate) and resets its settings (`SET` timeouts, `set_config`, a revision's own
 * `SET search_path`), whatever the pooler's reset does. Only when no statement runs or
 * waits: a client that leaves in the middle of one makes PgBouncer close that server
 * connection instead of pooling it, and its backend's end releases it all. Best effort,
 * bounded: the connection is ended next whatever happens.
 */
export async function resetPooledSession(client: pg.Client): Promise<void> {
  const state = client as unknown as ClientState;
  if (state.readyForQuery !== true || state._queryable === false || (state._queryQueue?.length ?? 0) > 0) return;
  let timer: NodeJS.Timeout | undefined;
  const reset = (async () => {
    // DISCARD ALL cannot run in a transaction block; a connection that failed in one ('E') or left one open ('T') ends it first.
    if (state._txStatus !== "I") await client.query("ROLLBACK");
    await client.query("DISCARD ALL");
  })().catch(() => {});
  await Promise.race([reset, new Promise<void>((resolve) => (timer = setTimeout(resolve, RESET_WAIT_MS)))]);
  clearTimeout(timer);
}
