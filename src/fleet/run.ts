/**
 * Runs one piece of work on every target of a fleet (issue #17): the `canary` targets
 * first, one at a time, then the others with at most `parallel` running at once. A
 * target's failure is its own: it is recorded and the others carry on, except that with
 * `onFailure: "stop"` (and after any failed canary) no new target starts — the running
 * ones finish. An aborted signal (SIGINT/SIGTERM) also starts nothing new. Never throws
 * for a target's error; the caller decides the exit status from the outcomes.
 */
import type { AbortSignalLike } from "../dialects/types.js";
import type { FleetFailurePolicy } from "../config/types.js";

/** How one target ended. */
export type TargetOutcome<T> =
  | { readonly target: string; readonly status: "ok"; readonly value: T; readonly durationMs: number }
  | { readonly target: string; readonly status: "failed"; readonly error: unknown; readonly durationMs: number }
  /** Not started: an earlier failure stopped the fleet, or the run was interrupted. */
  | { readonly target: string; readonly status: "skipped"; readonly reason: "stopped" | "interrupted" };

/** Counts for the fleet's progress line. */
export interface FleetCounts {
  readonly total: number;
  readonly done: number;
  readonly running: number;
  readonly failed: number;
}

/** Options of {@link runOverFleet}. */
export interface FleetScheduleOptions {
  readonly parallel: number;
  readonly canary: number;
  readonly onFailure: FleetFailurePolicy;
  readonly signal?: AbortSignalLike | undefined;
  /** Whether a target's error stops the fleet under `onFailure: "stop"` (default: every error does). */
  readonly stopsFleet?: ((error: unknown) => boolean) | undefined;
  /** Told whenever a target starts (no outcome yet) or ends (with its outcome). */
  readonly onChange?: ((counts: FleetCounts, target: string, outcome?: TargetOutcome<unknown>) => void) | undefined;
}

/**
 * Runs `work` on each target; the outcomes come back in the targets' order.
 * @example
 * const outcomes = await runOverFleet(targets, (env) => upgrade(env, { graph }), { parallel: 4, canary: 1, onFailure: "stop" }, (env) => env.targetName ?? env.name);
 */
export async function runOverFleet<E, T>(targets: readonly E[], work: (target: E) => Promise<T>, options: FleetScheduleOptions, nameOf: (target: E) => string): Promise<TargetOutcome<T>[]> {
  const outcomes: (TargetOutcome<T> | undefined)[] = targets.map(() => undefined);
  let stopped = false;
  let running = 0;
  let done = 0;
  let failed = 0;
  const counts = (): FleetCounts => ({ total: targets.length, done, running, failed });
  const runOne = async (index: number): Promise<void> => {
    const target = targets[index] as E;
    const name = nameOf(target);
    running += 1;
    options.onChange?.(counts(), name);
    const started = Date.now();
    try {
      outcomes[index] = { target: name, status: "ok", value: await work(target), durationMs: Date.now() - started };
    } catch (error) {
      outcomes[index] = { target: name, status: "failed", error, durationMs: Date.now() - started };
      failed += 1;
      if (index < options.canary || (options.onFailure === "stop" && (options.stopsFleet?.(error) ?? true))) stopped = true;
    }
    running -= 1;
    done += 1;
    options.onChange?.(counts(), name, outcomes[index]);
  };
  const mayStart = (): boolean => !stopped && options.signal?.aborted !== true;

  const canaries = Math.min(options.canary, targets.length);
  for (let i = 0; i < canaries && mayStart(); i++) await runOne(i);
  let next = canaries;
  const lane = async (): Promise<void> => {
    while (next < targets.length && mayStart()) {
      const index = next;
      next += 1;
      await runOne(index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallel, targets.length - canaries)) }, lane));
  return outcomes.map(
    (outcome, i): TargetOutcome<T> => outcome ?? { target: nameOf(targets[i] as E), status: "skipped", reason: options.signal?.aborted === true ? "interrupted" : "stopped" },
  );
}
