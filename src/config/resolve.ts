/**
 * Resolves one environment of a loaded config (DESIGN.md §3): which environment,
 * where each value comes from, `${VAR}` expansion, the settings/DATABASE_URL
 * fallback, defaults. The result is frozen and remembers every value's source.
 */
import { basename, isAbsolute, resolve } from "node:path";
import { ConfigError, isAthanorError } from "../errors.js";
import { knownSecrets, passwordCandidates, variableSecrets } from "../secrets/redact.js";
import { parseDuration } from "./duration.js";
import { closest } from "./suggest.js";
import { describeSource, expandTemplate, type ExpandContext, type Expansion, type VariableValue } from "./expand.js";
import { loadEnvLayers, readEnvFile } from "./env-files.js";
import { osUserName, type LibpqEnvironment } from "./libpq-environment.js";
import type { LoadedConfig } from "./load.js";
import { readSettingsUrl, SETTINGS_TIMEOUT_VARIABLE, settingsTimeoutMs } from "./settings.js";
import type { AthanorConfig, FleetSource, FleetTargetUrl, ResolvedEnvironment, Sourced, ValueSource } from "./types.js";

export const ALIASES: Readonly<Record<string, string>> = { dev: "development", test: "testing", prod: "production" };

export interface Selection {
  readonly name: string;
  readonly requestedName: string;
  readonly selectedBy: ValueSource;
}

/** PostgreSQL's lock_timeout and statement_timeout are int milliseconds (INT_MAX). */
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * Picks the environment: `--env`, `ATHANOR_ENV`, `ENVIRONMENT` (process environment
 * first, then `.env`/`.env.local`, as in the guide), `defaultEnvironment`, `development`.
 * Aliases `dev`, `test`, `prod` map to the full names when those exist. An empty `--env`
 * (an unset variable in `--env "$X"`) is an error, not "no flag". Pure.
 */
export function selectEnvironment(
  config: AthanorConfig,
  flag: string | undefined,
  lookup: (name: string) => VariableValue | undefined,
  flagName = "--env",
): Selection {
  const names = Object.keys(config.environments);
  let requested: string | undefined;
  let selectedBy: ValueSource | undefined;
  if (flag !== undefined && flag.trim() === "") {
    // `--env "$TARGET_ENV"` with the variable unset: falling back to ATHANOR_ENV or the
    // default would run against an environment nobody named.
    throw new ConfigError("empty-environment", `--env was given an empty name${flag === "" ? "" : ` ("${flag}")`}; no environment was chosen`, {
      hint: `Pass --env with one of: ${names.join(", ")}${aliasNote(names)} (a pipeline's variable that should hold it may be unset), or leave --env out to use ATHANOR_ENV or the default.`,
      details: { environments: names },
    });
  }
  if (flag !== undefined) {
    requested = flag;
    selectedBy = { kind: "flag", flag: flagName };
  } else {
    for (const variable of ["ATHANOR_ENV", "ENVIRONMENT"]) {
      const found = lookup(variable);
      if (found !== undefined && found.value !== "") {
        requested = found.value;
        selectedBy = found.source;
        break;
      }
    }
  }
  if (requested === undefined && config.defaultEnvironment !== undefined) {
    requested = config.defaultEnvironment;
    selectedBy = { kind: "config", path: "defaultEnvironment", file: "the config file" };
  }
  if (requested === undefined) {
    requested = "development";
    selectedBy = { kind: "built-in" };
  }
  const alias = ALIASES[requested];
  const name = names.includes(requested) ? requested : alias !== undefined && names.includes(alias) ? alias : undefined;
  if (name === undefined) {
    throw new ConfigError("unknown-environment", `unknown environment "${requested}" (chosen by ${describeSource(selectedBy ?? { kind: "built-in" }, "the environment")}); this project has: ${names.join(", ")}`, {
      hint: `${didYouMean(requested, names)}Pass ${selectedBy?.kind === "flag" ? selectedBy.flag : "--env"} with one of: ${names.join(", ")}${aliasNote(names)}.`,
      details: { requested, environments: names },
    });
  }
  return { name, requestedName: requested, selectedBy: selectedBy ?? { kind: "built-in" } };
}

