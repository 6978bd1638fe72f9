/** Session over one node-postgres client (one connection, never a pool: migrations are serial). */
import pg from "pg";
import type { PostgresHost } from "../config/types.js";
import { DatabaseError } from "../errors.js";
import type { OpenSessionOptions } from "./open.js";
import { driverErrorGuard, toDatabaseError } from "./driver-errors.js";
import { connectTimeoutMs, fitsSessionAttrs, postgresClientConfig, triesNextHost, type PostgresTarget } from "./postgres-client-config.js";
import { advisoryLock, confirmHeldWhereItRuns, holdsAdvisoryLocks, takeAdvisoryLock } from "./advisory-lock.js";
import { sendCancelRequest } from "./postgres-cancel-request.js";
import { ScriptQuery } from "./postgres-script-query.js";
import { isStatementTimeout, openingTimeoutError } from "./opening-timeout.js";
import { assertSessionBound } from "./postgres-pooler.js";
import { firstAnswer, keepsServerSession, resetPooledSession } from "./pooled-session.js";
import { withServerSessionState, type SpareConnection } from "./server-session-state.js";
import { checkOpened, OPENED_FACTS_COLUMNS, openedFacts, searchPathStartupOption } from "./session-checks.js";
import { transactionMethods, type PositionUnit } from "./script.js";
import { CLOSE_STOP_GATE } from "./stop-gate.js";
import { serverNotice, type NoticeMessageLike } from "./server-notice.js";
import type { AbortSignalLike, LockRequest, QueryResult, ReleaseLock, ServerNotice, Session } from "./types.js";

/** How long a connect may take, its first answer included (see pooled-session.ts), unless the caller says otherwise. */
const CONNECT_TIMEOUT_MS = 10_000;

/** PostgreSQL 14 added `client_connection_check_interval`. */
const CLIENT_CHECK_SINCE = 140000;

// Return int8/numeric as strings (the default) but parse nothing else lazily: keep pg's defaults.

/** A client for one host of the target; the URL's own application_name wins, as it did when pg parsed the URL. */
function newClient(target: PostgresTarget, host: PostgresHost, options: OpenSessionOptions): pg.Client {
  const config = postgresClientConfig(target, host);
  // search_path as a startup option rather than a SET: it is the session's default from
  // its first statement on, and RESET ALL / DISCARD ALL / a rolled-back SET return to it.
  const schema = options.searchPath ?? null;
  const startup = schema === null ? {} : { options: [config.options, searchPathStartupOption(schema)].filter((part) => part !== undefined && part !== "").join(" ") };
  const client = new pg.Client({
    application_name: options.applicationName ?? "athanor",
    ...config,
    ...startup,
    connectionTimeoutMillis: connectTimeoutMs(target, options.connectTimeoutMs, CONNECT_TIMEOUT_MS) ?? 0,
  });
  // An idle client whose server goes away emits 'error'; without a listener Node crashes the process.
  client.on("error", () => {});
  return client;
}

/**
 * libpq's host list walk: hosts in order, the first that answers and fits
 * `target_session_attrs` wins (`prefer-standby`: a standby, else any). Returns the client and its host.
 */
