/**
 * Turns the runtime's events (src/run/events.ts) into structured log records with a
 * stable field set (DESIGN.md §7): one record per command start and end, per revision
 * start and end, per lock wait and (with `echo: true`) per SQL statement. Pure apart from
 * the little state one run needs (the command's URL and mode, statements counted per
 * revision); JSON logs (pino) and any other structured sink are built on it.
 *
 * Every field name here is part of the documented contract (README, "JSON logs"):
 * add fields freely, never rename or remove one.
 */
import type { EventError, MigrationEvent, Outcome, RunCommand } from "../run/events.js";
import { formatReplicaWait } from "./progress.js";

/** Log levels a record can have (pino's names). */
export type LogRecordLevel = "debug" | "info" | "warn" | "error";

/** One structured log line: its level, a one-line human message and the fields. */
export interface LogRecord {
  readonly level: LogRecordLevel;
  /** A short sentence for people reading the raw line. */
  readonly msg: string;
  /** The documented fields, JSON-serialisable, no secret (URLs are already redacted). */
  readonly fields: LogFields;
}

/** The fields of a log record. Present when they apply to the event (see the README's table). */
export interface LogFields {
  /** ISO 8601 time of the event. */
  time: string;
  /** The event's type: `command-start`, `revision-end`, ... */
  event: MigrationEvent["type"];
  environment: string;
  /** The fleet target (a database or tenant schema of a fleet environment), when there is one. */
  fleetTarget?: string;
  /** athanor's version. */
  toolVersion: string;
  command?: RunCommand;
  url?: string;
  mode?: "online" | "offline" | "dry-run";
  revision?: string;
  message?: string;
  file?: string;
  direction?: "up" | "down";
  transactional?: boolean;
  index?: number;
  total?: number;
  target?: string;
  current?: readonly string[];
  revisions?: readonly string[];
  singleTransaction?: boolean;
  holder?: string;
  waitMs?: number;
  /** `replica-wait`: the standby furthest behind, its lag (null: unknown), the limit, WAL bytes to replay, the revision waiting. */
  standby?: string;
  lagMs?: number | null;
  maxMs?: number;
  behindBytes?: number;
  next?: string;
  done?: boolean;
  waitedMs?: number;
  sql?: string;
  line?: number | null;
  /** Null on a `revision-end` whose duration is unknown (see the event). */
  durationMs?: number | null;
  statements?: number;
  outcome?: Outcome;
  completed?: number;
  startedAt?: string;
  error?: EventError;
  /** `notice`: the server's severity (`NOTICE`, `WARNING`...), its text, and its SQLSTATE, detail and hint when it gave them. */
  severity?: string;
  notice?: string;
  code?: string;
  detail?: string;
  hint?: string;
  /** `revision-end`: the server's notices of the revision past the first 100, not logged. */
  noticesOmitted?: number;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** One run's key: its environment, and its fleet target (the targets of a fleet run at once). */
function runKey(event: MigrationEvent): string {
  return event.fleetTarget === undefined ? event.environment : `${event.environment}\0${event.fleetTarget}`;
}

/** `production`, or `production/eu-1` for a fleet target. */
function where(event: MigrationEvent): string {
  return event.fleetTarget === undefined ? event.environment : `${event.environment}/${event.fleetTarget}`;
}

function verb(direction: "up" | "down"): string {
  return direction === "up" ? "upgrade" : "downgrade";
}

/**
 * Formats the events of one process into log records. Keep one formatter per event
 * stream: it remembers the command's URL, mode and start time (repeated on its end
 * record, so one line says everything about a run) and counts echoed statements.
 * @example
 * const formatter = new LogRecordFormatter("0.1.0");
 * const record = formatter.format(event); // { level: "info", msg: "...", fields: {...} }
 */
export class LogRecordFormatter {
  readonly #toolVersion: string;
  readonly #commands = new Map<string, { command: RunCommand; url: string; mode: "online" | "offline" | "dry-run"; startedAt: string }>();
  readonly #statements = new Map<string, number>();

  constructor(toolVersion: string) {
    this.#toolVersion = toolVersion;
  }

