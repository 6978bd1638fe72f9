/**
 * Checks the shape of a loaded config file and returns it typed. Every problem names
 * the file and the path of the bad key, and an unknown key gets the closest valid
 * name suggested. Pure.
 *
 * Hand-written rather than a schema library: the shape is small, and the messages
 * (closest key, the file) are the point.
 */
import { ConfigError } from "../errors.js";
import type { AthanorConfig, EnvironmentConfig } from "./types.js";

const TOP_KEYS = ["migrations", "schema", "autogenerate", "defaultEnvironment", "environments", "settings"] as const;
const AUTOGENERATE_KEYS = ["privileges"] as const;
const ENV_KEYS = [
  "url", "migrationUrl", "envFile", "echo", "logLevel", "pool", "protected", "backup",
  "lockTimeout", "statementTimeout", "versionTable", "schemas", "promoteFrom", "shadowUrl", "schema", "replicaLag",
  "targets", "targetsQuery", "tenantSchemas", "parallel", "canary", "onFailure",
] as const;

/** A fleet target's name: used in output, logs, `--target` globs and history rows. */
const TARGET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "silent"];

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min(current + 1, (row[j - 1] as number) + 1, prev + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1));
      prev = current;
    }
  }
  return row[b.length] as number;
}

/** The closest name within a small distance, or undefined. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}` : `${typeof value} ${String(value)}`;
}

class Checker {
  constructor(readonly file: string) {}

  fail(path: string, message: string, hint: string): never {
    throw new ConfigError("malformed-config", `${this.file}: ${path} ${message}`, { hint, details: { file: this.file, path } });
  }

  unknownKeys(value: Record<string, unknown>, allowed: readonly string[], path: string): void {
    for (const key of Object.keys(value)) {
      if (allowed.includes(key)) continue;
      const guess = closest(key, allowed);
      this.fail(`${path}${path ? "." : ""}${key}`, "is not a known setting", guess ? `Did you mean "${guess}"? Known settings: ${allowed.join(", ")}.` : `Known settings: ${allowed.join(", ")}.`);
    }
  }

  string(value: unknown, path: string): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== "string") this.fail(path, `must be a string, not ${describe(value)}`, `Write ${path} as a quoted string.`);
    return value;
  }

  boolean(value: unknown, path: string): boolean | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") this.fail(path, `must be true or false, not ${describe(value)}`, `Write ${path}: true or ${path}: false (without quotes).`);
    return value;
  }

  stringList(value: unknown, path: string): string[] | undefined {
    if (value === undefined) return undefined;
    if (typeof value === "string") return [value];
    if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) this.fail(path, `must be a string or a list of strings, not ${describe(value)}`, `Write ${path}: ["a", "b"].`);
    return value as string[];
  }

  duration(value: unknown, path: string): string | number | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== "string" && typeof value !== "number") this.fail(path, `must be a duration such as "5s" or "15min", not ${describe(value)}`, `Write ${path}: "5s".`);
    return value;
  }
}

/** Validates a config file's default export. */
export function validateConfig(raw: unknown, file: string): AthanorConfig {
  const check: Checker = new Checker(file);
  if (!isRecord(raw)) check.fail("the default export", `must be an object, not ${describe(raw)}`, "Export the config: export default defineConfig({ environments: { ... } }).");
  check.unknownKeys(raw, TOP_KEYS, "");
  if (!isRecord(raw["environments"])) {
    check.fail("environments", raw["environments"] === undefined ? "is missing" : `must be an object, not ${describe(raw["environments"])}`, 'Add environments: { development: { url: "pglite://./.athanor/dev" } }.');
  }
  const environments: Record<string, EnvironmentConfig> = {};
  const names = Object.keys(raw["environments"]);
  if (names.length === 0) check.fail("environments", "is empty", "Declare at least one environment, e.g. development.");
  for (const name of names) {
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) check.fail(`environments.${name}`, "is not a valid environment name", "Use letters, digits, - and _, starting with a letter.");
    environments[name] = validateEnvironment(check, (raw["environments"] as Record<string, unknown>)[name], `environments.${name}`);
  }
  const config: AthanorConfig = { environments };
  const migrations = check.string(raw["migrations"], "migrations");
  if (migrations !== undefined) config.migrations = migrations;
  const schema = check.stringList(raw["schema"], "schema");
  if (schema !== undefined) config.schema = schema;
  if (raw["autogenerate"] !== undefined) {
    const autogenerate = raw["autogenerate"];
    if (!isRecord(autogenerate)) check.fail("autogenerate", `must be an object, not ${describe(autogenerate)}`, "Write autogenerate: { privileges: true }.");
    check.unknownKeys(autogenerate, AUTOGENERATE_KEYS, "autogenerate");
    const privileges = check.boolean(autogenerate["privileges"], "autogenerate.privileges");
    config.autogenerate = privileges === undefined ? {} : { privileges };
  }
  const defaultEnvironment = check.string(raw["defaultEnvironment"], "defaultEnvironment");
  if (defaultEnvironment !== undefined) {
    if (!(defaultEnvironment in environments)) check.fail("defaultEnvironment", `names "${defaultEnvironment}", which is not an environment`, `Use one of: ${names.join(", ")}.`);
    config.defaultEnvironment = defaultEnvironment;
  }
  const settings = check.string(raw["settings"], "settings");
  if (settings !== undefined) config.settings = settings;
  for (const [name, env] of Object.entries(environments)) {
    if (env.promoteFrom !== undefined && !(env.promoteFrom in environments)) {
      check.fail(`environments.${name}.promoteFrom`, `names "${env.promoteFrom}", which is not an environment`, `Use one of: ${names.join(", ")}.`);
    }
    if (env.promoteFrom === name) check.fail(`environments.${name}.promoteFrom`, "names the environment itself", "Name the environment this one is promoted from, e.g. testing.");
  }
  return config;
}

