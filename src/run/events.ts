/**
 * What the migration runtime reports while it works (DESIGN.md §7): typed events that
 * the CLI renders for people, and that JSON logs and OpenTelemetry spans can be built
 * on. Every event names its environment and carries an ISO timestamp; revision events
 * name the revision, its file, the direction, and (at the end) the duration and outcome.
 * The runtime never prints: it calls the caller's {@link EventSink}.
 */
import { thrownMessage } from "./thrown.js";
import type { ServerNotice } from "../dialects/types.js";

/** Which verb produced the events. */
export type RunCommand = "upgrade" | "downgrade" | "stamp" | "resolve" | "repair";

/** What a revision step does: apply (`up`) or revert (`down`). */
export type StepDirection = "up" | "down";

/** How a command or a revision ended. */
export type Outcome = "success" | "failed" | "interrupted";

/** An error as events carry it: no stack, no driver object, no secret. */
export interface EventError {
  readonly code: string;
  readonly message: string;
  readonly hint?: string | undefined;
}

/** One revision of a plan, as events list it. */
export interface PlannedRevision {
  readonly revision: string;
  readonly message: string;
  /** Path relative to the migrations directory. */
  readonly file: string;
  readonly direction: StepDirection;
  readonly transactional: boolean;
}

interface EventBase {
  /** ISO 8601 time at which the event was emitted. */
  readonly time: string;
  /** The environment's name. */
  readonly environment: string;
  /** The fleet target the event is about (issue #17), when the environment is a fleet. */
  readonly fleetTarget?: string | undefined;
}

/** A command began. */
export interface CommandStartEvent extends EventBase {
  readonly type: "command-start";
  readonly command: RunCommand;
  /** The database URL with its password masked. */
  readonly url: string;
  readonly mode: "online" | "offline" | "dry-run";
}

/** Another runner holds the migration lock; this one waits (emitted once, when waiting starts). */
export interface LockWaitEvent extends EventBase {
  readonly type: "lock-wait";
  /** Who holds it, as far as the database (or the lock file) says. */
  readonly holder: string;
  /** How long this runner will wait before giving up. */
  readonly waitMs: number;
}

/** The migration lock was taken. */
export interface LockAcquiredEvent extends EventBase {
  readonly type: "lock-acquired";
  /** How long it took to get it. */
  readonly waitedMs: number;
}

/** The plan is known: which revisions will run, in which order. */
export interface PlanEvent extends EventBase {
  readonly type: "plan";
  readonly command: RunCommand;
  readonly direction: StepDirection;
  /** The target as the user wrote it. */
  readonly target: string;
  /** Applied heads before the run. */
  readonly current: readonly string[];
  readonly revisions: readonly PlannedRevision[];
  readonly singleTransaction: boolean;
}

/** A revision is about to run. */
export interface RevisionStartEvent extends EventBase {
  readonly type: "revision-start";
  readonly revision: string;
  readonly message: string;
  readonly file: string;
  readonly direction: StepDirection;
  readonly transactional: boolean;
  /** 1-based position in the plan, and the plan's length. */
  readonly index: number;
  readonly total: number;
}

/** One SQL statement of a revision (only when the environment has `echo: true`). */
export interface StatementEvent extends EventBase {
  readonly type: "statement";
  readonly revision: string;
  readonly file: string;
  /** File line of the statement's first token, when known. */
  readonly line: number | null;
  readonly sql: string;
  /** How long it took, in milliseconds (the event is emitted once the statement ran). */
  readonly durationMs?: number | undefined;
}

/**
 * A notice the server sent while a revision ran (`RAISE NOTICE`, `relation "x" already
 * exists, skipping`, `drop cascades to 3 other objects`, a WARNING): emitted just before
 * that revision's `revision-end`, in the order the server sent them. Only a revision's own
 * statements' notices: athanor's bookkeeping sends none.
 */
export interface NoticeEvent extends EventBase, ServerNotice {
  readonly type: "notice";
  readonly revision: string;
  readonly file: string;
}

