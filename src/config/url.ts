/**
 * Database URLs (DESIGN.md §2): `postgres://`, `postgresql://`, SQLAlchemy-style
 * `postgresql+asyncpg://` / `postgresql+psycopg://` (the `+driver` part is ignored),
 * `pglite://memory` and `pglite://./dir`. Pure: relative PGlite paths resolve
 * against the directory given by the caller.
 */
import { isAbsolute, resolve } from "node:path";
import { ConfigError } from "../errors.js";
import { redactUrl } from "../secrets/redact.js";
import type { DatabaseTarget } from "./types.js";

export interface ParsedUrl {
  readonly target: DatabaseTarget;
  /** Password (decoded), if the URL had one: a secret to scrub everywhere. */
  readonly password: string | null;
}

const POSTGRES_SCHEME = /^(postgres|postgresql)(\+[a-z0-9_]+)?:\/\//i;

/** Parses a URL into a connection target. `where` names the setting for error messages. */
export function parseDatabaseUrl(url: string, baseDir: string, where: string): ParsedUrl {
  const trimmed = url.trim();
  if (trimmed.length === 0) {
    throw new ConfigError("empty-url", `the database URL of ${where} is empty`, {
      hint: "Set it, e.g. postgresql://user:${DB_PASSWORD}@localhost:5432/app or pglite://./.athanor/dev.",
    });
  }
  if (/^pglite:\/\//i.test(trimmed)) return parsePgliteUrl(trimmed, baseDir);
  if (POSTGRES_SCHEME.test(trimmed)) return parsePostgresUrl(trimmed.replace(POSTGRES_SCHEME, "postgresql://"), where);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1];
  throw new ConfigError("unsupported-url", `${where} uses ${scheme ? `"${scheme}://"` : "no URL scheme"} (${redactUrl(trimmed)}); athanor supports PostgreSQL and PGlite`, {
    hint: "Use postgresql://user:password@host:5432/dbname (postgresql+asyncpg:// works too) or pglite://./path/to/dir or pglite://memory.",
  });
}

function parsePgliteUrl(url: string, baseDir: string): ParsedUrl {
  const rest = url.slice("pglite://".length);
  if (rest === "memory" || rest === ":memory:" || rest === "") return { target: { kind: "pglite", dataDir: null }, password: null };
  const path = decodeURIComponent(rest);
  return { target: { kind: "pglite", dataDir: isAbsolute(path) ? path : resolve(baseDir, path) }, password: null };
}

/**
 * Splits the authority at its *last* `@`, so a password holding a raw `@` still parses,
 * then rebuilds a canonical URL whose user-info is percent-encoded for the driver.
 */
function parsePostgresUrl(url: string, where: string): ParsedUrl {
  const afterScheme = url.slice("postgresql://".length);
  // The password may itself hold / ? # @: the user-info ends at the last "@" before the path.
  const lastAt = afterScheme.lastIndexOf("@", findPathStart(afterScheme));
  const userinfo = lastAt === -1 ? "" : afterScheme.slice(0, lastAt);
  const hostAndRest = lastAt === -1 ? afterScheme : afterScheme.slice(lastAt + 1);
  const colon = userinfo.indexOf(":");
  const rawUser = colon === -1 ? userinfo : userinfo.slice(0, colon);
  const rawPassword = colon === -1 ? null : userinfo.slice(colon + 1);
  const user = safeDecode(rawUser);
  const password = rawPassword === null ? null : safeDecode(rawPassword);
  let parsed: URL;
  try {
    parsed = new URL(`postgresql://${hostAndRest}`);
  } catch {
    throw new ConfigError("malformed-url", `the database URL of ${where} cannot be parsed: ${redactUrl(url)}`, {
      hint: "Write it as postgresql://user:password@host:port/dbname; special characters in the password are fine when it comes from a ${VAR}.",
    });
  }
  if (parsed.hostname === "" && !parsed.searchParams.has("host")) {
    throw new ConfigError("malformed-url", `the database URL of ${where} has no host: ${redactUrl(url)}`, {
      hint: "Add the host, e.g. postgresql://user:password@localhost:5432/dbname.",
    });
  }
  const auth = userinfo === "" ? "" : `${encodeURIComponent(user)}${password === null ? "" : `:${encodeURIComponent(password)}`}@`;
  const connectionString = `postgresql://${auth}${hostAndRest}`;
  const database = safeDecode(parsed.pathname.replace(/^\//, "")) || user || "postgres";
  const queryPassword = parsed.searchParams.get("password");
  return {
    target: {
      kind: "postgres",
      connectionString,
      host: parsed.hostname.replace(/^\[|\]$/g, "") || parsed.searchParams.get("host") || "localhost",
      port: parsed.port ? Number(parsed.port) : 5432,
      database,
      user: user || parsed.searchParams.get("user") || "",
    },
    password: password ?? queryPassword,
  };
}

/**
 * Where the path starts: the first "/" after the last "@" that is followed by a
 * host-like authority. Without an "@", the first "/", "?" or "#".
 */
function findPathStart(afterScheme: string): number {
  const at = afterScheme.lastIndexOf("@");
  const from = at === -1 ? 0 : at;
  const end = afterScheme.slice(from).search(/[/?#]/);
  return end === -1 ? afterScheme.length : from + end;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
