/**
 * Database URLs (DESIGN.md §2, §3 "URLs and .env files"): `postgres://`, `postgresql://`,
 * SQLAlchemy-style `postgresql+asyncpg://` / `postgresql+psycopg://` (the `+driver` part
 * is ignored), `pglite://memory` and `pglite://./dir`.
 *
 * A PostgreSQL URL means what libpq says it means. The grammar below is libpq's own
 * (`conninfo_uri_parse_options` and `conninfo_uri_parse_params` in fe-connect.c, PostgreSQL
 * 15), step for step, because the common URL parsers disagree with it where it matters:
 * WHATWG URL (and node-postgres's pg-connection-string, which is built on it) split the
 * user-info at the *last* `@`, know no host lists, read `+` in the query as a space and cut
 * at `#`; libpq splits at the *first* `@` before the first `/`, takes `#` as data and
 * rejects unknown parameters. test/url-libpq.test.ts compares this parser with libpq's
 * `PQconninfoParse` on the same strings. Pure: relative PGlite paths resolve against the
 * directory given by the caller.
 */
import { isAbsolute, resolve } from "node:path";
import { ConfigError } from "../errors.js";
import { redactUrl } from "../secrets/redact.js";
import { applyLibpqVariables, IDENTITY_VARIABLES, processLibpqEnvironment, type LibpqEnvironment } from "./libpq-environment.js";
import type { DatabaseTarget, PostgresHost, TargetSessionAttrs } from "./types.js";

export interface ParsedUrl {
  readonly target: DatabaseTarget;
  /** Password (decoded): the URL's, else PGPASSWORD's, else null (a passfile may still give one). A secret to scrub everywhere. */
  readonly password: string | null;
  /** The URL as written with its password replaced by `***`: safe to print. */
  readonly redacted: string;
}

/** The connection keywords libpq 15 knows (PQconndefaults); any other query parameter is an error there too. */
export const LIBPQ_KEYWORDS: ReadonlySet<string> = new Set([
  "service", "user", "password", "passfile", "channel_binding", "connect_timeout", "dbname", "host", "hostaddr", "port",
  "client_encoding", "options", "application_name", "fallback_application_name", "keepalives", "keepalives_idle",
  "keepalives_interval", "keepalives_count", "tcp_user_timeout", "sslmode", "sslcompression", "sslcert", "sslkey",
  "sslpassword", "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer", "ssl_min_protocol_version",
  "ssl_max_protocol_version", "gssencmode", "krbsrvname", "gsslib", "replication", "target_session_attrs",
  // Accepted by libpq and ignored (kept for old URLs).
  "authtype", "tty",
]);

const SESSION_ATTRS: readonly TargetSessionAttrs[] = ["any", "read-write", "read-only", "primary", "standby", "prefer-standby"];

/** libpq's sslmode values (case-sensitive). */
const SSL_MODES: readonly string[] = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

/**
 * libpq's values of the parameters it checks when it connects (anything else: "invalid ... value").
 * channel_binding and gssencmode are compared with strcmp: "Require" is refused by libpq, and
 * read as "require" it would slip past the refusal below and connect without what it asks.
 */
const CHECKED_VALUES: readonly (readonly [key: string, values: readonly string[], hint: string, anyCase: boolean])[] = [
  ["channel_binding", ["disable", "prefer", "require"], "Use disable or prefer (require cannot be honoured), in lower case.", false],
  ["gssencmode", ["disable", "prefer", "require"], "Use disable or prefer (require cannot be honoured), in lower case.", false],
  // libpq compares these without regard to case (pg_strcasecmp); "" means its default.
  ["ssl_min_protocol_version", ["", "tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3"], "Use TLSv1.2 or TLSv1.3 (or TLSv1, TLSv1.1).", true],
  ["ssl_max_protocol_version", ["", "tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3"], "Use TLSv1.2 or TLSv1.3 (or TLSv1, TLSv1.1).", true],
];

/**
 * libpq parameters node-postgres cannot honour, with the values that would change where
 * or how libpq connects (a `prefer` that quietly falls back is left alone).
 */
