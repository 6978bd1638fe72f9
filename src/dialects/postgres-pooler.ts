/**
 * Whether a connection keeps one server session (DESIGN.md §6): the migration lock is a
 * session-level advisory lock, so it excludes other runners only when every statement
 * of the lock connection runs in the same server session. Through a transaction- or
 * statement-pooling proxy (PgBouncer `pool_mode = transaction`, and the like) each
 * statement may run on another server connection: the lock is taken on one, released
 * (or not) on another, and a second runner whose statement lands on the first one is
 * granted the same lock again. athanor finds out before taking the lock and refuses.
 *
 * How: a direct connection's `pg_backend_pid()` is the backend id the server announced
 * at connect time (BackendKeyData); a proxy announces an id of its own. When they
 * differ, a second client of the same URL opens a transaction (which pins one server
 * connection for its duration) and both ask for their backend: with session pooling the
 * lock connection keeps its own server session and the pinned one is another; with
 * transaction pooling the pinned transaction gets the lock connection's last server
 * session (pools hand back the most recently used one), or the lock connection moves.
 * With statement pooling the probe's BEGIN itself is refused (PgBouncer disconnects the
 * client: "transaction blocks not allowed in statement pooling mode").
 */
import type { DatabaseTarget } from "../config/types.js";
import type { AbortSignalLike, Session } from "./types.js";
import { ConfigError, isAthanorError } from "../errors.js";
import { interrupted } from "./lock-poll.js";
import { RAISE_POOL, SERVER_CONNECTIONS_WHY } from "./pooled-session.js";

/** Rounds of the pinning probe: one suffices with PgBouncer's default LIFO reuse; more catch round-robin pools. */
const PROBE_ROUNDS = 3;
/** A proxy whose pool has no free server connection for the probe is not waited on longer than this. */
const PROBE_TIMEOUT_MS = 5_000;

/** Options of {@link assertSessionBound}. */
export interface SessionBoundOptions {
  readonly target: DatabaseTarget;
  /** Opens a second connection with the same URL (only called when a proxy is detected); `signal` ends its wait for a first answer. */
  readonly openProbe: (signal: AbortSignalLike) => Promise<Session>;
  readonly timeoutMs?: number | undefined;
  /** Ends the check with InterruptedError (SIGINT/SIGTERM): the probe may be waiting for a server connection. */
  readonly signal?: AbortSignalLike | undefined;
}

/**
 * Resolves when `session` keeps one server session (a direct connection, or a
 * session-pooling proxy); throws ConfigError `lock-needs-session` (exit 2) with the fix
 * otherwise. Takes no round trip on a direct connection opened by athanor (one on another session).
 */