/** "Did you mean production? " when the requested name is a typo of one (or of an alias that applies). */
function didYouMean(requested: string, names: readonly string[]): string {
  const aliases = Object.entries(ALIASES).filter(([alias, full]) => names.includes(full) && !names.includes(alias)).map(([alias]) => alias);
  const match = closest(requested, [...names, ...aliases]);
  return match === undefined ? "" : `Did you mean ${ALIASES[match] !== undefined && !names.includes(match) ? (ALIASES[match] as string) : match}? `;
}

/** " (or the aliases dev, prod)" for the aliases that apply to these names. */
function aliasNote(names: readonly string[]): string {
  const usable = Object.entries(ALIASES).filter(([alias, full]) => names.includes(full) && !names.includes(alias)).map(([alias]) => alias);
  return usable.length === 0 ? "" : ` (or the alias${usable.length > 1 ? "es" : ""} ${usable.join(", ")})`;
}

export interface ResolveOptions {
  /** `--env`, if given. */
  environment?: string | undefined;
  /** The flag that gave `environment` when it is not `--env` (`diff --from`), named when it is unknown. */
  flag?: string | undefined;
  /** The process environment (defaults to process.env). */
  processEnv?: Readonly<Record<string, string | undefined>>;
}

/** Default name of the table that holds one row per applied revision. */
export const DEFAULT_VERSION_TABLE = { schema: "public", table: "athanor_version" } as const;

/**
 * Resolves an environment of a loaded config. Registers its secrets with
 * `knownSecrets` so the CLI masks them in any output.
 */
