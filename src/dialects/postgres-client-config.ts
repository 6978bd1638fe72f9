/**
 * Turns a parsed PostgreSQL target (src/config/url.ts: the URL with libpq's environment
 * variables applied) into node-postgres options for one host of its list, and checks a
 * connected server against libpq's `target_session_attrs`.
 *
 * Every option node-postgres would otherwise read from the environment (PGUSER,
 * PGDATABASE, PGSSLMODE, PGAPPNAME, PGSSLNEGOTIATION...) is given explicitly, so what it
 * does is what the target says, and the target says what libpq would do.
 */
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { ConnectionOptions } from "node:tls";
import type { ClientConfig } from "pg";
import { ConfigError } from "../errors.js";
import { readPassfilePassword } from "./passfile.js";
import { knownSecrets } from "../secrets/redact.js";
import type { DatabaseTarget, PostgresHost, TargetSessionAttrs } from "../config/types.js";

export type PostgresTarget = Extract<DatabaseTarget, { kind: "postgres" }>;

/** Parameters the TLS options below take care of, or that are the host list's (not node-postgres options). */
const NOT_DRIVER_OPTIONS = new Set(["target_session_attrs", "sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslcompression", "sslsni", "ssl_min_protocol_version", "ssl_max_protocol_version", "sslcrl", "sslcrldir"]);

/**
 * libpq's `connect_timeout` (the URL's, else PGCONNECT_TIMEOUT; url.ts checked it is a whole
 * number) in milliseconds: at least 2 s, as libpq reads 1 as 2; null when zero or negative,
 * which libpq reads as "wait indefinitely"; undefined when neither sets it.
 */
export function libpqConnectTimeoutMs(params: Readonly<Record<string, string>>): number | null | undefined {
  const text = params["connect_timeout"];
  if (text === undefined) return undefined;
  const seconds = Number.parseInt(text.trim(), 10);
  return Number.isFinite(seconds) && seconds > 0 ? Math.max(2, seconds) * 1000 : null;
}

/**
 * How long one host's connect may take, its first answer included (null: no bound but the
 * signal). The URL's `connect_timeout` replaces athanor's default, as libpq's does; a
 * command with a bound of its own (`check`, `status`: quick looks) keeps the shorter one.
 */
export function connectTimeoutMs(target: PostgresTarget, commandMs: number | undefined, defaultMs: number): number | null {
  const fromUrl = libpqConnectTimeoutMs(target.params);
  if (fromUrl === undefined) return commandMs ?? defaultMs;
  if (commandMs === undefined) return fromUrl;
  return fromUrl === null ? commandMs : Math.min(commandMs, fromUrl);
}

/**
 * The driver options for one host. The identity (host, port, user, password, database) is
 * the target's, exactly as resolved; the other parameters are passed on as they are
 * (application_name, options, ...), and TLS as libpq would do it ({@link tlsOptions}).
 * `home` is where libpq looks for `.pgpass`, `.postgresql/root.crt` and the client certificate.
 */
export function postgresClientConfig(target: PostgresTarget, host: PostgresHost, home: string = homedir()): ClientConfig {
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(target.params)) if (!NOT_DRIVER_OPTIONS.has(key)) config[key] = value;
  return {
    ...config,
    host: host.host,
    port: host.port,
    user: target.user,
    // Without a password from the URL or PGPASSWORD, libpq's password file, read when the
    // server asks for a password (node-postgres's own lookup knows no passfile=).
    // A password found there is registered as a secret, like the URL's: a server's message that echoes it is masked.
    // None there either: refused before anything is sent, as libpq's "fe_sendauth: no password
    // supplied" (node-postgres would send an empty one).
    password:
      target.password ??
      (async () => {
        const found = readPassfilePassword(target.params["passfile"], home, { host: host.host, port: host.portText ?? String(host.port), database: target.database, user: target.user });
        // An empty password on the matching line is no password to libpq ("no password supplied").
        if (found === undefined || found === "") throw noPassword(target, host, home);
        knownSecrets.add(found);
        return found;
      }),
    database: target.database,
    ssl: tlsOptions(target.params, host, home),
    // libpq 15 knows only the SSLRequest negotiation; node-postgres would read PGSSLNEGOTIATION.
    sslnegotiation: "postgres",
  } as ClientConfig;
}

/** The refusal when the server asks for a password and none is set anywhere libpq looks. */
function noPassword(target: PostgresTarget, host: PostgresHost, home: string): ConfigError {
  const passfile = nonEmpty(target.params["passfile"]) ?? join(home, ".pgpass");
  const where = `${host.host}:${host.port}/${target.database}`;
  return new ConfigError("no-password", `${where} asks user "${target.user}" for a password, and none is set: not in the URL, not in PGPASSWORD, and the password file ${passfile} has no line for it with a password (libpq refuses to connect too); no password was sent`, {
    hint: `Give the password through a variable in the URL (postgresql://${target.user}:\${DB_PASSWORD}@${host.host}:${host.port}/${target.database}), set PGPASSWORD, or add the line "${host.host}:${host.port}:${target.database}:${target.user}:<password>" to ${passfile} (mode 0600).`,
    details: { where, user: target.user, passfile },
  });
}

