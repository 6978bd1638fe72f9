/**
 * What athanor resolves for a URL, an environment and a password file, against what libpq
 * itself resolves when it starts connecting (test/support/libpq-connect.py: PQconnectStart
 * through python3 and ctypes, then PQuser, PQdb, PQpass; no server, loopback addresses and
 * socket directories of this test only). The password compared is the one each would send:
 * the URL's, PGPASSWORD's or the line of the password file that matches (libpq-pgpass), so a
 * row that disagrees is a password sent where libpq would send none, or another one.
 * test/url-libpq.test.ts compares the URL grammar alone (PQconninfoParse).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { osUserName } from "../src/config/libpq-environment.js";
import { parseDatabaseUrl } from "../src/config/url.js";
import { postgresClientConfig } from "../src/dialects/postgres-client-config.js";
import { ConfigError } from "../src/errors.js";

const root = mkdtempSync(join(tmpdir(), "athanor-adv21url-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
/** A socket directory that is not libpq's default (/var/run/postgresql on Debian's libpq). */
const SOCKET_DIR = join(root, "sock");
const OS_USER = osUserName() ?? "nobody";

interface Row {
  readonly name: string;
  /** The password file's text (~/.pgpass of a HOME of its own, mode 0600). */
  readonly passfile: string;
  readonly url: string;
  readonly env?: Readonly<Record<string, string>>;
  /** What libpq resolves: asserted first, so the oracle itself is checked. */
  readonly libpq: { readonly user: string; readonly database: string; readonly password: string | null };
}

