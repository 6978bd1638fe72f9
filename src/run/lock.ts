/**
 * The migration lock (DESIGN.md §6): one runner at a time per version table, and the run
 * lock that keeps a new runner away from a dead runner's last statement. What a lock IS
 * on each database (an advisory lock on a dedicated connection, a lock file beside a
 * PGlite directory) lives behind the dialect boundary (`lockDatabase`, `Session.lock`);
 * this module names the locks, their keys and what a runner is told while it waits.
 */
import { createHash } from "node:crypto";
import type { DatabaseTarget } from "../config/types.js";
import { refuseLocksHeldHere } from "../dialects/advisory-lock.js";
import { lockDatabase, lockLocation } from "../dialects/open.js";
import type { SharedLockConnections } from "../dialects/shared-locks.js";
import { formatWait } from "../config/duration.js";
import type { AbortSignalLike, LockHolder, LockRequest, ReleaseLock, Session } from "../dialects/types.js";
import { LockTimeoutError } from "../errors.js";
import type { VersionTableName } from "./version-table.js";

export { interrupted, sleep } from "../dialects/lock-poll.js";
export { lockFilePath } from "../dialects/pglite-lock-path.js";
export type { ReleaseLock } from "../dialects/types.js";

/** What {@link acquireLock} needs to know. */
export interface AcquireLockOptions {
  readonly target: DatabaseTarget;
  readonly versionTable: VersionTableName;
  /** How long to wait for another runner to finish, in milliseconds. */
  readonly waitMs: number;
  /** Shown in pg_stat_activity (and the lock file), e.g. `athanor upgrade (production)`. */
  readonly applicationName: string;
  readonly secrets?: readonly string[] | undefined;
  /** Aborts the wait (SIGINT/SIGTERM). */
  readonly signal?: AbortSignalLike | undefined;
  /** How often to try again, in milliseconds (default 150). */
  readonly pollMs?: number | undefined;
  /** Called once when the lock is busy and waiting begins, with the holder's description. */
  readonly onWait?: ((holder: string) => void) | undefined;
  /** Lock connections shared by a fleet's targets on one database (the key stays this version table's). */
  readonly shared?: SharedLockConnections | undefined;
  /** The migration session, when the caller opened it: a PGlite session holds its directory's lock already. */
  readonly session?: Session | undefined;
}

/**
 * A stable signed 64-bit advisory-lock key for a version table: the first 8 bytes of
 * sha256("athanor:<schema>.<table>"). The same table always gives the same key, in every
 * process and every version of athanor.
 */
export function lockKey(versionTable: VersionTableName): bigint {
  return keyOf(`athanor:${versionTable.schema}.${versionTable.table}`);
}

/**
 * The key of the run lock: held by the migration session itself (not the lock
 * connection) for as long as it is open. See {@link holdRunLock}.
 */
export function runLockKey(versionTable: VersionTableName): bigint {
  return keyOf(`athanor-run:${versionTable.schema}.${versionTable.table}`);
}

function keyOf(text: string): bigint {
  return createHash("sha256").update(text).digest().readBigInt64BE(0);
}

/**
 * Takes the migration lock for an environment's version table, waiting up to `waitMs`.
 * @returns the function that releases it
 * @throws LockTimeoutError (exit 4) naming the holder when the wait runs out
 * @throws InterruptedError when `signal` aborts the wait
 * @example
 * const release = await acquireLock({ target: env.target, versionTable: env.versionTable, waitMs: 60_000, applicationName: "athanor upgrade (dev)" });
 * try { ... } finally { await release(); }
 */
export function acquireLock(options: AcquireLockOptions): Promise<ReleaseLock> {
  const { request, display } = migrationLock(options);
  return lockDatabase(options.target, request, { applicationName: options.applicationName, secrets: options.secrets, display, shared: options.shared, session: options.session });
}

/**
 * The migration lock's request (wait, messages, exit 4 naming the holder) and its name
 * in messages. On a PGlite directory the migration session takes it itself, as the lock
 * it holds on its directory while open (see openLockedSession).
 */