async function connectFitting(target: PostgresTarget, options: OpenSessionOptions): Promise<{ client: pg.Client; host: PostgresHost; reported: ReadonlyMap<string, string> }> {
  const passes = target.targetSessionAttrs === "prefer-standby" ? (["standby", "any"] as const) : ([target.targetSessionAttrs] as const);
  let lastError: unknown;
  for (const pass of passes) {
    for (const host of target.hosts) {
      const client = newClient(target, host, options);
      const reported = reportedSettings(client);
      try {
        await client.connect().catch((error: unknown) => {
          throw withConnectBound(error, target, options);
        });
      } catch (error) {
        // libpq moves on only when it cannot connect; a server's refusal (a wrong password, a
        // missing database), a TLS failure or a dropped connection ends the walk, so no other
        // host is sent the password.
        if (!triesNextHost(error)) throw error;
        lastError = error;
        continue;
      }
      if (pass === "any") return { client, host, reported };
      // Behind a session-pooling proxy this is the first statement, which waits for a server connection: bounded like the connect (pool15 leftover).
      const result = await firstAnswer(client, () => client.query<{ ro: string; standby: boolean }>("SELECT current_setting('transaction_read_only') AS ro, pg_is_in_recovery() AS standby"), {
        timeoutMs: connectTimeoutMs(target, options.connectTimeoutMs, CONNECT_TIMEOUT_MS),
        signal: options.signal,
        where: `${host.host}:${host.port}/${target.database}`,
      });
      const row = result.rows[0];
      if (row !== undefined && fitsSessionAttrs(pass, { readOnly: row.ro === "on", standby: row.standby })) return { client, host, reported };
      await client.end().catch(() => {});
    }
  }
  if (lastError !== undefined && target.hosts.length === 1) throw lastError;
  const tried = target.hosts.map((host) => `${host.host}:${host.port}`).join(", ");
  throw new DatabaseError("no-fitting-server", `none of the hosts ${tried} accepted a connection that is ${target.targetSessionAttrs} (target_session_attrs)`, {
    hint: target.targetSessionAttrs === "any" ? "Check that at least one host is up." : "Check which host is the primary (pg_is_in_recovery()), or change target_session_attrs in the URL.",
    details: { hosts: tried, targetSessionAttrs: target.targetSessionAttrs },
  });
}

/**
 * node-postgres's connect timeout ("timeout expired", or "Connection terminated due to
 * connection timeout") said with its bound and where it comes from; any other error as it is.
 */
function withConnectBound(error: unknown, target: PostgresTarget, options: OpenSessionOptions): unknown {
  if (!(error instanceof Error) || !/^timeout expired$|connection timeout/i.test(error.message)) return error;
  const bound = connectTimeoutMs(target, options.connectTimeoutMs, CONNECT_TIMEOUT_MS);
  const source = target.params["connect_timeout"] === undefined ? "" : " (connect_timeout)";
  return Object.assign(new Error(`timeout expired: no answer within ${(bound ?? 0) / 1000} s${source}`), { cause: error });
}

/**
 * The settings the server reports (ParameterStatus), kept up to date as it reports them.
 * pg reads these messages but keeps none of them: its connection emits each one, and the
 * listener is added before `connect()` to see those of the connection's start.
 */
function reportedSettings(client: pg.Client): ReadonlyMap<string, string> {
  const reported = new Map<string, string>();
  const connection = (client as unknown as { connection: { on(event: "parameterStatus", listener: (message: { parameterName: string; parameterValue: string }) => void): void } }).connection;
  connection.on("parameterStatus", (message) => reported.set(message.parameterName, message.parameterValue));
  return reported;
}

/**
 * The unit the server counts error positions in, from the `server_encoding` it reported
 * at start-up: bytes in a `SQL_ASCII` database, characters otherwise. No query. The client
 * side is always UTF-8: node-postgres asks for `client_encoding` UTF8 at start-up (which a
 * database's or role's default does not override), and a revision's `SET client_encoding`
 * comes after the server converted the round trip's text.
 */
function positionUnit(reported: ReadonlyMap<string, string>): PositionUnit {
  return reported.get("server_encoding") === "SQL_ASCII" ? "bytes" : "characters";
}