const ROWS: readonly Row[] = [
  // Where athanor and libpq agree (the oracle's controls).
  { name: "a line for the host", passfile: "127.0.0.1:1:db:u:pw-line\n", url: "postgresql://u@127.0.0.1:1/db", libpq: { user: "u", database: "db", password: "pw-line" } },
  { name: "an escaped colon in the password", passfile: "127.0.0.1:1:db:u:pw\\:a\n", url: "postgresql://u@127.0.0.1:1/db", libpq: { user: "u", database: "db", password: "pw:a" } },
  { name: "wildcards", passfile: "*:*:*:*:pw-any\n", url: "postgresql://u@127.0.0.1:1/db", libpq: { user: "u", database: "db", password: "pw-any" } },
  { name: "libpq's default socket directory as localhost", passfile: "localhost:1:db:u:pw-local\n", url: "postgresql://u@/db?host=/var/run/postgresql&port=1", libpq: { user: "u", database: "db", password: "pw-local" } },
  { name: "PGPASSWORD before the file", passfile: "*:*:*:*:pw-file\n", url: "postgresql://u@127.0.0.1:1/db", env: { PGPASSWORD: "pw-env" }, libpq: { user: "u", database: "db", password: "pw-env" } },
  // A password file line that libpq does not use for this connection.
  { name: "an escaped \\* is a literal host, not a wildcard", passfile: "\\*:1:db:u:pw-wild\n", url: "postgresql://u@127.0.0.1:1/db", libpq: { user: "u", database: "db", password: null } },
  { name: "an IPv6 host written with unescaped colons is matched (libpq reads colons greedily)", passfile: "::1:1:db:u:pw-v6\n", url: "postgresql://u@[::1]:1/db", libpq: { user: "u", database: "db", password: "pw-v6" } },
  { name: "another socket directory is not localhost", passfile: "localhost:1:db:u:pw-local\n", url: `postgresql://u@/db?host=${SOCKET_DIR}&port=1`, libpq: { user: "u", database: "db", password: null } },
  { name: "a socket directory other than the default is matched by its path", passfile: `${SOCKET_DIR}:1:db:u:pw-sock\n`, url: `postgresql://u@/db?host=${SOCKET_DIR}&port=1`, libpq: { user: "u", database: "db", password: "pw-sock" } },
  { name: "the default socket directory with a trailing slash is not localhost", passfile: "localhost:1:db:u:pw-local\n", url: "postgresql://u@/db?host=/var/run/postgresql/&port=1", libpq: { user: "u", database: "db", password: null } },
  { name: "the port is matched as written (01 is not 1)", passfile: "127.0.0.1:1:db:u:pw-port\n", url: "postgresql://u@127.0.0.1:01/db", libpq: { user: "u", database: "db", password: null } },
  { name: "the port is matched as written (a line for 01)", passfile: "127.0.0.1:01:db:u:pw-port01\n", url: "postgresql://u@127.0.0.1:01/db", libpq: { user: "u", database: "db", password: "pw-port01" } },
  // The password as libpq reads it from the matching line.
  { name: "an unescaped colon ends the password", passfile: "127.0.0.1:1:db:u:pw-a:tail\n", url: "postgresql://u@127.0.0.1:1/db", libpq: { user: "u", database: "db", password: "pw-a" } },
  { name: "every trailing CR and LF is stripped", passfile: "127.0.0.1:1:db:u:pw-crlf\r\r\n", url: "postgresql://u@127.0.0.1:1/db", libpq: { user: "u", database: "db", password: "pw-crlf" } },
  { name: "a matching line with an empty password gives none (libpq: no password supplied)", passfile: "127.0.0.1:1:db:u:\n*:*:*:*:pw-later\n", url: "postgresql://u@127.0.0.1:1/db", libpq: { user: "u", database: "db", password: null } },
  // TCP settings libpq reads only where it uses them.
  { name: "keepalives_idle that is no number, with keepalives=0, is accepted (read only while keepalives are on)", passfile: "", url: "postgresql://u@127.0.0.1:1/db?keepalives=0&keepalives_idle=abc", libpq: { user: "u", database: "db", password: null } },
  { name: "keepalives that is no number, on a Unix socket, is accepted (read for TCP only)", passfile: "", url: `postgresql://u@/db?host=${SOCKET_DIR}&port=1&keepalives=abc`, libpq: { user: "u", database: "db", password: null } },
  // A parameter set empty in the URL is set: libpq takes no variable for it.
  { name: "?password= leaves PGPASSWORD unused (the file is read)", passfile: "127.0.0.1:1:db:u:pw-file\n", url: "postgresql://u@127.0.0.1:1/db?password=", env: { PGPASSWORD: "pw-env" }, libpq: { user: "u", database: "db", password: "pw-file" } },
  { name: "?user= leaves PGUSER unused (the OS user)", passfile: "", url: "postgresql://127.0.0.1:1/db?user=", env: { PGUSER: "alice" }, libpq: { user: OS_USER, database: "db", password: null } },
  { name: "?dbname= leaves PGDATABASE unused (the user's name)", passfile: "", url: "postgresql://u@127.0.0.1:1/?dbname=", env: { PGDATABASE: "envdb" }, libpq: { user: "u", database: "u", password: null } },
  { name: "?hostaddr= leaves PGHOSTADDR unused (the host is connected to)", passfile: "", url: "postgresql://u@127.0.0.1:1/db?hostaddr=", env: { PGHOSTADDR: "127.0.0.2" }, libpq: { user: "u", database: "db", password: null } },
];

/**
 * URLs libpq refuses before it sends anything (its error quoted); athanor must refuse them
 * too, naming the part, rather than connect with less than the URL asks.
 */