const UNSUPPORTED_PARAMS: readonly (readonly [key: string, unsupported: (value: string) => boolean, why: string])[] = [
  ["hostaddr", (value) => value !== "", "libpq connects to that address, athanor (node-postgres) to the host"],
  ["channel_binding", (value) => value === "require", "node-postgres does not require SCRAM channel binding"],
  ["gssencmode", (value) => value === "require", "node-postgres has no GSSAPI encryption"],
  ["requirepeer", (value) => value !== "", "node-postgres does not check the peer of a Unix socket"],
  // libpq would read host, port, user, database (and a password) from pg_service.conf; athanor reads no service file.
  ["service", () => true, "athanor does not read pg_service.conf (libpq would take host, port, user, database and password from it)"],
  ["sslcrl", (value) => value !== "", "athanor does not check certificate revocation lists"],
  ["sslcrldir", (value) => value !== "", "athanor does not check certificate revocation lists"],
];

/**
 * libpq's parameters read as integers (parse_int_param) once it sets up a TCP socket: a value
 * that is not one stops the connect there. The keepalive settings after `keepalives` are read
 * only while keepalives are on (its default).
 */
const INTEGER_PARAMS: readonly string[] = ["keepalives", "tcp_user_timeout"];
const KEEPALIVE_PARAMS: readonly string[] = ["keepalives_idle", "keepalives_interval", "keepalives_count"];

/** libpq's parse_int_param: an optional sign and digits, white space around them, within a C int. */
function isLibpqInteger(value: string): boolean {
  return /^\s*[+-]?[0-9]+\s*$/.test(value) && Math.abs(Number(value)) <= 2_147_483_647;
}

/**
 * Whether a client_encoding asks for UTF8, the only encoding athanor's connection speaks
 * (node-postgres announces UTF8 and decodes nothing else; revisions are read as UTF-8).
 * PostgreSQL's names ignore case and punctuation (`UTF-8`, `utf_8`, `unicode`); libpq's
 * `auto` takes the encoding of the locale (LC_ALL, else LC_CTYPE, else LANG, as psql sets
 * it); empty is libpq's "not set" (the server's default, which node-postgres overrides).
 */
function speaksUtf8(value: string, environment: LibpqEnvironment): boolean {
  const clean = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (value === "") return true;
  if (value.toLowerCase() === "auto") {
    const locale = ["LC_ALL", "LC_CTYPE", "LANG"].map((name) => environment.get(name)).find((set) => set !== undefined && set !== "") ?? "";
    const codeset = /\.([^@]+)/.exec(locale)?.[1] ?? "";
    return clean(codeset) === "utf8";
  }
  return ["utf8", "unicode"].includes(clean(value));
}

/** `postgres://`, `postgresql://`, `postgresql+driver://`: group 1 is what libpq would see as the scheme. */
const POSTGRES_SCHEME = /^(postgres(?:ql)?)(\+[a-z0-9_]+)?:\/\//i;
const MASK = "***";

/**
 * Parses a URL into a connection target, with libpq's environment variables applied as
 * libpq applies them (src/config/libpq-environment.ts). `where` names the setting for
 * error messages (`environment "production"`).
 */
export function parseDatabaseUrl(url: string, baseDir: string, where: string, environment: LibpqEnvironment = processLibpqEnvironment()): ParsedUrl {
  const trimmed = url.trim();
  if (trimmed.length === 0) {
    throw new ConfigError("empty-url", `the database URL of ${where} is empty`, {
      hint: "Set it, e.g. postgresql://user:${DB_PASSWORD}@localhost:5432/app or pglite://./.athanor/dev.",
    });
  }
  if (/^pglite:\/\//i.test(trimmed)) return parsePgliteUrl(trimmed, baseDir);
  const scheme = POSTGRES_SCHEME.exec(trimmed);
  if (scheme !== null && scheme[1] !== scheme[1]?.toLowerCase()) {
    // libpq's prefixes are matched with strncmp: "POSTGRESQL://..." is no URL to it but a
    // key=value string it refuses ('missing "=" after ...').
    throw new ConfigError("malformed-url", `the database URL of ${where} writes its scheme "${scheme[1]}://" in capitals: libpq reads only postgresql:// and postgres:// in lower case, and would refuse this URL`, {
      hint: `Write the scheme in lower case: ${scheme[1]?.toLowerCase()}://...`,
      details: { part: "scheme" },
    });
  }
  if (scheme !== null) return parsePostgresUrl(trimmed, scheme[0].length, where, environment);
  const named = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed)?.[1];
  // Only the scheme is quoted: the rest may hold a password in a form nobody registered.
  throw new ConfigError("unsupported-url", `the database URL of ${where} ${named ? `uses the scheme "${named}://"` : "has no URL scheme"}; athanor supports PostgreSQL and PGlite`, {
    hint: "Use postgresql://user:password@host:5432/dbname (postgresql+asyncpg:// works too) or pglite://./path/to/dir or pglite://memory.",
    details: { part: "scheme" },
  });
}

