/**
 * The progress line of a long run on a terminal (DESIGN.md §7): the running revision,
 * how many are left and the elapsed time, redrawn in place on one line, and one clean
 * line per revision once it is done. The CLI enables it only on an interactive stderr
 * (not CI, not `--json`, not `--quiet`); everywhere else nothing is animated.
 *
 * It wraps the other sinks ({@link Progress.wrap}): before any of them writes, the line
 * is erased, and it is drawn again after, so text logs and the progress line never
 * mix on screen.
 */
import type { EventSink, MigrationEvent } from "../run/events.js";

/** What the progress line shows. */
export interface ProgressState {
  /** `up` or `down`. */
  readonly direction: "up" | "down";
  readonly revision: string;
  readonly message: string;
  /** 1-based position of the running revision. */
  readonly index: number;
  readonly total: number;
  /** Since the revision started. */
  readonly revisionElapsedMs: number;
  /** Since the command started. */
  readonly elapsedMs: number;
}

/** `420 ms`, `4.2 s`, `2 min 05 s`, `1 h 02 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  const seconds = Math.floor(ms / 1_000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`;
  return `${Math.floor(seconds / 3_600)} h ${String(Math.floor((seconds % 3_600) / 60)).padStart(2, "0")} min`;
}

/** Cuts `text` to `width` characters, ending with `…` when cut. */
function fit(text: string, width: number): string {
  if (width <= 0) return "";
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/**
 * The progress line, at most `width` characters (a wrapped line cannot be redrawn).
 * Pure: `[3/20] applying 3f2a9c1d0b7e add orders table · 1.2 s · 17 left · 4.0 s elapsed`.
 */
export function formatProgressLine(state: ProgressState, width: number, spinner = ""): string {
  const left = state.total - state.index;
  const what = `${state.direction === "up" ? "applying" : "reverting"} ${state.revision}`;
  const tail = ` · ${formatDuration(state.revisionElapsedMs)} · ${left === 0 ? "last one" : `${left} left`} · ${formatDuration(state.elapsedMs)} elapsed`;
  const head = `${spinner === "" ? "" : `${spinner} `}[${state.index}/${state.total}] ${what}`;
  const room = width - head.length - tail.length - 1;
  const message = state.message === "" || room < 8 ? "" : ` ${fit(state.message, room)}`;
  return fit(`${head}${message}${tail}`, width);
}

/** The line waiting for the migration lock. */
export function formatLockWaitLine(holder: string, waitedMs: number, waitMs: number, width: number, spinner = ""): string {
  return fit(`${spinner === "" ? "" : `${spinner} `}waiting for the migration lock held by ${holder} · ${formatDuration(waitedMs)} of ${formatDuration(waitMs)}`, width);
}

/** The line left behind for a finished revision: `✓ [3/20] applied 3f2a9c1d0b7e add orders table (120 ms)`. */
export function formatDoneLine(event: Extract<MigrationEvent, { type: "revision-end" }>, index: number, total: number): string {
  const what = `${event.revision}${event.message === "" ? "" : ` ${event.message}`}`;
  const position = total > 0 ? `[${index}/${total}] ` : "";
  const took = event.durationMs === null ? "duration unknown" : formatDuration(event.durationMs);
  if (event.outcome === "success") return `✓ ${position}${event.direction === "up" ? "applied" : "reverted"} ${what} (${took})`;
  return `✗ ${position}${what} ${event.outcome} after ${took}${event.error ? `: ${event.error.message.split("\n")[0] ?? ""}` : ""}`;
}

/**
 * `waiting for replicas (lag 12.3 s > 10 s, standby walreceiver (127.0.0.1))`, or, once the
 * wait is over, `replicas caught up after 8.1 s`. Pure.
 */
export function formatReplicaWait(event: Extract<MigrationEvent, { type: "replica-wait" }>): string {
  if (event.done) return `replicas caught up after ${(event.waitedMs / 1000).toFixed(1)} s; next: ${event.next}`;
  const lag = event.lagMs === null ? `lag unknown, ${(event.behindBytes / 1_048_576).toFixed(1)} MB of WAL to replay` : `lag ${(event.lagMs / 1000).toFixed(1)} s`;
  const max = `${(event.maxMs / 1000).toFixed(event.maxMs % 1000 === 0 ? 0 : 1)} s`;
  return `waiting for replicas (${lag} > ${max}, standby ${event.standby}) before ${event.next}`;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"] as const;

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Raw writes to the terminal (stderr, scrubbed). */
  readonly write: (text: string) => void;
  /** Terminal width (default 80). */
  readonly columns?: number | undefined;
  /** Write one line per finished revision (when no text renderer already does). Default true. */
  readonly doneLines?: boolean | undefined;
  /** Milliseconds between redraws (default 100). */
  readonly intervalMs?: number | undefined;
  /** Clock in milliseconds (default `performance.now`). */
  readonly now?: (() => number) | undefined;
  /** Colours for the marks (default none). */
  readonly paint?: { readonly ok: (text: string) => string; readonly failed: (text: string) => string; readonly dim: (text: string) => string } | undefined;
}

/** The progress display: a sink of its own, and a wrapper that keeps other sinks' output clean. */
export interface Progress {
  /** Feeds the progress line. */
  readonly sink: EventSink;
  /** Wraps a sink so its output never lands in the middle of the progress line; includes {@link sink}. */
  wrap(inner: EventSink): EventSink;
  /** Erases the line and stops the timer (idempotent). Called on command end, and by the CLI when it stops early. */
  stop(): void;
}

type Running =
  | { kind: "idle" }
  | { kind: "lock"; holder: string; waitMs: number; since: number }
  | { kind: "replicas"; text: string }
  | { kind: "revision"; direction: "up" | "down"; revision: string; message: string; index: number; total: number; since: number };

/**
 * Creates the progress display for one command.
 * @example
 * const progress = createProgress({ write: (text) => process.stderr.write(text), columns: process.stderr.columns });
 * const events = progress.wrap(composeSinks(renderText, jsonLog));
 */
export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? (() => performance.now());
  const columns = Math.max(20, (options.columns ?? 80) - 1);
  const paint = options.paint ?? { ok: (text: string) => text, failed: (text: string) => text, dim: (text: string) => text };
  let state: Running = { kind: "idle" };
  let commandStart: number | null = null;
  let drawn = false;
  let frame = 0;
  let timer: ReturnType<typeof setInterval> | null = null;
  const indexes = new Map<string, { index: number; total: number }>();

  const clear = (): void => {
    if (!drawn) return;
    options.write("\r\x1b[2K");
    drawn = false;
  };
  const draw = (): void => {
    if (state.kind === "idle") return;
    const t = now();
    const spinner = SPINNER[frame % SPINNER.length] as string;
    frame += 1;
    const line =
      state.kind === "replicas"
        ? `${spinner} ${state.text}`.slice(0, columns)
        : state.kind === "lock"
        ? formatLockWaitLine(state.holder, t - state.since, state.waitMs, columns, spinner)
        : formatProgressLine(
            { direction: state.direction, revision: state.revision, message: state.message, index: state.index, total: state.total, revisionElapsedMs: t - state.since, elapsedMs: t - (commandStart ?? state.since) },
            columns,
            spinner,
          );
    options.write(`\r\x1b[2K${paint.dim(line)}`);
    drawn = true;
  };
  const startTimer = (): void => {
    if (timer !== null) return;
    timer = setInterval(() => draw(), options.intervalMs ?? 100);
    // The timer alone must never keep the process alive.
    timer.unref?.();
  };
  const stop = (): void => {
    if (timer !== null) clearInterval(timer);
    timer = null;
    clear();
    state = { kind: "idle" };
  };

  const sink: EventSink = (event) => {
    switch (event.type) {
      case "command-start":
        commandStart = now();
        return;
      case "lock-wait":
        state = { kind: "lock", holder: event.holder, waitMs: event.waitMs, since: now() };
        startTimer();
        return;
      case "lock-acquired":
        if (state.kind === "lock") state = { kind: "idle" };
        return;
      case "replica-wait":
        state = event.done ? { kind: "idle" } : { kind: "replicas", text: formatReplicaWait(event) };
        if (!event.done) startTimer();
        return;
      case "revision-start":
        indexes.set(event.revision, { index: event.index, total: event.total });
        state = { kind: "revision", direction: event.direction, revision: event.revision, message: event.message, index: event.index, total: event.total, since: now() };
        startTimer();
        return;
      case "revision-end": {
        if (options.doneLines !== false) {
          const position = indexes.get(event.revision) ?? { index: 0, total: 0 };
          const line = formatDoneLine(event, position.index, position.total);
          clear();
          options.write(`${event.outcome === "success" ? paint.ok(line.slice(0, 1)) + line.slice(1) : paint.failed(line)}\n`);
        }
        indexes.delete(event.revision);
        state = { kind: "idle" };
        return;
      }
      case "command-end":
        stop();
        return;
      default:
        return;
    }
  };

  return {
    sink,
    wrap(inner) {
      return (event) => {
        clear();
        try {
          inner(event);
        } finally {
          sink(event);
          draw();
        }
      };
    },
    stop,
  };
}