/** A revision finished, committed or rolled back. */
export interface RevisionEndEvent extends EventBase {
  readonly type: "revision-end";
  readonly revision: string;
  readonly message: string;
  readonly file: string;
  readonly direction: StepDirection;
  /**
   * Null when it cannot be known: a revision that committed in a round trip whose
   * connection was then lost, before its duration (in its history row) could be read.
   */
  readonly durationMs: number | null;
  /** SQL statements run, when they ran one by one (echo, non-transactional or TypeScript revisions). */
  readonly statements?: number | undefined;
  readonly outcome: Outcome;
  readonly error?: EventError | undefined;
  /** Notices of the server past the first 100 of this revision, not emitted (absent when none were dropped). */
  readonly noticesOmitted?: number | undefined;
}

/**
 * Between two revisions, `replicaLag` waits for a standby that is too far behind: emitted
 * when the wait starts, every few seconds while it lasts, and once with `done` when it ends.
 */
export interface ReplicaWaitEvent extends EventBase {
  readonly type: "replica-wait";
  /** The standby furthest behind: `application_name (address)`. */
  readonly standby: string;
  /** Its replay lag in milliseconds, or null when unknown (see docs/replicas.md). */
  readonly lagMs: number | null;
  readonly maxMs: number;
  /** WAL bytes it has not replayed yet. */
  readonly behindBytes: number;
  /** How long this boundary has waited so far. */
  readonly waitedMs: number;
  /** The revision that waits to start. */
  readonly next: string;
  readonly done: boolean;
}

/** The command finished. */
export interface CommandEndEvent extends EventBase {
  readonly type: "command-end";
  readonly command: RunCommand;
  readonly durationMs: number;
  readonly outcome: Outcome;
  /** Revisions that ran to completion. */
  readonly completed: number;
  /** Applied heads after the run (when they could be known). */
  readonly current?: readonly string[] | undefined;
  readonly error?: EventError | undefined;
}

/** Everything the runtime emits. */
export type MigrationEvent =
  | CommandStartEvent
  | LockWaitEvent
  | LockAcquiredEvent
  | PlanEvent
  | RevisionStartEvent
  | StatementEvent
  | NoticeEvent
  | RevisionEndEvent
  | ReplicaWaitEvent
  | CommandEndEvent;

/** Receives events as they happen. It must not throw; the runtime ignores what it returns. */
export type EventSink = (event: MigrationEvent) => void;

/** A sink that names the fleet target on every event it passes on to `sink`. */
export function targetSink(sink: EventSink, fleetTarget: string): EventSink {
  // Object.assign, not a spread: see eventEmitter.
  return (event) => sink(Object.assign({}, event, { fleetTarget }));
}

/** A sink that drops everything. */
export const ignoreEvents: EventSink = () => {};

/** Distributes `Omit<Event, "time" | "environment">` over the union, so emitters stay typed. */
export type EventInput = MigrationEvent extends infer E ? (E extends MigrationEvent ? Omit<E, "time" | "environment"> : never) : never;

/**
 * Wraps a sink so callers pass only the event's own fields: the time and environment are
 * filled in, and a sink that throws cannot break a migration.
 */
export function eventEmitter(sink: EventSink | undefined, environment: string): (event: EventInput) => void {
  return (event) => {
    if (sink === undefined) return;
    try {
      // Object.assign into a new object, not `{ ...event, ... }`: applying 10,000 revisions,
      // the spread's copies (two per revision) piled up in V8's old generation as garbage,
      // ~10 MB between two full collections (peak RSS +7–10 MB); these copies die young.
      sink(Object.assign({}, event, { time: new Date().toISOString(), environment }) as MigrationEvent);
    } catch {
      // A broken renderer must not turn a successful migration into a failure.
    }
  };
}

/** An error as an event carries it. */
export function toEventError(error: unknown): EventError {
  if (typeof error === "object" && error !== null && "code" in error && "message" in error) {
    const fields = error as { code: unknown; message: unknown; hint?: unknown };
    return {
      code: String(fields.code),
      message: String(fields.message),
      ...(typeof fields.hint === "string" ? { hint: fields.hint } : {}),
    };
  }
  return { code: "internal", message: thrownMessage(error) };
}
