/**
 * What a new session checks in its first round trip, for both drivers: that a session
 * that will write is not on a standby (`pg_is_in_recovery()`), and that a schema-scoped
 * session really runs in its schema (the schema exists, and `search_path` arrived).
 */
import { ConfigError, RefusedError } from "../errors.js";
import { quoteIdent } from "./sql.js";

/** What the first round trip of a session answered. */
export interface OpenedFacts {
  /** `pg_is_in_recovery()`. */
  readonly standby: boolean;
  /** `current_setting('search_path')`. */
  readonly searchPath: string;
  /** Whether the requested schema exists (true when none was requested). */
  readonly schemaExists: boolean;
}

/** The value `search_path` is set to for a schema-scoped session: the schema alone, quoted. */
export function searchPathValue(schema: string): string {
  return quoteIdent(schema);
}

/**
 * The `-c search_path=...` switch of the libpq `options` startup parameter, escaped as the
 * server splits it (whitespace separates switches; a backslash takes the next character).
 * Set at connection start, the value is the session's default: `RESET ALL`, `DISCARD ALL`
 * and a rolled-back `SET` all return to it.
 */
export function searchPathStartupOption(schema: string): string {
  return `-c search_path=${searchPathValue(schema).replace(/[\\\s]/g, (c) => `\\${c}`)}`;
}

/**
 * The select list that reads {@link OpenedFacts}; `$1` is the schema name or null. Both
 * sessions fold it into a round trip they make anyway.
 */
export const OPENED_FACTS_COLUMNS =
  "pg_is_in_recovery() AS standby, current_setting('search_path') AS search_path, ($1::text IS NULL OR EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1::text)) AS schema_exists";

/** Reads {@link OpenedFacts} from a row selected with {@link OPENED_FACTS_COLUMNS}. */
export function openedFacts(row: Record<string, unknown> | undefined): OpenedFacts {
  return { standby: row?.["standby"] === true, searchPath: String(row?.["search_path"] ?? ""), schemaExists: row?.["schema_exists"] === true };
}

/** What the caller asked of a session, for {@link checkOpened}. */
export interface SessionRequirements {
  /** The session will write (a migration, stamp, repair...): a standby is refused. */
  readonly writable?: boolean | undefined;
  /** The schema the session must run in, or null/undefined. */
  readonly searchPath?: string | null | undefined;
}

/**
 * Refuses a session that cannot do what it was opened for.
 * @param server `host:port/database`, or the PGlite directory, for messages
 * @throws RefusedError (exit 3) `standby` for a writing session on a server in recovery
 * @throws ConfigError (exit 2) `schema-missing` when the schema does not exist
 * @throws ConfigError (exit 2) `search-path-lost` when the server did not get the search_path (a pooler dropped it)
 */
export function checkOpened(facts: OpenedFacts, wanted: SessionRequirements, server: string): void {
  if (wanted.writable === true && facts.standby) {
    throw new RefusedError("standby", `${server} is a standby (pg_is_in_recovery() is true): athanor never migrates a server in recovery, nothing was written`, {
      hint: "Point the URL at the primary, or list every host and let libpq pick the primary: postgres://h1:5432,h2:5432/db?target_session_attrs=read-write.",
      details: { server },
    });
  }
  const schema = wanted.searchPath;
  if (schema === null || schema === undefined) return;
  if (!facts.schemaExists) {
    throw new ConfigError("schema-missing", `schema ${quoteIdent(schema)} does not exist on ${server}; the environment's \`schema\` names it`, {
      hint: `Create it first (CREATE SCHEMA ${quoteIdent(schema)}), or fix the environment's \`schema\` setting.`,
      details: { schema, server },
    });
  }
  if (facts.searchPath !== searchPathValue(schema)) {
    throw new ConfigError("search-path-lost", `the session on ${server} runs with search_path ${facts.searchPath || "(empty)"} instead of ${searchPathValue(schema)}: something between athanor and the server dropped the startup option (a pooler such as PgBouncer ignores \`options\`)`, {
      hint: "Give the environment a direct connection to the server (`migrationUrl` with the server's own host and port), or let the pooler pass search_path through (PgBouncer 1.20+: track_extra_parameters = search_path).",
      details: { schema, server, searchPath: facts.searchPath },
    });
  }
}
