/**
 * The one wait loop behind every lock athanor takes (the advisory migration lock, the
 * run lock on the migration session, PGlite's lock file): try, and when busy, name the
 * holder once, give up after the wait with the caller's error, or stop on a signal.
 * Polling (never a blocking lock call) keeps a waiting runner from queueing behind the
 * holder, or behind a `CREATE INDEX CONCURRENTLY` the holder is running.
 */
import { InterruptedError } from "../errors.js";
import type { AbortSignalLike, LockHolder, LockRequest } from "./types.js";

/** One attempt: `taken`, `retry` at once (the holder just let go), or `busy`. */
export type LockAttempt = "taken" | "retry" | "busy";

/** Waits `ms`, or throws InterruptedError as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignalLike | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(interrupted(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(interrupted(signal as AbortSignalLike));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The InterruptedError for an aborted signal (reason "SIGINT" or "SIGTERM" from the CLI; anything else is the caller's abort). */
export function interrupted(signal: AbortSignalLike): InterruptedError {
  return InterruptedError.fromReason(signal.reason);
}

/**
 * Tries `attempt` until it is `taken`, waiting `request.pollMs` between tries.
 * @throws the request's timeout error (with the holder as `holder()` finds it) once `waitMs` ran out
 * @throws InterruptedError when the signal aborts
 */
export async function pollLock(request: LockRequest, attempt: () => Promise<LockAttempt>, holder: () => Promise<LockHolder | null>): Promise<void> {
  const started = Date.now();
  const poll = request.pollMs ?? 150;
  let waiting = false;
  for (;;) {
    if (request.signal?.aborted) throw interrupted(request.signal);
    const outcome = await attempt();
    if (outcome === "taken") return;
    if (outcome === "retry") continue;
    const elapsed = Date.now() - started;
    if (!waiting) {
      const found = await holder();
      // Announced once, when the holder is another process (this one's own session lets go by itself).
      if (found?.inThisProcess !== true) {
        waiting = true;
        request.onWait?.(found);
      }
    }
    if (elapsed >= request.waitMs) throw request.timeout(await holder(), elapsed);
    await sleep(Math.min(poll, Math.max(1, request.waitMs - elapsed)), request.signal);
  }
}
