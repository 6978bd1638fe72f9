/**
 * The tables athanor keeps in the environment's version schema (DESIGN.md §4, "What the
 * database holds"):
 *
 * - `<table>`: one row per applied revision (id, checksum of its file, state, when, by
 *   whom, how long). `state` is `started` for a non-transactional revision that began and
 *   has not finished; such a row blocks later runs until `athanor resolve`.
 * - `<table>_history`: append-only, one row per upgrade/downgrade step, stamp, resolve
 *   and repair, with its outcome. No secret is ever written here.
 * - `<table>_meta`: key/value facts about the database (e.g. the environment it belongs to).
 *
 * They are created by the first command that changes something, never by a read.
 * Every write is sent by src/run/bookkeeping.ts; every SQL text is built here, identifiers quoted with `quoteIdent` and values as
 * literals with `quoteLiteral` (the executor sends a revision and its bookkeeping in one
 * simple-protocol round trip, which takes no bound parameters).
 */
import type { Session } from "../dialects/types.js";
import { qualifiedName, quoteIdent, quoteLiteral } from "../dialects/sql.js";
import { isAthanorError } from "../errors.js";

/** Where the version tables live (`ResolvedEnvironment.versionTable`). */
export interface VersionTableName {
  readonly schema: string;
  readonly table: string;
}

/** The three tables' quoted, schema-qualified names. */
export interface VersionTables {
  readonly schema: string;
  readonly table: string;
  /** `"schema"."table"` */
  readonly versions: string;
  /** `"schema"."table_history"` */
  readonly history: string;
  /** `"schema"."table_meta"` */
  readonly meta: string;
  /** `schema.table` unquoted, for messages. */
  readonly display: string;
}

/** Derives the quoted names of the three tables from the environment's setting. */
export function versionTables(name: VersionTableName): VersionTables {
  return {
    schema: name.schema,
    table: name.table,
    versions: qualifiedName(name.schema, name.table),
    history: qualifiedName(name.schema, `${name.table}_history`),
    meta: qualifiedName(name.schema, `${name.table}_meta`),
    display: `${name.schema}.${name.table}`,
  };
}

/** `applied`: done. `started`: a non-transactional revision began and never finished. */
export type AppliedRevisionState = "applied" | "started";

/** One row of the version table. */
export interface AppliedRevision {
  readonly revision: string;
  readonly checksum: string;
  readonly state: AppliedRevisionState;
  /** ISO 8601. */
  readonly appliedAt: string;
  /** Database user and OS user, e.g. `app (alice)`. */
  readonly appliedBy: string;
  readonly durationMs: number | null;
}

/**
 * What the version table says without the details of every row: which revisions are
 * recorded, and the rows of those that never finished. Enough to plan, to find the
 * applied heads and to see the rows' own problems; not to compare checksums.
 */
export interface AppliedSummary {
  /** Ids of every row (applied or started), oldest first. */
  readonly ids: ReadonlySet<string>;
  /** Rows whose state is `started`: non-transactional revisions that never finished. */
  readonly unfinished: readonly AppliedRevision[];
  /**
   * The last rows applied (up to {@link LATEST_ROWS}), oldest first: usually the applied
   * heads, so `current` prints them without a second query.
   */
  readonly latest: readonly AppliedRevision[];
  /**
   * What each unfinished revision was doing when it stopped (from the history), by
   * revision id; a revision missing here has no readable history (it reads as an upgrade).
   */
  readonly attempts?: ReadonlyMap<string, UnfinishedAttempt> | undefined;
}

/** What an unfinished (`started`) revision's row stands for: an upgrade or a downgrade that began and never finished. */
export interface UnfinishedAttempt {
  readonly direction: "up" | "down";
  /** When that step began (ISO 8601), or null when the history does not say (a crash before `started` rows existed). */
  readonly startedAt: string | null;
}

/** How many of the last rows a summary carries in full. */
export const LATEST_ROWS = 4;

/** What the version table says, read in one query: the summary and every row. */
export interface AppliedState extends AppliedSummary {
  /** Every row, oldest first. */
  readonly rows: readonly AppliedRevision[];
  /** Rows by revision id. */
  readonly byId: ReadonlyMap<string, AppliedRevision>;
}