export async function openPostgresSession(target: PostgresTarget, options: OpenSessionOptions): Promise<Session> {
  const { client, host, reported } = await connectFitting(target, options);
  const secrets = options.secrets ?? [];
  const wrap = endedSessionGuard(client, driverErrorGuard(secrets, target));
  // One round trip: the version, and what checkOpened needs (standby? search_path arrived?)...
  // ... and the backend it ran on, which the lock connection's check for a pooler compares with the one announced.
  // Part of the connect: behind a session-pooling proxy, the statement that gets the server session (see pooled-session.ts).
  const opened = await firstAnswer(
    client,
    () =>
      wrap("query", () => client.query<Record<string, unknown>>(`SELECT current_setting('server_version_num') AS v, pg_backend_pid() AS pid, ${OPENED_FACTS_COLUMNS}`, [options.searchPath ?? null])).catch(async (error: unknown) => {
        // A database's or role's statement_timeout of a few ms cancels it, before athanor set any timeout: said so (trust15 B).
        const described = error instanceof DatabaseError && isStatementTimeout(error) ? await openingTimeoutError(async (sql) => (await client.query(sql)).rows, error, "athanor's first query on the connection") : error;
        await client.end().catch(() => {});
        throw described;
      }),
    { timeoutMs: connectTimeoutMs(target, options.connectTimeoutMs, CONNECT_TIMEOUT_MS), signal: options.signal, where: `${host.host}:${host.port}/${target.database}` },
  );
  const versionNum = Number(opened.rows[0]?.["v"] ?? 0);
  const openingPid = Number(opened.rows[0]?.["pid"] ?? Number.NaN);
  // A proxy announces a backend id of its own (see postgres-pooler.ts): the server session then outlives this connection.
  const pooled = Number.isInteger(openingPid) && (client as unknown as { processID?: number | null }).processID !== openingPid;
  try {
    checkOpened(openedFacts(opened.rows[0]), options, `${host.host}:${host.port}/${target.database}`);
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  const exec = async (sql: string): Promise<void> => {
    await wrap("exec", () => client.query(sql));
  };
  // The server's notices go to whoever listens now (see Session.onNotice); pg emits each on the client.
  let noticeListener: ((notice: ServerNotice) => void) | null = null;
  client.on("notice", (message: NoticeMessageLike) => noticeListener?.(serverNotice(message)));
  // pg emits the server's FATAL error on an idle client (no query there to take it).
  const endedByServer = new Promise<unknown>((resolve) => client.once("error", (error: unknown) => resolve(toDatabaseError(error, { secrets, action: "query", target }))));
  let cancelled: Promise<string | null> | null = null;
  /** The session's one cancel (see {@link Session.cancel}). */
  const cancelOnce = async (): Promise<string | null> => {
    // Cancelled from a second connection, by the backend's pid as the server gave it: the
    // pid the connection announced is a pooler's own key behind PgBouncer (adv14 A), where
    // pg_cancel_backend of it stopped nothing.
    const pid = Number.isInteger(openingPid) ? openingPid : (client as unknown as { processID?: number }).processID;
    if (pid === undefined) return "the session's backend is not known";
    stopper ??= openStopper();
    let opened: { canceller: pg.Client; gateProblem: string | null };
    try {
      opened = await stopper;
    } catch (error) {
      // No connection for the stopper (a CONNECTION LIMIT or max_connections reached, by the
      // run's own connections among others): the gate stays open, but the running statement
      // is still cancelled by a CancelRequest, which needs no connection slot (trust15 G).
      const key = client as unknown as { processID?: number | null; secretKey?: number | null };
      if (typeof key.processID === "number" && typeof key.secretKey === "number") await sendCancelRequest(host, key.processID, key.secretKey);
      return `no connection could be opened to close it (${toDatabaseError(error, { secrets, action: "query", target }).message})`;
    }
    // Best effort: the statement may already be done.
    await opened.canceller.query("SELECT pg_cancel_backend($1)", [pid]).catch(() => {});
    return opened.gateProblem;
  };
  const session: Session = {
    kind: "postgres",
    capabilities: { transactionalDdl: true, advisoryLocks: true, clientConnectionCheck: versionNum >= CLIENT_CHECK_SINCE, cancel: true, lazyCommit: true },
    async query<Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
      return wrap("query", async () => {
        const result = await client.query(sql, params as unknown[] | undefined);
        return { rows: result.rows as Row[], affectedRows: result.rowCount ?? 0 };
      });
    },
    exec,
    ...transactionMethods(exec, async (text, onTag, lastValue) => {
      // A custom query: pg's own would keep one Result per statement until the round trip ends (see ScriptQuery).
      const script = new ScriptQuery(text, onTag, lastValue);
      return wrap("exec", () => client.query(script).done);
    }, () => positionUnit(reported)),
    lock(request) {
      return advisoryLock(session, request);
    },
    onNotice(listener) {
      noticeListener = listener;
    },
    async serverVersion(): Promise<number> {
      return versionNum;
    },
    reportedSetting(name: string): string | undefined {
      return reported.get(name);
    },
    ended(): Promise<unknown> {
      return endedByServer;
    },
    inTransaction(): boolean {
      // 'I' idle, 'T' in a transaction block, 'E' in one a failed statement aborted.
      const status = (client as unknown as { getTransactionStatus?: () => string | null }).getTransactionStatus?.() ?? "I";
      return status !== "I";
    },
    openingBackendPid(): number | null {
      return Number.isInteger(openingPid) ? openingPid : null;
    },
    connectedHost(): PostgresHost {
      return host;
    },
    announcedBackendPid(): number | null {
      const pid = (client as unknown as { processID?: number | null }).processID;
      return typeof pid === "number" ? pid : null;
    },
    cancel(): Promise<string | null> {
      // Once per session: the interruption reaches it by two paths (the abortable session's stop
      // and the executor's), and a second cancel arriving after a revision had caught the first
      // (EXCEPTION WHEN query_canceled) cancelled that revision's next statement after all.
      cancelled ??= cancelOnce();
      return cancelled;
    },
    async close(): Promise<void> {
      const closing = stopper;
      stopper = null;
      // Only a connection known to keep its server session: elsewhere the reset may run on another client's (pooled-session.ts).
      const reset = pooled && keepsServerSession(session);
      if (reset) await resetPooledSession(client);
      await endConnection(client, holdsAdvisoryLocks(session));
      // After the session: until it has ended, the stop gate stays closed.
      await closing?.then(async ({ canceller }) => {
        if (reset) await resetPooledSession(canceller);
        await canceller.end();
      }).catch(() => {});
    },
  };
  /** The connection of the cancels, opened at the first; it closes the stop gate first and keeps it closed until the session closes. */
  let stopper: Promise<{ canceller: pg.Client; gateProblem: string | null }> | null = null;
  const openStopper = async (): Promise<{ canceller: pg.Client; gateProblem: string | null }> => {
    const canceller = newClient(target, host, { connectTimeoutMs: STOPPER_CONNECT_TIMEOUT_MS });
    let gateProblem: string | null = null;
    try {
      await canceller.connect();
      // This connection holds the gate until the session closes: the server must not end it while
      // it is idle (an idle_session_timeout default would reopen the gate: adv14 J); and its wait
      // for the gate is bounded (a revision holding the gate's key itself would keep it waiting,
      // and the cancel unsent, for ever: adv14 E2), past which the cancel goes without the gate.
      // Behind a pooler its first answer waits for a free server connection: part of its connect (pooled-session.ts).
      await firstAnswer(canceller, () => canceller.query(stopperSettings(versionNum)), { timeoutMs: STOPPER_CONNECT_TIMEOUT_MS, where: `${host.host}:${host.port}/${target.database}` });
      // Before the cancel: a revision that swallows it must find the gate closed for the next (src/dialects/stop-gate.ts).
      if (Number.isInteger(openingPid)) {
        await canceller.query(CLOSE_STOP_GATE, [openingPid]).catch((error: unknown) => {
          gateProblem = `closing it failed (${toDatabaseError(error, { secrets, action: "query", target }).message})`;
        });
      } else gateProblem = "the session's backend is not known";
    } catch (error) {
      await canceller.end().catch(() => {});
      throw error;
    }
    return { canceller, gateProblem };
  };
  // Another connection to the same host, for a lock's release behind a pooler (advisory-lock.ts).
  const where = `${host.host}:${host.port}/${target.database}`;
  const openSpare = async (): Promise<SpareConnection> => {
    const spare = newClient(target, host, { connectTimeoutMs: SPARE_ANSWER_TIMEOUT_MS });
    // An idle client whose server ends it emits `error`: not this session's failure.
    spare.on("error", () => {});
    try {
      await spare.connect();
    } catch (error) {
      await spare.end().catch(() => {});
      throw toDatabaseError(error, { secrets, action: "connect", target });
    }
    let answered = false;
    return {
      async query<Row>(sql: string, params?: readonly unknown[]): Promise<Row[]> {
        const ask = () => spare.query(sql, params as unknown[] | undefined);
        // Behind a pooler the first statement waits for a free server connection: bounded.
        const result = answered ? await ask() : await firstAnswer(spare, ask, { timeoutMs: SPARE_ANSWER_TIMEOUT_MS, where });
        answered = true;
        return result.rows as Row[];
      },
      close: () => spare.end().catch(() => {}),
    };
  };
  // Before any wrapper is made of it: the wrappers share this state (server-session-state.ts).
  return withServerSessionState(session, openSpare);
}

