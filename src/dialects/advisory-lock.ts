/**
 * athanor's session-level advisory locks on PostgreSQL: the migration lock on its lock
 * connection, the run lock on the migration session (src/run/lock.ts). Taken by polling
 * (lock-poll.ts), released by one statement.
 *
 * A connection pooler may hand one server session to several clients: transaction or
 * statement pooling, or session pooling with no `server_reset_query`. The pooler check
 * (postgres-pooler.ts) refuses such a proxy before the lock when it can tell, but with
 * other clients at work its probe may see nothing: each statement happened to land
 * where a session pooler would have put it (four runners at once through PgBouncer's
 * transaction pooling, one run in a few dozen). What keeps the lock honest there anyway:
 * - the statement that takes the lock refuses a server session that already holds the
 *   key for another client: a session lock is re-entrant, and granted again it would let
 *   a second runner in beside the first;
 * - the server session that took it is remembered (its backend pid), and the release
 *   unlocks there only, trying again while the pooler puts the statement elsewhere, then
 *   pinning the server sessions it lands on until one lands there, so a connection moved
 *   to another server session does not leave the lock behind for good.
 * On a direct connection (its server session is its own) neither costs anything: the same
 * one statement to take and one to release, and no pg_locks read.
 */
import { ConfigError, DatabaseError } from "../errors.js";
import { maskPasswords } from "../secrets/sql-passwords.js";
import { pollLock, sleep } from "./lock-poll.js";
import { behindProxy, markKeepsServerSession, markSharesServerSession } from "./pooled-session.js";
import { serverSessionState, type SpareConnection } from "./server-session-state.js";
import type { LockHolder, LockRequest, ReleaseLock, Session } from "./types.js";

/** How often a release tries to land on the server session that holds the lock, and the pause between tries (25 ms, then 50: ~2 s in all). */
const RELEASE_TRIES = 40;
const RELEASE_PAUSE_MS = 25;

/** Where pg_locks shows a bigint advisory key: classid = high 32 bits, objid = low 32 bits, objsubid = 1. */
export function keyParts(key: bigint): { high: string; low: string } {
  const unsigned = BigInt.asUintN(64, key);
  return { high: (unsigned >> 32n).toString(), low: (unsigned & 0xffffffffn).toString() };
}

/** The pg_locks test for one bigint key, given as its two halves ({@link keyParts}), held by the backend running the statement. */
const heldHere = (high: string, low: string) =>
  `EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() AND classid::bigint = ${high}::bigint AND objid::bigint = ${low}::bigint AND objsubid = 1)`;

/**
 * One try: the backend, whether it held the key before the statement (evaluated first: the
 * subquery is kept apart by OFFSET 0), and the lock, not asked for when the backend already
 * held it for someone else ($4: whether this session holds it itself).
 */
const TRY_LOCK = `SELECT pid, held_before, CASE WHEN held_before AND NOT $4::boolean THEN false ELSE pg_try_advisory_lock($1::bigint) END AS locked
  FROM (SELECT pg_backend_pid() AS pid, ${heldHere("$2", "$3")} AS held_before OFFSET 0) AS here`;

/**
 * The same on a direct connection, whose server session is its own: nothing else can hold a
 * key there, and reading pg_locks takes every lock-manager partition's lock, which every
 * poll of every waiting runner would pay (5 ms of server time on a loaded machine against
 * 0.03 ms, adv16 A3).
 */
const TRY_LOCK_DIRECT = "SELECT pg_backend_pid() AS pid, false AS held_before, pg_try_advisory_lock($1::bigint) AS locked";

/** Unlocks on backend $2 only; elsewhere says where the statement ran. */
const UNLOCK_ON = "SELECT pg_backend_pid() AS pid, CASE WHEN pg_backend_pid() = $2 THEN pg_advisory_unlock($1::bigint) END AS unlocked";

/** Whether the backend running the statement holds the key, and which backend that is ($1, $2: {@link keyParts}). */
const HELD_CHECK = `SELECT pg_backend_pid() AS pid, ${heldHere("$1", "$2")} AS held`;

/** Whether `session` holds one of athanor's advisory locks: its end must then wait for the server to release it. */
export function holdsAdvisoryLocks(session: Session): boolean {
  for (const count of serverSessionState(session).keysHeld.values()) if (count > 0) return true;
  return false;
}

function countHeld(session: Session, key: string, change: 1 | -1): void {
  const keys = serverSessionState(session).keysHeld;
  keys.set(key, (keys.get(key) ?? 0) + change);
}

/** A lock taken: its release, and the server session (backend pid) that holds it. */
export interface HeldLock {
  readonly release: ReleaseLock;
  readonly backendPid: number;
}

interface HolderRow {
  pid: number;
  application_name: string | null;
  usename: string | null;
  client_addr: string | null;
  since: string | null;
  state: string | null;
  query: string | null;
}

