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
  return `CASE WHEN pg_try_advisory_lock_shared(${key}) AND pg_advisory_unlock_shared(${key}) THEN ${valueSql} ELSE set_config('athanor_stopped_by_an_interruption', '', true) END`;
}

/** Closes the gate of the session whose backend pid is `$1` (run on another connection, which holds it until it closes). */
export const CLOSE_STOP_GATE = `SELECT pg_advisory_lock(${STOP_GATE_CLASS}, $1::int)`;