function parsePgliteUrl(url: string, baseDir: string): ParsedUrl {
  const rest = url.slice("pglite://".length);
  if (rest === "memory" || rest === ":memory:" || rest === "") return { target: { kind: "pglite", dataDir: null }, password: null, redacted: url };
  let path: string;
  try {
    path = decodeURIComponent(rest);
  } catch {
    path = rest;
  }
  return { target: { kind: "pglite", dataDir: isAbsolute(path) ? path : resolve(baseDir, path) }, password: null, redacted: url };
}

/** A half-open span of the original string. */
interface Span {
  readonly start: number;
  readonly end: number;
}

/** What libpq's URI grammar finds, before defaults and checks. Values are decoded. */
interface UriParts {
  readonly values: Map<string, string>;
  /** Spans of the original text that hold a password (user-info, `password=` values). */
  readonly passwordSpans: readonly Span[];
}

/** A parse failure: which part is wrong; `quoted` is the offending text, shown only when it cannot be part of a password. */
class UriProblem {
  constructor(
    readonly part: string,
    readonly reason: string,
    readonly quoted?: string,
  ) {}
}

/** Said when an "@" follows the user-info: the likely cause, since the wrong part is then a piece of a password. */
const STRAY_AT_NOTE = '; an "@" follows the user name and password as libpq reads them: if the password holds "@", write it as %40';

/**
 * True when an "@" follows the user-info as libpq reads it (or appears with no user-info):
 * the author may have meant a longer password holding a raw "@", so no part of the URL
 * may be quoted and it is shown masked up to its last "@".
 */
function hasStrayAt(url: string, prefixLength: number): boolean {
  const end = scanUntil(url, prefixLength, "@/");
  return url.includes("@", url[end] === "@" ? end + 1 : prefixLength);
}

/**
 * libpq's URI grammar. `start` is the index just after `://`.
 * postgresql://[user[:password]@][host][:port][,...][/dbname][?param1=value1&...]
 */
function parseUri(text: string, start: number): UriParts {
  const values = new Map<string, string>();
  const passwordSpans: Span[] = [];
  let p = start;
  // User-info: the first "@" before the first "/" (libpq looks no further).
  const lookahead = scanUntil(text, p, "@/");
  if (text[lookahead] === "@") {
    // libpq would take `host:5432?application_name=x` of `postgresql://host:5432?application_name=x@other:5997`
    // as user and password and connect to `other`: a query string before the "@" is refused instead.
    if (/\?[^@]*=/.test(text.slice(p, lookahead))) {
      throw new UriProblem("user-info", 'the text before the first "@" holds a query string ("?name="), so libpq would read it as user name and password and connect to the host after that "@"');
    }
    const colon = text.indexOf(":", p);
    const userEnd = colon !== -1 && colon < lookahead ? colon : lookahead;
    const user = decode(text, { start: p, end: userEnd }, "user name");
    if (user !== "") values.set("user", user);
    if (userEnd < lookahead) {
      const span = { start: userEnd + 1, end: lookahead };
      passwordSpans.push(span);
      const password = decode(text, span, "password");
      if (password !== "") values.set("password", password);
    }
    p = lookahead + 1;
  }
  // Host list: host[:port] separated by ",", IPv6 literals in brackets.
  let hosts = "";
  let ports = "";
  let separator: string | undefined;
  for (;;) {
    if (text[p] === "[") {
      const close = text.indexOf("]", p + 1);
      if (close === -1) throw new UriProblem("host", "an IPv6 address opens \"[\" and never closes it");
      if (close === p + 1) throw new UriProblem("host", "the IPv6 address in brackets is empty");
      hosts += text.slice(p + 1, close);
      p = close + 1;
      if (p < text.length && !":/?,".includes(text[p] as string)) {
        throw new UriProblem("host", `an unexpected character follows the IPv6 address at position ${p + 1}`);
      }
    } else {
      const end = scanUntil(text, p, ":/?,");
      hosts += text.slice(p, end);
      p = end;
    }
    separator = text[p];
    if (separator === ":") {
      const end = scanUntil(text, p + 1, "/?,");
      ports += text.slice(p + 1, end);
      p = end;
      separator = text[p];
    }
    if (separator !== ",") break;
    hosts += ",";
    ports += ",";
    p += 1;
  }
  if (hosts !== "") values.set("host", decode(hosts, { start: 0, end: hosts.length }, "host"));
  if (ports !== "") values.set("port", decode(ports, { start: 0, end: ports.length }, "port"));
  // Database: after "/", up to "?" ("#" is data for libpq).
  if (separator === "/") {
    const end = scanUntil(text, p + 1, "?");
    const dbname = decode(text, { start: p + 1, end }, "database name");
    if (dbname !== "") values.set("dbname", dbname);
    p = end;
  }
  if (text[p] === "?") parseParams(text, p + 1, values, passwordSpans);
  return { values, passwordSpans };
}