/** Builds an AppliedState from rows (also used after a run, without re-reading). */
export function appliedStateOf(rows: readonly AppliedRevision[]): AppliedState {
  const byId = new Map<string, AppliedRevision>();
  const unfinished: AppliedRevision[] = [];
  for (const row of rows) {
    byId.set(row.revision, row);
    if (row.state === "started") unfinished.push(row);
  }
  return { rows, byId, ids: new Set(byId.keys()), unfinished, latest: rows.slice(-LATEST_ROWS) };
}

/** The empty state of a database that has no version table yet. */
export const EMPTY_STATE: AppliedState = appliedStateOf([]);

/** One row as the state query sends it: [revision, checksum, state, applied_at, applied_by, duration_ms]. */
type VersionTuple = [string, string, string, string, string, number | null];

/** SQLSTATE of "relation does not exist" (also given for a missing schema). */
const UNDEFINED_TABLE = "42P01";
const INVALID_SCHEMA = "3F000";

/**
 * Reads the version table in one query, whatever its size. Returns `null` when the table
 * does not exist (nothing was ever applied): it never creates anything. Must run outside
 * a transaction (a missing table is detected by its error).
 *
 * The rows come back as one JSON array of arrays in a single text value: the driver
 * then decodes one field instead of six per row (10,000 rows: one `JSON.parse` instead
 * of 60,000 field decodings and 10,000 row objects). `applied_at` is rendered by the
 * server's JSON conversion, as `to_json` would.
 */
export async function readAppliedState(session: Session, name: VersionTableName): Promise<AppliedState | null> {
  const tables = versionTables(name);
  const result = await queryVersionTable<{ rows: string | null }>(session, `SELECT ${ROWS_AGG}::text AS rows FROM ${tables.versions}`);
  if (result === null) return null;
  const state = appliedStateOf(rowsOf(result.rows));
  return state.unfinished.length === 0 ? state : { ...state, attempts: await readUnfinishedAttempts(session, tables, state.unfinished) };
}

/**
 * What each unfinished row was doing, from the last `up`/`down` history row of its
 * revision: the `started` row written before its first statement (then its `failed` row,
 * if any). A version row is `started` both while an upgrade runs (the row is new) and
 * while a downgrade runs (the applied row was turned `started`), so only the history
 * tells them apart. When the last row is a success (a crash before `started` rows
 * existed), the step that began is the opposite of that one — an applied revision can
 * only become `started` by a downgrade — and when it began is not known. Best effort: a
 * history that cannot be read gives no attempts.
 */
async function readUnfinishedAttempts(session: Session, tables: VersionTables, unfinished: readonly AppliedRevision[]): Promise<ReadonlyMap<string, UnfinishedAttempt>> {
  const attempts = new Map<string, UnfinishedAttempt>();
  try {
    const result = await session.query<{ revision: string; direction: string; outcome: string; started_at: string }>(
      `SELECT DISTINCT ON (revision) revision, direction, outcome, to_json(started_at) #>> '{}' AS started_at FROM ${tables.history} ` +
        `WHERE revision IN (${unfinished.map((row) => quoteLiteral(row.revision)).join(", ")}) AND direction IN ('up', 'down') ORDER BY revision, id DESC`,
    );
    for (const row of result.rows) {
      const direction = row.direction === "down" ? "down" : "up";
      const settled = row.outcome === "success";
      attempts.set(row.revision, settled ? { direction: direction === "up" ? "down" : "up", startedAt: null } : { direction, startedAt: row.started_at });
    }
  } catch {
    // The history is for the message; the row's `started` state is what blocks.
  }
  return attempts;
}

/** Rows as one JSON array of {@link VersionTuple}s, oldest first (one value for the driver to decode). */
const ROWS_AGG = "json_agg(json_build_array(revision, checksum, state, applied_at, applied_by, duration_ms) ORDER BY applied_at, revision)";

/** The first row of a query on the version table, or null when the table (or its schema) does not exist. */
async function queryVersionTable<Row>(session: Session, sql: string): Promise<Row | null> {
  try {
    const result = await session.query<Row>(sql);
    return result.rows[0] ?? null;
  } catch (error) {
    if (isAthanorError(error) && (error.details["sqlstate"] === UNDEFINED_TABLE || error.details["sqlstate"] === INVALID_SCHEMA)) return null;
    throw error;
  }
}