/** How long a spare connection's connect, and then its first statement, may wait (see openSpare): behind a pooler, for a server connection. */
const SPARE_ANSWER_TIMEOUT_MS = 2_000;

/** How long the connection that cancels may take to connect, its first answer included. */
const STOPPER_CONNECT_TIMEOUT_MS = 5_000;

/** PostgreSQL 14 added `idle_session_timeout`. */
const IDLE_SESSION_TIMEOUT_SINCE = 140_000;

/** The settings of the connection that closes the stop gate and cancels (see openPostgresSession). */
function stopperSettings(versionNum: number): string {
  const idle = versionNum >= IDLE_SESSION_TIMEOUT_SINCE ? ", set_config('idle_session_timeout', '0', false)" : "";
  return `SELECT set_config('lock_timeout', '${STOP_GATE_WAIT_MS}ms', false), set_config('statement_timeout', '0', false)${idle}`;
}

/** How long the stop gate's closing may wait: for one revision's first statement at most, unless the key is held otherwise. */
const STOP_GATE_WAIT_MS = 2_000;

/**
 * `guard` reporting, for a call on a connection the server had already ended while it was
 * idle, the server's own reason (its FATAL error: `terminating connection due to
 * idle-session timeout`, 57P05; `... due to administrator command`, 57P01) instead of pg's
 * "Client has encountered a connection error and is not queryable", which says neither
 * who ended it nor why. pg emits that error as an `error` event, no query being there to take it.
 */