export async function resolveEnvironment(loaded: LoadedConfig, options: ResolveOptions = {}): Promise<ResolvedEnvironment> {
  const processEnv = options.processEnv ?? process.env;
  const { config, rootDir, file } = loaded;
  // Selection may read ENVIRONMENT from the shared .env files (the guide keeps it there).
  const base = new Map<string, VariableValue>();
  for (const name of [".env", ".env.local"]) {
    const { values } = readEnvFile(resolve(rootDir, name), "read to choose the environment");
    for (const [key, entry] of Object.entries(values)) base.set(key, { value: entry.value, source: { kind: "env-file", file: name, variable: key }, expand: entry.expand });
  }
  const selection = selectEnvironment(
    config,
    options.environment,
    (name) => {
      const fromProcess = processEnv[name];
      if (fromProcess !== undefined) return { value: fromProcess, source: { kind: "process-env", variable: name }, expand: false };
      return base.get(name);
    },
    options.flag,
  );
  const envConfig = config.environments[selection.name] ?? {};
  const layers = loadEnvLayers(rootDir, selection.name, envConfig.envFile, processEnv, basename(file));
  const lookup = (name: string) => layers.variables.get(name);
  const settingPath = (key: string) => `environments.${selection.name}.${key}`;
  const shortFile = file.startsWith(rootDir) ? file.slice(rootDir.length + 1) : file;

  // Every secret this environment can see, registered before anything is expanded or
  // parsed, so that no error about a malformed value can echo one: secret-named
  // variables (PGPASSWORD included), passwords in URL-shaped values and in the templates.
  const secrets = new Set<string>();
  const secretVariables = new Set<string>();
  const register = (...values: readonly string[]) => {
    for (const value of values) if (value.length > 0) secrets.add(value);
    knownSecrets.add(...values);
  };
  for (const [name, variable] of layers.variables) {
    const found = variableSecrets(name, variable.value);
    if (found.length > 0) secretVariables.add(name);
    register(...found);
  }
  /** Expands a URL template; what lands in a password position is a secret, whatever the variable's name. */
  const expandUrl = (template: string, context: ExpandContext): Expansion => {
    const expanded = expandTemplate(template, context);
    register(...expanded.passwords);
    for (const name of expanded.passwordVariables) secretVariables.add(name);
    return expanded;
  };
  const fleetTemplates = [...Object.values(envConfig.targets ?? {}), ...(envConfig.targetsQuery === undefined ? [] : [envConfig.targetsQuery.url])];
  for (const template of [envConfig.url, envConfig.migrationUrl, envConfig.shadowUrl, ...fleetTemplates]) if (template !== undefined) register(...passwordCandidates(template));

  // libpq's variables as a program started from a shell that sourced these .env files sees
  // them (the process environment wins), expanded as the URL's references are.
  const libpqEnvironment: LibpqEnvironment = {
    get: (name) => (lookup(name) === undefined ? undefined : expandTemplate(`\${${name}}`, { lookup, environment: selection.name, where: `${name}` }).value),
    osUser: osUserName(),
  };
  const { parseDatabaseUrl: parseUrl } = await import("./url.js");
  const parseDatabaseUrl = (url: string, baseDir: string, where: string) => parseUrl(url, baseDir, where, libpqEnvironment);
  /** A fleet URL (a target's, the directory's), expanded, parsed, its password registered. */
  const fleetUrl = (name: string, template: string, key: string): FleetTargetUrl => {
    const expanded = expandUrl(template, { lookup, environment: selection.name, where: `${settingPath(key)} in ${shortFile}` });
    register(...passwordCandidates(expanded.value));
    const parsedUrl = parseDatabaseUrl(expanded.value, rootDir, `${settingPath(key)}`);
    if (parsedUrl.password !== null) register(parsedUrl.password);
    return { name, url: { value: expanded.value, sources: [{ kind: "config", path: settingPath(key), file: shortFile }, ...expanded.sources] }, redactedUrl: parsedUrl.redacted, target: parsedUrl.target };
  };
  const fleetSource: FleetSource | null =
    envConfig.targets !== undefined
      ? { kind: "targets", targets: Object.entries(envConfig.targets).map(([name, template]) => fleetUrl(name, template, `targets.${name}`)) }
      : envConfig.targetsQuery !== undefined
        ? { kind: "targets-query", directory: fleetUrl("directory", envConfig.targetsQuery.url, "targetsQuery.url"), sql: envConfig.targetsQuery.sql }
        : envConfig.tenantSchemas !== undefined
          ? { kind: "tenant-schemas", sql: envConfig.tenantSchemas }
          : null;
  // A fleet of databases has no url of its own: the first target's (or the directory's)
  // stands in for the commands that need one database; fleet commands use the targets.
  const standIn = fleetSource?.kind === "targets" ? fleetSource.targets[0] : fleetSource?.kind === "targets-query" ? fleetSource.directory : undefined;

  // The URL: the environment's own, else the settings module, else DATABASE_URL.
  let url: Sourced<string>;
  const chosenTemplate = envConfig.migrationUrl ?? envConfig.url;
  if (standIn !== undefined) {
    url = standIn.url;
  } else if (chosenTemplate !== undefined) {
    const key = envConfig.migrationUrl !== undefined ? "migrationUrl" : "url";
    const expanded = expandUrl(chosenTemplate, { lookup, environment: selection.name, where: `${settingPath(key)} in ${shortFile}` });
    url = { value: expanded.value, sources: [{ kind: "config", path: settingPath(key), file: shortFile }, ...expanded.sources] };
  } else {
    url = await fallbackUrl(config, rootDir, selection.name, lookup, expandUrl);
  }
  register(...passwordCandidates(url.value));

  // An empty URL says where it came from (`DATABASE_URL=` set but empty): the variable to fix.
  const urlWhere = url.value.trim() === "" ? `environment "${selection.name}" (${url.sources.map((source) => describeSource(source)).join(", ")})` : `environment "${selection.name}"`;
  const parsed = parseDatabaseUrl(url.value, rootDir, urlWhere);
  if (parsed.password !== null) register(parsed.password);

  const shadow = envConfig.shadowUrl === undefined ? null : resolveShadowUrl(envConfig.shadowUrl, { lookup, environment: selection.name, where: `${settingPath("shadowUrl")} in ${shortFile}` }, rootDir, register, parseDatabaseUrl, expandUrl);

  const durations = (key: "lockTimeout" | "statementTimeout") => {
    const value = envConfig[key];
    if (value === undefined) return null;
    const where = `${settingPath(key)} in ${shortFile}`;
    const ms = parseDuration(value, "ms", where);
    // PostgreSQL's timeouts are int milliseconds: a larger one failed at the first SET, as a database error.
    if (ms > MAX_TIMEOUT_MS) {
      throw new ConfigError("invalid-duration", `${where} is ${String(value)}, more than PostgreSQL's largest ${key === "lockTimeout" ? "lock_timeout" : "statement_timeout"} (${MAX_TIMEOUT_MS} ms, about 24 days)`, {
        hint: `Use a shorter duration, or 0 for no timeout.`,
        details: { setting: key, value },
      });
    }
    return ms;
  };
  const abs = (path: string) => (isAbsolute(path) ? path : resolve(rootDir, path));
  const schemaPaths = config.schema === undefined ? [] : (typeof config.schema === "string" ? [config.schema] : config.schema).map(abs);

  const resolved: ResolvedEnvironment = {
    name: selection.name,
    requestedName: selection.requestedName,
    selectedBy: selection.selectedBy,
    configFile: file,
    rootDir,
    migrationsDir: abs(config.migrations ?? "./migrations"),
    schemaPaths,
    autogenerate: { privileges: config.autogenerate?.privileges ?? false },
    url,
    redactedUrl: parsed.redacted,
    target: parsed.target,
    echo: envConfig.echo ?? false,
    logLevel: envConfig.logLevel ?? "info",
    pool: envConfig.pool ?? "none",
    protected: envConfig.protected ?? selection.name === "production",
    backup: envConfig.backup ? { dir: abs(envConfig.backup.dir), keep: envConfig.backup.keep ?? 10 } : null,
    lockTimeoutMs: durations("lockTimeout"),
    statementTimeoutMs: durations("statementTimeout"),
    versionTable: {
      // A schema-scoped environment keeps its version tables beside its tables: one lock and one history per schema.
      schema: envConfig.versionTable?.schema ?? envConfig.schema ?? DEFAULT_VERSION_TABLE.schema,
      table: envConfig.versionTable?.table ?? DEFAULT_VERSION_TABLE.table,
    },
    schemas: envConfig.schemas ?? (envConfig.schema !== undefined ? [envConfig.schema] : ["public"]),
    promoteFrom: envConfig.promoteFrom ?? null,
    searchPath: envConfig.schema ?? null,
    replicaLag:
      envConfig.replicaLag === undefined
        ? null
        : {
            maxMs: parseDuration(envConfig.replicaLag.max, "s", `${settingPath("replicaLag.max")} in ${shortFile}`),
            waitMs: parseDuration(envConfig.replicaLag.wait ?? "10min", "s", `${settingPath("replicaLag.wait")} in ${shortFile}`),
          },
    fleet: fleetSource === null ? null : { source: fleetSource, parallel: envConfig.parallel ?? 4, canary: envConfig.canary ?? 0, onFailure: envConfig.onFailure ?? "stop" },
    targetName: null,
    shadow,
    secrets: [...secrets],
    secretVariables: [...secretVariables],
    envFiles: layers.files.map((info) => ({ ...info })),
  };
  return Object.freeze(resolved);
}

