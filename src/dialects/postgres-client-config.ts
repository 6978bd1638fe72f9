/**
 * Turns a parsed PostgreSQL target (src/config/url.ts, libpq's meaning) into node-postgres
 * options for one host of its list, and checks a connected server against libpq's
 * `target_session_attrs`.
 */
import type { ClientConfig } from "pg";
import { parse, toClientConfig } from "pg-connection-string";
import { canonicalUrl } from "../config/url.js";
import type { DatabaseTarget, PostgresHost, TargetSessionAttrs } from "../config/types.js";

export type PostgresTarget = Extract<DatabaseTarget, { kind: "postgres" }>;

/** sslmode values under which libpq encrypts or fails; below them (and by default) node-postgres connects in clear. */
const ENCRYPTING_SSL_MODES = new Set(["require", "verify-ca", "verify-full"]);

/**
 * The driver options for one host. pg-connection-string (in libpq-compatible mode) maps
 * the parameters (sslmode, sslrootcert, options, application_name, ...); the identity
 * (host, port, user, password, database) is set from the target itself, exactly as parsed.
 * node-postgres cannot fall back from TLS to clear text, so `prefer` and `allow` connect in clear.
 */
export function postgresClientConfig(target: PostgresTarget, host: PostgresHost): ClientConfig {
  const params = { ...target.params };
  const sslmode = params["sslmode"];
  if (sslmode !== undefined && !ENCRYPTING_SSL_MODES.has(sslmode)) {
    for (const key of Object.keys(params)) if (key.startsWith("ssl")) delete params[key];
  }
  const url = canonicalUrl({ host, user: target.user, password: target.password, database: target.database, params: { ...params, uselibpqcompat: "true" } });
  const config = toClientConfig(parse(url)) as ClientConfig & Record<string, unknown>;
  for (const key of ["uselibpqcompat", "sslmode", "sslrootcert", "sslcert", "sslkey", "target_session_attrs", "host", "port"]) delete config[key];
  return { ...config, host: host.host, port: host.port, user: target.user || undefined, password: target.password ?? undefined, database: target.database } as ClientConfig;
}

/** What libpq asks a server before it accepts it for `target_session_attrs` (PostgreSQL 14+ semantics). */
export interface ServerRole {
  /** `SHOW transaction_read_only` is on. */
  readonly readOnly: boolean;
  /** `pg_is_in_recovery()`. */
  readonly standby: boolean;
}

/** True when a server with this role fits `attrs` (`prefer-standby` is decided by the caller's second pass). */
export function fitsSessionAttrs(attrs: TargetSessionAttrs, role: ServerRole): boolean {
  switch (attrs) {
    case "any":
    case "prefer-standby":
      return true;
    case "read-write":
      return !role.readOnly;
    case "read-only":
      return role.readOnly;
    case "primary":
      return !role.standby;
    case "standby":
      return role.standby;
  }
}
