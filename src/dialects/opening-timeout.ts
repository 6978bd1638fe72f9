/**
 * A server `statement_timeout` of a few milliseconds, set as the database's or the role's
 * default (`ALTER DATABASE d SET statement_timeout = '2ms'`), cancels the first queries of a
 * connection — athanor's opening query, the lock connection's statements, sent before (or
 * without) any timeout of athanor's own — and the server says only "canceling statement due
 * to statement timeout". Startup options could set athanor's first, but PgBouncer refuses
 * them (src/dialects/postgres-pooler.ts), so the failure is reported instead: which setting,
 * where it is set, and the fix. Only on that failure: the success path sends nothing more.
 */
import { DatabaseError } from "../errors.js";
import { quoteIdent } from "./sql.js";

/** True for the server's cancel by its statement_timeout (57014 is any cancel; the message tells them apart). */
export function isStatementTimeout(error: DatabaseError): boolean {
  return error.details["sqlstate"] === "57014" && /statement timeout/.test(error.message);
}

interface DefaultRow {
  value: string | null;
  level: "role-in-database" | "role" | "database" | null;
  role: string;
  db: string;
}

/**
 * The session's default statement_timeout and the most specific place that sets it
 * (pg_db_role_setting: role in database, then role, then database), read after a `SET` that
 * lets these queries run. Null when it cannot be read.
 */
async function readDefault(query: RunQuery): Promise<DefaultRow | null> {
  try {
    await query("SET statement_timeout = 0");
    const rows = await query(
      `SELECT (SELECT reset_val FROM pg_settings WHERE name = 'statement_timeout') AS value,
              (SELECT CASE WHEN s.setdatabase <> 0 AND s.setrole <> 0 THEN 'role-in-database' WHEN s.setrole <> 0 THEN 'role' ELSE 'database' END
                 FROM pg_db_role_setting s, unnest(s.setconfig) c
                WHERE c LIKE 'statement\\_timeout=%'
                  AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
                  AND s.setrole IN (0, (SELECT oid FROM pg_roles WHERE rolname = current_user))
                  AND (s.setdatabase <> 0 OR s.setrole <> 0)
                ORDER BY (s.setdatabase <> 0 AND s.setrole <> 0) DESC, (s.setrole <> 0) DESC
                LIMIT 1) AS level,
              current_user AS role, current_database() AS db`,
    );
    return (rows[0] as DefaultRow | undefined) ?? null;
  } catch {
    return null;
  }
}

/** Runs one statement on the connection whose statement was cancelled (still open: a cancel does not end it). */
export type RunQuery = (sql: string) => Promise<readonly unknown[]>;

/**
 * The error for athanor's statement `doing` ("athanor's first query on the connection")
 * cancelled by the server's statement_timeout (`error`, secrets already removed), read on
 * the connection that ran it.
 */
export async function openingTimeoutError(query: RunQuery, error: DatabaseError, doing: string): Promise<DatabaseError> {
  const found = await readDefault(query);
  const value = found?.value == null ? "" : `${found.value} ms, `;
  let where: string;
  let reset: string;
  if (found?.level === "role-in-database") {
    where = `set for role ${found.role} in database ${found.db} (ALTER ROLE ... IN DATABASE ... SET)`;
    reset = `ALTER ROLE ${quoteIdent(found.role)} IN DATABASE ${quoteIdent(found.db)} RESET statement_timeout`;
  } else if (found?.level === "role") {
    where = `set for role ${found.role} (ALTER ROLE ... SET)`;
    reset = `ALTER ROLE ${quoteIdent(found.role)} RESET statement_timeout`;
  } else if (found?.level === "database") {
    where = `set for database ${found.db} (ALTER DATABASE ... SET)`;
    reset = `ALTER DATABASE ${quoteIdent(found.db)} RESET statement_timeout`;
  } else {
    where = "from the server's configuration (postgresql.conf, ALTER SYSTEM) or the URL's `options`";
    reset = "remove it there";
  }
  return new DatabaseError(
    "statement-timeout",
    `the server's statement_timeout (${value}${where}) cancelled ${doing}, before athanor sets any timeout of its own: ${error.message}`,
    {
      hint: `A statement_timeout of a few milliseconds cancels almost any statement. Remove it (${reset}) or raise it to seconds; migrations get their own with the environment's \`statementTimeout\` in the config file.`,
      details: { ...error.details, setting: "statement_timeout", valueMs: found?.value == null ? null : Number(found.value), setFor: found?.level ?? null, doing },
      cause: error,
    },
  );
}
