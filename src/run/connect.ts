/**
 * Opening an environment's database for the runtime: a migration session under the
 * migration lock (changing commands), or a plain read-only session (reads). Also who
 * is running, for the version and history rows.
 */
import { hostname, userInfo } from "node:os";
import type { ResolvedEnvironment } from "../config/types.js";
import { databaseMissing, lockLocation, openSession, opensLocally } from "../dialects/open.js";
import type { SharedLockConnections } from "../dialects/shared-locks.js";
import { abortableSession } from "../dialects/abortable-session.js";
import { behindProxy } from "../dialects/pooled-session.js";
import type { AbortSignalLike, Session } from "../dialects/types.js";
import { VERSION } from "../version.js";
import { ConfigError, DatabaseError, InterruptedError, isAthanorError } from "../errors.js";
import { isLostConnection } from "./connection-loss.js";
import { eventEmitter, toEventError, type EventInput, type EventSink, type RunCommand } from "./events.js";
import { acquireLock, holdRunLock, LOCK_CONNECTION_GONE, migrationLock, refuseLocksOfOthers, type ReleaseLock } from "./lock.js";
import { ownStatements } from "./timeout-errors.js";
import { timeoutSettings } from "./timeouts.js";
import type { RunIdentity } from "./version-table.js";

/** Who runs athanor: OS user, host, tool version (no secret). */
export function runIdentity(env: Pick<ResolvedEnvironment, "name"> & { readonly targetName?: string | null }): RunIdentity {
  let osUser: string | null = null;
  try {
    osUser = userInfo().username;
  } catch {
    // No passwd entry (some containers): fall back to the environment.
    osUser = process.env["USER"] ?? process.env["USERNAME"] ?? null;
  }
  return { environment: env.name, osUser, host: hostname(), toolVersion: VERSION, ...(env.targetName ? { target: env.targetName } : {}) };
}

/** `athanor upgrade (production)`: how the run is named in pg_stat_activity and lock files. */
export function applicationName(command: string, env: Pick<ResolvedEnvironment, "name">): string {
  return `athanor ${command} (${env.name})`;
}

/** An open migration session holding the lock. */
export interface LockedSession {
  readonly session: Session;
  /**
   * Releases the lock and closes the session (unless the caller owns it). Safe to call
   * twice. `idle`: the work is done and nothing runs on the session (no statement, no
   * transaction): its run lock is then released by a statement first, so the close need
   * not wait for the server to end the backend (src/dialects/postgres-session.ts).
   * Without it (a failure, an interruption), the run lock goes with the backend.
   */
  close(options?: { readonly idle?: boolean }): Promise<void>;
}

/** Options of {@link openLockedSession}. */
export interface OpenLockedOptions {
  readonly command: string;
  readonly lockWaitMs: number;
  readonly signal?: AbortSignalLike | undefined;
  readonly emit: (event: EventInput) => void;
  /** A session the caller opened and will close (e.g. an in-memory PGlite database in tests). */
  readonly session?: Session | undefined;
  /** Lock connections shared by a fleet's targets (the lock itself stays this target's own). */
  readonly sharedLocks?: SharedLockConnections | undefined;
}

/**
 * Takes the migration lock and opens the migration session (on a server both connect at
 * once, the session idle until the lock is held; a PGlite data directory is locked
 * before it is opened) with `lock_timeout` and `statement_timeout` set, and on
 * PostgreSQL takes the run lock on it (waiting for a crashed runner's leftover backend).
 */
