/**
 * What the first SIGINT/SIGTERM stops, when the command running knows better than the
 * generic note src/cli/bin.ts prints as the signal comes (a run on PGlite, whose statements
 * cannot be cancelled).
 */
let stopping: string | null = null;

/** Sets what the note says the signal stops (the text after `SIGINT: stopping: `); null: bin.ts's own. */
export function setSignalNote(text: string | null): void {
  stopping = text;
}

/** The note set by the running command, or null for bin.ts's own. */
export function runSignalNote(): string | null {
  return stopping;
}

/**
 * A run on PGlite: its engine runs in this process, so a signal is handled only once the
 * statement it was running has returned — for a round trip of several revisions, once all
 * of them committed — and nothing can be cancelled. What is still to run does not start.
 */
export const PGLITE_RUN_SIGNAL_NOTE =
  "PGlite runs in this process and cannot cancel a statement: what was already sent to it ran to its end (a round trip of several revisions committed them all), a transactional revision still running from athanor (TypeScript, or statement by statement) is rolled back, no later revision starts, the lock is released";

/** While a run waits for a lock: nothing has run yet, and nothing is held that matters. */
export const LOCK_WAIT_SIGNAL_NOTE = "the wait for the lock ends; no revision has run, nothing is changed";