/** `name=value&...`: exactly one "=" per pair, both sides percent-decoded, unknown names rejected. */
function parseParams(text: string, start: number, values: Map<string, string>, passwordSpans: Span[]): void {
  let p = start;
  while (p < text.length) {
    const end = scanUntil(text, p, "&");
    const eq = text.indexOf("=", p);
    if (eq === -1 || eq >= end) throw new UriProblem("query", `a query parameter has no "=" (position ${p + 1})`);
    const second = text.indexOf("=", eq + 1);
    if (second !== -1 && second < end) throw new UriProblem("query", `a query parameter has a second "=" (position ${second + 1})`);
    let key = decode(text, { start: p, end: eq }, "query parameter name");
    const valueSpan = { start: eq + 1, end };
    if (/password/i.test(key)) passwordSpans.push(valueSpan);
    let value = decode(text, valueSpan, `value of the query parameter "${key}"`);
    // libpq's JDBC compatibility: ssl=true means sslmode=require; requiressl=1 likewise.
    if (key === "ssl" && value === "true") [key, value] = ["sslmode", "require"];
    if (key === "requiressl") [key, value] = ["sslmode", value.startsWith("1") ? "require" : "prefer"];
    if (!LIBPQ_KEYWORDS.has(key)) throw new UriProblem("query", "a query parameter is not a libpq connection parameter", key);
    values.set(key, value);
    p = end + 1;
  }
}

/** Index of the first character of `stops` at or after `from`, or the length. */
function scanUntil(text: string, from: number, stops: string): number {
  for (let i = from; i < text.length; i++) if (stops.includes(text[i] as string)) return i;
  return text.length;
}

/**
 * libpq's percent-decoding: `%` must be followed by two hex digits, `%00` is refused,
 * everything else (including `+`) is taken as it is. Bytes are read as UTF-8.
 */
function decode(text: string, span: Span, part: string): string {
  const raw = text.slice(span.start, span.end);
  if (!raw.includes("%")) return raw;
  const bytes: number[] = [];
  const utf8 = Buffer.from(raw, "utf8");
  for (let i = 0; i < utf8.length; i++) {
    const byte = utf8[i] as number;
    if (byte !== 0x25) {
      bytes.push(byte);
      continue;
    }
    const hex = utf8.subarray(i + 1, i + 3).toString("latin1");
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new UriProblem(part, `the ${part} has a "%" that is not followed by two hex digits`);
    const value = Number.parseInt(hex, 16);
    if (value === 0) throw new UriProblem(part, `the ${part} holds %00, which libpq refuses`);
    bytes.push(value);
    i += 2;
  }
  return Buffer.from(bytes).toString("utf8");
}

