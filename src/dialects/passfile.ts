/**
 * libpq's password file (libpq-pgpass): when neither the URL nor PGPASSWORD gives a
 * password, libpq reads the file of the `passfile` parameter (PGPASSFILE), else
 * ~/.pgpass, and takes the first line whose host, port, database and user match. Done
 * here rather than by node-postgres, which knows neither `passfile=` nor a PGPASSFILE from
 * the environment's .env files (and prints a deprecation warning when it reads one).
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * The socket directory libpq matches as "localhost" (DEFAULT_PGSOCKET_DIR, compared as
 * written: a trailing slash is another text): the Linux distributions' libpq use
 * /var/run/postgresql, PostgreSQL's own build (macOS, Homebrew, a source build) /tmp. Any
 * other socket directory is matched by its path, as libpq does.
 */
const DEFAULT_SOCKET_DIR = process.platform === "linux" ? "/var/run/postgresql" : "/tmp";

/** What a line of the file is matched against. */
export interface PassfileKey {
  readonly host: string;
  /** The port as written (libpq compares the text: "01" is not "1"). */
  readonly port: string;
  readonly database: string;
  readonly user: string;
}

/**
 * The password of the first line of `text` that matches `key`, as libpq's
 * passwordFromFile and pwdfMatchesString (fe-connect.c): `host:port:database:user:password`,
 * a field that is exactly `*` matching anything (an escaped `\*` is a literal star), `\`
 * escaping the next character, lines starting with `#` ignored, trailing CR and LF stripped;
 * the password ends at the first unescaped `:`. The default socket directory is matched as "localhost".
 * The first matching line wins even when its password is empty (libpq then sends none). Pure.
 * @example
 * passwordFromPassfile("db:5432:*:app:s3cret\n", { host: "db", port: 5432, database: "x", user: "app" }) // "s3cret"
 */
export function passwordFromPassfile(text: string, key: PassfileKey): string | undefined {
  const host = key.host === "" || key.host === DEFAULT_SOCKET_DIR ? "localhost" : key.host;
  const wanted = [host, key.port, key.database, key.user];
  for (const rawLine of text.split("\n")) {
    const line = rawLine.replace(/[\r\n]+$/, "");
    if (line === "" || line.startsWith("#")) continue;
    let at: number | null = 0;
    for (const token of wanted) {
      at = matchField(line, at, token);
      if (at === null) break;
    }
    if (at !== null) return unescapePassword(line, at);
  }
  return undefined;
}

/**
 * libpq's pwdfMatchesString: whether the field of `line` starting at `from` matches `token`,
 * and where the next field starts (null: no match). An unescaped ":" ends the field only once
 * the token is used up, so "::1:5432:..." matches the host ::1 as libpq reads it.
 */
function matchField(line: string, from: number, token: string): number | null {
  if (line[from] === "*" && line[from + 1] === ":") return from + 2;
  let i = from;
  let t = 0;
  while (i < line.length) {
    let escaped = false;
    if (line[i] === "\\") {
      i += 1;
      escaped = true;
    }
    if (line[i] === ":" && t === token.length && !escaped) return i + 1;
    if (t === token.length || i >= line.length || line[i] !== token[t]) return null;
    i += 1;
    t += 1;
  }
  return null;
}

/** The password field from `from`: `\` escapes the next character, an unescaped ":" ends it. */
function unescapePassword(line: string, from: number): string {
  let password = "";
  for (let i = from; i < line.length && line[i] !== ":"; i++) {
    if (line[i] === "\\" && i + 1 < line.length) i += 1;
    password += line[i];
  }
  return password;
}

/**
 * The password libpq would read from the password file for `key`, or undefined: the file
 * is `passfile` (non-empty), else `<home>/.pgpass`; like libpq, a file that is missing, not
 * a plain file, or readable by group or others is not used.
 */
export function readPassfilePassword(passfile: string | undefined, home: string, key: PassfileKey): string | undefined {
  const path = passfile === undefined || passfile === "" ? join(home, ".pgpass") : passfile;
  try {
    const stats = statSync(path);
    if (!stats.isFile() || (stats.mode & 0o077) !== 0) return undefined;
    return passwordFromPassfile(readFileSync(path, "utf8"), key);
  } catch {
    return undefined;
  }
}
