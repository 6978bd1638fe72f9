/**
 * `athanor log`: the environment's run history (the append-only `<versionTable>_history`
 * table, DESIGN.md §4): who ran what, where, when, how long, and how it ended, newest
 * first. Read-only: a missing table (nothing ever ran) or a PGlite directory that does not
 * exist is an empty log, never created.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import type { Session } from "../dialects/types.js";
import { isAthanorError } from "../errors.js";
import { openReadSession, type ReadSessionOptions } from "../run/connect.js";
import { versionTables } from "../run/version-table.js";
import { scrubSecrets } from "../secrets/redact.js";

/** One row of the history table. */
export interface RunLogEntry {
  /** The row's id (increasing). */
  readonly id: number;
  /** The environment the run was made through. */
  readonly environment: string;
  readonly direction: "up" | "down" | "stamp" | "resolve" | "repair";
  /** The revision, or null for a step about no single revision. */
  readonly revision: string | null;
  /** The database user. */
  readonly user: string;
  /** The operating-system user, when known. */
  readonly osUser: string | null;
  /** The machine it ran on, when known. */
  readonly host: string | null;
  /** athanor's version. */
  readonly toolVersion: string;
  /** ISO 8601 (UTC). */
  readonly startedAt: string;
  readonly durationMs: number | null;
  /** `started`: a non-transactional step began; a later row of the revision says how it ended (none: it never finished). */
  readonly outcome: "success" | "failed" | "started";
  /** The error message of a failed step (free of secrets). */
  readonly error: string | null;
  readonly note: string | null;
}

/** What `log --json` prints. */
export interface RunLog {
  readonly environment: string;
  /** `schema.table_history`. */
  readonly table: string;
  /** False when the table does not exist yet (nothing was ever run). */
  readonly exists: boolean;
  /** Newest first. */
  readonly entries: readonly RunLogEntry[];
}

/** Options of {@link readRunLog}. */
export interface RunLogOptions {
  /** At most this many rows, newest first (default 20; 0 = all). */
  readonly limit?: number | undefined;
  /** A session the caller owns (not closed here). */
  readonly session?: Session | undefined;
  /** How a PGlite directory another process has open is waited for (see openReadSession). */
  readonly directoryWait?: ReadSessionOptions | undefined;
}

/** The default number of rows of `athanor log`. */
export const DEFAULT_LOG_LIMIT = 20;

interface HistoryRow {
  id: string | number;
  environment: string;
  direction: string;
  revision: string | null;
  db_user: string;
  os_user: string | null;
  host: string | null;
  tool_version: string;
  started_at: string;
  duration_ms: number | string | null;
  outcome: string;
  error: string | null;
  note: string | null;
}

const UNDEFINED_TABLE = "42P01";
const INVALID_SCHEMA = "3F000";

function direction(value: string): RunLogEntry["direction"] {
  return value === "down" || value === "stamp" || value === "resolve" || value === "repair" ? value : "up";
}

/**
 * Reads the newest rows of the environment's history table.
 * @example
 * const log = await readRunLog(env, { limit: 10 });
 * for (const entry of log.entries) console.log(entry.startedAt, entry.direction, entry.revision, entry.outcome);
 */
export async function readRunLog(env: ResolvedEnvironment, options: RunLogOptions = {}): Promise<RunLog> {
  const tables = versionTables(env.versionTable);
  const base = { environment: env.name, table: `${tables.display}_history` };
  const limit = options.limit ?? DEFAULT_LOG_LIMIT;
  const session = options.session ?? (await openReadSession(env, "log", options.directoryWait));
  if (session === null) return { ...base, exists: false, entries: [] };
  try {
    let rows: HistoryRow[];
    try {
      const result = await session.query<HistoryRow>(
        `SELECT id, environment, direction, revision, db_user, os_user, host, tool_version, to_json(started_at AT TIME ZONE 'UTC') #>> '{}' AS started_at, duration_ms, outcome, error, note FROM ${tables.history} ORDER BY started_at DESC, id DESC${limit > 0 ? " LIMIT $1" : ""}`,
        limit > 0 ? [limit] : [],
      );
      rows = result.rows;
    } catch (error) {
      if (isAthanorError(error) && (error.details["sqlstate"] === UNDEFINED_TABLE || error.details["sqlstate"] === INVALID_SCHEMA)) return { ...base, exists: false, entries: [] };
      throw error;
    }
    return {
      ...base,
      exists: true,
      entries: rows.map((row) => ({
        id: Number(row.id),
        environment: row.environment,
        direction: direction(row.direction),
        revision: row.revision,
        user: row.db_user,
        osUser: row.os_user,
        host: row.host,
        toolVersion: row.tool_version,
        startedAt: `${row.started_at.replace(/Z?$/, "")}Z`,
        durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
        outcome: row.outcome === "failed" || row.outcome === "started" ? row.outcome : "success",
        // Written free of secrets; masked again in case a secret changed since.
        error: row.error === null ? null : scrubSecrets(row.error, env.secrets),
        note: row.note,
      })),
    };
  } finally {
    if (options.session === undefined) await session.close();
  }
}