function parsePostgresUrl(url: string, prefixLength: number, where: string, environment: LibpqEnvironment): ParsedUrl {
  let parts: UriParts;
  try {
    parts = parseUri(url, prefixLength);
  } catch (error) {
    if (!(error instanceof UriProblem)) throw error;
    throw malformed(where, error, url);
  }
  const { values } = parts;
  const origins = applyLibpqVariables(values, environment);
  const redacted = redactSpans(url, parts.passwordSpans);
  const ambiguous = hasStrayAt(url, prefixLength);
  const shown = ambiguous ? redactUrl(url) : redacted;
  const quote = (value: string): string => (ambiguous ? "" : ` "${value}"`);
  const fail = (part: string, reason: string, hint: string): never => {
    throw new ConfigError("malformed-url", `the database URL of ${where} (${shown}): ${reason}${ambiguous ? STRAY_AT_NOTE : ""}`, { hint, details: { part, ...(origins.has(part) ? { variable: origins.get(part) } : {}) } });
  };
  /** A parameter as the message names it: the variable it came from (its value is no secret), or the URL's. */
  const named = (key: string, value: string): string => {
    const variable = origins.get(key);
    return variable === undefined ? `${key}${quote(value)}` : `${variable}="${value}" in the environment (libpq's ${key})`;
  };
  /** How to fix it: in the URL, or where the variable is set. */
  const remedy = (key: string, inUrl: string): string => {
    const variable = origins.get(key);
    return variable === undefined ? inUrl : `Fix or unset ${variable} (in the environment or the environment's .env files), or set ${key} in the URL, which wins.`;
  };
  // A URL without a host takes PGHOST, as in libpq (which would otherwise try its default
  // socket directory: athanor asks for a host instead).
  const hostNames = (values.get("host") ?? nonEmpty(environment.get(IDENTITY_VARIABLES.host)) ?? "").split(",");
  // libpq reads PGPORT only when the URL sets no port at all: a host list always sets one
  // entry per host, and an empty entry there means 5432, whatever PGPORT says.
  const environmentPort = values.has("port") ? undefined : nonEmpty(environment.get(IDENTITY_VARIABLES.port));
  const portTexts = (values.get("port") ?? environmentPort ?? "").split(",");
  const portSource = environmentPort === undefined ? "the URL" : `PGPORT ("${environmentPort}")`;
  if (hostNames.every((name) => name === "")) {
    fail("host", "has no host (and PGHOST is not set)", "Add the host, e.g. postgresql://user:password@localhost:5432/dbname (or ?host=/var/run/postgresql for a Unix socket), or set PGHOST.");
  }
  if (portTexts.length !== 1 && portTexts.length !== hostNames.length) {
    fail("port", `names ${hostNames.length} hosts but ${portSource} gives ${portTexts.length} ports`, environmentPort === undefined ? "Give one port for every host (host1:5432,host2:5433), or a single port for all of them." : "Fix PGPORT, or put the port in the URL.");
  }
  const hosts: PostgresHost[] = hostNames.map((host, index) => {
    if (host === "") fail("host", `host ${index + 1} of the host list is empty`, "Remove the extra comma, or write the missing host.");
    if (host.includes("@")) {
      fail("host", `the host holds "@" (libpq reads the user-info only up to the first "@")`, 'Percent-encode "@" in the user name or password as %40.');
    }
    const written = (portTexts.length === 1 ? portTexts[0] : portTexts[index]) ?? "";
    const portText = written.trim();
    if (portText === "") return { host, port: DEFAULT_PORT };
    const port = libpqPort(portText);
    // libpq matches password-file lines against the port as written ("01" is not "1").
    if (port !== null) return written === String(port) ? { host, port } : { host, port, portText: written };
    return environmentPort === undefined
      ? fail("port", `the port${quote(portText)} is not a number from 1 to 65535`, "Fix the port, e.g. postgresql://user:password@host:5432/dbname.")
      : fail("port", `the URL has no port and PGPORT ("${environmentPort}") is not a number from 1 to 65535`, "Fix PGPORT, or put the port in the URL.");
  });
  const attrs = values.get("target_session_attrs") ?? "any";
  if (!(SESSION_ATTRS as readonly string[]).includes(attrs)) {
    fail("target_session_attrs", `${named("target_session_attrs", attrs)} is not a libpq value`, remedy("target_session_attrs", `Use one of ${SESSION_ATTRS.join(", ")}.`));
  }
  // libpq refuses an sslmode it does not know (case matters); taken as "no TLS", a typo of
  // verify-full would have connected in clear text. The same for PGSSLMODE.
  const sslmode = values.get("sslmode");
  if (sslmode !== undefined && !SSL_MODES.includes(sslmode)) {
    fail("sslmode", `${named("sslmode", sslmode)} is not a libpq value (libpq refuses to connect)`, remedy("sslmode", `Use one of ${SSL_MODES.join(", ")} (lower case, with a hyphen).`));
  }
  for (const [key, allowed, hint, anyCase] of CHECKED_VALUES) {
    const value = values.get(key);
    if (value !== undefined && !allowed.includes(anyCase ? value.toLowerCase() : value)) fail(key, `${named(key, value)} is not a libpq value (libpq refuses to connect)`, remedy(key, hint));
  }
  // libpq refuses a connect_timeout that is not a whole number (parse_int_param); honoured by
  // the connect (postgres-client-config.ts, connectTimeoutMs).
  const connectTimeout = values.get("connect_timeout");
  if (connectTimeout !== undefined && !isLibpqInteger(connectTimeout)) {
    fail("connect_timeout", `${named("connect_timeout", connectTimeout)} is not a whole number of seconds (libpq refuses to connect)`, remedy("connect_timeout", "Give it in whole seconds, e.g. connect_timeout=10 (0 waits indefinitely)."));
  }
  // The TCP settings libpq reads as integers (athanor's connection does not use them): what
  // libpq would refuse at its first TCP host is refused, rather than ignored.
  if (hostNames.some((name) => !name.startsWith("/"))) {
    const keepalivesOff = isLibpqInteger(values.get("keepalives") ?? "1") && Number(values.get("keepalives") ?? "1") === 0;
    for (const key of [...INTEGER_PARAMS, ...(keepalivesOff ? [] : KEEPALIVE_PARAMS)]) {
      const value = values.get(key);
      if (value !== undefined && !isLibpqInteger(value)) fail(key, `${named(key, value)} is not a whole number (libpq refuses to connect over TCP)`, remedy(key, `Give ${key} as a whole number, or remove it.`));
    }
  }
  // The connection speaks UTF8 only: another client_encoding (libpq would announce it, and the
  // server would convert every text to it) is refused rather than ignored.
  const clientEncoding = values.get("client_encoding");
  if (clientEncoding !== undefined && !speaksUtf8(clientEncoding, environment)) {
    const variable = origins.get("client_encoding");
    fail("client_encoding", `${named("client_encoding", clientEncoding)} cannot be honoured: athanor reads revisions as UTF-8 and its connection always speaks UTF8 (libpq would announce ${clientEncoding})`, variable === undefined ? "Remove client_encoding from the URL (or set it to UTF8): the server converts to and from the database's encoding." : `Unset ${variable} (or set it to UTF8) for athanor, in the environment or the environment's .env files.`);
  }
  // What libpq would honour and node-postgres cannot: refused rather than ignored, so the
  // connection is never other than the URL and the environment say.
  for (const [key, unsupported, why] of UNSUPPORTED_PARAMS) {
    const value = values.get(key);
    if (value !== undefined && unsupported(value)) {
      const variable = origins.get(key);
      fail(key, `${named(key, value)} cannot be honoured: ${why}`, variable === undefined ? `Remove ${key} from the URL${key === "hostaddr" ? " and put the address in the host part" : ""}.` : `Unset ${variable} (in the environment or the environment's .env files).`);
    }
  }
  // PGHOSTADDR counts only when the URL leaves hostaddr unset (`?hostaddr=` sets it empty: libpq connects to the host).
  const hostaddr = values.has("hostaddr") ? undefined : environment.get(IDENTITY_VARIABLES.hostaddr);
  if (hostaddr !== undefined && hostaddr !== "") {
    fail("hostaddr", "PGHOSTADDR is set in the environment: libpq would connect to that address instead of the URL's host, and athanor connects to the host", "Unset PGHOSTADDR (or put that address in the URL's host).");
  }
  // libpq's defaults: the user is PGUSER, else the OS user (getpwuid, not $USER); the
  // database is PGDATABASE, else the user. An empty value counts as none; but a parameter
  // the URL sets, even to "" (`?user=`, `?password=`), takes no variable (conninfo_add_defaults
  // fills only parameters left unset), so libpq falls to the OS user, the password file, the user's name.
  const fromUrlOrVariable = (key: "user" | "password" | "dbname"): string | undefined =>
    nonEmpty(values.has(key) ? values.get(key) : environment.get(IDENTITY_VARIABLES[key]));
  const user =
    fromUrlOrVariable("user") ??
    environment.osUser ??
    fail("user", "names no user, PGUSER is not set and the OS user has no name (libpq would fail too)", "Put the user in the URL: postgresql://user@host/dbname.");
  const password = fromUrlOrVariable("password") ?? null;
  const database = fromUrlOrVariable("dbname") ?? user;
  const params: Record<string, string> = {};
  for (const [key, value] of values) {
    if (!["host", "port", "user", "password", "dbname"].includes(key)) params[key] = value;
  }
  const first = hosts[0] as PostgresHost;
  return {
    target: {
      kind: "postgres",
      connectionString: canonicalUrl({ host: first, user, password, database, params }),
      host: first.host,
      port: first.port,
      hosts,
      database,
      user,
      password,
      params,
      targetSessionAttrs: attrs as TargetSessionAttrs,
    },
    password,
    redacted,
  };
}

