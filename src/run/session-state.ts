/**
 * Each revision starts from athanor's session state, and athanor's bookkeeping is written
 * with athanor's settings. A revision runs on the migration session, and what it sets at
 * session level (`SET ROLE`, `SET SESSION AUTHORIZATION`, `SET search_path`, timeouts,
 * `SET default_transaction_read_only`, `set_config(..., false)`) outlives its COMMIT: its
 * own version and history rows would be written as another role or under a 1 ms timeout,
 * and the next revision of the same run would run with it, so one run of five revisions
 * and five runs of one would end up different. The state the session had when the plan
 * began (the {@link SessionBaseline}, athanor's own timeouts included) is put back after
 * each revision that could have changed it, as Flyway does after every migration. So are
 * the session's temporary objects and `LISTEN` channels: a temporary table a revision
 * created would otherwise be there for the next revision of the same run and not for the
 * same revision run alone.
 *
 * Pure: the SQL text of the capture, the protection and the restore, and the cheap test
 * of a revision's text that decides which revisions need them.
 */
import { quoteIdent, quoteLiteral } from "../dialects/sql.js";

/**
 * True when an SQL text could change the session's state: it holds one of the words
 * `SET`, `RESET`, `set_config`, `DISCARD`, `DEALLOCATE`, `ROLE`, `AUTHORIZATION`,
 * `TEMP`, `TEMPORARY`, `pg_temp`, `LISTEN` anywhere (comments and strings included).
 * Conservative: `UPDATE ... SET` or `CREATE ROLE` match too and only cost the restore; what it must never miss is a
 * statement that changes the session, and each of those holds one of the words. A
 * function created earlier that changes the session when called is not seen in the
 * text that calls it (docs/runtime.md says how to mark such a revision).
 */
export function mayChangeSession(sql: string): boolean {
  return SESSION_WORD.test(sql);
}

const SESSION_WORD = /\b(?:set|reset|set_config|discard|deallocate|role|authorization|temp|temporary|pg_temp|listen)\b/i;

/**
 * True when an SQL text could drop athanor's prepared `<record>` statement
 * (`DEALLOCATE ALL`, or one of athanor's by name). Conservative, as {@link mayChangeSession}.
 */
export function mayDeallocate(sql: string): boolean {
  return DEALLOCATE_WORD.test(sql);
}

const DEALLOCATE_WORD = /\bdeallocate\b/i;

/** What athanor's session was when the plan began. */
export interface SessionBaseline {
  /** `session_user` */
  readonly sessionUser: string;
  /** `current_user` (the role set before the plan, or the session user) */
  readonly currentUser: string;
  /**
   * Settings as `current_setting` shows them (units included): every setting made on the
   * session with SET (`pg_settings.source = 'session'`: athanor's timeouts,
   * `client_connection_check_interval`, a caller's own), and those the bookkeeping depends on.
   */
  readonly settings: readonly (readonly [name: string, value: string])[];
  /**
   * The session had temporary objects (a library caller's session): they are not athanor's
   * to drop, so the revisions' own are left too. False for a session athanor opened.
   */
  readonly temporaryObjects: boolean;
  /** `pg_listening_channels()`: the channels the session listened on. */
  readonly channels: readonly string[];
}

/**
 * The settings whose value is captured whatever their source: a revision's change to them
 * would make athanor's own statements fail (a timeout), read another schema's tables,
 * turn later transactions read-only, or have the server read later revisions' string
 * literals otherwise than athanor (`standard_conforming_strings`, src/run/standard-strings.ts:
 * `RESET ALL` alone would give it the connection's default, not the value a caller's
 * session was given with SET).
 */
