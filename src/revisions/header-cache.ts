/**
 * The header cache: parsed revision headers kept in the project's `.athanor/`, so that
 * `heads` or `history` on 10,000 revisions costs a directory listing and one `stat`
 * per file instead of opening and reading every file.
 *
 * It must never lie, so:
 * - an entry is keyed by the file's name, size, mtime and ctime, inode and device: any
 *   write changes the ctime (a tool that restores the mtime cannot restore the ctime), a
 *   replaced file has another inode. The times are milliseconds as doubles (a quarter of a
 *   microsecond apart today), not BigInt nanoseconds: a cached file is at least
 *   {@link RACY_WINDOW_MS} old when cached, so any later write moves its ctime by more
 *   than that, and plain `Stats` cost a fraction of the allocations of `BigIntStats`;
 * - a file modified less than {@link RACY_WINDOW_MS} before it was read is not cached:
 *   file-system clocks tick coarsely (up to 10 ms), so a second write in the same tick
 *   could keep every key field equal (git's "racy clean" problem);
 * - the whole cache is ignored when anything about it is in doubt: another format,
 *   another athanor version, a header parser that changed since it was written (the
 *   parser's modules are part of the key), another directory, unparsable JSON;
 * - it holds headers only, never checksums: a checksum is always computed from the file;
 *   beside a header, the outcome of an `upgrade`'s check of the file's section, under the
 *   same stamp (src/revisions/section-check.ts), which is checked again when the file is sent;
 * - it is written to a temporary file (mode 0600) in the same directory and renamed,
 *   so two processes writing at once leave one complete cache, never a mix.
 * Failing to read or write it is never an error: the directory is read as if it were absent.
 */