/** The rows of a {@link ROWS_AGG} value (null: none). */
function rowsOf(text: string | null): AppliedRevision[] {
  const tuples = text === null ? [] : (JSON.parse(text) as VersionTuple[]);
  const rows: AppliedRevision[] = new Array<AppliedRevision>(tuples.length);
  // Indexed, not destructured: array destructuring walks an iterator per row.
  for (let i = 0; i < tuples.length; i += 1) {
    const tuple = tuples[i] as VersionTuple;
    const durationMs = tuple[5];
    rows[i] = { revision: tuple[0], checksum: tuple[1], state: tuple[2] === "started" ? "started" : "applied", appliedAt: tuple[3], appliedBy: tuple[4], durationMs: durationMs === null ? null : Number(durationMs) };
  }
  return rows;
}

/**
 * Reads the {@link AppliedSummary} in one query: the ids as one JSON array of strings
 * and the full rows of the unfinished revisions only. What `current` and a run with
 * nothing to do need; a tenth of the bytes of {@link readAppliedState} at 10,000 rows,
 * and the server renders no timestamp nor checksum per row (10,000 rows: ~3 ms of
 * server time instead of ~60 ms). Null when the table does not exist.
 */
export async function readAppliedSummary(session: Session, name: VersionTableName): Promise<AppliedSummary | null> {
  const tables = versionTables(name);
  const result = await queryVersionTable<{ ids: string | null; unfinished: string | null; latest: string | null }>(
    session,
    `SELECT json_agg(revision ORDER BY applied_at, revision)::text AS ids, (${ROWS_AGG} FILTER (WHERE state <> 'applied'))::text AS unfinished, ` +
      `(SELECT ${ROWS_AGG}::text FROM (SELECT * FROM ${tables.versions} ORDER BY applied_at DESC, revision DESC LIMIT ${LATEST_ROWS}) AS latest) AS latest FROM ${tables.versions}`,
  );
  if (result === null) return null;
  const ids = result.ids === null ? [] : (JSON.parse(result.ids) as string[]);
  const unfinished = rowsOf(result.unfinished);
  const summary = { ids: new Set(ids), unfinished, latest: rowsOf(result.latest) };
  return unfinished.length === 0 ? summary : { ...summary, attempts: await readUnfinishedAttempts(session, tables, unfinished) };
}

/** The rows of the given revisions (those the table has), oldest first: the details of a few rows after a summary. */
export async function readAppliedRows(session: Session, name: VersionTableName, revisions: readonly string[]): Promise<AppliedRevision[]> {
  if (revisions.length === 0) return [];
  const tables = versionTables(name);
  const result = await queryVersionTable<{ rows: string | null }>(session, `SELECT ${ROWS_AGG}::text AS rows FROM ${tables.versions} WHERE revision IN (${revisions.map(quoteLiteral).join(", ")})`);
  return rowsOf(result?.rows ?? null);
}

/**
 * How each applied row of a version table got there: `ran` when the revision's
 * statements were executed in that database, `recordedOnly` when it was only recorded
 * (`stamp`, `baseline`). A row written by a run carries the duration the run measured;
 * `stamp`, `baseline` and `resolve` write none (`duration_ms` NULL). A row settled by
 * `resolve --applied` counts as run when the history holds an `up` attempt of it (its
 * statements ran, at least in part, and a person said they took effect).
 */
export interface AppliedProvenance {
  readonly ran: ReadonlySet<string>;
  readonly recordedOnly: ReadonlySet<string>;
  /** The checksum stored for each revision of `ran`: the file as it ran there (or as `repair` accepted it since). */
  readonly checksums: ReadonlyMap<string, string>;
}

/** Reads {@link AppliedProvenance} in one query (null when the tables do not exist). Read-only. */
export async function readAppliedProvenance(session: Session, name: VersionTableName): Promise<AppliedProvenance | null> {
  const t = versionTables(name);
  const result = await queryVersionTable<{ ran: string | null; recorded: string | null; checksums: string | null }>(
    session,
    `SELECT (json_agg(v.revision) FILTER (WHERE v.ran))::text AS ran, (json_agg(v.revision) FILTER (WHERE NOT v.ran))::text AS recorded, ` +
      `(json_object_agg(v.revision, v.checksum) FILTER (WHERE v.ran))::text AS checksums FROM (` +
      `SELECT revision, checksum, duration_ms IS NOT NULL OR (` +
      `EXISTS (SELECT FROM ${t.history} h WHERE h.revision = r.revision AND h.direction = 'resolve' AND h.note = 'resolved as applied') AND ` +
      `EXISTS (SELECT FROM ${t.history} h WHERE h.revision = r.revision AND h.direction = 'up')) AS ran ` +
      `FROM ${t.versions} r WHERE state = 'applied') AS v`,
  );
  if (result === null) return null;
  const list = (text: string | null): Set<string> => new Set(text === null ? [] : (JSON.parse(text) as string[]));
  const checksums = new Map(Object.entries(result.checksums === null ? {} : (JSON.parse(result.checksums) as Record<string, string>)));
  return { ran: list(result.ran), recordedOnly: list(result.recorded), checksums };
}