const GUARDED = ["search_path", "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "default_transaction_read_only", "standard_conforming_strings"] as const;

/**
 * One row: `session_user`, `current_user`, the settings as a JSON array of [name, value],
 * whether the session's temporary schema holds anything, and its channels as a JSON array.
 */
export const CAPTURE_BASELINE_SQL =
  "SELECT session_user::text AS session_user, current_user::text AS current_user, " +
  "(SELECT coalesce(json_agg(json_build_array(name, current_setting(name)) ORDER BY name), '[]') FROM pg_catalog.pg_settings " +
  `WHERE source = 'session' OR name IN (${GUARDED.map(quoteLiteral).join(", ")}))::text AS settings, ` +
  "(EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.pg_my_temp_schema()) OR EXISTS (SELECT 1 FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.pg_my_temp_schema()) " +
  "OR EXISTS (SELECT 1 FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.pg_my_temp_schema())) AS temporary_objects, " +
  "(SELECT coalesce(json_agg(c ORDER BY c), '[]') FROM pg_catalog.pg_listening_channels() AS c)::text AS channels";

/** The row of {@link CAPTURE_BASELINE_SQL}. */
export interface BaselineRow {
  readonly session_user: string;
  readonly current_user: string;
  readonly settings: string;
  readonly temporary_objects: boolean;
  readonly channels: string;
}

/** The baseline from the row of {@link CAPTURE_BASELINE_SQL}. */
export function parseBaseline(row: BaselineRow): SessionBaseline {
  const parsed: unknown = JSON.parse(row.settings);
  const settings = Array.isArray(parsed) ? parsed.filter((pair): pair is [string, string] => Array.isArray(pair) && typeof pair[0] === "string" && typeof pair[1] === "string") : [];
  const listening: unknown = JSON.parse(row.channels);
  const channels = Array.isArray(listening) ? listening.filter((channel): channel is string => typeof channel === "string") : [];
  return { sessionUser: row.session_user, currentUser: row.current_user, settings, temporaryObjects: row.temporary_objects, channels };
}

/**
 * Statements that make the rest of the current transaction run with athanor's identity and
 * settings (`SET LOCAL`), before its bookkeeping; the session is left as it was. Named,
 * not `DEFAULT`: PGlite (single-user) does not reset the session user to its default. Only
 * a superuser login can have changed the session user, and any login may set it back to
 * itself. `SET SESSION AUTHORIZATION` also resets the role, hence the role after it.
 */
export function protectSql(baseline: SessionBaseline): string[] {
  return [...statementTimeoutSql(baseline), ...identitySql(baseline, "LOCAL "), ...settingsSql(baseline, true)];
}

/**
 * `SET LOCAL statement_timeout` to the baseline's, the first of athanor's statements after
 * a revision: a revision that ends with `SET statement_timeout = '1ms'` would otherwise
 * have each of athanor's statements before the one that sets it back run under 1 ms. A
 * plain `SET` (the cheapest statement there is; no snapshot, so `SET LOCAL
 * transaction_read_only` may still follow it).
 */
export function statementTimeoutSql(baseline: SessionBaseline): string[] {
  const value = baseline.settings.find(([name]) => name === "statement_timeout")?.[1];
  return value === undefined ? [] : [`SET LOCAL statement_timeout = ${quoteLiteral(value)};`];
}

/**
 * Statements that put the session back as it was when the plan began, at session level:
 * `RESET ALL` (every setting back to its connection default: the revision's own ones,
 * custom `set_config` ones included; it leaves the role and session user alone, which are
 * named here), then the baseline's settings again. Sent inside a transaction they take
 * effect at its COMMIT and vanish with a rollback, which undoes the revision's own
 * changes too. `RESET ALL` also clears the revision's start mark (`athanor.started`): sent
 * in a script, this comes after the revision's record. Then the revision's temporary
 * objects are dropped (`DISCARD TEMP`, unless the session had its own before the plan) and
 * its channels left (`UNLISTEN *`, the session's own listened to again); both are
 * transactional, as the rest.
 */
export function restoreSql(baseline: SessionBaseline): string[] {
  return [
    "RESET ALL;",
    ...identitySql(baseline, ""),
    ...settingsSql(baseline, false),
    ...(baseline.temporaryObjects ? [] : ["DISCARD TEMP;"]),
    "UNLISTEN *;",
    ...baseline.channels.map((channel) => `LISTEN ${quoteIdent(channel)};`),
  ];
}

function identitySql(baseline: SessionBaseline, scope: "LOCAL " | ""): string[] {
  return [`SET ${scope}SESSION AUTHORIZATION ${quoteIdent(baseline.sessionUser)};`, `SET ${scope}ROLE ${quoteIdent(baseline.currentUser)};`];
}

function settingsSql(baseline: SessionBaseline, local: boolean): string[] {
  if (baseline.settings.length === 0) return [];
  const rows = baseline.settings.map(([name, value]) => `(${quoteLiteral(name)}, ${quoteLiteral(value)})`).join(", ");
  return [`SELECT pg_catalog.set_config(s.name, s.value, ${local}) FROM (VALUES ${rows}) AS s(name, value);`];
}