function endedSessionGuard(client: pg.Client, guard: <T>(action: string, run: () => Promise<T>) => Promise<T>): <T>(action: string, run: () => Promise<T>) => Promise<T> {
  let ended: unknown;
  client.on("error", (error: unknown) => {
    ended ??= error;
  });
  return (action, run) =>
    guard(action, async () => {
      try {
        return await run();
      } catch (error) {
        throw ended !== undefined && error instanceof Error && /not queryable/.test(error.message) ? ended : error;
      }
    });
}

/**
 * Ends a connection as libpq's PQfinish does: the Terminate message sent and the socket
 * closed on this side, without waiting for the server to end the backend, which pg's
 * end() waits for (8–15 ms of every command here, after the command's work is done).
 * `waitForServer` while the session still holds one of athanor's advisory locks: the
 * backend's end releases it, and a lock taken next in this process (a fleet's next
 * target, a library caller's next run) must find it released. What the session did is
 * settled either way: a transaction left open is rolled back by the server.
 */
function endConnection(client: pg.Client, waitForServer: boolean): Promise<void> {
  const ended = client.end().catch(() => {});
  if (waitForServer) return ended;
  const socket = (client as unknown as { connection: { stream: NodeJS.EventEmitter } }).connection.stream;
  return new Promise((resolve) => {
    // `finish`: Terminate written and this side closed; `close`: a socket destroyed instead (a query was still running).
    socket.once("finish", () => resolve());
    socket.once("close", () => resolve());
    void ended.then(() => resolve());
  });
}