/** libpq's built-in port. */
const DEFAULT_PORT = 5432;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** A port as libpq reads one (an integer, surrounding spaces allowed, 1..65535), or null. */
function libpqPort(text: string): number | null {
  const trimmed = text.trim();
  const port = /^[0-9]+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? port : null;
}

/** The ConfigError of a URL libpq's grammar rejects. Quotes nothing that may lie in the password. */
function malformed(where: string, problem: UriProblem, url: string): ConfigError {
  const shown = hasStrayAt(url, url.indexOf("://") + 3) ? STRAY_AT_NOTE : `${problem.quoted === undefined ? "" : ` "${problem.quoted}"`} in ${redactUrl(url)}`;
  return new ConfigError("malformed-url", `the database URL of ${where} cannot be parsed: ${problem.reason}${shown} (the ${problem.part} is wrong)`, {
    hint: `Percent-encode special characters in the ${problem.part === "password" || problem.part === "user name" ? problem.part : "user name, password and values"} (@ as %40, : as %3A, / as %2F, % as %25, # as %23, ? as %3F, & as %26); a password that comes from a \${VAR} is encoded for you.`,
    details: { part: problem.part, scheme: url.slice(0, url.indexOf("://") + 3) },
  });
}

/** Replaces each span of `text` with `***`. */
function redactSpans(text: string, spans: readonly Span[]): string {
  let out = text;
  for (const span of [...spans].sort((a, b) => b.start - a.start)) {
    if (span.end > span.start) out = `${out.slice(0, span.start)}${MASK}${out.slice(span.end)}`;
  }
  return out;
}

