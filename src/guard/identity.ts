/**
 * Environment identity (DESIGN.md §6, last paragraph): the first change made through a
 * protected environment records the environment's name in `<versionTable>_meta`
 * (key `environment`); a later run that reaches that database through another
 * environment's configuration — a development config pointing at production by
 * mistake — is refused with exit 3 before it changes anything.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import { qualifiedName } from "../dialects/sql.js";
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

async function metaTableExists(session: Session, schema: string, table: string): Promise<boolean> {
  const result = await session.query<{ found: string | null }>("SELECT to_regclass($1) AS found", [qualifiedName(schema, table)]);
  return result.rows[0]?.found != null;
}

/**
 * The environment name recorded in the database, or null when none is (no meta table,
 * or no `environment` row). Read-only: creates nothing.
 */
export async function readEnvironmentIdentity(session: Session, env: Pick<ResolvedEnvironment, "versionTable">): Promise<string | null> {
  const { schema, table } = metaTableName(env);
  if (!(await metaTableExists(session, schema, table))) return null;
  const result = await session.query<{ value: string | null }>(`SELECT value FROM ${qualifiedName(schema, table)} WHERE key = $1`, [IDENTITY_KEY]);
  return result.rows[0]?.value ?? null;
}

/** The refusal for a database that belongs to another environment. Pure. */
export function identityMismatch(env: Pick<ResolvedEnvironment, "name" | "configFile" | "redactedUrl" | "versionTable">, recorded: string): RefusedError {
  const { schema, table } = metaTableName(env);
  return new RefusedError(
    "environment-mismatch",
    `the database at ${env.redactedUrl} belongs to environment "${recorded}", but this run reached it through environment "${env.name}" (${env.configFile}); nothing was changed`,
    {
      hint:
        `If you meant "${recorded}", run again with --env ${recorded}. Otherwise fix the url of environment "${env.name}" (see \`athanor --env ${env.name} env\`) so it points at its own database. ` +
        `If this database really is "${env.name}"'s now (e.g. restored from a "${recorded}" backup), re-assign it: ` +
        `UPDATE ${qualifiedName(schema, table)} SET value = '${env.name.replace(/'/g, "''")}' WHERE key = '${IDENTITY_KEY}';`,
      details: { environment: env.name, recordedEnvironment: recorded, configFile: env.configFile, url: env.redactedUrl },
    },
  );
}

/**
 * Refuses (exit 3) when the database is recorded as another environment's. Call it with
 * the migration lock held, before any change; every environment runs it, protected or not.
 * Returns the recorded name (null when none).
 */
export async function assertEnvironmentIdentity(session: Session, env: ResolvedEnvironment): Promise<string | null> {
  const recorded = await readEnvironmentIdentity(session, env);
  if (recorded !== null && recorded !== env.name) throw identityMismatch(env, recorded);
  return recorded;
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
