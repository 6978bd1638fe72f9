/**
 * Opens a Session on a resolved database target, and takes a target's migration lock.
 * Drivers load lazily: a `postgres://` run never loads PGlite (WASM, ~2 s and hundreds
 * of MB), and PGlite runs never load `pg`.
 */
import { existsSync, readdirSync } from "node:fs";
import type { DatabaseTarget } from "../config/types.js";
import type { AbortSignalLike, LockRequest, ReleaseLock, Session } from "./types.js";
import { toDatabaseError } from "./driver-errors.js";
import { holdsDirectory, lockFilePath } from "./pglite-lock-path.js";
import { SharedLockConnections } from "./shared-locks.js";

export interface OpenSessionOptions {
  /** Shown in pg_stat_activity, so a waiting runner can name the lock holder. */
  applicationName?: string;
  /** Connect timeout in milliseconds (postgres only). */
  connectTimeoutMs?: number;
  /** Secrets to scrub from driver errors. */
  secrets?: readonly string[];
  /**
   * Run every statement of the session in this schema (`search_path`); it must exist.
   * PostgreSQL gets it as a startup option, PGlite (one session) as a SET.
   */
  searchPath?: string | null | undefined;
  /** The session will write: refuse a server in recovery (a standby) with RefusedError. */
  writable?: boolean | undefined;
  /**
   * A PGlite data directory is open in one process at a time, readers included (its
   * lock file is held from before it opens until the session closes): how long to wait
   * for another process that has it open, in milliseconds (default 60 000), before
   * LockTimeoutError (exit 4) names that process. Ignored elsewhere.
   */
  lockWaitMs?: number | undefined;
  /**
   * Aborts that wait with InterruptedError; on a server, the wait for the connection's
   * first answer (behind a session-pooling proxy, the wait for a free server connection).
   */
  signal?: AbortSignalLike | undefined;
  /** Called once when that wait begins, with the holder (`pid 4242 on host (athanor upgrade (development), since ...)`). */
  onLockWait?: ((holder: string) => void) | undefined;
  /**
   * That wait as a whole request instead (the migration lock's, with its messages):
   * the session's hold on its directory is then also the directory's migration lock.
   */
  directoryLock?: LockRequest | undefined;
}

let postgresSession: Promise<typeof import("./postgres-session.js")> | undefined;

/**
 * The node-postgres session module, loaded once. While `pg` loads, Node 20 gets the
 * `navigator.userAgent` that Node 21 and later define: without it, pg's test for a
 * Cloudflare Worker builds a `Response`, which loads Node's whole fetch implementation
 * (undici, ~40 ms of every run's start-up) for nothing. The global is removed at once.
 */
function importPostgresSession(): Promise<typeof import("./postgres-session.js")> {
  if (postgresSession !== undefined) return postgresSession;
  const lent = !("navigator" in globalThis);
  if (lent) Object.defineProperty(globalThis, "navigator", { value: { userAgent: `Node.js/${process.versions.node}` }, configurable: true, writable: true });
  const loading = import("./postgres-session.js");
  postgresSession = loading.finally(() => {
    if (lent) Reflect.deleteProperty(globalThis, "navigator");
  });
  return postgresSession;
}

/**
 * Resolves once the target's driver is loaded (node-postgres for a server; nothing for
 * PGlite, which loads when its directory is opened). Loading `pg` is synchronous work
 * on this thread (~60 ms): a caller that starts a connect and then has synchronous work
 * of its own (reading the migrations directory) waits for this first, so the connect's
 * round trips run on the server while that work runs here. Never rejects: a driver that
 * fails to load fails the connect that needs it.
 */
export async function driverLoaded(target: DatabaseTarget): Promise<void> {
  if (target.kind === "postgres") await importPostgresSession().catch(() => {});
}

/**
 * Connects to the target and returns a Session; driver errors become DatabaseError with secrets removed.
 *
 * A PGlite data directory is open in one process at a time: its lock file is taken
 * first (waiting `lockWaitMs` for another process that has it open, then LockTimeoutError,
 * exit 4) and released when the session closes, so close every session you open.
 */
export async function openSession(target: DatabaseTarget, options: OpenSessionOptions = {}): Promise<Session> {
  const secrets = options.secrets ?? [];
  try {
    if (target.kind === "postgres") {
      const { openPostgresSession } = await importPostgresSession();
      return await openPostgresSession(target, options);
    }
    const { openPgliteSession } = await import("./pglite-session.js");
    return await openPgliteSession(target, options);
  } catch (error) {
    throw toDatabaseError(error, { secrets, action: "connect", target });
  }
}

