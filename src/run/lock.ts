/**
 * The migration lock (DESIGN.md §6): one runner at a time per version table.
 *
 * On PostgreSQL it is a session-level advisory lock keyed on the version table, held on
 * a dedicated connection that only ever runs single autocommit statements (a lock held
 * inside a transaction deadlocks `CREATE INDEX CONCURRENTLY`, which waits for every
 * older transaction). It is polled with `pg_try_advisory_lock`, so a waiting runner
 * never queues behind the holder, and a runner that waits too long fails with
 * LockTimeoutError naming the holder.
 *
 * On PGlite an advisory lock excludes nothing (one backend per process, and two
 * processes can open the same data directory), so the lock is a file beside the data
 * directory, created with O_EXCL; a file left by a dead process on this host is taken
 * over. An in-memory PGlite database belongs to one process and needs no lock.
 */
import { createHash } from "node:crypto";
import { mkdir, open, readFile, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import type { DatabaseTarget } from "../config/types.js";
import { openSession } from "../dialects/open.js";
import type { Session } from "../dialects/types.js";
import { ConfigError, DatabaseError, InterruptedError, LockTimeoutError } from "../errors.js";
import { assertSessionBound } from "./pooler.js";
import type { VersionTableName } from "./version-table.js";

/** Releases a lock taken by {@link acquireLock}. Safe to call twice. */
export type ReleaseLock = () => Promise<void>;

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
  readonly signal?: AbortSignal | undefined;
  /** How often to try again, in milliseconds (default 150). */
  readonly pollMs?: number | undefined;
  /** Called once when the lock is busy and waiting begins, with the holder's description. */
  readonly onWait?: ((holder: string) => void) | undefined;
}

/**
 * A stable signed 64-bit advisory-lock key for a version table: the first 8 bytes of
 * sha256("athanor:<schema>.<table>"). The same table always gives the same key, in every
 * process and every version of athanor.
 */
export function lockKey(versionTable: VersionTableName): bigint {
  const digest = createHash("sha256").update(`athanor:${versionTable.schema}.${versionTable.table}`).digest();
  return digest.readBigInt64BE(0);
}

/**
 * The key of the run lock: held by the migration session itself (not the lock
 * connection) for as long as it is open. See {@link holdRunLock}.
 */
export function runLockKey(versionTable: VersionTableName): bigint {
  const digest = createHash("sha256").update(`athanor-run:${versionTable.schema}.${versionTable.table}`).digest();
  return digest.readBigInt64BE(0);
}