/** sslmode values under which libpq encrypts or fails. */
const ENCRYPTING_SSL_MODES = new Set(["require", "verify-ca", "verify-full"]);

/**
 * libpq's TLS for `params` on `host`, as node-postgres options (false: no TLS).
 * - On a Unix socket libpq never asks for TLS, whatever sslmode says.
 * - `disable`, `allow`, `prefer` (and no sslmode): no TLS. node-postgres cannot fall back
 *   from TLS to clear text, so `prefer` and `allow` connect in clear, as documented.
 * - `require`: encrypted; the certificate is verified against the root certificate when one
 *   exists (sslrootcert, PGSSLROOTCERT, else ~/.postgresql/root.crt), as libpq does, and not
 *   verified otherwise.
 * - `verify-ca`, `verify-full`: that root certificate must exist (libpq refuses to connect
 *   otherwise); verify-full also checks the host name.
 * The client certificate and key are sslcert/sslkey, else ~/.postgresql/postgresql.crt and
 * .key when they exist; TLS versions follow ssl_min/max_protocol_version (libpq's default
 * minimum is TLSv1.2).
 * @throws ConfigError (exit 2) when a verifying mode has no root certificate, or a file cannot be read.
 */
export function tlsOptions(params: Readonly<Record<string, string>>, host: PostgresHost, home: string): false | ConnectionOptions {
  const sslmode = params["sslmode"] ?? "prefer";
  if (host.host.startsWith("/") || !ENCRYPTING_SSL_MODES.has(sslmode)) return false;
  const libpqDir = join(home, ".postgresql");
  const rootCert = nonEmpty(params["sslrootcert"]) ?? join(libpqDir, "root.crt");
  const options: ConnectionOptions = {
    minVersion: tlsVersion(params["ssl_min_protocol_version"]) ?? "TLSv1.2",
    ...(tlsVersion(params["ssl_max_protocol_version"]) === undefined ? {} : { maxVersion: tlsVersion(params["ssl_max_protocol_version"]) }),
  };
  const cert = nonEmpty(params["sslcert"]) ?? join(libpqDir, "postgresql.crt");
  const key = nonEmpty(params["sslkey"]) ?? join(libpqDir, "postgresql.key");
  // libpq sends a client certificate only when its file exists (the default path usually does not).
  if (isFile(cert)) {
    options.cert = readTlsFile(cert, "sslcert");
    options.key = readTlsFile(key, "sslkey");
    if (nonEmpty(params["sslpassword"]) !== undefined) options.passphrase = params["sslpassword"];
  }
  if (!isFile(rootCert)) {
    if (sslmode === "require") return { ...options, rejectUnauthorized: false };
    throw new ConfigError("tls-root-certificate-missing", `sslmode ${sslmode} needs a root certificate, and "${rootCert}" does not exist (libpq refuses to connect)`, {
      hint: "Give the CA certificate of the server with sslrootcert=/path/ca.crt in the URL (or PGSSLROOTCERT), or put it in ~/.postgresql/root.crt.",
      details: { sslmode, sslrootcert: rootCert },
    });
  }
  options.ca = readTlsFile(rootCert, "sslrootcert");
  // require and verify-ca check the chain, not the name.
  if (sslmode !== "verify-full") options.checkServerIdentity = () => undefined;
  return options;
}

/** Node's name of a libpq TLS version ("TLSv1.2", any case), or undefined for none / libpq's default. */
function tlsVersion(value: string | undefined): ConnectionOptions["minVersion"] {
  const versions = { "tlsv1": "TLSv1", "tlsv1.1": "TLSv1.1", "tlsv1.2": "TLSv1.2", "tlsv1.3": "TLSv1.3" } as const;
  return value === undefined ? undefined : versions[value.toLowerCase() as keyof typeof versions];
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function readTlsFile(path: string, param: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError("tls-file-unreadable", `cannot read the ${param} file "${path}": ${(error as Error).message}`, {
      hint: `Check the path and the permissions of ${param} (in the URL, or its PGSSL* variable).`,
      details: { param, path },
    });
  }
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

/** errno codes of a connect() that failed, after which libpq tries the next address or host. */
const UNREACHABLE = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN", "ETIMEDOUT", "EADDRNOTAVAIL", "ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NONAME", "ENOENT"]);

/** SQLSTATE 57P03: the server is starting up or shutting down, or a standby not yet open for reads. */
const CANNOT_CONNECT_NOW = "57P03";

/**
 * True when libpq, failing to connect to one host of a list with this error, would try the
 * next (PQconnectPoll in fe-connect.c): the host cannot be reached (connect() or the name
 * lookup failed, the connect timeout expired) or the server answered "cannot connect now".
 * Anything else ends the attempt with its error: the server's refusal (28P01 wrong
 * password, 3D000 no such database...), a server without TLS under sslmode=require, a
 * certificate that does not verify, a connection the server dropped.
 */
export function triesNextHost(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code === CANNOT_CONNECT_NOW) return true;
  if (typeof code === "string" && UNREACHABLE.has(code)) return true;
  // node-postgres's connect timeout (connectionTimeoutMillis) destroys the socket with this error.
  return message === "timeout expired";
}
