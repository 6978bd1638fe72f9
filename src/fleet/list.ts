/**
 * Lists a fleet's targets: the config's `targets`, or the rows of `targetsQuery` (a
 * directory database) or of `tenantSchemas` (the environment's own database). The
 * queries go through a Session (the dialect boundary); the result is one
 * ResolvedEnvironment per target, in a stable order (the config's, or by name).
 */
import type { ResolvedEnvironment } from "../config/types.js";
import { parseDatabaseUrl } from "../config/url.js";
import { openSession } from "../dialects/open.js";
import { ConfigError } from "../errors.js";
import { applicationName } from "../run/connect.js";
import { knownSecrets, passwordCandidates } from "../secrets/redact.js";
import { assertUniqueNames, databaseTargetEnvironment, tenantTargetEnvironment } from "./targets.js";

/** A row of a listing query: the first column is the name (or schema), `url` the URL. */
type ListedRow = Record<string, unknown>;

/** Runs a listing query on a database of the fleet's environment. */
async function listRows(env: ResolvedEnvironment, on: ResolvedEnvironment["target"], sql: string, setting: string): Promise<ListedRow[]> {
  const session = await openSession(on, { applicationName: applicationName("fleet", env), secrets: env.secrets });
  try {
    const result = await session.query<ListedRow>(sql);
    return result.rows;
  } catch (error) {
    throw new ConfigError("fleet-query-failed", `environments.${env.name}.${setting} failed: ${error instanceof Error ? error.message : String(error)}`, {
      hint: `Check the query in environments.${env.name}.${setting}; run it with psql on the same database to see what it returns.`,
      details: { environment: env.name, setting },
    });
  } finally {
    await session.close();
  }
}

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/**
 * Every target of a fleet environment, as environments of their own.
 * @throws ConfigError when a listing query fails or returns unusable rows (exit 2)
 */
export async function listFleetTargets(env: ResolvedEnvironment): Promise<ResolvedEnvironment[]> {
  const fleet = env.fleet;
  if (fleet === null) return [env];
  const source = fleet.source;
  let targets: ResolvedEnvironment[];
  if (source.kind === "targets") {
    targets = source.targets.map((target) => databaseTargetEnvironment(env, target));
  } else if (source.kind === "targets-query") {
    const rows = await listRows(env, source.directory.target, source.sql, "targetsQuery.sql");
    targets = rows.map((row, i) => {
      const name = text(row["name"]);
      const url = text(row["url"]);
      if (name === null || url === null) {
        throw new ConfigError("fleet-query-rows", `environments.${env.name}.targetsQuery.sql returned a row without a name or url (row ${i + 1})`, {
          hint: "The query must return two text columns named name and url, e.g. SELECT shard AS name, dsn AS url FROM shards.",
          details: { environment: env.name, row: i + 1 },
        });
      }
      // The password is registered before anything can print the URL.
      const passwords = passwordCandidates(url);
      knownSecrets.add(...passwords);
      const parsed = parseDatabaseUrl(url, env.rootDir, `target "${name}" of environments.${env.name}.targetsQuery`);
      if (parsed.password !== null) knownSecrets.add(parsed.password);
      const secrets = [...passwords, ...(parsed.password === null ? [] : [parsed.password])];
      return databaseTargetEnvironment(env, { name, url: { value: url, sources: [{ kind: "config", path: `environments.${env.name}.targetsQuery`, file: env.configFile }] }, redactedUrl: parsed.redacted, target: parsed.target }, secrets);
    });
    targets.sort((a, b) => compareNames(a.targetName, b.targetName));
  } else {
    const rows = await listRows(env, env.target, source.sql, "tenantSchemas");
    targets = rows.map((row, i) => {
      const schema = text(Object.values(row)[0]);
      if (schema === null) {
        throw new ConfigError("fleet-query-rows", `environments.${env.name}.tenantSchemas returned a row without a schema name (row ${i + 1})`, {
          hint: "The query must return the schema names in its first column, e.g. SELECT schema_name FROM tenants.",
          details: { environment: env.name, row: i + 1 },
        });
      }
      return tenantTargetEnvironment(env, schema);
    });
    targets.sort((a, b) => compareNames(a.targetName, b.targetName));
  }
  assertUniqueNames(env.name, targets.map((target) => target.targetName ?? ""));
  return targets;
}

function compareNames(a: string | null, b: string | null): number {
  return (a ?? "").localeCompare(b ?? "", "en", { numeric: true });
}
