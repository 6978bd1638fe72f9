/**
 * The migration lock of a PGlite database whose lock file cannot keep a second run out:
 * an in-memory one (`pglite://memory`), or a caller's session that holds its directory's
 * lock file already. Runs given one such session in this process (two `upgrade` calls of
 * a test suite at once) take turns on it, as two runners take turns on a server's
 * advisory lock; without this both went ahead on the one connection, the second's
 * statements ran inside the first's transaction, and a revision ran twice (adv21faults).
 */
import { pollLock } from "./lock-poll.js";
import type { LockHolder, LockRequest, ReleaseLock } from "./types.js";

/** Sessions a run of this process holds the migration lock on. */
const held = new WeakSet<object>();

const HOLDER: LockHolder = {
  description: "another run of this process on the same session",
  pid: process.pid,
  remedy: "wait for that run to finish, or give each run a session of its own",
  details: { inThisProcess: true },
  // Not announced as a wait for another process: it lets go when its run ends.
  inThisProcess: true,
};

/**
 * Takes `session`'s turn, waiting as `request` says (its timeout error, its signal).
 * @returns its release
 */
export async function takeSessionTurn(session: object, request: LockRequest): Promise<ReleaseLock> {
  await pollLock(
    request,
    async () => {
      if (held.has(session)) return "busy";
      held.add(session);
      return "taken";
    },
    async () => (held.has(session) ? HOLDER : null),
  );
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    held.delete(session);
  };
}