import { closeSync, constants as fsConstants, fstatSync, mkdirSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from "node:fs";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { VERSION } from "../version.js";
import type { RevisionFormat } from "./header.js";
import { SECTION_NEEDS_PLAN_CHECK, SECTION_NOT_CHECKED, type SectionCheck } from "./section-check.js";
import { HEADER_PARSER_STAMP } from "./parser-stamp.js";
import type { RevisionHeader } from "./types.js";

/** Files changed this recently (ms) are read, not cached: see the module's comment. */
export const RACY_WINDOW_MS = 1000;

/** Bumped whenever the file's layout changes. */
const FORMAT = "athanor-header-cache/4";

/** The first line of a cache file. */
interface CacheHead {
  readonly format: string;
  readonly key: string;
  readonly directory: string;
}

/** A header found in the cache, with its format and its section's check. */
export interface CachedHeader {
  readonly header: RevisionHeader;
  readonly format: RevisionFormat;
  readonly check: SectionCheck;
}

/** A header found in the cache for a file's stat, with the stamp the cache holds for it. */
export interface StampedHeader extends CachedHeader {
  readonly stamp: string;
}

/** The fields of a file's `stat` that key a cache entry. */
export type StampFields = Pick<Stats, "size" | "mtimeMs" | "ctimeMs" | "ino" | "dev">;

/**
 * The key fields of a file's `stat`, as one string. Two stats give the same stamp only
 * when nothing wrote to the file in between (up to the clock's tick, see {@link isRacy}).
 *
 * Joined, not a template literal: V8 builds a template of five numbers as a tree of eight
 * concatenation nodes, which a revision keeps until its checksum is known. At 10,000
 * revisions those trees were a fifth of the heap a first-run `heads` held (10.1 → 8.0 MB
 * retained), and the collector copied them at every scavenge; `join` writes one flat string.
 */
export function fileStamp(stats: StampFields): string {
  return [stats.size, stats.mtimeMs, stats.ctimeMs, stats.ino, stats.dev].join(":");
}

/** True when a file changed within {@link RACY_WINDOW_MS} of `now`: too recent to trust its stamp. */
export function isRacy(stats: Stats, now: number): boolean {
  return Math.max(stats.mtimeMs, stats.ctimeMs) > now - RACY_WINDOW_MS;
}

let parserKey: string | undefined;

/**
 * The modules that decide what a cache line holds, relative to this one: those that parse
 * headers, and those of an `upgrade`'s check of an SQL section (src/run/check-section.ts).
 * The cache's key depends on them (test/header-cache.test.ts checks the list against their
 * imports). scripts/build-cli.mjs hashes the same list into {@link HEADER_PARSER_STAMP}.
 */
export const HEADER_PARSER_MODULES: readonly string[] = [
  "header",
  "header-sql-fast",
  "header-fields",
  "header-ts",
  "ids",
  "header-cache",
  "script-directory",
  "../control-characters",
  "section-check",
  "sql-sections",
  "../run/check-section",
  "../run/transaction-check",
  "../run/session-state",
  "../dialects/sql-closure",
  "../dialects/copy-from-stdin",
  "../lint/transaction-control",
  "../lint/ast",
  "../sql/lexer",
];

/**
 * What the cached headers depend on besides the files: the cache format, athanor's
 * version, and the modules that parse headers, so a rebuilt or upgraded parser never reads
 * headers an older one produced. A build (`npm run build`) names those modules by the
 * SHA-256 of their text ({@link HEADER_PARSER_STAMP}): no `stat` at all, and a rebuild that
 * changes no parser keeps every project's cache. Run from source or after a bare `tsc`
 * (no stamp), by each module's size and mtime, which any edit changes (a `stat` each, with
 * nanosecond times: ~0.4 ms of a one-revision `heads`).
 */
function cacheKey(): string {
  if (parserKey === undefined) {
    const parts: string[] = [FORMAT, VERSION];
    if (HEADER_PARSER_STAMP !== undefined) parts.push(`parser:${HEADER_PARSER_STAMP}`);
    else {
      // One URL turned into a path, not one per module (~0.03 ms each for the URL and its path).
      const own = fileURLToPath(import.meta.url);
      const folder = dirname(own);
      const extension = extname(own);
      for (const module of HEADER_PARSER_MODULES) {
        try {
          const stats = statSync(join(folder, `${module}${extension}`), { bigint: true });
          parts.push(`${module}:${stats.size}:${stats.mtimeNs}`);
        } catch {
          parts.push(`${module}:?`);
        }
      }
    }
    parserKey = parts.join("|");
  }
  return parserKey;
}

/** The cache file of one migrations directory inside `cacheDir`. */
function cachePath(cacheDir: string, directory: string): string {
  return join(cacheDir, `revision-headers-${nameHash(directory)}.txt`);
}

/**
 * 16 hex digits from a string (two 32-bit FNV-1a hashes with different seeds): a file
 * name, not a secret, and cheaper than loading node:crypto for it. Two directories that
 * collide only share a file that each finds written for the other (its first line names
 * the directory) and rebuilds: never a wrong header.
 */
function nameHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x5bd1e995) ^ (b >>> 15);
  }
  return `${(a >>> 0).toString(16).padStart(8, "0")}${(b >>> 0).toString(16).padStart(8, "0")}`;
}

const EMPTY: readonly string[] = Object.freeze([]);

/** True when a list's entries can be written joined by commas and read back the same. */
function listFits(items: readonly string[]): boolean {
  // An index, not for...of: before V8 optimises it, each for...of allocates an iterator,
  // and this runs for four lists of every revision a first run reads.
  for (let i = 0; i < items.length; i += 1) {
    const item = items[i] as string;
    if (item === "" || /[,\t\n\r]/.test(item)) return false;
  }
  return true;
}

/** A list field: entries joined by commas (a lone entry is itself, no new string). */
function joinList(items: readonly string[]): string {
  return items.length === 0 ? "" : items.length === 1 ? (items[0] as string) : items.join(",");
}

/**
 * True when a line can hold this header exactly: no tab or line break in the name, none
 * and no comma in the id, and lists whose entries {@link listFits}. A header that does
 * not fit is simply not cached.
 */