/** Where pg_locks shows a bigint advisory key: classid = high 32 bits, objid = low 32 bits, objsubid = 1. */
function keyParts(key: bigint): { high: string; low: string } {
  const unsigned = BigInt.asUintN(64, key);
  return { high: (unsigned >> 32n).toString(), low: (unsigned & 0xffffffffn).toString() };
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
export async function acquireLock(options: AcquireLockOptions): Promise<ReleaseLock> {
  if (options.target.kind === "postgres") return acquireAdvisoryLock(options);
  if (options.target.dataDir === null) return async () => {};
  return acquireLockFile(options.target.dataDir, options);
}

/** Waits `ms`, or throws InterruptedError as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(interrupted(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(interrupted(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The InterruptedError for an aborted signal (reason "SIGINT" or "SIGTERM"; anything else reads as SIGINT). */
export function interrupted(signal: AbortSignal): InterruptedError {
  return new InterruptedError(signal.reason === "SIGTERM" ? "SIGTERM" : "SIGINT");
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: a session-level advisory lock on a dedicated connection

interface HolderRow {
  pid: number;
  application_name: string | null;
  usename: string | null;
  client_addr: string | null;
  since: string | null;
}

async function acquireAdvisoryLock(options: AcquireLockOptions): Promise<ReleaseLock> {
  const key = lockKey(options.versionTable);
  const { high, low } = keyParts(key);
  const display = `${options.versionTable.schema}.${options.versionTable.table}`;
  const session = await openSession(options.target, {
    applicationName: options.applicationName,
    secrets: options.secrets ?? [],
  });
  const started = Date.now();
  const poll = options.pollMs ?? 150;
  let waiting = false;
  try {
    // Through a transaction-pooling proxy the lock would not exclude: refuse before taking it.
    await assertSessionBound(session, {
      target: options.target,
      openProbe: () => openSession(options.target, { applicationName: `${options.applicationName} probe`, secrets: options.secrets ?? [] }),
    });
    for (;;) {
      if (options.signal?.aborted) throw interrupted(options.signal);
      const result = await session.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS locked", [key.toString()]);
      if (result.rows[0]?.locked === true) break;
      const elapsed = Date.now() - started;
      if (!waiting) {
        waiting = true;
        options.onWait?.(describeHolder(await findHolder(session, high, low)));
      }
      if (elapsed >= options.waitMs) {
        const holder = await findHolder(session, high, low);
        throw new LockTimeoutError(`the migration lock on ${display} is held by ${describeHolder(holder)}; gave up after waiting ${formatWait(options.waitMs)}`, {
          hint:
            holder === null
              ? "Retry; the other runner was finishing. Raise the wait with --lock-wait if runs overlap often."
              : `Wait for that run to finish and retry, or wait longer with --lock-wait. If it is stuck, end it with SELECT pg_terminate_backend(${holder.pid}).`,
          details: { holder: holder === null ? null : { pid: Number(holder.pid), applicationName: holder.application_name, user: holder.usename, since: holder.since }, waitedMs: elapsed },
        });
      }
      await sleep(Math.min(poll, Math.max(1, options.waitMs - elapsed)), options.signal);
    }
    // Second line of defence (a proxy that passes the backend id through): the next
    // statement ran on another server connection, where the session lock is not held.
    const check = await session.query<{ held: boolean }>(
      "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() AND classid::bigint = $1::bigint AND objid::bigint = $2::bigint AND objsubid = 1) AS held",
      [high, low],
    );
    if (check.rows[0]?.held !== true) {
      // Best effort: the pooler's server connection that took it would keep it otherwise.
      await session.query("SELECT pg_advisory_unlock($1::bigint)", [key.toString()]).catch(() => {});
      throw new ConfigError("lock-needs-session", `the migration lock on ${display} was taken but is not held by the connection: the URL goes through a transaction-pooling proxy (e.g. PgBouncer in transaction mode)`, {
        hint: "Give the environment a direct connection for migrations: set `migrationUrl` to the server's own host and port (not the pooler's).",
      });
    }
  } catch (error) {
    await session.close();
    throw error;
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    try {
      const result = await session.query<{ unlocked: boolean }>("SELECT pg_advisory_unlock($1::bigint) AS unlocked", [key.toString()]);
      if (result.rows[0]?.unlocked !== true) {
        throw new DatabaseError("lock-lost", `the migration lock on ${display} was no longer held when the run ended (the lock connection was reset or goes through a pooler)`, {
          hint: "Use a direct connection to the server for migrations (`migrationUrl`), and check that nothing else ran concurrently.",
        });
      }
    } finally {
      await session.close();
    }
  };
}

/** Options of {@link holdRunLock}. */
export interface HoldRunLockOptions {
  readonly versionTable: VersionTableName;
  /** How long to wait for a dead runner's statement to end, in milliseconds. */
  readonly waitMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly pollMs?: number | undefined;
  /** Called once when waiting begins, with the leftover backend's description. */
  readonly onWait?: ((holder: string) => void) | undefined;
}

interface LeftoverRow {
  pid: number;
  application_name: string | null;
  state: string | null;
  query: string | null;
}

/**
 * Takes the run lock on the migration session (PostgreSQL only; called with the
 * migration lock held) and keeps it until the session closes.
 *
 * The migration lock lives on its own idle connection, whose backend ends the moment a
 * runner's process dies; the migration session's backend does not: it finishes the
 * statement it was running (a long revision, a whole batch) before it notices that its
 * client is gone. Without this lock, a runner started right after a crash would take
 * the migration lock and run the same revisions beside that leftover backend. With it,
 * the new runner waits until the leftover backend has ended (committed or rolled back),
 * and only then reads the version rows.
 * @returns the function that releases it (best effort; closing the session releases it too)
 * @throws LockTimeoutError naming the leftover backend when it outlives `waitMs`
 */
export async function holdRunLock(session: Session, options: HoldRunLockOptions): Promise<ReleaseLock> {
  if (session.kind !== "postgres") return async () => {};
  const key = runLockKey(options.versionTable);
  const { high, low } = keyParts(key);
  const started = Date.now();
  const poll = options.pollMs ?? 100;
  let waiting = false;
  for (;;) {
    if (options.signal?.aborted) throw interrupted(options.signal);
    const result = await session.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS locked", [key.toString()]);
    if (result.rows[0]?.locked === true) break;
    const elapsed = Date.now() - started;
    const holder = await findLeftover(session, high, low);
    if (!waiting) {
      waiting = true;
      options.onWait?.(describeLeftover(holder));
    }
    if (elapsed >= options.waitMs) {
      throw new LockTimeoutError(`a previous run's connection is still working on this database after its runner ended: ${describeLeftover(holder)}; gave up after waiting ${formatWait(options.waitMs)}`, {
        hint:
          holder === null
            ? "Retry; it was finishing."
            : `It ends when its statement does (PostgreSQL 14+ notices a vanished client within a second of the statement checking). Wait and retry, or end it now with SELECT pg_terminate_backend(${holder.pid}), then check the database with \`athanor check\`.`,
        details: { holder: holder === null ? null : { pid: Number(holder.pid), applicationName: holder.application_name, state: holder.state }, waitedMs: elapsed },
      });
    }
    await sleep(Math.min(poll, Math.max(1, options.waitMs - elapsed)), options.signal);
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await session.query("SELECT pg_advisory_unlock($1::bigint)", [key.toString()]).catch(() => {});
  };
}

async function findLeftover(session: Session, high: string, low: string): Promise<LeftoverRow | null> {
  const result = await session.query<LeftoverRow>(
    `SELECT a.pid, a.application_name, a.state, left(a.query, 120) AS query
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid::bigint = $1::bigint AND l.objid::bigint = $2::bigint
      LIMIT 1`,
    [high, low],
  );
  return result.rows[0] ?? null;
}

/** `pid 4242 (athanor upgrade (production), active: SELECT pg_sleep(...)...)`; the query text is a revision's, not a secret's. */
function describeLeftover(holder: LeftoverRow | null): string {
  if (holder === null) return "a connection that let go while we looked";
  const query = (holder.query ?? "").replace(/\s+/g, " ").trim();
  return `pid ${holder.pid} (${holder.application_name || "no application_name"}, ${holder.state ?? "unknown state"}${query ? `: ${query.length > 80 ? `${query.slice(0, 77)}...` : query}` : ""})`;
}

async function findHolder(session: Session, high: string, low: string): Promise<HolderRow | null> {
  const result = await session.query<HolderRow>(
    `SELECT a.pid, a.application_name, a.usename::text AS usename, host(a.client_addr) AS client_addr, to_json(a.state_change) #>> '{}' AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid::bigint = $1::bigint AND l.objid::bigint = $2::bigint
      LIMIT 1`,
    [high, low],
  );
  return result.rows[0] ?? null;
}

/** `pid 4242 (athanor upgrade (production), user app, since 2026-01-01T10:00:00Z)`. */
function describeHolder(holder: HolderRow | null): string {
  if (holder === null) return "another session (it let go while we looked)";
  const parts = [holder.application_name ? holder.application_name : "no application_name"];
  if (holder.usename) parts.push(`user ${holder.usename}`);
  if (holder.client_addr) parts.push(`from ${holder.client_addr}`);
  // The lock connection goes idle right after taking the lock: its state_change is when it got it.
  if (holder.since) parts.push(`since ${holder.since}`);
  return `pid ${holder.pid} (${parts.join(", ")})`;
}

function formatWait(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

// ---------------------------------------------------------------------------------------------
// PGlite: a lock file beside the data directory

interface LockFileContent {
  pid: number;
  host: string;
  startedAt: string;
  holder: string;
}

/** The lock file of a PGlite data directory: `<dataDir>.lock`. */
export function lockFilePath(dataDir: string): string {
  return `${dataDir.replace(/[\\/]+$/, "")}.lock`;
}

async function acquireLockFile(dataDir: string, options: AcquireLockOptions): Promise<ReleaseLock> {
  const path = lockFilePath(dataDir);
  await mkdir(dirname(path), { recursive: true });
  const mine: LockFileContent = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), holder: options.applicationName };
  const started = Date.now();
  const poll = options.pollMs ?? 150;
  let waiting = false;
  for (;;) {
    if (options.signal?.aborted) throw interrupted(options.signal);
    if (await tryCreate(path, mine)) break;
    const holder = await readHolder(path);
    if (holder === "vanished") continue;
    if (holder === "stale") {
      await takeOver(path);
      continue;
    }
    const elapsed = Date.now() - started;
    if (!waiting) {
      waiting = true;
      options.onWait?.(describeFileHolder(holder));
    }
    if (elapsed >= options.waitMs) {
      throw new LockTimeoutError(`the migration lock ${path} is held by ${describeFileHolder(holder)}; gave up after waiting ${formatWait(options.waitMs)}`, {
        hint: `Wait for that run to finish and retry, or wait longer with --lock-wait. If process ${holder.pid} on ${holder.host} no longer runs athanor, delete ${path}.`,
        details: { holder, waitedMs: elapsed, lockFile: path },
      });
    }
    await sleep(Math.min(poll, Math.max(1, options.waitMs - elapsed)), options.signal);
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    const holder = await readHolder(path);
    if (typeof holder === "object" && holder.pid === mine.pid && holder.startedAt === mine.startedAt) await unlink(path).catch(() => {});
  };
}

/**
 * Removes a stale lock file. Two runners may find the same stale file: the one that
 * creates `<lock>.takeover` (O_EXCL) checks again and removes it; the other retries, so
 * it never deletes the lock the first one has just created.
 */
async function takeOver(path: string): Promise<void> {
  const guard = `${path}.takeover`;
  let handle;
  try {
    handle = await open(guard, "wx", 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const info = await stat(guard).catch(() => null);
    if (info !== null && Date.now() - info.mtimeMs > UNREADABLE_GRACE_MS) await unlink(guard).catch(() => {});
    else await sleep(20, undefined);
    return;
  }
  try {
    await handle.close();
    if ((await readHolder(path)) === "stale") await unlink(path).catch(() => {});
  } finally {
    await unlink(guard).catch(() => {});
  }
}

async function tryCreate(path: string, content: LockFileContent): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, "wx", 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new DatabaseError("lock-file", `cannot create the lock file ${path}: ${(error as Error).message}`, {
      hint: "Check that the directory holding the PGlite database is writable.",
    });
  }
  try {
    await handle.writeFile(`${JSON.stringify(content)}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

/** A lock file that cannot be read for this long is a crashed writer's leftover. */
const UNREADABLE_GRACE_MS = 5_000;

async function readHolder(path: string): Promise<LockFileContent | "stale" | "vanished"> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return "vanished";
  }
  let parsed: Partial<LockFileContent> | null = null;
  try {
    parsed = JSON.parse(text) as Partial<LockFileContent>;
  } catch {
    parsed = null;
  }
  if (parsed === null || typeof parsed.pid !== "number" || typeof parsed.host !== "string") {
    // Being written right now, or garbage: stale once it is old enough.
    const info = await stat(path).catch(() => null);
    if (info === null) return "vanished";
    return Date.now() - info.mtimeMs > UNREADABLE_GRACE_MS ? "stale" : { pid: 0, host: "?", startedAt: new Date(info.mtimeMs).toISOString(), holder: "a runner starting up" };
  }
  const content: LockFileContent = {
    pid: parsed.pid,
    host: parsed.host,
    startedAt: typeof parsed.startedAt === "string" ? parsed.startedAt : "?",
    holder: typeof parsed.holder === "string" ? parsed.holder : "athanor",
  };
  if (content.host === hostname() && !processAlive(content.pid)) return "stale";
  return content;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function describeFileHolder(holder: LockFileContent): string {
  return `pid ${holder.pid} on ${holder.host} (${holder.holder}, since ${holder.startedAt})`;
}
