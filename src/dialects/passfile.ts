/**
 * libpq's password file (libpq-pgpass): when neither the URL nor PGPASSWORD gives a
 * password, libpq reads the file of the `passfile` parameter (PGPASSFILE), else
 * ~/.pgpass, and takes the first line whose host, port, database and user match. Done
 * here rather than by node-postgres, which knows neither `passfile=` nor a PGPASSFILE from
 * the environment's .env files (and prints a deprecation warning when it reads one).
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** What a line of the file is matched against. */
export interface PassfileKey {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/**
 * The password of the first line of `text` that matches `key`, as libpq's
 * passwordFromFile: `host:port:database:user:password`, `*` matching anything, `\` escaping
 * `:` and `\`, lines starting with `#` ignored; a Unix-socket host is matched as
 * "localhost". Pure.
 * @example
 * passwordFromPassfile("db:5432:*:app:s3cret\n", { host: "db", port: 5432, database: "x", user: "app" }) // "s3cret"
 */
export function passwordFromPassfile(text: string, key: PassfileKey): string | undefined {
  const host = key.host === "" || key.host.startsWith("/") ? "localhost" : key.host;
  const wanted = [host, String(key.port), key.database, key.user];
  for (const rawLine of text.split("\n")) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (line === "" || line.startsWith("#")) continue;
    const fields = splitFields(line);
    if (fields.length < 5) continue;
    if (wanted.every((value, index) => fields[index] === "*" || fields[index] === value)) return fields.slice(4).join(":");
  }
  return undefined;
}

/** Fields separated by unescaped ":", with `\:` and `\\` unescaped. */
function splitFields(line: string): string[] {
  const fields: string[] = [];
  let current = "";
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (ch === "\\" && i + 1 < line.length) {
      current += line[i + 1];
      i += 1;
    } else if (ch === ":" && fields.length < 4) {
      fields.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  fields.push(current);
  return fields;
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