export async function openLockedSession(env: ResolvedEnvironment, options: OpenLockedOptions): Promise<LockedSession> {
  const started = Date.now();
  const name = applicationName(options.command, env);
  const lockOptions = {
    target: env.target,
    versionTable: env.versionTable,
    waitMs: options.lockWaitMs,
    applicationName: name,
    secrets: env.secrets,
    signal: options.signal,
    onWait: (holder: string) => options.emit({ type: "lock-wait", holder, waitMs: options.lockWaitMs }),
  };
  // A PGlite directory is locked from before it opens until it closes (two processes
  // opening it would corrupt it): the migration session takes the migration lock itself.
  const lockedByOpen = options.session === undefined && lockLocation(env.target) !== null;
  const open = () =>
    openSession(env.target, {
      applicationName: name,
      secrets: env.secrets,
      searchPath: env.searchPath,
      writable: true,
      // Behind a session-pooling proxy whose pool is full, its first answer waits: Ctrl-C ends that wait.
      signal: options.signal,
      ...(lockedByOpen ? { directoryLock: migrationLock(lockOptions).request } : {}),
    });
  // A server's migration session connects while the lock is taken, and sets its timeouts
  // (settings of its own session): the two connects overlap. It reads and takes nothing
  // before the lock is held. Behind a proxy it sets them only once the lock connection
  // found the proxy keeps sessions: until then a `SET` could land on a server connection that
  // a transaction-pooling proxy hands to the application's next transaction (athanor refused
  // such a proxy, and left its timeouts to the application: round 15, pool15). Instead it
  // first checks that its server session holds no lock of athanor's for another client.
  const early = options.session === undefined && !opensLocally(env.target) ? settled(open().then((session) => (behindProxy(session) ? setUp(session, () => refuseLocksOfOthers(session, env.versionTable)) : setUp(session, () => applyTimeouts(session, env))))) : null;
  // A migration session that cannot be opened or set up (a refused SET, a missing schema)
  // ends the wait for the lock: its error is reported at once, not once the lock is free.
  const wait = new AbortController();
  const follow = (): void => wait.abort(options.signal?.reason);
  if (options.signal?.aborted === true) follow();
  else options.signal?.addEventListener("abort", follow, { once: true });
  // So does a migration session the server ends while it waits (pg_terminate_backend, its
  // idle_session_timeout): said at once, not when the lock is finally taken (trust15 K2).
  let endedWhileWaiting: unknown;
  let waiting = true;
  void early?.then((opened) => {
    if (opened.session === undefined) wait.abort(EARLY_FAILURE);
    else
      void opened.session.ended?.().then((error) => {
        // Ended after the wait: the run's own statements meet it.
        if (wait.signal.aborted || !waiting) return;
        endedWhileWaiting = error;
        wait.abort(EARLY_FAILURE);
      });
  });
  let release: ReleaseLock;
  try {
    release = lockedByOpen ? async () => {} : await acquireLock({ ...lockOptions, signal: wait.signal, shared: options.sharedLocks, session: options.session });
  } catch (error) {
    const opened = await early;
    if (opened?.session !== undefined) await opened.session.close().catch(() => {});
    if (wait.signal.reason === EARLY_FAILURE && endedWhileWaiting !== undefined) throw endedWhileIdle(endedWhileWaiting, Date.now() - started);
    throw wait.signal.reason === EARLY_FAILURE && opened?.error !== undefined ? opened.error : stoppedWaiting(error, migrationLock(lockOptions).display);
  } finally {
    waiting = false;
    options.signal?.removeEventListener("abort", follow);
  }
  let session: Session | undefined = options.session;
  if (lockedByOpen) session = await open().catch((error: unknown) => {
    // The wait for the directory's lock file, made by the open.
    throw stoppedWaiting(error, migrationLock(lockOptions).display);
  });
  options.emit({ type: "lock-acquired", waitedMs: Date.now() - started });
  let releaseRun: ReleaseLock = async () => {};
  try {
    if (early !== null) {
      // Its timeouts are set, unless it goes through a proxy.
      const opened = await early;
      if (opened.session === undefined) throw opened.error;
      session = opened.session;
      if (behindProxy(session)) await applyTimeouts(session, env);
    } else {
      if (session !== undefined) refuseCallerTransaction(session);
      session ??= await open();
      await applyTimeouts(session, env);
    }
    const locking = session;
    // Its first statement since it connected, which may be the whole lock wait ago.
    const waited = Date.now() - started;
    releaseRun = await ownStatements(env, "taking the run lock", () => holdRunLock(locking, {
      versionTable: env.versionTable,
      waitMs: Math.max(0, options.lockWaitMs - waited),
      lockWaitMs: options.lockWaitMs,
      signal: options.signal,
      onWait: (holder) => options.emit({ type: "lock-wait", holder: `another run's migration session whose migration lock connection is gone (${LOCK_CONNECTION_GONE}), ${holder}`, waitMs: options.lockWaitMs }),
    })).catch((error: unknown) => {
      throw stoppedWaiting(endedWhileIdle(error, waited), `another run's migration session (the run lock on ${env.versionTable.schema}.${env.versionTable.table})`);
    });
  } catch (error) {
    if (options.session === undefined) await session?.close().catch(() => {});
    await release().catch(() => {});
    throw error;
  }
  const owned = options.session === undefined;
  const opened = session;
  let closed = false;
  return {
    session: opened,
    async close(closing) {
      if (closed) return;
      closed = true;
      try {
        if (!owned || closing?.idle === true) await releaseRun();
        if (owned) await opened.close();
      } finally {
        await release();
      }
    },
  };
}

