/**
 * The libpq environment variables that give a child libpq tool (pg_dump) what the
 * environment's URL says, as libpq itself would use the URL. Pure: the URL was parsed by
 * src/config/url.ts (libpq's own grammar), so its parameters arrive here decoded.
 *
 * Nothing goes on the tool's command line but the host, port, user and database
 * (/proc/<pid>/cmdline is world-readable, and an `options=` or key path is the
 * environment's business): the rest travels in the child's environment, which only its
 * user can read.
 */
import { PARAM_VARIABLES } from "../config/libpq-environment.js";

/**
 * Parameters without a variable that are left out on purpose: they tune the TCP
 * connection (keepalives, tcp_user_timeout) or name the tool (fallback_application_name,
 * overridden by PGAPPNAME), never which server, which user or what is read (an empty
 * hostaddr is the only one url.ts lets through); `replication`
 * would make pg_dump's connection a walsender, which cannot dump; authtype and tty are
 * ignored by libpq itself.
 */
const NOT_NEEDED = new Set(["hostaddr", "fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout", "replication", "authtype", "tty"]);

/** Parameters of the URL that no environment variable carries and a backup cannot do without. */
export const NO_VARIABLE = ["sslpassword"] as const;

/**
 * The variables for `params` (a parsed URL's query parameters) and `password`.
 * @example
 * libpqVariables({ options: "-c TimeZone=UTC", sslmode: "require" }, "s3cret")
 * // { PGOPTIONS: "-c TimeZone=UTC", PGSSLMODE: "require", PGPASSWORD: "s3cret" }
 */
export function libpqVariables(params: Readonly<Record<string, string>>, password: string | null): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const [param, value] of Object.entries(params)) {
    const variable = PARAM_VARIABLES[param];
    if (variable !== undefined) variables[variable] = value;
    else if (!NOT_NEEDED.has(param) && !(NO_VARIABLE as readonly string[]).includes(param)) {
      // url.ts refuses what libpq does not know, so this is a keyword added to libpq later: a bug to fix here.
      throw new Error(`no libpq environment variable is known for the URL parameter ${param}`);
    }
  }
  if (password !== null) variables["PGPASSWORD"] = password;
  return variables;
}

/** The URL parameters of `params` that no environment variable can carry (see {@link NO_VARIABLE}). */
export function parametersWithoutVariable(params: Readonly<Record<string, string>>): string[] {
  return NO_VARIABLE.filter((param) => params[param] !== undefined && params[param] !== "");
}