function validateEnvironment(check: Checker, raw: unknown, path: string): EnvironmentConfig {
  if (raw === null || raw === undefined) return {};
  if (!isRecord(raw)) check.fail(path, `must be an object, not ${describe(raw)}`, `Write ${path}: { url: "..." }.`);
  check.unknownKeys(raw, ENV_KEYS, path);
  const env: EnvironmentConfig = {};
  const url = check.string(raw["url"], `${path}.url`);
  if (url !== undefined) env.url = url;
  const migrationUrl = check.string(raw["migrationUrl"], `${path}.migrationUrl`);
  if (migrationUrl !== undefined) env.migrationUrl = migrationUrl;
  const shadowUrl = check.string(raw["shadowUrl"], `${path}.shadowUrl`);
  if (shadowUrl !== undefined) env.shadowUrl = shadowUrl;
  const envFile = check.stringList(raw["envFile"], `${path}.envFile`);
  if (envFile !== undefined) env.envFile = envFile;
  const echo = check.boolean(raw["echo"], `${path}.echo`);
  if (echo !== undefined) env.echo = echo;
  const logLevel = check.string(raw["logLevel"], `${path}.logLevel`);
  if (logLevel !== undefined) {
    if (!LOG_LEVELS.includes(logLevel)) check.fail(`${path}.logLevel`, `must be one of ${LOG_LEVELS.join(", ")}, not "${logLevel}"`, 'Write logLevel: "info".');
    env.logLevel = logLevel as EnvironmentConfig["logLevel"] & string;
  }
  const pool = raw["pool"];
  if (pool !== undefined) {
    if (pool === "none") env.pool = "none";
    else if (isRecord(pool) && typeof pool["max"] === "number" && Number.isInteger(pool["max"]) && pool["max"] > 0) {
      check.unknownKeys(pool, ["max"], `${path}.pool`);
      env.pool = { max: pool["max"] };
    } else check.fail(`${path}.pool`, `must be "none" or { max: <positive integer> }, not ${describe(pool)}`, 'Write pool: "none" (one connection per command) or pool: { max: 10 }.');
  }
  const isProtected = check.boolean(raw["protected"], `${path}.protected`);
  if (isProtected !== undefined) env.protected = isProtected;
  const backup = raw["backup"];
  if (backup !== undefined && backup !== false) {
    if (!isRecord(backup)) check.fail(`${path}.backup`, `must be an object, not ${describe(backup)}`, 'Write backup: { dir: "./backups", keep: 10 }.');
    check.unknownKeys(backup, ["dir", "keep"], `${path}.backup`);
    const dir = check.string(backup["dir"], `${path}.backup.dir`);
    if (dir === undefined) check.fail(`${path}.backup.dir`, "is missing", 'Write backup: { dir: "./backups" }.');
    const keep = backup["keep"];
    if (keep !== undefined && (typeof keep !== "number" || !Number.isInteger(keep) || keep < 1)) check.fail(`${path}.backup.keep`, `must be a positive integer, not ${describe(keep)}`, "Write keep: 10.");
    env.backup = keep === undefined ? { dir } : { dir, keep: keep as number };
  }
  const lockTimeout = check.duration(raw["lockTimeout"], `${path}.lockTimeout`);
  if (lockTimeout !== undefined) env.lockTimeout = lockTimeout;
  const statementTimeout = check.duration(raw["statementTimeout"], `${path}.statementTimeout`);
  if (statementTimeout !== undefined) env.statementTimeout = statementTimeout;
  const versionTable = raw["versionTable"];
  if (versionTable !== undefined) {
    if (!isRecord(versionTable)) check.fail(`${path}.versionTable`, `must be an object, not ${describe(versionTable)}`, 'Write versionTable: { schema: "public", table: "athanor_version" }.');
    check.unknownKeys(versionTable, ["schema", "table"], `${path}.versionTable`);
    const schema = check.string(versionTable["schema"], `${path}.versionTable.schema`);
    const table = check.string(versionTable["table"], `${path}.versionTable.table`);
    // PostgreSQL has no empty identifier ("zero-length delimited identifier" at the first query).
    if (schema === "") check.fail(`${path}.versionTable.schema`, "is empty", 'Leave it out (public), or name a schema: versionTable: { schema: "ops" }.');
    if (table === "") check.fail(`${path}.versionTable.table`, "is empty", 'Leave it out (athanor_version), or name a table: versionTable: { table: "schema_version" }.');
    env.versionTable = {};
    if (schema !== undefined) env.versionTable.schema = schema;
    if (table !== undefined) env.versionTable.table = table;
  }
  const schemas = check.stringList(raw["schemas"], `${path}.schemas`);
  if (schemas !== undefined) env.schemas = schemas;
  const promoteFrom = check.string(raw["promoteFrom"], `${path}.promoteFrom`);
  if (promoteFrom !== undefined) env.promoteFrom = promoteFrom;
  const schema = check.string(raw["schema"], `${path}.schema`);
  if (schema !== undefined) {
    if (schema === "" || schema.length > 63) check.fail(`${path}.schema`, `must be a schema name of 1 to 63 characters, not ${describe(schema)}`, 'Write schema: "tenant_a".');
    env.schema = schema;
  }
  const replicaLag = raw["replicaLag"];
  if (replicaLag !== undefined) {
    if (!isRecord(replicaLag)) check.fail(`${path}.replicaLag`, `must be an object, not ${describe(replicaLag)}`, 'Write replicaLag: { max: "10s" }.');
    check.unknownKeys(replicaLag, ["max", "wait"], `${path}.replicaLag`);
    const max = check.duration(replicaLag["max"], `${path}.replicaLag.max`);
    if (max === undefined) check.fail(`${path}.replicaLag.max`, "is missing", 'Write replicaLag: { max: "10s" }.');
    const wait = check.duration(replicaLag["wait"], `${path}.replicaLag.wait`);
    env.replicaLag = wait === undefined ? { max } : { max, wait };
  }
  validateFleet(check, raw, path, env);
  return env;
}