/**
 * A signal that ended a wait for a lock (`what`) says so: no revision was running, nothing
 * was rolled back, and no lock was taken or kept (the catch that throws it releases any).
 * Before, it said "any revision that was running was rolled back, and the lock released".
 */
function stoppedWaiting(error: unknown, what: string): unknown {
  if (!(error instanceof InterruptedError)) return error;
  return new InterruptedError(error.signal, { message: `${InterruptedError.describe(error.signal)} while waiting for ${what}: no revision ran, nothing was changed, and no lock is held` });
}

/**
 * A migration session found gone at its first statement after the lock wait: the server
 * (its idle_session_timeout, 57P05), an administrator or a proxy ended it while it was
 * idle. Said so, with the server's reason and the driver's hint; nothing was changed.
 */
function endedWhileIdle(error: unknown, waitedMs: number): unknown {
  if (!(error instanceof DatabaseError)) return error;
  if (!isLostConnection(error)) return error;
  return new DatabaseError("migration-session-ended", `the migration session was ended while it waited ${(waitedMs / 1000).toFixed(1)} s for the migration lock, before it ran anything (${error.message}); nothing was changed`, {
    hint: error.hint ?? "Something ended the idle connection (the server's idle_session_timeout, pg_terminate_backend, a proxy or firewall that drops idle connections): give migrations a connection that nothing ends while idle, then run the command again.",
    details: { ...error.details, waitedMs },
    cause: error,
  });
}

/**
 * A session the caller passed in must not be inside a transaction of the caller's: athanor
 * commits each revision (and its timeouts are session settings), so the caller's unfinished
 * work would be committed with the first revision, and the caller's ROLLBACK afterwards would
 * undo nothing; a transaction the caller's failed statement aborted refuses every statement.
 * Read from what the server last reported (Session.inTransaction), no round trip; a session
 * whose driver does not say is taken as it is.
 */
function refuseCallerTransaction(session: Session): void {
  if (session.inTransaction?.() === true) {
    throw new ConfigError("session-in-transaction", "the session passed to athanor is inside a transaction it did not open: athanor commits each revision, which would commit that transaction's unfinished work too", {
      hint: "Commit or roll back the session's transaction before passing it to athanor, or let athanor open a session of its own (leave out `session`).",
    });
  }
}

/** The reason the lock wait is abandoned with when the migration session failed to open (see openLockedSession). */
const EARLY_FAILURE = Symbol("the migration session failed to open");

/**
 * `session` once `step` succeeded on it (its timeouts set; behind a proxy, its server session
 * found to hold no lock of athanor's for another client); closed when it failed.
 */
async function setUp(session: Session, step: () => Promise<void>): Promise<Session> {
  try {
    await step();
  } catch (error) {
    await session.close().catch(() => {});
    throw error;
  }
  return session;
}

/** A session being opened, as a promise that never rejects (nothing is left unhandled while the lock is awaited). */
function settled(opening: Promise<Session>): Promise<{ readonly session: Session; readonly error?: undefined } | { readonly session?: undefined; readonly error: unknown }> {
  return opening.then(
    (session) => ({ session }),
    (error: unknown) => ({ error }),
  );
}