/**
 * The shadow database's server (`shadowUrl`): expanded like `url`, its password
 * registered as a secret, and refused unless it is a PostgreSQL URL.
 * @throws ConfigError (exit 2) for a PGlite URL.
 */
function resolveShadowUrl(
  template: string,
  context: { lookup: (name: string) => VariableValue | undefined; environment: string; where: string },
  rootDir: string,
  register: (...values: readonly string[]) => void,
  parse: (url: string, baseDir: string, where: string) => ReturnType<typeof import("./url.js").parseDatabaseUrl>,
  expandUrl: (template: string, context: ExpandContext) => Expansion,
): ResolvedEnvironment["shadow"] {
  const expanded = expandUrl(template, context);
  register(...passwordCandidates(expanded.value));
  const parsed = parse(expanded.value, rootDir, context.where);
  if (parsed.password !== null) register(parsed.password);
  if (parsed.target.kind !== "postgres")
    throw new ConfigError("shadow-url-not-postgres", `${context.where} is not a PostgreSQL URL: the shadow database is PGlite already unless shadowUrl names a server`, {
      hint: 'Write shadowUrl: "postgresql://user@host:5432/postgres" (a role with CREATEDB), or remove it to use the in-memory PGlite.',
    });
  return { target: parsed.target, redactedUrl: parsed.redacted };
}