/**
 * A session-level advisory lock on `session` (see the module's comment); `Session.lock` on
 * PostgreSQL (the run lock on the migration session). Behind a proxy it is checked as the
 * lock connection's is ({@link confirmHeldWhereItRuns}); on a direct connection it costs
 * nothing more.
 */
export async function advisoryLock(session: Session, request: LockRequest): Promise<ReleaseLock> {
  const held = await takeAdvisoryLock(session, request);
  await confirmHeldWhereItRuns(session, held, request.key, request.name ?? ANY_LOCK, { always: false, alsoSelect: null });
  return held.release;
}

/** How many statements check, behind a proxy, that the lock is held where the connection's statements run. */
const PROXY_CHECK_ROUNDS = 3;

/**
 * Checks, with the statements after the take, that `session`'s statements run on the server
 * session that took the lock and that it still holds it there: the pooler check
 * (postgres-pooler.ts) may have seen nothing, or a proxy may pass the backend id through.
 * Behind a proxy, with other clients at work, one statement may land back by chance: a few
 * look, and the session is then known to keep its server session (reset before it ends:
 * pooled-session.ts). Otherwise the lock is released where it was taken and the run refused.
 * `always`: check on a direct connection too (one statement); `alsoSelect`: a column the
 * first check's statement computes as well (the lock connection's setting).
 * @throws ConfigError `lock-needs-session`
 */
export async function confirmHeldWhereItRuns(session: Session, held: HeldLock, key: bigint, display: string, options: { readonly always: boolean; readonly alsoSelect: string | null }): Promise<void> {
  const proxied = behindProxy(session);
  if (!proxied && !options.always) return;
  const { high, low } = keyParts(key);
  const sql = options.alsoSelect === null ? HELD_CHECK : `${HELD_CHECK}, ${options.alsoSelect}`;
  let check: { pid: number; held: boolean } | undefined;
  let where = held.backendPid;
  for (let round = 0; round < (proxied ? PROXY_CHECK_ROUNDS : 1) && where === held.backendPid && check?.held !== false; round++) {
    check = (await session.query<{ pid: number; held: boolean }>(sql, [high, low])).rows[0];
    where = Number(check?.pid);
  }
  if (where === held.backendPid && check?.held === true) {
    if (proxied) markKeepsServerSession(session);
    return;
  }
  markSharesServerSession(session);
  // The release unlocks on the server session that took it, wherever the pooler puts the connection now.
  const left = await held.release().then(
    () => "",
    (error: unknown) => (error instanceof DatabaseError ? ` It could not be released: ${String(error.details?.["reason"] ?? error.message)}.` : ""),
  );
  const evidence =
    where !== held.backendPid
      ? `it was taken on server session ${held.backendPid} and the connection's next statement ran on server session ${where}`
      : `it was taken on server session ${held.backendPid} and was no longer held there at the next statement`;
  throw new ConfigError("lock-needs-session", `${display} needs a connection that keeps one server session, but this connection goes through a transaction-pooling proxy (such as PgBouncer with pool_mode = transaction): ${evidence}.${left}`, {
    hint: "Give the environment a direct connection for migrations: set `migrationUrl` to the server's own host and port (not the pooler's).",
    details: { evidence },
  });
}

/**
 * Takes a session-level advisory lock on `session`, polled with pg_try_advisory_lock; the
 * request's `name` names it in a refusal and in the release's lost-lock error.
 * @throws ConfigError `lock-needs-session` when the server session given to this connection already held the key for another client
 * @throws the request's timeout error, or InterruptedError (lock-poll.ts)
 */
export async function takeAdvisoryLock(session: Session, request: LockRequest): Promise<HeldLock> {
  const key = request.key.toString();
  const { high, low } = keyParts(request.key);
  let backendPid = -1;
  const proxied = behindProxy(session);
  await pollLock(
    request,
    async () => {
      const ours = (serverSessionState(session).keysHeld.get(key) ?? 0) > 0;
      const row = (await session.query<{ pid: number; held_before: boolean; locked: boolean }>(proxied ? TRY_LOCK : TRY_LOCK_DIRECT, proxied ? [key, high, low, ours] : [key])).rows[0];
      if (row?.held_before === true && !ours) {
        markSharesServerSession(session);
        throw sharedServerSession(Number(row.pid), request.name ?? ANY_LOCK);
      }
      if (row?.locked !== true) return "busy";
      backendPid = Number(row.pid);
      return "taken";
    },
    () => findHolder(session, request.key, request.holderStyle ?? "owner"),
  );
  countHeld(session, key, 1);
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    await unlockOn(session, key, backendPid, request.name ?? "the lock");
    countHeld(session, key, -1);
  };
  return { release, backendPid };
}