/**
 * The DDL that creates the three tables (and the schema, unless it is `public`), each
 * `IF NOT EXISTS`, so it is safe to run twice. Used by `Bookkeeping.ensureTables` and
 * at the top of offline SQL scripts.
 */
export function versionTablesDdl(name: VersionTableName): string {
  const t = versionTables(name);
  const lines: string[] = [];
  if (name.schema !== "public") lines.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(name.schema)};`);
  lines.push(
    `CREATE TABLE IF NOT EXISTS ${t.versions} (`,
    "  revision text PRIMARY KEY,",
    "  checksum text NOT NULL,",
    "  state text NOT NULL DEFAULT 'applied' CHECK (state IN ('applied', 'started')),",
    "  applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),",
    "  applied_by text NOT NULL DEFAULT current_user,",
    "  duration_ms integer",
    ");",
    `CREATE TABLE IF NOT EXISTS ${t.history} (`,
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,",
    "  environment text NOT NULL,",
    "  direction text NOT NULL CHECK (direction IN ('up', 'down', 'stamp', 'resolve', 'repair')),",
    "  revision text,",
    "  db_user text NOT NULL DEFAULT current_user,",
    "  os_user text,",
    "  host text,",
    "  tool_version text NOT NULL,",
    "  started_at timestamptz NOT NULL DEFAULT clock_timestamp(),",
    "  duration_ms integer,",
    `  outcome text NOT NULL CHECK (${HISTORY_OUTCOME_CHECK}),`,
    "  error text,",
    "  note text",
    ");",
    `CREATE TABLE IF NOT EXISTS ${t.meta} (`,
    "  key text PRIMARY KEY,",
    "  value text NOT NULL,",
    "  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()",
    ");",
  );
  return `${lines.join("\n")}\n`;
}

/**
 * The history's outcomes. `started`: a non-transactional step began (written, committed,
 * before its first statement); a later row of the same revision says how it ended, and a
 * `started` row with none after it is a step that never finished (a crash, a killed
 * connection). Tables made before `started` existed get it from {@link widenOutcomeCheckSql}.
 */
const HISTORY_OUTCOME_CHECK = "outcome IN ('success', 'failed', 'started')";

/** Replaces an older history table's outcome check (`success`/`failed` only) by {@link HISTORY_OUTCOME_CHECK}. */
export function widenOutcomeCheckSql(tables: VersionTables, constraint: string): string {
  return `ALTER TABLE ${tables.history} DROP CONSTRAINT ${quoteIdent(constraint)}, ADD CONSTRAINT ${quoteIdent(constraint)} CHECK (${HISTORY_OUTCOME_CHECK});`;
}

/** Who runs athanor, written into every row. No secret: user names, host name, version. */
export interface RunIdentity {
  readonly environment: string;
  /** The operating-system user, or null when unknown. */
  readonly osUser: string | null;
  readonly host: string | null;
  readonly toolVersion: string;
  /**
   * The fleet target (issue #17) the run is for, or null for a lone database. Written into
   * the history's `target` column, which Bookkeeping.ensureTables adds when a fleet first
   * needs it (older tables have none; runs without a target never name it).
   */
  readonly target?: string | null | undefined;
}

/**
 * When a step started and how long it took, as SQL expressions evaluated by the server.
 * {@link ROUND_TRIP_TIMING} measures the current round trip; {@link measuredTiming}
 * takes a duration measured by the client (for steps that took several round trips).
 */
export interface StepTiming {
  readonly startedAt: string;
  readonly durationMs: string;
}

/**
 * `statement_timestamp()` is the arrival of the current Query message, shared by every
 * statement of a multi-statement string: clock_timestamp() minus it is the time the
 * revision's own round trip took so far.
 */
export const ROUND_TRIP_TIMING: StepTiming = {
  startedAt: "statement_timestamp()",
  durationMs: "(extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::integer",
};

/** Timing of a step the client measured (`ms` milliseconds, ending now). */
export function measuredTiming(ms: number): StepTiming {
  const whole = Math.max(0, Math.round(ms));
  return { startedAt: `clock_timestamp() - interval '${whole} milliseconds'`, durationMs: String(whole) };
}

/** The `applied_by` expression: the database user, then the OS user in parentheses. */
function appliedByExpression(identity: RunIdentity): string {
  return identity.osUser === null ? "current_user" : `current_user || ${quoteLiteral(` (${identity.osUser})`)}`;
}

function literalOrNull(value: string | null | undefined): string {
  return value === null || value === undefined ? "NULL" : quoteLiteral(value);
}

/** Records a revision as applied (or, for a non-transactional one about to run, as started). */
export function insertVersionRowSql(tables: VersionTables, identity: RunIdentity, revision: string, checksum: string, state: AppliedRevisionState, timing: StepTiming): string {
  return `${insertVersionRow(tables, identity, quoteLiteral(revision), quoteLiteral(checksum), state, timing)};`;
}

/** The INSERT of a version row, without its semicolon; `revision` and `checksum` are SQL expressions (literals or parameters). */
function insertVersionRow(tables: VersionTables, identity: RunIdentity, revision: string, checksum: string, state: AppliedRevisionState, timing: StepTiming): string {
  return `INSERT INTO ${tables.versions} (revision, checksum, state, applied_at, applied_by, duration_ms) VALUES (${revision}, ${checksum}, ${quoteLiteral(state)}, clock_timestamp(), ${appliedByExpression(identity)}, ${state === "started" ? "NULL" : timing.durationMs})`;
}

/** Marks a started revision as applied (a non-transactional revision that finished, or `resolve --applied`). */
export function finishVersionRowSql(tables: VersionTables, identity: RunIdentity, revision: string, checksum: string, timing: StepTiming): string {
  return `UPDATE ${tables.versions} SET state = 'applied', checksum = ${quoteLiteral(checksum)}, applied_at = clock_timestamp(), applied_by = ${appliedByExpression(identity)}, duration_ms = ${timing.durationMs} WHERE revision = ${quoteLiteral(revision)};`;
}

/** Marks an applied revision as started (a non-transactional downgrade about to run). */
export function startVersionRowSql(tables: VersionTables, revision: string): string {
  return `UPDATE ${tables.versions} SET state = 'started' WHERE revision = ${quoteLiteral(revision)};`;
}

/** Removes a revision's row (downgraded, stamped away, or `resolve --rolled-back`). */
export function deleteVersionRowSql(tables: VersionTables, revision: string): string {
  return `DELETE FROM ${tables.versions} WHERE revision = ${quoteLiteral(revision)};`;
}

/**
 * `PREPARE name (text, text)`: a step's version row (inserted for `up`, deleted for
 * `down`) and its success history row in ONE statement, parameters $1 = revision and
 * $2 = checksum; who runs it is written in as literals. Parsed and planned once per
 * session instead of once per revision (see {@link executeStepRecordSql}).
 */
export function prepareStepRecordSql(tables: VersionTables, identity: RunIdentity, name: string, direction: "up" | "down", timing: StepTiming): string {
  const row = direction === "up" ? insertVersionRow(tables, identity, "$1", "$2", "applied", timing) : `DELETE FROM ${tables.versions} WHERE revision = $1`;
  const history = insertHistory(tables, identity, { direction, revision: null, outcome: "success" }, timing, "$1");
  // A data-modifying WITH runs whether or not the main statement reads it.
  return `PREPARE ${quoteIdent(name)} (text, text) AS WITH row_change AS (${row}) ${history};`;
}

/** Runs a statement prepared by {@link prepareStepRecordSql}: one statement. */
export function executeStepRecordSql(name: string, revision: string, checksum: string): string {
  return `EXECUTE ${quoteIdent(name)}(${quoteLiteral(revision)}, ${quoteLiteral(checksum)});`;
}

/**
 * The revisions and durations of the last `count` history rows, as one JSON text
 * `[["<revision>", <duration_ms>], ...]`: sent after a round trip's revisions, whose rows
 * they are (the migration lock keeps every other runner out), so their events carry
 * the durations the server measured without a query of their own.
 */
export function recentDurationsSql(tables: VersionTables, count: number): string {
  return `SELECT json_agg(json_build_array(revision, duration_ms))::text FROM (SELECT revision, duration_ms FROM ${tables.history} ORDER BY id DESC LIMIT ${Math.max(1, Math.floor(count))}) AS recent;`;
}

/** Parses {@link recentDurationsSql}'s answer: revision → milliseconds (an unreadable answer gives none). */
export function parseRecentDurations(text: string | null): Map<string, number> {
  const durations = new Map<string, number>();
  if (text === null) return durations;
  let pairs: unknown;
  try {
    pairs = JSON.parse(text);
  } catch {
    return durations;
  }
  if (!Array.isArray(pairs)) return durations;
  // Newest first: a revision listed twice keeps its latest duration.
  for (const pair of pairs as unknown[]) {
    if (!Array.isArray(pair)) continue;
    const [revision, ms] = pair as unknown[];
    if (typeof revision === "string" && typeof ms === "number" && !durations.has(revision)) durations.set(revision, ms);
  }
  return durations;
}

/** Removes a prepared statement (the end of a run on a session the caller may keep). */
export function deallocateSql(name: string): string {
  return `DEALLOCATE ${quoteIdent(name)};`;
}

/** A kept row after `stamp`: the file's checksum, state `applied`. */
export function refreshVersionRowSql(tables: VersionTables, revision: string, checksum: string): string {
  return `UPDATE ${tables.versions} SET checksum = ${quoteLiteral(checksum)}, state = 'applied' WHERE revision = ${quoteLiteral(revision)};`;
}

/** Sets a meta value; without `overwrite`, a recorded value is kept. */
export function upsertMetaSql(tables: VersionTables, key: string, value: string, overwrite: boolean): string {
  const conflict = overwrite ? "DO UPDATE SET value = EXCLUDED.value, updated_at = clock_timestamp()" : "DO NOTHING";
  return `INSERT INTO ${tables.meta} (key, value) VALUES (${quoteLiteral(key)}, ${quoteLiteral(value)}) ON CONFLICT (key) ${conflict};`;
}

/** Replaces a revision's stored checksum (`repair`). */
export function updateChecksumSql(tables: VersionTables, revision: string, checksum: string): string {
  return `UPDATE ${tables.versions} SET checksum = ${quoteLiteral(checksum)} WHERE revision = ${quoteLiteral(revision)};`;
}

/** What the history table records for one step. */
export interface HistoryEntry {
  readonly direction: "up" | "down" | "stamp" | "resolve" | "repair";
  readonly revision: string | null;
  readonly outcome: "success" | "failed" | "started";
  /** The error's message (already free of secrets), for a failed step. */
  readonly error?: string | null | undefined;
  /** A short remark, e.g. `resolved as applied`. */
  readonly note?: string | null | undefined;
}

/** Appends one history row. */
export function insertHistorySql(tables: VersionTables, identity: RunIdentity, entry: HistoryEntry, timing: StepTiming): string {
  return `${insertHistory(tables, identity, entry, timing, literalOrNull(entry.revision))};`;
}

/** The INSERT of a history row, without its semicolon; `revision` is an SQL expression (a literal, NULL or a parameter). */
function insertHistory(tables: VersionTables, identity: RunIdentity, entry: HistoryEntry, timing: StepTiming, revision: string): string {
  const error = entry.error === undefined || entry.error === null ? null : entry.error.slice(0, 4000);
  const target = identity.target ?? null;
  if (target !== null) {
    return `INSERT INTO ${tables.history} (environment, target, direction, revision, db_user, os_user, host, tool_version, started_at, duration_ms, outcome, error, note) VALUES (${quoteLiteral(identity.environment)}, ${quoteLiteral(target)}, ${quoteLiteral(entry.direction)}, ${revision}, current_user, ${literalOrNull(identity.osUser)}, ${literalOrNull(identity.host)}, ${quoteLiteral(identity.toolVersion)}, ${timing.startedAt}, ${timing.durationMs}, ${quoteLiteral(entry.outcome)}, ${literalOrNull(error)}, ${literalOrNull(entry.note)})`;
  }
  return `INSERT INTO ${tables.history} (environment, direction, revision, db_user, os_user, host, tool_version, started_at, duration_ms, outcome, error, note) VALUES (${quoteLiteral(identity.environment)}, ${quoteLiteral(entry.direction)}, ${revision}, current_user, ${literalOrNull(identity.osUser)}, ${literalOrNull(identity.host)}, ${quoteLiteral(identity.toolVersion)}, ${timing.startedAt}, ${timing.durationMs}, ${quoteLiteral(entry.outcome)}, ${literalOrNull(error)}, ${literalOrNull(entry.note)})`;
}