/**
 * The variables an environment's url uses that nothing sets (neither the process
 * environment nor its .env files), in the order the url uses them: what a user sets to
 * configure it (a fresh project's testing and production). Empty when the url resolves,
 * has no template, or fails for another reason. Registers no secret.
 * @example
 * unsetUrlVariables(project, "production", process.env) // ["DB_PASSWORD", "DB_HOST", "DB_NAME"]
 */
export function unsetUrlVariables(loaded: LoadedConfig, environment: string, processEnv: Readonly<Record<string, string | undefined>> = process.env): string[] {
  const envConfig = loaded.config.environments[environment];
  const template = envConfig?.migrationUrl ?? envConfig?.url;
  if (envConfig === undefined || template === undefined) return [];
  const layers = loadEnvLayers(loaded.rootDir, environment, envConfig.envFile, processEnv, basename(loaded.file));
  const missing: string[] = [];
  // Each pass stands a placeholder in for the variables found unset so far, so the next unset one shows.
  const lookup = (name: string): VariableValue | undefined =>
    layers.variables.get(name) ?? (missing.includes(name) ? { value: "unset", source: { kind: "process-env", variable: name }, expand: false } : undefined);
  for (;;) {
    try {
      expandTemplate(template, { lookup, environment, where: `environments.${environment}.url` });
      return missing;
    } catch (error) {
      const variable = isAthanorError(error) && error.code === "unset-variable" ? error.details["variable"] : undefined;
      if (typeof variable !== "string" || missing.includes(variable)) return missing;
      missing.push(variable);
    }
  }
}

async function fallbackUrl(
  config: AthanorConfig,
  rootDir: string,
  environment: string,
  lookup: (name: string) => VariableValue | undefined,
  expandUrl: (template: string, context: ExpandContext) => Expansion,
): Promise<Sourced<string>> {
  if (config.settings !== undefined) {
    const fromSettings = await readSettingsUrl(config.settings, rootDir, environment, settingsTimeoutMs(lookup(SETTINGS_TIMEOUT_VARIABLE)?.value));
    if (fromSettings !== null) {
      const { value, exportName } = fromSettings;
      const expanded = expandUrl(value, { lookup, environment, where: `${exportName} exported by ${config.settings}` });
      return { value: expanded.value, sources: [{ kind: "settings", file: config.settings, exportName }, ...expanded.sources] };
    }
  }
  const fromEnv = lookup("DATABASE_URL");
  if (fromEnv !== undefined && fromEnv.value !== "") {
    const expanded = expandUrl("${DATABASE_URL}", { lookup, environment, where: "the DATABASE_URL fallback" });
    return { value: expanded.value, sources: expanded.sources };
  }
  const unset = fromEnv === undefined ? "DATABASE_URL is not set" : `DATABASE_URL is set but empty (${describeSource(fromEnv.source)})`;
  throw new ConfigError("missing-url", `environment "${environment}" has no url, ${config.settings ? `the settings module ${config.settings} exports no databaseUrl, ` : ""}and ${unset}`, {
    hint: `Give environments.${environment}.url in the config, or set DATABASE_URL (in the environment or in .env.${environment}).`,
    details: { environment },
  });
}