/** A positive integer setting, or undefined. */
function count(check: Checker, value: unknown, path: string, minimum: number, example: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < minimum) check.fail(path, `must be ${minimum === 0 ? "a whole number (0 or more)" : "a positive integer"}, not ${describe(value)}`, `Write ${example}.`);
  return value;
}

/**
 * The fleet keys (issue #17): at most one of `targets`, `targetsQuery` and `tenantSchemas`;
 * `targets` and `targetsQuery` replace `url`, `tenantSchemas` runs against it.
 */
function validateFleet(check: Checker, raw: Record<string, unknown>, path: string, env: EnvironmentConfig): void {
  const given = (["targets", "targetsQuery", "tenantSchemas"] as const).filter((key) => raw[key] !== undefined);
  if (given.length > 1) check.fail(`${path}.${given[1] as string}`, `cannot be given with ${path}.${given[0] as string}: a fleet lists its targets one way`, `Keep one of targets, targetsQuery and tenantSchemas.`);
  const fleetKey = given[0];
  if (fleetKey !== undefined && fleetKey !== "tenantSchemas" && (env.url !== undefined || env.migrationUrl !== undefined)) {
    check.fail(`${path}.${fleetKey}`, `cannot be given with ${path}.${env.url !== undefined ? "url" : "migrationUrl"}: the fleet's targets are its databases`, `Remove ${path}.url, or use tenantSchemas for schemas inside that one database.`);
  }
  const targets = raw["targets"];
  if (targets !== undefined) {
    if (!isRecord(targets)) check.fail(`${path}.targets`, `must be an object of target name → URL, not ${describe(targets)}`, 'Write targets: { eu1: "${EU1_URL}", us1: "postgres://..." }.');
    const names = Object.keys(targets);
    if (names.length === 0) check.fail(`${path}.targets`, "is empty", "List at least one target: { name: URL }.");
    env.targets = {};
    for (const name of names) {
      if (!TARGET_NAME.test(name)) check.fail(`${path}.targets.${name}`, "is not a valid target name", "Use letters, digits, _, - and ., starting with a letter, digit or _.");
      env.targets[name] = check.string(targets[name], `${path}.targets.${name}`) ?? check.fail(`${path}.targets.${name}`, "is missing", "Give the target's URL.");
    }
  }
  const query = raw["targetsQuery"];
  if (query !== undefined) {
    if (!isRecord(query)) check.fail(`${path}.targetsQuery`, `must be an object { url, sql }, not ${describe(query)}`, 'Write targetsQuery: { url: "${DIRECTORY_URL}", sql: "SELECT name, url FROM shards" }.');
    check.unknownKeys(query, ["url", "sql"], `${path}.targetsQuery`);
    const url = check.string(query["url"], `${path}.targetsQuery.url`);
    const sql = check.string(query["sql"], `${path}.targetsQuery.sql`);
    if (url === undefined || sql === undefined) check.fail(`${path}.targetsQuery.${url === undefined ? "url" : "sql"}`, "is missing", 'Write targetsQuery: { url: "${DIRECTORY_URL}", sql: "SELECT name, url FROM shards" }.');
    env.targetsQuery = { url, sql };
  }
  const tenantSchemas = check.string(raw["tenantSchemas"], `${path}.tenantSchemas`);
  if (tenantSchemas !== undefined) {
    if (tenantSchemas.trim() === "") check.fail(`${path}.tenantSchemas`, "is empty", "Write a query returning schema names, e.g. \"SELECT schema_name FROM tenants\".");
    env.tenantSchemas = tenantSchemas;
  }
  const parallel = count(check, raw["parallel"], `${path}.parallel`, 1, "parallel: 4");
  const canary = count(check, raw["canary"], `${path}.canary`, 0, "canary: 1");
  const onFailure = check.string(raw["onFailure"], `${path}.onFailure`);
  if (onFailure !== undefined && onFailure !== "stop" && onFailure !== "continue") check.fail(`${path}.onFailure`, `must be "stop" or "continue", not "${onFailure}"`, 'Write onFailure: "stop" (no new target after a failure) or onFailure: "continue".');
  if (fleetKey === undefined) {
    const stray = (["parallel", "canary", "onFailure"] as const).find((key) => raw[key] !== undefined);
    if (stray !== undefined) check.fail(`${path}.${stray}`, "applies to fleets only", `Declare targets, targetsQuery or tenantSchemas in ${path}, or remove ${stray}.`);
  }
  if (parallel !== undefined) env.parallel = parallel;
  if (canary !== undefined) env.canary = canary;
  if (onFailure !== undefined) env.onFailure = onFailure;
}
