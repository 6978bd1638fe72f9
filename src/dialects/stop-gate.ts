/**
 * The stop gate: once a run is interrupted, no revision of a round trip already on its
 * way may start. A cancel alone does not stop a round trip: it stops the statement
 * running when it arrives, and a revision whose SQL catches `query_canceled` (a PL/pgSQL
 * `EXCEPTION WHEN query_canceled`) swallows it — the server then went on to the next
 * revisions of the round trip and committed them after athanor had said it stopped.
 *
 * The gate is an advisory lock keyed by the migration session's backend pid. Each
 * revision of a round trip starts with a statement that takes it shared and gives it
 * back at once ({@link gatedValue}: no lock is held while the revision runs); the
 * interruption takes it exclusively on a second connection ({@link CLOSE_STOP_GATE})
 * BEFORE it sends the cancel, and holds it until the session closes. Every revision that
 * had not started by then fails its first statement, and the server skips the rest of
 * the round trip: the revisions before stay committed, none after starts. The exclusive
 * request waits at most for one such first statement, never for a revision.
 */

/** The gate's lock class: the first key of the two-key advisory lock form (`'athg'`); the second is the backend pid. */
const STOP_GATE_CLASS = 0x61746867;

/**
 * An SQL expression worth `valueSql` while the gate is open; once it is closed, an error
 * that stops the round trip (`unrecognized configuration parameter
 * "athanor_stopped_by_an_interruption"`: `set_config` is volatile, so the planner never
 * evaluates it ahead, and the branch runs only when taken).
 */
export function gatedValue(valueSql: string): string {
  const key = `${STOP_GATE_CLASS}, pg_backend_pid()`;
  return `CASE WHEN pg_try_advisory_lock_shared(${key}) AND pg_advisory_unlock_shared(${key}) THEN ${valueSql} ELSE set_config('${STOPPED_SETTING}', '', true) END`;
}

/** The setting whose refusal is a closed gate's error. */
const STOPPED_SETTING = "athanor_stopped_by_an_interruption";

/** True for the error a revision's first statement fails with when it finds the gate closed. */
export function isGateClosedError(message: string): boolean {
  return message.includes(`"${STOPPED_SETTING}"`);
}

/**
 * The sessions that hold the gate of the session whose backend pid is `$1` (pg_locks shows a
 * two-key advisory lock as classid, objid and objsubid 2): when no interruption closed it,
 * another connection holds its key, and every revision of a round trip fails its first statement.
 */
export const STOP_GATE_HOLDERS = `SELECT a.pid, a.application_name, a.usename::text AS usename
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.mode = 'ExclusiveLock'
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.classid::bigint = ${STOP_GATE_CLASS} AND l.objid::bigint = $1::bigint`;

/** The gate's key as `pg_advisory_unlock` takes it, for messages. */
export function stopGateKey(pid: number): string {
  return `${STOP_GATE_CLASS}, ${pid}`;
}

/** Closes the gate of the session whose backend pid is `$1` (run on another connection, which holds it until it closes). */
export const CLOSE_STOP_GATE = `SELECT pg_advisory_lock(${STOP_GATE_CLASS}, $1::int)`;