  /** The record for an event. Never throws. */
  format(event: MigrationEvent): LogRecord {
    const base: LogFields = { time: event.time, event: event.type, environment: event.environment, ...(event.fleetTarget === undefined ? {} : { fleetTarget: event.fleetTarget }), toolVersion: this.#toolVersion };
    const run = this.#commands.get(runKey(event));
    const command = run === undefined ? {} : { command: run.command };
    switch (event.type) {
      case "command-start": {
        this.#commands.set(runKey(event), { command: event.command, url: event.url, mode: event.mode, startedAt: event.time });
        return { level: "info", msg: `${event.command} started on ${where(event)}`, fields: { ...base, command: event.command, url: event.url, mode: event.mode } };
      }
      case "lock-wait":
        return { level: "warn", msg: `waiting for the migration lock held by ${event.holder}`, fields: { ...base, ...command, holder: event.holder, waitMs: event.waitMs } };
      case "lock-acquired":
        return { level: "debug", msg: "migration lock acquired", fields: { ...base, ...command, waitedMs: event.waitedMs } };
      case "replica-wait":
        return {
          level: event.done ? "info" : "warn",
          msg: formatReplicaWait(event),
          fields: { ...base, ...command, standby: event.standby, lagMs: event.lagMs, maxMs: event.maxMs, behindBytes: event.behindBytes, waitedMs: event.waitedMs, next: event.next, done: event.done },
        };
      case "plan": {
        const ids = event.revisions.map((revision) => revision.revision);
        const msg = ids.length === 0 ? `nothing to ${verb(event.direction)}: already at ${event.target}` : `${plural(ids.length, "revision")} to ${verb(event.direction)} (target ${event.target})`;
        return {
          level: "info",
          msg,
          fields: { ...base, command: event.command, direction: event.direction, target: event.target, current: event.current, revisions: ids, total: ids.length, singleTransaction: event.singleTransaction },
        };
      }
      case "revision-start":
        this.#statements.set(this.#key(runKey(event), event.revision), 0);
        return {
          level: "debug",
          msg: `${event.direction === "up" ? "applying" : "reverting"} ${event.revision} ${event.message}`.trimEnd(),
          fields: {
            ...base,
            ...command,
            revision: event.revision,
            message: event.message,
            file: event.file,
            direction: event.direction,
            transactional: event.transactional,
            index: event.index,
            total: event.total,
          },
        };
      case "statement": {
        const key = this.#key(runKey(event), event.revision);
        this.#statements.set(key, (this.#statements.get(key) ?? 0) + 1);
        const duration = event.durationMs;
        return {
          level: "info",
          msg: `sql ${event.file}${event.line === null ? "" : `:${event.line}`}`,
          fields: { ...base, ...command, revision: event.revision, file: event.file, line: event.line, sql: event.sql, ...(duration === undefined ? {} : { durationMs: duration }) },
        };
      }
      case "notice":
        return {
          level: event.severity === "WARNING" ? "warn" : "info",
          msg: `${event.severity}: ${event.message} (${event.revision})`,
          fields: {
            ...base,
            ...command,
            revision: event.revision,
            file: event.file,
            severity: event.severity,
            notice: event.message,
            ...(event.code === undefined ? {} : { code: event.code }),
            ...(event.detail === undefined ? {} : { detail: event.detail }),
            ...(event.hint === undefined ? {} : { hint: event.hint }),
          },
        };
      case "revision-end": {
        const key = this.#key(runKey(event), event.revision);
        const counted = this.#statements.get(key);
        this.#statements.delete(key);
        const statements = event.statements ?? (counted !== undefined && counted > 0 ? counted : undefined);
        const failed = event.outcome !== "success";
        const what = `${event.revision} ${event.message}`.trimEnd();
        const msg = failed
          ? `${verb(event.direction)} of ${what} ${event.outcome}${event.error ? `: ${event.error.message}` : ""}`
          : `${event.direction === "up" ? "applied" : "reverted"} ${what} ${event.durationMs === null ? "(duration unknown)" : `in ${event.durationMs} ms`}`;
        return {
          level: failed ? "error" : "info",
          msg,
          fields: {
            ...base,
            ...command,
            revision: event.revision,
            message: event.message,
            file: event.file,
            direction: event.direction,
            durationMs: event.durationMs,
            ...(statements === undefined ? {} : { statements }),
            ...(event.noticesOmitted === undefined ? {} : { noticesOmitted: event.noticesOmitted }),
            outcome: event.outcome,
            ...(event.error ? { error: event.error } : {}),
          },
        };
      }
      case "command-end": {
        this.#commands.delete(runKey(event));
        const failed = event.outcome !== "success";
        const msg = failed
          ? `${event.command} on ${where(event)} ${event.outcome}${event.error ? `: ${event.error.message}` : ""}`
          : `${event.command} on ${where(event)} done: ${plural(event.completed, "revision")} in ${event.durationMs} ms`;
        return {
          level: failed ? "error" : "info",
          msg,
          fields: {
            ...base,
            command: event.command,
            ...(run === undefined ? {} : { url: run.url, mode: run.mode, startedAt: run.startedAt }),
            durationMs: event.durationMs,
            outcome: event.outcome,
            completed: event.completed,
            ...(event.current === undefined ? {} : { current: event.current }),
            ...(event.error ? { error: event.error } : {}),
          },
        };
      }
    }
  }

  #key(environment: string, revision: string): string {
    return `${environment}\0${revision}`;
  }
}

/** Order of the levels, for filtering by an environment's `logLevel`. */
export const LOG_LEVEL_RANK: Readonly<Record<LogRecordLevel | "trace" | "silent", number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, silent: Infinity };