function entryFits(name: string, header: RevisionHeader): boolean {
  return !/[\t\n\r]/.test(name) && !/[\t\n\r,]/.test(header.id) && listFits(header.parents) && listFits(header.branchLabels) && listFits(header.dependsOn) && listFits(header.allow);
}

/**
 * One cache line: name, stamp, format, id, parents, branch labels, depends-on,
 * transactional (1/0), allowed rules, the section's check (empty: not checked, `x`: the
 * plan checks it, a number: passed), message (a JSON string), separated by tabs. Only
 * for a header that {@link entryFits}.
 */
function entryLine(entry: NewEntry): string {
  const { name, stamp, format, header, check } = entry;
  const checkField = check === SECTION_NOT_CHECKED ? "" : check === SECTION_NEEDS_PLAN_CHECK ? "x" : String(check);
  return [name, stamp, format, header.id, joinList(header.parents), joinList(header.branchLabels), joinList(header.dependsOn), header.transactional ? "1" : "0", joinList(header.allow), checkField, JSON.stringify(header.message)].join("\t");
}

/**
 * A header parsed from a file, to be written when the cache is saved: its line is made
 * then, a chunk at a time, so the run that fills the cache does not hold one more string per revision
 * through the scan (the header is the revision the scan returns anyway).
 */
interface NewEntry {
  readonly name: string;
  readonly stamp: string;
  readonly format: RevisionFormat;
  readonly header: RevisionHeader;
  readonly check: SectionCheck;
}