/**
 * Unlocks `key` on backend `pid`, the server session that took it. A pooler may run the
 * statement on another server session: it is sent again, a little later each time, until
 * it lands there (a pooler hands back the server session a client used last when it is free).
 * A client alone on a pool that reuses its server connections last in, first out
 * (PgBouncer's default) lands where its own last statement ran, every time: after a few
 * tries the server sessions it lands on are pinned instead (see {@link releaseByPinning}).
 * `name`: what a lost-lock error calls the lock.
 */
async function unlockOn(session: Session, key: string, pid: number, name: string): Promise<void> {
  const openSpare = serverSessionState(session).openSpare;
  for (let attempt = 1; ; attempt++) {
    let row: { pid: number; unlocked: boolean | null } | undefined;
    try {
      row = (await session.query<{ pid: number; unlocked: boolean | null }>(UNLOCK_ON, [key, pid])).rows[0];
    } catch (error) {
      // The server released it when that connection ended, whenever that was.
      throw lockLost(name, `its connection was closed during the run: ${error instanceof Error ? error.message : String(error)}`, error);
    }
    if (row !== undefined && Number(row.pid) === pid) {
      if (row.unlocked !== true) throw lockLost(name, "the lock connection was reset or goes through a pooler");
      return;
    }
    if (openSpare !== null && attempt >= TRIES_BEFORE_PINNING && (attempt - TRIES_BEFORE_PINNING) % TRIES_BETWEEN_PINNINGS === 0) {
      const outcome = await oneAtATime(() => releaseByPinning(openSpare, key, pid));
      if (outcome === "released") return;
      if (outcome === "not-held") throw lockLost(name, "the lock connection was reset or goes through a pooler");
      // Not reached (the pool full, or that server session busy with another client): the tries go on.
    }
    if (attempt >= RELEASE_TRIES) {
      throw lockLost(
        name,
        `the lock connection goes through a pooler that no longer runs its statements on server session ${pid}, which holds the lock until the pooler closes that server connection; through a direct connection, SELECT pg_terminate_backend(${pid}) ends it once no athanor run is in progress`,
      );
    }
    await sleep(RELEASE_PAUSE_MS * Math.min(attempt, 2), undefined);
  }
}

/** Tries of the release on the session itself before it pins server sessions (other clients' statements may move it meanwhile). */
const TRIES_BEFORE_PINNING = 3;
/** Tries on the session between two pinnings that did not reach the lock's server session (it was busy, or the pool full). */
const TRIES_BETWEEN_PINNINGS = 12;
/** At most this many server sessions are pinned to reach the lock's: PgBouncer's default pool is 20 server connections. */
const MAX_PINNED = 20;
/** A pinning opens no spare connection after this long (each spare's connect and first statement wait at most 2 s more). */
const PINNING_DEADLINE_MS = 5_000;

/**
 * Pinnings of one process run one at a time: two at once (a fleet's lanes releasing their
 * locks, several keys on one lock connection) would hold each other's server sessions, and
 * together open more spare connections than a pool has.
 */
let pinningQueue: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(run: () => Promise<T>): Promise<T> {
  const next = pinningQueue.then(run, run);
  pinningQueue = next.catch(() => {});
  return next;
}

/**
 * Reaches server session `pid` through a pooler by elimination: each spare connection
 * opens a transaction, which holds the server session the pool gave it for as long as it
 * lasts, and unlocks `key` there if it is `pid`; otherwise it keeps its transaction open,
 * so the next spare is given another server session. The lock's own server session is idle
 * in the pool (its client runs nothing now), so one of them gets it unless the pool is full
 * or another client's transaction holds it. A session-level unlock stays done when the
 * transaction around it is rolled back. Every spare is rolled back and closed at the end.
 */
async function releaseByPinning(openSpare: () => Promise<SpareConnection>, key: string, pid: number): Promise<"released" | "not-held" | "not-reached"> {
  const spares: SpareConnection[] = [];
  const deadline = Date.now() + PINNING_DEADLINE_MS;
  try {
    for (let i = 0; i < MAX_PINNED && Date.now() < deadline; i++) {
      const spare = await openSpare();
      spares.push(spare);
      await spare.query("BEGIN");
      const row = (await spare.query<{ pid: number; unlocked: boolean | null }>(UNLOCK_ON, [key, pid]))[0];
      if (row !== undefined && Number(row.pid) === pid) return row.unlocked === true ? "released" : "not-held";
    }
    return "not-reached";
  } catch {
    // No spare connection, or no server connection for it within its wait: not reached this way.
    return "not-reached";
  } finally {
    await Promise.all(
      spares.map(async (spare) => {
        await spare.query("ROLLBACK").catch(() => {});
        await spare.close();
      }),
    );
  }
}