export function migrationLock(options: Omit<AcquireLockOptions, "shared" | "session">): { readonly request: LockRequest; readonly display: string } {
  const file = lockLocation(options.target);
  const display = file === null ? `the migration lock on ${options.versionTable.schema}.${options.versionTable.table}` : `the migration lock ${file}`;
  const describe = (holder: LockHolder | null) => holder?.description ?? "another session (it let go while we looked)";
  const request: LockRequest = {
    key: lockKey(options.versionTable),
    waitMs: options.waitMs,
    pollMs: options.pollMs,
    signal: options.signal,
    holderStyle: "owner",
    onWait: (holder) => options.onWait?.(describe(holder)),
    timeout: (holder, waitedMs) =>
      new LockTimeoutError(`${display} is held by ${describe(holder)}; gave up after waiting ${formatWait(options.waitMs)}`, {
        hint:
          holder === null
            ? "Retry; the other runner was finishing. Raise the wait with --lock-wait if runs overlap often."
            : file === null
              ? `Wait for that run to finish and retry, or wait longer with --lock-wait. If it is stuck, end it with ${holder.remedy}.`
              : `Wait for that run to finish and retry, or wait longer with --lock-wait. ${holder.remedy}`,
        details: { holder: holder?.details ?? null, waitedMs, ...(file === null ? {} : { lockFile: file }) },
      }),
  };
  return { request, display };
}

/**
 * Refuses a migration session opened through a proxy whose server session already holds
 * the migration lock or the run lock of `versionTable` for another client (see
 * dialects/advisory-lock.ts): this run's lock connection would otherwise wait for its own
 * migration session, named as the holder, until the lock wait ran out.
 */
export function refuseLocksOfOthers(session: Session, versionTable: VersionTableName): Promise<void> {
  return refuseLocksHeldHere(session, [
    { key: lockKey(versionTable), display: `the migration lock on ${versionTable.schema}.${versionTable.table}` },
    { key: runLockKey(versionTable), display: "the run lock" },
  ]);
}

/** Why a run's session may hold the run lock without the migration lock: all that a waiting runner knows. */
export const LOCK_CONNECTION_GONE = "its runner may have died, or that connection was ended by a timeout or a proxy";

/** Options of {@link holdRunLock}. */
export interface HoldRunLockOptions {
  readonly versionTable: VersionTableName;
  /** How long to wait for the other run's session to end, in milliseconds (what is left of the lock wait). */
  readonly waitMs: number;
  /** The whole lock wait (`--lock-wait`), of which `waitMs` is what was left: what a refusal says was waited. */
  readonly lockWaitMs?: number | undefined;
  readonly signal?: AbortSignalLike | undefined;
  readonly pollMs?: number | undefined;
  /** Called once when waiting begins, with the other session's description. */
  readonly onWait?: ((holder: string) => void) | undefined;
}

/**
 * Takes the run lock on the migration session (called with the migration lock held)
 * and keeps it until the session closes. A no-op where advisory locks exclude nothing
 * (PGlite: a runner's database engine dies with its process).
 *
 * The migration lock lives on its own idle connection, whose backend ends the moment a
 * runner's process dies; the migration session's backend does not: it finishes the
 * statement it was running (a long revision, a whole batch) before it notices that its
 * client is gone (within a second on PostgreSQL 14+, `client_connection_check_interval`).
 * Without this lock, a runner started right after a crash would take the migration lock
 * and run the same revisions beside that leftover backend. With it, the new runner
 * waits until the leftover backend has ended (committed or rolled back), and only then
 * reads the version rows. A waiting runner cannot tell a dead runner's backend from a
 * live run whose lock connection was ended (`idle_session_timeout`, a proxy): both hold
 * the run lock without the migration lock, so its messages say no more than that.
 * @returns the function that releases it (best effort; closing the session releases it too)
 * @throws LockTimeoutError naming the other session when it outlives `waitMs`
 */
export async function holdRunLock(session: Session, options: HoldRunLockOptions): Promise<ReleaseLock> {
  const describe = (holder: LockHolder | null) => holder?.description ?? "a connection that let go while we looked";
  const release = await session.lock({
    // A pooled server session that already held it for another client is refused under this name (dialects/advisory-lock.ts).
    name: "the run lock",
    key: runLockKey(options.versionTable),
    waitMs: options.waitMs,
    pollMs: options.pollMs ?? 100,
    signal: options.signal,
    holderStyle: "activity",
    onWait: (holder) => options.onWait?.(describe(holder)),
    timeout: (holder, waitedMs) =>
      new LockTimeoutError(`another run's migration session is still working on this database, though its migration lock's connection is gone (${LOCK_CONNECTION_GONE}): ${describe(holder)}; gave up after waiting ${formatWait(options.lockWaitMs ?? options.waitMs)}`, {
        hint:
          holder === null
            ? "Retry; it was finishing."
            : `A live run goes on to its end; a dead runner's session ends when its statement does (PostgreSQL 14+ notices a vanished client within a second of the statement checking). Wait and retry, or wait longer with --lock-wait. Only if no athanor process is running against this database, end it with ${holder.remedy}, then check the database with \`athanor check\`.`,
        details: { holder: holder?.details ?? null, waitedMs },
      }),
  });
  return async () => {
    await release().catch(() => {});
  };
}
