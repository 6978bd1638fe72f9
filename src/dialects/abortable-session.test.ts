import { describe, expect, it } from "vitest";
import { InterruptedError } from "../errors.js";
import { untilAborted } from "./abortable-session.js";

const STOPPED = "status stopped: its query was cancelled; it changes nothing";

/** A promise settled by hand. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe("untilAborted", () => {
  it("without a signal, or never aborted, is the work's own result or error", async () => {
    await expect(untilAborted(Promise.resolve(1), undefined, STOPPED)).resolves.toBe(1);
    await expect(untilAborted(Promise.resolve(2), new AbortController().signal, STOPPED)).resolves.toBe(2);
    await expect(untilAborted(Promise.reject(new Error("boom")), new AbortController().signal, STOPPED)).rejects.toThrow("boom");
  });

  it("aborted, ends with the interruption once the work settles, even when the work resolved", async () => {
    const controller = new AbortController();
    const work = deferred<string>();
    const ended = untilAborted(work.promise, controller.signal, STOPPED);
    controller.abort("SIGTERM");
    work.resolve("a report read after the signal");
    const error = await ended.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterruptedError);
    expect((error as InterruptedError).message).toBe(`interrupted by SIGTERM: ${STOPPED}`);
    expect((error as InterruptedError).exitStatus).toBe(143);
  });

  it("aborted, a work that fails (its query cancelled) ends with the interruption too", async () => {
    const controller = new AbortController();
    const work = deferred<string>();
    const ended = untilAborted(work.promise, controller.signal, STOPPED);
    controller.abort("SIGINT");
    work.reject(new Error("canceling statement due to user request"));
    const error = await ended.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterruptedError);
    expect((error as InterruptedError).exitStatus).toBe(130);
  });

  it("a signal aborted before the call: the interruption, not the result", async () => {
    const controller = new AbortController();
    controller.abort("SIGTERM");
    await expect(untilAborted(Promise.resolve(3), controller.signal, STOPPED)).rejects.toBeInstanceOf(InterruptedError);
  });
});
