/**
 * A session that stops when a signal aborts, for the commands that only read (`current`,
 * `check`, `diff`'s shadow...): the statement running is cancelled (or the shadow's
 * worker ended), and every call still running or made afterwards rejects with
 * InterruptedError, so the command ends with 130/143 instead of reporting a normal
 * result once its wait is over. The runs (`upgrade`...) have their own handling, which
 * records the interrupted revision (src/run/execute.ts).
 */
import { InterruptedError } from "../errors.js";
import type { AbortSignalLike, Session } from "./types.js";

/** Options of {@link abortableSession}. */
export interface AbortableOptions {
  /** What stopped, for the error: `current stopped before it read the version table; nothing was changed`. */
  readonly stopped: string;
  /**
   * How to stop the work in flight; default: cancel the running statement where the
   * session can (a PGlite in this thread cannot: the call stops after its statement).
   */
  readonly stop?: ((session: Session) => Promise<void>) | undefined;
  /**
   * A call that completes after the signal returns its result instead of rejecting: for a
   * write whose success means it committed, which the caller must then report as such
   * (src/run/connect.ts, runLockedCommand). Calls made after the signal are still refused.
   */
  readonly keepCompleted?: boolean | undefined;
}

/** Cancels the statement `session` is running, where it can (a PGlite in this thread cannot). */
export async function cancelRunning(session: Session): Promise<void> {
  if (session.capabilities.cancel) await session.cancel();
}

/** The error an aborted signal ends a read with. */
export function readInterrupted(signal: AbortSignalLike, stopped: string): InterruptedError {
  const interruption = InterruptedError.interruptionOf(signal.reason);
  return new InterruptedError(interruption, { message: `${InterruptedError.describe(interruption)}: ${stopped}` });
}

/** Wraps `session` so that `signal` stops it (see the module comment); without a signal, returns it unchanged. */
export function abortableSession(session: Session, signal: AbortSignalLike | undefined, options: AbortableOptions): Session {
  if (signal === undefined) return session;
  const stop = options.stop ?? cancelRunning;
  const onAbort = () => void stop(session).catch(() => {});
  signal.addEventListener("abort", onAbort, { once: true });
  // A call that fails or ends after the signal is reported as the interruption: its error is the cancel's doing.
  const guard = async <T>(call: () => Promise<T>): Promise<T> => {
    if (signal.aborted) throw readInterrupted(signal, options.stopped);
    let result: T;
    try {
      result = await call();
    } catch (error) {
      if (signal.aborted) throw readInterrupted(signal, options.stopped);
      throw error;
    }
    if (signal.aborted && options.keepCompleted !== true) throw readInterrupted(signal, options.stopped);
    return result;
  };
  const wrapped: Session = {
    kind: session.kind,
    capabilities: session.capabilities,
    query: (sql, params) => guard(() => session.query(sql, params)),
    exec: (sql) => guard(() => session.exec(sql)),
    runScript: (parts, scriptOptions) => guard(() => session.runScript(parts, scriptOptions)),
    transaction: (work, transactionOptions) => guard(() => session.transaction(work, transactionOptions)),
    rollback: () => session.rollback(),
    lock: (request) => guard(() => session.lock(request)),
    serverVersion: () => guard(() => session.serverVersion()),
    cancel: () => session.cancel(),
    close: async () => {
      signal.removeEventListener("abort", onAbort);
      await session.close();
    },
  };
  if (session.onNotice !== undefined) wrapped.onNotice = (listener) => session.onNotice?.(listener);
  if (session.announcedBackendPid !== undefined) wrapped.announcedBackendPid = () => session.announcedBackendPid?.() ?? null;
  if (session.openingBackendPid !== undefined) wrapped.openingBackendPid = () => session.openingBackendPid?.() ?? null;
  if (session.inTransaction !== undefined) wrapped.inTransaction = () => session.inTransaction?.() === true;
  const connectedHost = session.connectedHost?.bind(session);
  if (connectedHost !== undefined) wrapped.connectedHost = connectedHost;
  return wrapped;
}

/**
 * How long an interrupted read may take to wind down (its cancel requests answered, so no
 * query is left waiting on the server) before it is left behind: a connection attempt in
 * flight does not notice the signal.
 */
const WIND_DOWN_MS = 5_000;

/**
 * Ends `work` with InterruptedError once `signal` aborts: as soon as the work settles (its
 * sessions, given the same signal, cancel their queries) or after {@link WIND_DOWN_MS},
 * whichever comes first, and never with a result, not even one that came after the signal.
 * For a read made of more than one session's calls (several environments, a fleet's
 * targets, a timeout race), whose parts would otherwise be waited for one by one.
 */
export async function untilAborted<T>(work: Promise<T>, signal: AbortSignalLike | undefined, stopped: string): Promise<T> {
  if (signal === undefined) return work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort = (): void => {};
  const windDown = new Promise<void>((resolve) => {
    onAbort = () => {
      timer = setTimeout(resolve, WIND_DOWN_MS);
    };
  });
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  try {
    const result = await Promise.race([work.then((value) => ({ value })), windDown]);
    if (signal.aborted || result === undefined) throw readInterrupted(signal, stopped);
    return result.value;
  } catch (error) {
    if (signal.aborted) throw readInterrupted(signal, stopped);
    throw error;
  } finally {
    signal.removeEventListener("abort", onAbort);
    clearTimeout(timer);
  }
}