const REFUSED: readonly (readonly [url: string, part: string, libpqError: string])[] = [
  // libpq compares channel_binding and gssencmode case-sensitively: "Require" is no value of theirs.
  ["postgresql://u:pw-test@127.0.0.1:1/db?channel_binding=Require", "channel_binding", 'invalid channel_binding value: "Require"'],
  ["postgresql://u:pw-test@127.0.0.1:1/db?gssencmode=Require", "gssencmode", 'invalid gssencmode value: "Require"'],
  ["postgresql://u:pw-test@127.0.0.1:1/db?gssencmode=Disable", "gssencmode", 'invalid gssencmode value: "Disable"'],
  // TCP keepalive settings libpq reads as integers (athanor ignores them).
  ["postgresql://u:pw-test@127.0.0.1:1/db?keepalives=abc", "keepalives", 'invalid integer value "abc" for connection option "keepalives"'],
  ["postgresql://u:pw-test@127.0.0.1:1/db?tcp_user_timeout=x", "tcp_user_timeout", 'invalid integer value "x" for connection option "tcp_user_timeout"'],
  ["postgresql://u:pw-test@127.0.0.1:1/db?keepalives_count=x", "keepalives_count", 'invalid integer value "x" for connection option "keepalives_count"'],
  // libpq's URI prefixes are lower case; anything else is read as a key=value string.
  ["POSTGRESQL://u:pw-test@127.0.0.1:1/db", "scheme", 'missing "=" after'],
];

type LibpqResult = { user: string; database: string; password: string | null } | { error: string };

function homeOf(index: number, passfile: string): string {
  const home = join(root, `home-${index}`);
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, ".pgpass"), passfile);
  chmodSync(join(home, ".pgpass"), 0o600);
  return home;
}

function libpqResolve(cases: readonly { url: string; env: Record<string, string> }[]): LibpqResult[] {
  const script = fileURLToPath(new URL("./support/libpq-connect.py", import.meta.url));
  return (JSON.parse(execFileSync("python3", [script], { input: JSON.stringify(cases), encoding: "utf8" })) as { results: LibpqResult[] }).results;
}

/** athanor's user, database and the password it would send to the first host (null: it refuses to send one). */
async function athanorResolve(url: string, env: Readonly<Record<string, string>>): Promise<{ user: string; database: string; password: string | null }> {
  const parsed = parseDatabaseUrl(url, root, 'environment "test"', { get: (name) => env[name], osUser: OS_USER });
  if (parsed.target.kind !== "postgres") throw new Error("not postgres");
  const { target } = parsed;
  const config = postgresClientConfig(target, target.hosts[0] as (typeof target.hosts)[number], env["HOME"] as string);
  let password: string | null;
  if (typeof config.password === "function") {
    try {
      password = await config.password();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      password = null;
    }
  } else {
    password = config.password ?? null;
  }
  return { user: target.user, database: target.database, password };
}

describe("athanor resolves user, database and password as libpq does", () => {
  const cases = ROWS.map((row, index) => ({ url: row.url, env: { ...row.env, HOME: homeOf(index, row.passfile) } }));
  const libpq = libpqResolve(cases);

  it.each(ROWS.map((row, index) => [row.name, index] as const))("%s", async (_name, index) => {
    const row = ROWS[index] as Row;
    const reference = libpq[index] as LibpqResult;
    if ("error" in reference) throw new Error(`libpq refuses ${row.url}: ${reference.error}`);
    expect({ user: reference.user, database: reference.database, password: reference.password }, "libpq's own reading").toEqual(row.libpq);
    expect(await athanorResolve(row.url, (cases[index] as { env: Record<string, string> }).env)).toEqual(row.libpq);
  });
});

describe("athanor refuses what libpq refuses before connecting", () => {
  const libpq = libpqResolve(REFUSED.map(([url]) => ({ url, env: { HOME: root } })));

  it.each(REFUSED.map(([url, part, libpqError], index) => [url, part, libpqError, index] as const))("%s", (url, part, libpqError, index) => {
    const reference = libpq[index] as LibpqResult;
    expect("error" in reference ? reference.error : "accepted").toContain(libpqError);
    let error: unknown;
    try {
      parseDatabaseUrl(url, root, 'environment "test"', { get: () => undefined, osUser: OS_USER });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String((error as ConfigError).details["part"])).toContain(part);
  });
});