/** How often (ms) the server checks, during a long statement, that the runner is still connected. */
const CLIENT_CHECK_INTERVAL_MS = 1000;

/**
 * `SET lock_timeout` / `SET statement_timeout` from the environment (milliseconds), and
 * on PostgreSQL 14+ `client_connection_check_interval`, so the backend of a runner that
 * died (SIGKILL, a lost machine) stops its statement and rolls back within a second
 * instead of running it to the end.
 */
async function applyTimeouts(session: Session, env: Pick<ResolvedEnvironment, "lockTimeoutMs" | "statementTimeoutMs">): Promise<void> {
  const settings = timeoutSettings(env);
  if (session.capabilities.clientConnectionCheck) settings.unshift(`SET client_connection_check_interval = ${CLIENT_CHECK_INTERVAL_MS}`);
  if (settings.length > 0) await session.exec(settings.join(";\n"));
}

/** Options of {@link openReadSession}. */
export interface ReadSessionOptions {
  readonly connectTimeoutMs?: number | undefined;
  /** How long to wait for another process that has a PGlite directory open (default 60 s; `--lock-wait`). */
  readonly lockWaitMs?: number | undefined;
  /** Aborts that wait. */
  readonly signal?: AbortSignalLike | undefined;
  /** Called once when that wait begins, with the holder. */
  readonly onLockWait?: ((holder: string) => void) | undefined;
}

/**
 * How a command that opens an environment waits for a PGlite directory another process
 * has open: the CLI passes `ctx.directoryWait()` (`--lock-wait`, the signal, a line on
 * stderr naming the holder); absent, 60 s in silence.
 */
export type DirectoryWait = Pick<ReadSessionOptions, "lockWaitMs" | "signal" | "onLockWait">;

/**
 * True for the errors that end a wait for a lock (LockTimeoutError, exit 4) or a signal
 * during it (InterruptedError): a command that reports an unreadable database as a
 * finding lets these through, so they exit as for any other command.
 */
export function endsLockWait(error: unknown): boolean {
  return isAthanorError(error) && (error.code === "lock-timeout" || error.code === "interrupted");
}

/**
 * Opens a session for reading only, or returns null for a PGlite data directory that
 * does not exist yet (opening it would create it; it is as good as empty). A PGlite
 * directory is locked while the session is open, as for a run: even a reader writes to
 * it when it opens and closes it (src/dialects/pglite-lock-file.ts).
 */
export async function openReadSession(env: ResolvedEnvironment, command: string, options: ReadSessionOptions = {}): Promise<Session | null> {
  if (databaseMissing(env.target)) return null;
  const session = await openSession(env.target, {
    applicationName: applicationName(command, env),
    secrets: env.secrets,
    searchPath: env.searchPath,
    ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    lockWaitMs: options.lockWaitMs,
    signal: options.signal,
    onLockWait: options.onLockWait,
  });
  // The signal also stops a query waiting on a lock (a version table another session locked).
  return abortableSession(session, options.signal, { stopped: `${command} stopped: its query was cancelled; it changes nothing` });
}

/** Options shared by the commands that change only version rows (`stamp`, `resolve`, `repair`). */
export interface LockedCommandOptions {
  readonly lockWaitMs?: number | undefined;
  readonly signal?: AbortSignalLike | undefined;
  readonly events?: EventSink | undefined;
  /** A session the caller owns and closes. */
  readonly session?: Session | undefined;
}

/**
 * A failure to release the lock (`lock-lost`) after `work` committed: the message says the
 * command's rows were written, so it does not read as a stamp or repair that did nothing
 * (as `upgrade` says its revisions committed, run/migrate.ts `afterCompletedRun`).
 */
function afterCommittedWork(error: unknown, command: RunCommand): unknown {
  if (!(error instanceof DatabaseError)) return error;
  return new DatabaseError(error.code, `${error.message}; the ${command} itself finished: what it wrote is committed`, { hint: error.hint, details: { ...error.details, committed: true }, cause: error.cause });
}