/**
 * The cache of one migrations directory. The directory is read in name order and the
 * cache's lines are in name order, so a cursor walks the file once: nothing but its text
 * is held (100,000 revisions: no second structure of 100,000 entries in memory). A line
 * is read field by field where it lies, without splitting it into new strings, and a
 * line kept as it is is remembered by its offsets, not copied.
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
  /**
   * The lines of the next cache, in name order: a new header as its {@link NewEntry}
   * (written out when saved), a kept line as two numbers (its start and end in the text read).
   */
  readonly #lines: (NewEntry | number)[] = [];
  #changed: boolean;
  /** Where the stamp of the line {@link seek} found starts (-1: none), and where that line starts. */
  #current = -1;
  #currentLine = 0;

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
   * Opens the cache of `directory` (absolute) kept in `cacheDir`; null when there is none
   * to use: missing, unreadable or doubtful. A run that finds none reads the files without
   * their stamps and calls {@link markSeen}; the next run finds that empty cache and fills it.
   * So a run that never finds a cache of its own (a CI job's fresh checkout) pays for no
   * `fstat` per file, no stamps and no cache write it could not use; one `stat` per file is
   * worth it from the second run on, which a developer's checkout gets.
   */
  static open(cacheDir: string, directory: string, entries: number): HeaderCache | null {
    const path = cachePath(cacheDir, directory);
    try {
      const raw = readCacheFile(path, MAX_CACHE_BYTES_PER_ENTRY * entries + MAX_CACHE_BYTES_BASE);
      if (raw === null) return null;
      // Latin-1 makes one character of each byte, several times faster than decoding
      // UTF-8; a cache with any byte beyond ASCII (a name or message in another script) is
      // decoded again as the UTF-8 it is.
      const bytes = raw.toString("latin1");
      const text = /[^\x00-\x7f]/.test(bytes) ? Buffer.from(bytes, "latin1").toString("utf8") : bytes;
      const end = text.indexOf("\n");
      const head = JSON.parse(end === -1 ? text : text.slice(0, end)) as Partial<CacheHead> | null;
      if (end !== -1 && text.endsWith("\n") && head !== null && typeof head === "object" && head.format === FORMAT && head.key === cacheKey() && head.directory === directory) {
        return new HeaderCache(path, directory, text, end + 1);
      }
    } catch {
      // Absent or corrupt: as if there were none.
    }
    return null;
  }

  /**
   * Writes an empty cache of `directory` (its first line only), replacing a doubtful one:
   * the next run finds a cache, takes every file's stamp and fills it. Like {@link save},
   * a failure is not an error (that next run reads the files without stamps again).
   */
  static markSeen(cacheDir: string, directory: string): void {
    new HeaderCache(cachePath(cacheDir, directory), directory, null, 0).save(cacheDir);
  }

  /**
   * Moves to the line of `name` and says whether there is one: only then is the file's
   * stamp worth taking (see {@link take}). Called in increasing name order.
   */
  seek(name: string): boolean {
    const text = this.#text;
    this.#current = -1;
    while (this.#cursor < text.length) {
      const lineStart = this.#cursor;
      const lineEnd = text.indexOf("\n", lineStart);
      if (lineEnd === -1) return this.#corrupt();
      if (text.startsWith(name, lineStart) && text.charCodeAt(lineStart + name.length) === TAB) {
        this.#current = lineStart + name.length + 1;
        this.#currentLine = lineStart;
        this.#cursor = lineEnd + 1;
        return true;
      }
      const nameEnd = text.indexOf("\t", lineStart);
      if (nameEnd === -1 || nameEnd > lineEnd) return this.#corrupt();
      if (text.slice(lineStart, nameEnd) > name) return false;
      this.#cursor = lineEnd + 1;
    }
    return false;
  }

  /**
   * The header on the line {@link seek} found, when `stats` are the ones cached there
   * (and the stamp as the line holds it); undefined otherwise. The line's numbers are
   * compared with the file's, not the file's turned into a stamp string: `Number` of
   * what {@link fileStamp} wrote is the number it wrote (JavaScript prints the shortest
   * string that reads back as the same double), without printing five numbers per file.
   *
   * With `wantsCheck` (an `upgrade`'s scan, which checks what it reads), a transactional
   * SQL revision's line without its section's check is not taken either: the file is read
   * and its line written again with the check, once.
   */
  take(stats: StampFields, wantsCheck = false): StampedHeader | undefined {
    const text = this.#text;
    const stampStart = this.#current;
    if (stampStart === -1) return undefined;
    this.#current = -1;
    const lineEnd = this.#cursor - 1;
    // The line's stamp must be the file's, written as fileStamp writes it: one comparison
    // of text, no field parsed. A field written otherwise ("0136", "1.50") never matches.
    const stamp = fileStamp(stats);
    const stampEnd = stampStart + stamp.length;
    if (stampEnd > lineEnd || text.charCodeAt(stampEnd) !== TAB || !text.startsWith(stamp, stampStart)) return undefined;
    const cached = parseEntry(text, stampEnd + 1, lineEnd);
    if (cached === null) {
      this.#corrupt();
      return undefined;
    }
    if (wantsCheck && cached.check === SECTION_NOT_CHECKED && cached.format === "sql" && cached.header.transactional) return undefined;
    this.#lines.push(this.#currentLine, lineEnd);
    this.#kept += 1;
    return { header: cached.header, format: cached.format, check: cached.check, stamp };
  }

  /** Records a header parsed from a file with this stamp, and its section's check (call in name order, like {@link take}). */
  set(name: string, stamp: string, format: RevisionFormat, header: RevisionHeader, check: SectionCheck = SECTION_NOT_CHECKED): void {
    if (!entryFits(name, header)) return;
    this.#lines.push({ name, stamp, format, header, check });
    this.#changed = true;
  }

  /** A line that cannot be read: the rest of the file is not trusted, and the cache is rewritten. */
  #corrupt(): false {
    this.#cursor = this.#text.length;
    this.#changed = true;
    return false;
  }

  /**
   * Writes the cache when it differs from what was read: new headers, or files gone or
   * changed. Atomic (temporary file and rename); a failure (read-only checkout, no
   * space) only means the next run reads the files again.
   */
  save(cacheDir: string): void {
    if (!this.#changed && this.#kept === this.#lineCount) return;
    const temporary = `${this.#path}.${process.pid}.${nameHash(`${Math.random()}${process.hrtime.bigint()}`)}.tmp`;
    try {
      mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
      const head: CacheHead = { format: FORMAT, key: cacheKey(), directory: this.#directory };
      const fd = openSync(temporary, "wx", 0o600);
      try {
        writeSync(fd, `${JSON.stringify(head)}\n`);
        // In chunks of SAVE_CHUNK_LINES: 100,000 lines never become one more 13 MB string and its UTF-8 copy.
        const lines = this.#lines;
        let chunk: string[] = [];
        const flush = (): void => {
          if (chunk.length === 0) return;
          // An empty last entry ends the chunk with its line feed: the joined string is flat
          // as it is written (a `${...}\n` would be a concatenation that the write copies flat again).
          chunk.push("");
          writeSync(fd, chunk.join("\n"));
          chunk = [];
        };
        for (let i = 0; i < lines.length; i += 1) {
          const item = lines[i] as NewEntry | number;
          if (typeof item === "number") {
            chunk.push(this.#text.slice(item, lines[i + 1] as number));
            i += 1;
          } else {
            chunk.push(entryLine(item));
          }
          if (chunk.length === SAVE_CHUNK_LINES) flush();
        }
        flush();
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

/**
 * Lines per write when the cache is saved (~35 kB at ~130 bytes a line). Each chunk is
 * joined into a string that the write converts to UTF-8 in a buffer of three times its
 * length: with 2,000 lines (260 kB, its buffer ~780 kB) each chunk was a large object
 * in fresh pages and its buffer a fresh `mmap`: ~700 more page faults for a first run at
 * 10,000 revisions (~14 µs each on the 2-core VM). Chunks this size reuse the young
 * generation and malloc's heap.
 */
const SAVE_CHUNK_LINES = 256;

/**
 * The most a cache may hold: a line is a file name, a stamp and a header (~100–300
 * bytes), so 4 KiB an entry listed plus 1 MiB is far more than any cache athanor wrote
 * for that directory; a larger file is doubtful and not read.
 */
const MAX_CACHE_BYTES_PER_ENTRY = 4096;
const MAX_CACHE_BYTES_BASE = 1024 * 1024;

/**
 * How the cache is opened: read-only, never through a symbolic link (athanor writes it by
 * renaming a file of its own into place, never as a link), and without blocking (a FIFO
 * put at its name would wait for a writer, with the event loop and so Ctrl-C blocked).
 */
const CACHE_OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0);

/**
 * The bytes of the cache file at `path`, or null when it is not a regular file of at most
 * `maxBytes` (a FIFO, a device, a link to one, a file grown past any cache athanor
 * writes): then there is no cache to use, and the run writes a new one by rename, which
 * replaces the entry itself. Throws when it cannot be opened or read (no cache either).
 */
function readCacheFile(path: string, maxBytes: number): Buffer | null {
  const fd = openSync(path, CACHE_OPEN_FLAGS);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || stats.size > maxBytes) return null;
    const bytes = Buffer.allocUnsafe(stats.size);
    let read = 0;
    while (read < bytes.length) {
      const more = readSync(fd, bytes, read, bytes.length - read, read);
      if (more === 0) break;
      read += more;
    }
    return read === bytes.length ? bytes : bytes.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

const TAB = 9;

/**
 * True when text[from, to) is a whole number as JavaScript prints one: digits, without a
 * leading zero (or just "0"). `Number` also reads "0136", "-1", "1e2" or "1.50": a
 * section's check written so is not one {@link entryLine} wrote, and is refused.
 */
function isPlainIntegerText(text: string, from: number, to: number): boolean {
  if (from === to || (text.charCodeAt(from) === ZERO && to - from > 1)) return false;
  for (let at = from; at < to; at += 1) if (!isDigit(text.charCodeAt(at))) return false;
  return true;
}

const ZERO = 48;

function isDigit(code: number): boolean {
  return code >= ZERO && code <= ZERO + 9;
}

const QUOTE = 34;
const COMMA = 44;

/** The next tab at or after `from`, before `end`; -1 when there is none. */
function nextTab(text: string, from: number, end: number): number {
  const at = text.indexOf("\t", from);
  return at === -1 || at > end ? -1 : at;
}

function listField(text: string, start: number, end: number): readonly string[] {
  if (start === end) return EMPTY;
  // One entry (a revision's only parent) is sliced once, not sliced and split. The comma
  // is looked for within the field only: indexOf would search the rest of the file.
  for (let i = start; i < end; i += 1) if (text.charCodeAt(i) === COMMA) return text.slice(start, end).split(",");
  return [text.slice(start, end)];
}

/**
 * The header fields of a cache line, from `start` (after its stamp) to `end` (its line
 * feed): format, id, parents, branch labels, depends-on, transactional, allow, the
 * section's check, message. Null when they are not what a line holds.
 */
function parseEntry(text: string, start: number, end: number): CachedHeader | null {
  // Eight tabs end the eight fields before the message; no array is made for them.
  const formatEnd = nextTab(text, start, end);
  const idEnd = formatEnd === -1 ? -1 : nextTab(text, formatEnd + 1, end);
  const parentsEnd = idEnd === -1 ? -1 : nextTab(text, idEnd + 1, end);
  const labelsEnd = parentsEnd === -1 ? -1 : nextTab(text, parentsEnd + 1, end);
  const dependsEnd = labelsEnd === -1 ? -1 : nextTab(text, labelsEnd + 1, end);
  const transactionalEnd = dependsEnd === -1 ? -1 : nextTab(text, dependsEnd + 1, end);
  const allowEnd = transactionalEnd === -1 ? -1 : nextTab(text, transactionalEnd + 1, end);
  const checkEnd = allowEnd === -1 ? -1 : nextTab(text, allowEnd + 1, end);
  if (checkEnd === -1 || nextTab(text, checkEnd + 1, end) !== -1) return null;
  const format = formatEnd - start === 3 && text.startsWith("sql", start) ? "sql" : formatEnd - start === 2 && text.startsWith("ts", start) ? "ts" : null;
  const transactional = transactionalEnd - dependsEnd === 2 ? text.charCodeAt(dependsEnd + 1) : 0;
  if (format === null || (transactional !== 0x30 && transactional !== 0x31) || idEnd === formatEnd + 1) return null;
  const check = checkField(text, allowEnd + 1, checkEnd);
  const message = messageField(text, checkEnd + 1, end);
  if (message === null || check === null) return null;
  return {
    format,
    check,
    header: {
      id: text.slice(formatEnd + 1, idEnd),
      parents: listField(text, idEnd + 1, parentsEnd),
      message,
      branchLabels: listField(text, parentsEnd + 1, labelsEnd),
      dependsOn: listField(text, labelsEnd + 1, dependsEnd),
      transactional: transactional === 0x31,
      allow: listField(text, transactionalEnd + 1, allowEnd),
    },
  };
}

/**
 * The section's check: empty (not checked), `x` (the plan checks it), or a number as
 * {@link entryLine} writes it (digits, no leading zero); null for anything else.
 */
function checkField(text: string, start: number, end: number): SectionCheck | null {
  if (start === end) return SECTION_NOT_CHECKED;
  if (end - start === 1 && text.charCodeAt(start) === LETTER_X) return SECTION_NEEDS_PLAN_CHECK;
  if (!isPlainIntegerText(text, start, end)) return null;
  const value = Number(text.slice(start, end));
  return Number.isSafeInteger(value) ? value : null;
}

const LETTER_X = 120;

/**
 * The message field: a JSON string. One without escapes (almost every message) is its
 * characters between the quotes; any other is given to JSON.parse.
 */
function messageField(text: string, start: number, end: number): string | null {
  if (end - start >= 2 && text.charCodeAt(start) === QUOTE && text.charCodeAt(end - 1) === QUOTE) {
    const inner = text.slice(start + 1, end - 1);
    if (!/["\\\u0000-\u001f]/.test(inner)) return inner;
  }
  try {
    const parsed: unknown = JSON.parse(text.slice(start, end));
    return typeof parsed === "string" ? parsed : null;
  } catch {
    return null;
  }
}