/** What {@link lockDatabase} needs besides the request. */
export interface LockDatabaseOptions {
  /** Shown in pg_stat_activity and written into a lock file: who holds the lock. */
  readonly applicationName: string;
  readonly secrets?: readonly string[] | undefined;
  /** Names the lock in messages, e.g. `the migration lock on public.athanor_version`. */
  readonly display: string;
  /** Lock connections shared by a fleet's targets (see {@link sharedLockConnections}); a dedicated connection otherwise. */
  readonly shared?: SharedLockConnections | undefined;
  /** The session the lock is for, when already open: a PGlite session holds its directory's lock already. */
  readonly session?: Session | undefined;
}

/**
 * Takes the migration lock of a database, before its migration session is opened:
 * on PostgreSQL a session-level advisory lock on a dedicated connection; for a PGlite
 * data directory a lock file beside it (opening the directory from two processes would
 * corrupt it), which a session opened by {@link openSession} holds already for as long
 * as it is open; nothing for an in-memory PGlite database, which belongs to one process
 * (and for a session passed in, runs on it take turns in this process).
 * @returns its release
 */
export async function lockDatabase(target: DatabaseTarget, request: LockRequest, options: LockDatabaseOptions): Promise<ReleaseLock> {
  if (target.kind === "postgres") {
    const onShared = await options.shared?.lock(target, request, options);
    if (onShared !== undefined && onShared !== null) return onShared;
    const { lockPostgresDatabase } = await importPostgresSession();
    const secrets = options.secrets ?? [];
    return lockPostgresDatabase(target, request, {
      // Only writers lock: a standby is refused before its lock is taken. The lock
      // connection's statements name pg_catalog functions only, so it needs no search_path.
      open: (applicationName, signal) => openSession(target, { applicationName, secrets, writable: true, signal }),
      applicationName: options.applicationName,
      display: options.display,
      signal: request.signal,
    });
  }
  // No lock file to take: runs on one caller's session take turns on it in this process.
  if (target.dataDir === null || (options.session !== undefined && holdsDirectory(options.session, target.dataDir))) {
    if (options.session === undefined) return async () => {};
    const { takeSessionTurn } = await import("./session-turns.js");
    return takeSessionTurn(options.session, request);
  }
  const { lockDataDirectory } = await import("./pglite-lock-file.js");
  return lockDataDirectory(target.dataDir, request, options.applicationName);
}

/**
 * Lock connections to share between the targets of a fleet: one per PostgreSQL
 * database, each target still under its own advisory lock. The caller closes them.
 */
export function sharedLockConnections(): SharedLockConnections {
  // Only writers lock: a standby is refused before its lock is taken (as for a dedicated lock connection).
  return new SharedLockConnections((target, applicationName, secrets, signal) => openSession(target, { applicationName, secrets, writable: true, signal }));
}

/**
 * True for a database that does not exist yet and that opening would create: a PGlite
 * data directory not yet on disk (as good as empty). A server database always "exists"
 * here; connecting says whether it does.
 */
export function databaseMissing(target: DatabaseTarget): boolean {
  if (target.kind !== "pglite" || target.dataDir === null) return false;
  if (!existsSync(target.dataDir)) return true;
  // An empty directory (made by mkdir, a volume mount) holds no database either, and opening
  // it writes a whole cluster into it. Anything else, opening reports (not a directory, unreadable).
  try {
    return readdirSync(target.dataDir).length === 0;
  } catch {
    return false;
  }
}

/** True for a database that lives only in this process's memory (`pglite://memory`): nothing on disk to back up or reopen. */
export function databaseInMemory(target: DatabaseTarget): boolean {
  return target.kind === "pglite" && target.dataDir === null;
}

/**
 * True when opening the target is local work (an embedded engine starting in this
 * process) rather than a network connection that could fail to answer.
 */
export function opensLocally(target: DatabaseTarget): boolean {
  return target.kind === "pglite";
}

/** Where the lock of a target lives, for messages: the lock file of a PGlite directory, or null. */
export function lockLocation(target: DatabaseTarget): string | null {
  if (target.kind !== "pglite" || target.dataDir === null) return null;
  return lockFilePath(target.dataDir);
}
