/**
 * Environment identity (DESIGN.md §6, last paragraph): the first change made through a
 * protected environment records the environment's name in `<versionTable>_meta`
 * (key `environment`); a later run that reaches that database through another
 * environment's configuration — a development config pointing at production by
 * mistake — is refused with exit 3 before it changes anything.
 *
 * The identity belongs to the database, not to one version table: a configuration that
 * reaches the same database with another `versionTable` or `schema` has no record beside
 * its own tables, yet it is still production's database. So the check reads every
 * athanor meta table of the database it can read (see {@link readDatabaseIdentities}).
 */
import type { ResolvedEnvironment } from "../config/types.js";
import { qualifiedName, quoteLiteral } from "../dialects/sql.js";
import type { Session } from "../dialects/types.js";
import { RefusedError } from "../errors.js";
import { Bookkeeping } from "../run/bookkeeping.js";
import { runIdentity } from "../run/connect.js";

/** The key of the meta row that names the environment a database belongs to. */
export const IDENTITY_KEY = "environment";

/** The meta table of an environment: `<schema>.<table>_meta`. */
export function metaTableName(env: Pick<ResolvedEnvironment, "versionTable">): { schema: string; table: string } {
  return { schema: env.versionTable.schema, table: `${env.versionTable.table}_meta` };
}

/** One environment name recorded in the database, and the meta table that records it. */
export interface RecordedIdentity {
  readonly schema: string;
  /** The meta table's name (`<versionTable>_meta`). */
  readonly table: string;
  readonly environment: string;
}

/**
 * The tables shaped as athanor's meta tables (`<name>_meta` with `key`, `value` and
 * `updated_at` columns) in every schema of the database that this role may read. A table
 * it may not read is left out: `has_*_privilege` answers without raising, where reading
 * it (or `to_regclass` on its schema) would fail the run.
 */
const META_TABLES_SQL =
  "SELECT n.nspname AS schema, c.relname AS table FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " +
  "WHERE c.relkind IN ('r', 'p') AND c.relname LIKE '%\\_meta' " +
  "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' " +
  "AND has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT') " +
  "AND (SELECT count(*) FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attname IN ('key', 'value', 'updated_at') AND a.attnum > 0 AND NOT a.attisdropped) = 3 " +
  "ORDER BY 1, 2";

/**
 * Every environment name recorded in the database, in any athanor meta table this role
 * can read (two queries: the catalogue, then one UNION of the tables found). Read-only.
 */
export async function readDatabaseIdentities(session: Session): Promise<RecordedIdentity[]> {
  const tables = (await session.query<{ schema: string; table: string }>(META_TABLES_SQL)).rows;
  if (tables.length === 0) return [];
  const union = tables
    .map((t) => `SELECT ${quoteLiteral(t.schema)} AS schema, ${quoteLiteral(t.table)} AS table, value FROM ${qualifiedName(t.schema, t.table)} WHERE key = ${quoteLiteral(IDENTITY_KEY)}`)
    .join(" UNION ALL ");
  const rows = (await session.query<{ schema: string; table: string; value: string }>(union)).rows;
  return rows.map((row) => ({ schema: row.schema, table: row.table, environment: row.value }));
}

/**
 * The environment name recorded beside this environment's version table, or null when
 * none is (no meta table, or no `environment` row). Read-only: creates nothing.
 */
export async function readEnvironmentIdentity(session: Session, env: Pick<ResolvedEnvironment, "versionTable">): Promise<string | null> {
  const { schema, table } = metaTableName(env);
  const found = await session.query<{ found: string | null }>("SELECT to_regclass($1) AS found", [qualifiedName(schema, table)]);
  if (found.rows[0]?.found == null) return null;
  const result = await session.query<{ value: string | null }>(`SELECT value FROM ${qualifiedName(schema, table)} WHERE key = $1`, [IDENTITY_KEY]);
  return result.rows[0]?.value ?? null;
}

type IdentityEnv = Pick<ResolvedEnvironment, "name" | "configFile" | "redactedUrl" | "versionTable">;

