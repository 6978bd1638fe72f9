/**
 * Turns of the event loop during long synchronous work: the scan of a migrations
 * directory (src/revisions/script-directory.ts) and the check ahead of a plan
 * (src/run/check-ahead.ts) give one every millisecond or so. A connection being opened
 * meanwhile progresses only in those turns (each step of its SCRAM handshake needs one,
 * and so does each answer of the lock and state queries), and so do signal handlers and
 * timers. Time, not a count of items: a fresh process handles its first items several
 * times slower than its later ones (code not yet optimised).
 */
/**
 * The next turn of the event loop: a promise around setImmediate (node:timers/promises is
 * a module to load at start-up).
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** How long synchronous work may hold the event loop between two turns, in milliseconds. */
export const SLICE_MS = 1;

/**
 * A function to call between items: it returns a promise of the next turn once
 * {@link SLICE_MS} has passed since the last turn (await it), otherwise null (nothing to
 * await, so a loop over items pays no promise per item). `Date.now()`: whole
 * milliseconds, so a slice lasts up to one; no module to load for a finer clock.
 */
export function sliceTurns(): () => Promise<void> | null {
  let sliceStart = Date.now();
  return () => {
    if (Date.now() - sliceStart < SLICE_MS) return null;
    return nextTurn().then(() => {
      sliceStart = Date.now();
    });
  };
}
