/**
 * libpq's environment variables (libpq-envars), applied to a URL as libpq 15 applies them
 * (`conninfo_add_defaults` in fe-connect.c): a parameter the URL leaves out takes its
 * variable's value, verbatim (an empty PGSSLMODE is an invalid sslmode, as for libpq);
 * the URL's own value always wins. src/config/url.ts then checks the result as one set,
 * so a variable libpq would refuse, or that athanor cannot honour, is refused like the
 * URL parameter of the same name, and node-postgres is given explicit values only
 * (src/dialects/postgres-client-config.ts): it never reads PGSSLMODE, PGUSER... itself.
 *
 * Where the variables come from is the caller's business: the CLI gives the selected
 * environment's variables, the process environment over its .env files (DESIGN.md §3),
 * which is what libpq sees in a shell that sourced those files or in an application that
 * loads them with python-dotenv.
 */
import { userInfo } from "node:os";

/** What libpq reads besides the URL: its variables, and the OS user it defaults the user to. */
export interface LibpqEnvironment {
  /** A variable's value (set and empty is `""`), or undefined when it is not set. */
  readonly get: (name: string) => string | undefined;
  /** The OS user name (getpwuid, as libpq's pg_fe_getauthname; not $USER), or null when it has none. */
  readonly osUser: string | null;
}

/** libpq 15's connection parameters that have an environment variable, besides host, port, user, password and dbname. */
export const PARAM_VARIABLES: Readonly<Record<string, string>> = {
  options: "PGOPTIONS",
  application_name: "PGAPPNAME",
  passfile: "PGPASSFILE",
  service: "PGSERVICE",
  channel_binding: "PGCHANNELBINDING",
  client_encoding: "PGCLIENTENCODING",
  connect_timeout: "PGCONNECT_TIMEOUT",
  sslmode: "PGSSLMODE",
  sslcompression: "PGSSLCOMPRESSION",
  sslcert: "PGSSLCERT",
  sslkey: "PGSSLKEY",
  sslrootcert: "PGSSLROOTCERT",
  sslcrl: "PGSSLCRL",
  sslcrldir: "PGSSLCRLDIR",
  sslsni: "PGSSLSNI",
  requirepeer: "PGREQUIREPEER",
  ssl_min_protocol_version: "PGSSLMINPROTOCOLVERSION",
  ssl_max_protocol_version: "PGSSLMAXPROTOCOLVERSION",
  gssencmode: "PGGSSENCMODE",
  krbsrvname: "PGKRBSRVNAME",
  gsslib: "PGGSSLIB",
  target_session_attrs: "PGTARGETSESSIONATTRS",
};

/** The variables of host, port, user, password and dbname (url.ts applies them with their own rules). */
export const IDENTITY_VARIABLES = { host: "PGHOST", hostaddr: "PGHOSTADDR", port: "PGPORT", user: "PGUSER", password: "PGPASSWORD", dbname: "PGDATABASE" } as const;

/** Every variable libpq 15 reads for a connection, as athanor applies them. */
export const LIBPQ_VARIABLE_NAMES: ReadonlySet<string> = new Set([...Object.values(PARAM_VARIABLES), ...Object.values(IDENTITY_VARIABLES), "PGREQUIRESSL"]);

/**
 * Fills `values` (a URL's parameters, decoded) with the variables of the parameters it
 * does not set. Returns, for each parameter taken from the environment, the variable it
 * came from (for messages that must name it). PGREQUIRESSL=1, libpq's old spelling, means
 * sslmode=require when neither the URL nor PGSSLMODE says otherwise.
 * @example
 * const values = new Map([["sslmode", "disable"]]);
 * applyLibpqVariables(values, env) // PGSSLMODE ignored; PGTARGETSESSIONATTRS taken: Map { "target_session_attrs" => "PGTARGETSESSIONATTRS" }
 */
export function applyLibpqVariables(values: Map<string, string>, environment: LibpqEnvironment): Map<string, string> {
  const origins = new Map<string, string>();
  for (const [param, variable] of Object.entries(PARAM_VARIABLES)) {
    if (values.has(param)) continue;
    const value = environment.get(variable);
    if (value === undefined) continue;
    values.set(param, value);
    origins.set(param, variable);
  }
  if (!values.has("sslmode") && environment.get("PGREQUIRESSL")?.startsWith("1") === true) {
    values.set("sslmode", "require");
    origins.set("sslmode", "PGREQUIRESSL");
  }
  return origins;
}

/** The OS user name as libpq finds it (the passwd entry of the effective uid), or null. */
export function osUserName(): string | null {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (some containers): libpq fails to find one too.
    return null;
  }
}

/**
 * The libpq environment of this process (`process.env` and the OS user).
 * @example
 * parseDatabaseUrl(url, dir, where, processLibpqEnvironment())
 */
export function processLibpqEnvironment(env: Readonly<Record<string, string | undefined>> = process.env): LibpqEnvironment {
  return { get: (name) => env[name], osUser: osUserName() };
}