/** How the dedicated lock connection is opened, and how the lock is named. */
export interface DatabaseLockOptions {
  /**
   * Opens a connection to the target (errors already DatabaseError without secrets), named
   * `applicationName`; `signal` ends its wait for a first answer (behind a pooler, for a server connection).
   */
  readonly open: (applicationName: string, signal?: AbortSignalLike) => Promise<Session>;
  readonly applicationName: string;
  /** Names the lock in messages, e.g. `the migration lock on public.athanor_version`. */
  readonly display: string;
  /** Ends the waits for a server connection (SIGINT/SIGTERM): the lock connection's and the pooler check's. */
  readonly signal?: AbortSignalLike | undefined;
}

/**
 * Opens the connection that holds migration locks (the dedicated lock connection), and
 * refuses a transaction-pooling proxy, where a session-level advisory lock would not exclude.
 */
export async function openLockConnection(target: PostgresTarget, options: Omit<DatabaseLockOptions, "display">): Promise<Session> {
  const session = await options.open(options.applicationName, options.signal);
  try {
    await assertSessionBound(session, {
      target,
      openProbe: (signal) => options.open(`${options.applicationName} probe`, signal),
      signal: options.signal,
    });
  } catch (error) {
    const described = await lockConnectionTimeout(session, error);
    await session.close();
    throw described;
  }
  return session;
}

/**
 * A statement of the lock connection cancelled by the server's statement_timeout (a database's
 * or role's default of a few ms: the lock connection sets none of athanor's), said so (trust15 B).
 */
async function lockConnectionTimeout(session: Session, error: unknown): Promise<unknown> {
  if (!(error instanceof DatabaseError) || !isStatementTimeout(error)) return error;
  return openingTimeoutError(async (sql) => (await session.query(sql)).rows, error, "a statement of athanor's lock connection");
}

/**
 * Takes one migration lock on a lock connection (see {@link openLockConnection}) and
 * checks that the connection holds it. A lock connection may hold the locks of many
 * version tables (advisory locks are per key); the release unlocks this key only and
 * leaves the connection open.
 */
export async function lockOnConnection(session: Session, request: LockRequest, display: string): Promise<ReleaseLock> {
  const held = await takeAdvisoryLock(session, { ...request, name: display });
  // The statement that checks it keeps the connection from being ended while idle and holding
  // it, for as long as the run lasts (an idle_session_timeout default would release the lock
  // behind the run's back): set once the lock is held, so a run that never got it leaves no
  // setting on a pooled server session.
  const idle = (await session.serverVersion()) >= IDLE_SESSION_TIMEOUT_SINCE ? "set_config('idle_session_timeout', '0', false)" : null;
  await confirmHeldWhereItRuns(session, held, request.key, display, { always: true, alsoSelect: idle });
  // Once only, and a lost lock named `display`: held.release does both.
  return held.release;
}

/**
 * The migration lock on PostgreSQL: a session-level advisory lock on a dedicated
 * connection that only ever runs single autocommit statements (a lock held inside a
 * transaction deadlocks `CREATE INDEX CONCURRENTLY`, which waits for every older
 * transaction). Refuses a transaction-pooling proxy, where the lock would not exclude.
 */
export async function lockPostgresDatabase(target: PostgresTarget, request: LockRequest, options: DatabaseLockOptions): Promise<ReleaseLock> {
  const session = await openLockConnection(target, options);
  let unlock: ReleaseLock;
  try {
    unlock = await lockOnConnection(session, request, options.display);
  } catch (error) {
    const described = await lockConnectionTimeout(session, error);
    await session.close();
    throw described;
  }
  return releaseThen(unlock, () => session.close());
}

/** A release that runs once: `unlock`, then `after` whatever the unlock did (close a connection, forget a key). */
export function releaseThen(unlock: ReleaseLock, after: () => void | Promise<void>): ReleaseLock {
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    try {
      await unlock();
    } finally {
      await after();
    }
  };
}