/**
 * Refuses a server session that already holds one of `locks` before athanor took any on it:
 * behind a pooler, a connection may be handed the server session of a client that took
 * athanor's lock and never released it (a crashed runner, a pooler with no
 * server_reset_query), or that holds it now (transaction pooling). One statement.
 * @throws ConfigError `lock-needs-session` naming the first such lock and the server session
 */
export async function refuseLocksHeldHere(session: Session, locks: readonly { readonly key: bigint; readonly display: string }[]): Promise<void> {
  const params: string[] = [];
  const columns = locks.map((lock, i) => {
    const { high, low } = keyParts(lock.key);
    params.push(high, low);
    return `${heldHere(`$${2 * i + 1}`, `$${2 * i + 2}`)} AS held_${i}`;
  });
  const row = (await session.query<Record<string, unknown>>(`SELECT pg_backend_pid() AS pid, ${columns.join(", ")}`, params)).rows[0] ?? {};
  const found = locks.find((_, i) => row[`held_${i}`] === true);
  if (found === undefined) return;
  markSharesServerSession(session);
  throw sharedServerSession(Number(row["pid"]), found.display);
}

/** How a refusal names a lock whose request gives no name. */
const ANY_LOCK = "athanor's lock";

/**
 * The refusal when the server session given to this connection already held the key for
 * another client: the connection goes through a pooler that shares server sessions, and
 * granted again (a session lock is re-entrant) the lock would let this runner in beside
 * that client. `display` names the lock.
 */
function sharedServerSession(pid: number, display: string): ConfigError {
  return new ConfigError(
    "lock-needs-session",
    `${display} needs a connection that keeps one server session, but the server session this connection was given (backend ${pid}) already holds that lock for another client: a connection pooler in between hands one server session to several clients (transaction or statement pooling, or session pooling without a server_reset_query), where a session-level advisory lock cannot keep a second runner out`,
    {
      hint: `Give the environment a direct connection for migrations: set \`migrationUrl\` to the server's own host and port (not the pooler's). Backend ${pid} keeps that lock until its client releases it or the pooler closes that server connection; through a direct connection, SELECT pg_terminate_backend(${pid}) ends it once no athanor run is in progress.`,
      details: { backendPid: pid },
    },
  );
}

/**
 * The error of a lock (`name`) found not held at release: `reason` says why. On PostgreSQL
 * the migration session holds the run lock too (src/run/lock.ts, holdRunLock), which kept
 * other runs out while the lock connection was gone.
 */
function lockLost(name: string, reason: string, cause?: unknown): DatabaseError {
  return new DatabaseError("lock-lost", `${name} was no longer held when the run ended (${reason})`, {
    hint: "Something ended the idle lock connection (the server's idle_session_timeout, pg_terminate_backend, a proxy or firewall that drops idle connections) or it goes through a pooler: give migrations a direct connection (`migrationUrl`) that nothing ends while idle, and check with `athanor check` that the database is as the run left it.",
    details: { reason },
    ...(cause === undefined ? {} : { cause }),
  });
}

async function findHolder(session: Session, key: bigint, style: "owner" | "activity"): Promise<LockHolder | null> {
  const { high, low } = keyParts(key);
  const result = await session.query<HolderRow>(
    `SELECT a.pid, a.application_name, a.usename::text AS usename, host(a.client_addr) AS client_addr, to_json(a.state_change) #>> '{}' AS since, a.state, a.query
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid::bigint = $1::bigint AND l.objid::bigint = $2::bigint
      LIMIT 1`,
    [high, low],
  );
  const row = result.rows[0];
  if (row === undefined) return null;
  const pid = Number(row.pid);
  const application = row.application_name || "no application_name";
  let description: string;
  if (style === "activity") {
    // The query text is a revision's, and may hold a password literal (`ALTER ROLE ...
    // PASSWORD '...'`): masked as a failed statement is, before it is cut, so a cut
    // never leaves part of a literal unmasked.
    const query = maskPasswords(row.query ?? "").replace(/\s+/g, " ").trim();
    description = `pid ${pid} (${application}, ${row.state ?? "unknown state"}${query ? `: ${query.length > 80 ? `${query.slice(0, 77)}...` : query}` : ""})`;
  } else {
    const parts = [application];
    if (row.usename) parts.push(`user ${row.usename}`);
    if (row.client_addr) parts.push(`from ${row.client_addr}`);
    // The lock connection goes idle right after taking the lock: its state_change is when it got it.
    if (row.since) parts.push(`since ${row.since}`);
    description = `pid ${pid} (${parts.join(", ")})`;
  }
  return {
    description,
    pid,
    remedy: `SELECT pg_terminate_backend(${pid})`,
    details: style === "activity" ? { pid, applicationName: row.application_name, state: row.state } : { pid, applicationName: row.application_name, user: row.usename, since: row.since },
  };
}

