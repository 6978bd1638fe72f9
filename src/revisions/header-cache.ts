/**
 * The header cache: parsed revision headers kept in the project's `.athanor/`, so that
 * `heads` or `history` on 10,000 revisions costs a directory listing and one `stat`
 * per file instead of opening and reading every file.
 *
 * It must never lie, so:
 * - an entry is keyed by the file's name, size, mtime and ctime in nanoseconds, inode
 *   and device: any write changes the ctime (a tool that restores the mtime cannot
 *   restore the ctime), a replaced file has another inode;
 * - a file modified less than {@link RACY_WINDOW_MS} before it was read is not cached:
 *   file-system clocks tick coarsely (up to 10 ms), so a second write in the same tick
 *   could keep every key field equal (git's "racy clean" problem);
 * - the whole cache is ignored when anything about it is in doubt: another format,
 *   another athanor version, a header parser that changed since it was written (the
 *   parser's modules are part of the key), another directory, unparsable JSON;
 * - it holds headers only, never checksums: a checksum is always computed from the file;
 * - it is written to a temporary file (mode 0600) in the same directory and renamed,
 *   so two processes writing at once leave one complete cache, never a mix.
 * Failing to read or write it is never an error: the directory is read as if it were absent.
 */
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync, type BigIntStats } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { VERSION } from "../version.js";
import type { RevisionFormat } from "./header.js";
import type { RevisionHeader } from "./types.js";

/** Files changed this recently (ms) are read, not cached: see the module's comment. */
export const RACY_WINDOW_MS = 1000;

/** Bumped whenever the file's layout changes. */
const FORMAT = "athanor-header-cache/2";

/** The first line of a cache file. */
interface CacheHead {
  readonly format: string;
  readonly key: string;
  readonly directory: string;
}

/** A header found in the cache, with its format. */
export interface CachedHeader {
  readonly header: RevisionHeader;
  readonly format: RevisionFormat;
}

/**
 * The key fields of a file's `stat`, as one string. Two stats give the same stamp only
 * when nothing wrote to the file in between (up to the clock's tick, see {@link isRacy}).
 */
export function fileStamp(stats: BigIntStats): string {
  return `${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}:${stats.ino}:${stats.dev}`;
}

/** True when a file changed within {@link RACY_WINDOW_MS} of `now`: too recent to trust its stamp. */
export function isRacy(stats: BigIntStats, now: number): boolean {
  const newest = stats.mtimeNs > stats.ctimeNs ? stats.mtimeNs : stats.ctimeNs;
  return Number(newest / 1_000_000n) > now - RACY_WINDOW_MS;
}

let parserKey: string | undefined;

/**
 * What the cached headers depend on besides the files: the cache format, athanor's
 * version, and the modules that parse headers (their size and mtime), so a rebuilt or
 * upgraded parser never reads headers an older one produced.
 */
function cacheKey(): string {
  if (parserKey === undefined) {
    const extension = extname(fileURLToPath(import.meta.url));
    const parts: string[] = [FORMAT, VERSION];
    for (const module of ["header", "ids", "header-cache", "script-directory"]) {
      try {
        const stats = statSync(fileURLToPath(new URL(`./${module}${extension}`, import.meta.url)), { bigint: true });
        parts.push(`${module}:${stats.size}:${stats.mtimeNs}`);
      } catch {
        parts.push(`${module}:?`);
      }
    }
    parserKey = parts.join("|");
  }
  return parserKey;
}

/** The cache file of one migrations directory inside `cacheDir`. */
function cachePath(cacheDir: string, directory: string): string {
  return join(cacheDir, `revision-headers-${createHash("sha256").update(directory).digest("hex").slice(0, 16)}.txt`);
}

/** A list field: entries joined by commas. Null when an entry could not be read back the same (never cached then). */
function joinList(items: readonly string[]): string | null {
  for (const item of items) if (item === "" || /[,\t\n\r]/.test(item)) return null;
  return items.join(",");
}

function splitList(field: string): readonly string[] {
  return field === "" ? EMPTY : field.split(",");
}

const EMPTY: readonly string[] = Object.freeze([]);

/**
 * One cache line: name, stamp, format, id, parents, branch labels, depends-on,
 * transactional (1/0), allowed rules, message (a JSON string), separated by tabs.
 * Null for a header that a line cannot hold exactly (it is then simply not cached).
 */
function entryLine(name: string, stamp: string, format: RevisionFormat, header: RevisionHeader): string | null {
  if (/[\t\n\r]/.test(name) || /[\t\n\r,]/.test(header.id)) return null;
  const lists = [joinList(header.parents), joinList(header.branchLabels), joinList(header.dependsOn)];
  const allow = joinList(header.allow);
  if (lists.includes(null) || allow === null) return null;
  return [name, stamp, format, header.id, ...(lists as string[]), header.transactional ? "1" : "0", allow, JSON.stringify(header.message)].join("\t");
}

/**
 * The cache of one migrations directory. The directory is read in name order and the
 * cache's lines are in name order, so a cursor walks the file once: nothing but its text
 * is held (100,000 revisions: no second structure of 100,000 entries in memory).
 */