/**
 * The migration session of a row command, stopped by `signal`: the statement running when
 * it aborts is cancelled (where the session can), and no statement is sent after it; one
 * that completes anyway returns. The row commands record in one transaction, their last
 * statement (Bookkeeping's stamp, resolve, repair), so a command whose work fails after the
 * signal recorded nothing, and one whose work returns had committed (or had nothing to
 * record): runLockedCommand says which.
 */
function stoppableSession(session: Session, signal: AbortSignalLike | undefined, command: RunCommand): Session {
  if (signal === undefined) return session;
  return abortableSession(session, signal, { stopped: `${command} stopped before it recorded anything`, keepCompleted: true });
}

/**
 * What a row command stopped by a signal did: nothing (its statement was cancelled, or its
 * failure came after the signal: the version tables it may have created first hold no row
 * of it), or everything, when its transaction had committed before the signal could stop
 * it. Either way the run ends as interrupted (130/143), never 0.
 */
function rowCommandInterrupted(signal: AbortSignalLike, command: RunCommand, committed: boolean): InterruptedError {
  const interruption = InterruptedError.interruptionOf(signal.reason);
  if (!committed) return new InterruptedError(interruption, { message: `${InterruptedError.describe(interruption)}: ${command} stopped before it recorded anything (its statement was cancelled and rolled back), and the lock was released` });
  return new InterruptedError(interruption, {
    message: `${InterruptedError.describe(interruption)} after the ${command} had finished: what it recorded stays committed (the signal came too late to stop it), and the lock was released`,
    hint: "Run `athanor current` or `athanor log` to see the recorded state.",
    details: { committed: true },
  });
}

/**
 * A row command's session lost while it ran (pg_terminate_backend, a restart, a network
 * drop): PostgreSQL rolled back its transaction unless the COMMIT had reached the server,
 * which the driver's bare message does not say.
 */
function rowCommandSessionLost(error: unknown, command: RunCommand): unknown {
  if (!(error instanceof DatabaseError)) return error;
  if (!isLostConnection(error)) return error;
  return new DatabaseError(error.code, `the connection to the server was lost while ${command} ran (${error.message}): PostgreSQL rolled back what it was writing, unless its COMMIT had already reached the server`, {
    hint: `Run \`athanor current\` or \`athanor log\` to see whether the ${command} was recorded, then run it again if it was not.`,
    details: { ...error.details, connectionLost: true },
    cause: error,
  });
}

/**
 * Runs `work` with the migration lock held and the migration session open, between a
 * command-start and a command-end event; releases and closes whatever happens. A signal
 * cancels the statement running and ends the command as interrupted (see
 * {@link rowCommandInterrupted}).
 */
export async function runLockedCommand<T>(
  env: ResolvedEnvironment,
  command: RunCommand,
  options: LockedCommandOptions,
  work: (session: Session, emit: (event: EventInput) => void) => Promise<T>,
): Promise<T> {
  const started = Date.now();
  const emit = eventEmitter(options.events, env.name);
  emit({ type: "command-start", command, url: env.redactedUrl, mode: "online" });
  try {
    const locked = await openLockedSession(env, { command, lockWaitMs: options.lockWaitMs ?? 60_000, signal: options.signal, emit, session: options.session });
    const { signal } = options;
    let result: T;
    try {
      result = await work(stoppableSession(locked.session, signal, command), emit);
    } catch (error) {
      await locked.close().catch(() => {});
      if (signal?.aborted) throw rowCommandInterrupted(signal, command, false);
      throw rowCommandSessionLost(error, command);
    }
    try {
      await locked.close({ idle: true });
    } catch (error) {
      throw afterCommittedWork(error, command);
    }
    if (signal?.aborted) throw rowCommandInterrupted(signal, command, true);
    emit({ type: "command-end", command, durationMs: Date.now() - started, outcome: "success", completed: 0 });
    return result;
  } catch (error) {
    const interrupted = typeof error === "object" && error !== null && (error as { code?: unknown }).code === "interrupted";
    emit({ type: "command-end", command, durationMs: Date.now() - started, outcome: interrupted ? "interrupted" : "failed", completed: 0, error: toEventError(error) });
    throw error;
  }
}