/** Every character but RFC 3986 unreserved ones, percent-encoded: what libpq and WHATWG URL both read back the same. */
function encodeComponent(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A single-host URL that means the same to libpq, to WHATWG URL and to pg-connection-string:
 * every component percent-encoded, IPv6 in brackets, a socket directory as `?host=`.
 * The driver is given these (src/dialects/postgres-session.ts).
 */
export function canonicalUrl(parts: {
  readonly host: PostgresHost;
  readonly user: string;
  readonly password: string | null;
  readonly database: string;
  readonly params: Readonly<Record<string, string>>;
}): string {
  const auth = parts.user === "" && parts.password === null ? "" : `${encodeComponent(parts.user)}${parts.password === null ? "" : `:${encodeComponent(parts.password)}`}@`;
  const socket = parts.host.host.startsWith("/");
  const host = socket ? "" : parts.host.host.includes(":") ? `[${parts.host.host}]` : encodeComponent(parts.host.host);
  const query = Object.entries(socket ? { host: parts.host.host, port: String(parts.host.port), ...parts.params } : parts.params);
  const search = query.length === 0 ? "" : `?${query.map(([key, value]) => `${encodeComponent(key)}=${encodeComponent(value)}`).join("&")}`;
  return `postgresql://${auth}${host}${socket ? "" : `:${parts.host.port}`}/${encodeComponent(parts.database)}${search}`;
}