export async function assertSessionBound(session: Session, options: SessionBoundOptions): Promise<void> {
  if (options.target.kind !== "postgres") return;
  const announced = session.announcedBackendPid?.() ?? null;
  // The session's first statement already asked (no round trip); a session without that answer asks now.
  const first = session.openingBackendPid?.() ?? (await backendPid(session));
  if (announced !== null && announced === first) return;
  const where = `${options.target.host}:${options.target.port}/${options.target.database}`;
  const timeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  let probe: Session | null = null;
  let timer: NodeJS.Timeout | undefined;
  // Ends the probe's wait for a server connection when the check gives up or is interrupted.
  const stop = new AbortController();
  const signal = options.signal;
  const interruption = new Promise<never>((_, reject) => {
    if (signal === undefined) return;
    const onAbort = () => {
      stop.abort(signal.reason);
      reject(interrupted(signal));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    stop.signal.addEventListener("abort", () => signal.removeEventListener("abort", onAbort), { once: true });
  });
  // What is known by then: a proxy stands in between (the backend id it announced is not the server's).
  const proxy = announced === null ? `the server session is backend ${first}` : `it announced backend ${announced}, and the server session is backend ${first}`;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unchecked(where, proxy, `a second connection through it got no server session within ${timeoutMs / 1000} s: its pool for this database has no free server connection (pool_size reached), and ${SERVER_CONNECTIONS_WHY}`)), timeoutMs);
  });
  try {
    const verdict = await Promise.race([
      (async (): Promise<Verdict | null> => {
        try {
          probe = await options.openProbe(stop.signal);
        } catch (error) {
          if (isAthanorError(error) && error.code === "interrupted") throw error;
          throw unchecked(where, proxy, `a second connection through it was refused (${error instanceof Error ? error.message : String(error)})`);
        }
        for (let round = 0; round < PROBE_ROUNDS; round++) {
          const before = await backendPid(session);
          try {
            await probe.exec("BEGIN");
          } catch (error) {
            if (refusesTransactionBlocks(error)) return { pooling: "statement", evidence: "it refused a transaction block (BEGIN) from a second connection" };
            throw error;
          }
          const pinned = await backendPid(probe);
          const after = await backendPid(session);
          await probe.exec("ROLLBACK");
          if (pinned === before) return { pooling: "transaction", evidence: `another client's transaction ran on the server session this connection had just used (backend ${before})` };
          if (after !== before) return { pooling: "transaction", evidence: `two consecutive statements of one connection ran on different server sessions (backends ${before} and ${after})` };
        }
        return null;
      })(),
      timeout,
      interruption,
    ]);
    if (verdict !== null) throw refusal(where, verdict.evidence, verdict.pooling);
  } finally {
    clearTimeout(timer);
    stop.abort();
    await (probe as Session | null)?.close().catch(() => {});
  }
}

/** What the probe found: the proxy's pooling mode, and the evidence for the message. */
interface Verdict {
  readonly pooling: "transaction" | "statement";
  readonly evidence: string;
}

/**
 * True for PgBouncer's refusal of BEGIN in statement pooling (no SQLSTATE of its own:
 * the message is the only signal). Such a proxy runs every statement on any server
 * connection, so it cannot keep a session lock either.
 */
function refusesTransactionBlocks(error: unknown): boolean {
  return error instanceof Error && /transaction blocks not allowed/i.test(error.message);
}

async function backendPid(session: Session): Promise<number> {
  const result = await session.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  return Number(result.rows[0]?.pid ?? -1);
}

/**
 * The refusal when a proxy is in between but its pooling mode could not be checked: the
 * probe's second connection got no server session (a full pool) or was refused. Not "a
 * transaction-pooling proxy": a session-pooling one whose pool is full looks the same.
 */
function unchecked(where: string, proxy: string, evidence: string): ConfigError {
  return new ConfigError(
    "pooler-unchecked",
    `the migration lock needs a connection that keeps one server session, and ${where} goes through a connection pooler (${proxy}) whose pooling mode could not be checked: ${evidence}. Only a session-pooling proxy keeps a session-level advisory lock, so athanor does not take it there`,
    {
      hint: `Give the environment a direct connection for migrations: set \`migrationUrl\` to the server's own host and port, e.g. migrationUrl: "postgresql://app:\${DB_PASSWORD}@db-primary:5432/app"; or, for a session-pooling proxy, ${RAISE_POOL}.`,
      details: { where, evidence, proxy },
    },
  );
}

function refusal(where: string, evidence: string, pooling: Verdict["pooling"]): ConfigError {
  return new ConfigError(
    "lock-needs-session",
    `the migration lock needs a connection that keeps one server session, but ${where} goes through a ${pooling}-pooling proxy (such as PgBouncer with pool_mode = ${pooling}): ${evidence}. A session-level advisory lock taken there would not keep a second runner out`,
    {
      hint: 'Give the environment a direct connection for migrations: set `migrationUrl` to the server\'s own host and port, e.g. migrationUrl: "postgresql://app:${DB_PASSWORD}@db-primary:5432/app" (the application keeps `url` through the pooler), or point it at a session-pooling port.',
      details: { where, evidence, pooling },
    },
  );
}