export class HeaderCache {
  readonly #path: string;
  readonly #directory: string;
  readonly #text: string;
  /** Where the next unread line starts. */
  #cursor: number;
  /** Lines in the file, and how many of them were used as they are. */
  readonly #lineCount: number;
  #kept = 0;
  /** The lines of the next cache, in name order. */
  readonly #lines: string[] = [];
  #changed: boolean;

  private constructor(path: string, directory: string, text: string | null, bodyStart: number) {
    this.#path = path;
    this.#directory = directory;
    this.#text = text ?? "";
    this.#cursor = text === null ? this.#text.length : bodyStart;
    this.#changed = text === null;
    let count = 0;
    for (let at = this.#text.indexOf("\n", this.#cursor); at !== -1; at = this.#text.indexOf("\n", at + 1)) count += 1;
    this.#lineCount = count;
  }

  /**
   * Opens the cache of `directory` (absolute) kept in `cacheDir`. A missing, unreadable
   * or doubtful cache file gives an empty cache, rebuilt when saved.
   */
  static open(cacheDir: string, directory: string): HeaderCache {
    const path = cachePath(cacheDir, directory);
    try {
      const text = readFileSync(path, "utf8");
      const end = text.indexOf("\n");
      const head = JSON.parse(end === -1 ? text : text.slice(0, end)) as Partial<CacheHead> | null;
      if (end !== -1 && text.endsWith("\n") && head !== null && typeof head === "object" && head.format === FORMAT && head.key === cacheKey() && head.directory === directory) {
        return new HeaderCache(path, directory, text, end + 1);
      }
    } catch {
      // Absent or corrupt: rebuilt when saved.
    }
    return new HeaderCache(path, directory, null, 0);
  }

  /**
   * The cached header of `name` when its stamp is the one cached; undefined otherwise.
   * Called in increasing name order.
   */
  get(name: string, stamp: string): CachedHeader | undefined {
    const text = this.#text;
    while (this.#cursor < text.length) {
      const lineStart = this.#cursor;
      const lineEnd = text.indexOf("\n", lineStart);
      const nameEnd = text.indexOf("\t", lineStart);
      if (lineEnd === -1 || nameEnd === -1 || nameEnd > lineEnd) return this.#corrupt();
      const lineName = text.slice(lineStart, nameEnd);
      if (lineName > name) return undefined;
      this.#cursor = lineEnd + 1;
      if (lineName < name) continue;
      if (!text.startsWith(stamp, nameEnd + 1) || text.charCodeAt(nameEnd + 1 + stamp.length) !== 9) return undefined;
      const line = text.slice(lineStart, lineEnd);
      const cached = parseLine(line);
      if (cached === null) return this.#corrupt();
      this.#lines.push(line);
      this.#kept += 1;
      return cached;
    }
    return undefined;
  }

  /** Records a header parsed from a file with this stamp (call in name order, like {@link get}). */
  set(name: string, stamp: string, format: RevisionFormat, header: RevisionHeader): void {
    const line = entryLine(name, stamp, format, header);
    if (line === null) return;
    this.#lines.push(line);
    this.#changed = true;
  }

  /** A line that cannot be read: the rest of the file is not trusted, and the cache is rewritten. */
  #corrupt(): undefined {
    this.#cursor = this.#text.length;
    this.#changed = true;
    return undefined;
  }

  /**
   * Writes the cache when it differs from what was read: new headers, or files gone or
   * changed. Atomic (temporary file and rename); a failure (read-only checkout, no
   * space) only means the next run reads the files again.
   */
  save(cacheDir: string): void {
    if (!this.#changed && this.#kept === this.#lineCount) return;
    const temporary = `${this.#path}.${process.pid}.${createHash("sha256").update(`${Math.random()}${process.hrtime.bigint()}`).digest("hex").slice(0, 8)}.tmp`;
    try {
      mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
      const head: CacheHead = { format: FORMAT, key: cacheKey(), directory: this.#directory };
      const fd = openSync(temporary, "wx", 0o600);
      try {
        writeSync(fd, `${JSON.stringify(head)}\n`);
        // In chunks: 100,000 lines never become one more 13 MB string and its UTF-8 copy.
        for (let i = 0; i < this.#lines.length; i += 2000) writeSync(fd, `${this.#lines.slice(i, i + 2000).join("\n")}\n`);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, this.#path);
    } catch {
      try {
        unlinkSync(temporary);
      } catch {
        // Never created.
      }
    }
  }
}

/** A cache line back into a header; null when it is not one. */
function parseLine(line: string): CachedHeader | null {
  const fields = line.split("\t");
  if (fields.length !== 10) return null;
  const [, , format, id, parents, branchLabels, dependsOn, transactional, allow, message] = fields as [string, string, string, string, string, string, string, string, string, string];
  if ((format !== "sql" && format !== "ts") || (transactional !== "0" && transactional !== "1") || id === "") return null;
  let text: unknown;
  try {
    text = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof text !== "string") return null;
  return {
    format,
    header: { id, parents: splitList(parents), message: text, branchLabels: splitList(branchLabels), dependsOn: splitList(dependsOn), transactional: transactional === "1", allow: splitList(allow) },
  };
}