/**
 * Decides the identity check from the records found. Pure. The record beside this
 * environment's version table decides when there is one. Without one, the database
 * belongs to this environment only if it records no other environment, or records
 * this one too (another schema of the same environment, e.g. a tenant of a fleet).
 * Returns the refusal, or null when the run may go on.
 */
export function identityVerdict(env: IdentityEnv, records: readonly RecordedIdentity[]): RefusedError | null {
  const own = metaTableName(env);
  const beside = records.find((r) => r.schema === own.schema && r.table === own.table);
  if (beside !== undefined) return beside.environment === env.name ? null : identityMismatch(env, beside.environment);
  if (records.length === 0 || records.some((r) => r.environment === env.name)) return null;
  return identityMismatch(env, (records[0] as RecordedIdentity).environment, records[0]);
}

/**
 * The refusal for a database that belongs to another environment. Pure. `elsewhere`: the
 * record was found beside another version table than this environment's.
 */
export function identityMismatch(env: IdentityEnv, recorded: string, elsewhere?: RecordedIdentity): RefusedError {
  const own = metaTableName(env);
  const where = elsewhere === undefined ? "" : ` (recorded in ${elsewhere.schema}.${elsewhere.table}; this environment's version table is ${env.versionTable.schema}.${env.versionTable.table})`;
  const reassign =
    elsewhere === undefined
      ? `re-assign it: UPDATE ${qualifiedName(own.schema, own.table)} SET value = ${quoteLiteral(env.name)} WHERE key = '${IDENTITY_KEY}';`
      : `record it beside this environment's version table: CREATE TABLE IF NOT EXISTS ${qualifiedName(own.schema, own.table)} (key text PRIMARY KEY, value text NOT NULL, updated_at timestamptz NOT NULL DEFAULT clock_timestamp()); ` +
        `INSERT INTO ${qualifiedName(own.schema, own.table)} (key, value) VALUES ('${IDENTITY_KEY}', ${quoteLiteral(env.name)});`;
  return new RefusedError(
    "environment-mismatch",
    `the database at ${env.redactedUrl} belongs to environment "${recorded}"${where}, but this run reached it through environment "${env.name}" (${env.configFile}); nothing was changed`,
    {
      hint:
        `If you meant "${recorded}", run again with --env ${recorded}. Otherwise fix the url of environment "${env.name}" (see \`athanor --env ${env.name} env\`) so it points at its own database. ` +
        (elsewhere === undefined
          ? `If this database really is "${env.name}"'s now (e.g. restored from a "${recorded}" backup), ${reassign}`
          : `If this database really serves "${env.name}" too (another schema of it), ${reassign}`),
      details: {
        environment: env.name,
        recordedEnvironment: recorded,
        configFile: env.configFile,
        url: env.redactedUrl,
        ...(elsewhere === undefined ? {} : { recordedIn: `${elsewhere.schema}.${elsewhere.table}` }),
      },
    },
  );
}

/**
 * Refuses (exit 3) when the database is recorded as another environment's — beside this
 * environment's version table or beside any other (see {@link identityVerdict}). Call it
 * with the migration lock held, before any change; every environment runs it, protected
 * or not. Returns the name recorded beside this environment's version table (null when none).
 * `read`: the records, when the caller started reading them earlier under the same lock.
 */
export async function assertEnvironmentIdentity(session: Session, env: ResolvedEnvironment, read: Promise<readonly RecordedIdentity[]> = readDatabaseIdentities(session)): Promise<string | null> {
  const records = await read;
  const refusal = identityVerdict(env, records);
  if (refusal !== null) throw refusal;
  const own = metaTableName(env);
  return records.find((r) => r.schema === own.schema && r.table === own.table)?.environment ?? null;
}

/**
 * Records the environment's name in the database when none is recorded yet (creating the
 * version tables when they are missing). Call it with the lock held, after the
 * confirmation and the backup, just before the first change; an existing record is
 * never overwritten.
 */
export async function recordEnvironmentIdentity(session: Session, env: ResolvedEnvironment): Promise<void> {
  const bookkeeping = new Bookkeeping(session, env.versionTable, runIdentity(env));
  await bookkeeping.ensureTables();
  await bookkeeping.recordMeta(IDENTITY_KEY, env.name, { overwrite: false });
}
