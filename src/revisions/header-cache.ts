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
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, type BigIntStats } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { VERSION } from "../version.js";
import type { RevisionFormat } from "./header.js";
import type { RevisionHeader } from "./types.js";

/** Files changed this recently (ms) are read, not cached: see the module's comment. */
export const RACY_WINDOW_MS = 1000;

/** Bumped whenever the file's layout changes. */
const FORMAT = "athanor-header-cache/1";

/** One cached file: the key fields, then the header. Arrays keep the file small and quick to parse. */
type Entry = [stamp: string, format: RevisionFormat, id: string, parents: string[], message: string, branchLabels: string[], dependsOn: string[], transactional: 0 | 1, allow: string[]];

interface CacheFile {
  readonly format: string;
  readonly key: string;
  readonly directory: string;
  readonly entries: Record<string, Entry>;
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
  return join(cacheDir, `revision-headers-${createHash("sha256").update(directory).digest("hex").slice(0, 16)}.json`);
}

function isEntry(value: unknown): value is Entry {
  return Array.isArray(value) && value.length === 9 && typeof value[0] === "string" && (value[1] === "sql" || value[1] === "ts") && typeof value[2] === "string";
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/**
 * The cache of one migrations directory: look up headers by name and stamp while the
 * directory is read, record the headers that were parsed, save once at the end.
 */
export class HeaderCache {
  readonly #path: string;
  readonly #directory: string;
  readonly #loaded: Record<string, Entry>;
  readonly #entries: Record<string, Entry> = Object.create(null) as Record<string, Entry>;
  #changed: boolean;
  #kept = 0;

  private constructor(path: string, directory: string, loaded: Record<string, Entry> | null) {
    this.#path = path;
    this.#directory = directory;
    this.#loaded = loaded ?? (Object.create(null) as Record<string, Entry>);
    this.#changed = loaded === null;
  }

  /**
   * Opens the cache of `directory` (absolute) kept in `cacheDir`. A missing, unreadable
   * or doubtful cache file gives an empty cache, rebuilt when saved.
   */
  static open(cacheDir: string, directory: string): HeaderCache {
    const path = cachePath(cacheDir, directory);
    let loaded: Record<string, Entry> | null = null;
    try {
      const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<CacheFile> | null;
      if (parsed !== null && typeof parsed === "object" && parsed.format === FORMAT && parsed.key === cacheKey() && parsed.directory === directory && typeof parsed.entries === "object" && parsed.entries !== null && !Array.isArray(parsed.entries)) {
        loaded = Object.assign(Object.create(null) as Record<string, Entry>, parsed.entries);
      }
    } catch {
      // Absent or corrupt: rebuilt below.
    }
    return new HeaderCache(path, directory, loaded);
  }

  /** The cached header of `name` when its stamp is the one cached; undefined otherwise. */
  get(name: string, stamp: string): CachedHeader | undefined {
    const entry = this.#loaded[name];
    if (entry === undefined || !isEntry(entry) || entry[0] !== stamp) return undefined;
    const [, format, id, parents, message, branchLabels, dependsOn, transactional, allow] = entry;
    if (!isStringArray(parents) || typeof message !== "string" || !isStringArray(branchLabels) || !isStringArray(dependsOn) || !isStringArray(allow) || (transactional !== 0 && transactional !== 1)) {
      return undefined;
    }
    this.#entries[name] = entry;
    this.#kept += 1;
    return { format, header: { id, parents, message, branchLabels, dependsOn, transactional: transactional === 1, allow } };
  }

  /** Records a header parsed from a file with this stamp. */
  set(name: string, stamp: string, format: RevisionFormat, header: RevisionHeader): void {
    this.#entries[name] = [stamp, format, header.id, [...header.parents], header.message, [...header.branchLabels], [...header.dependsOn], header.transactional ? 1 : 0, [...header.allow]];
    this.#changed = true;
  }

  /**
   * Writes the cache when it differs from what was read: new headers, or files gone or
   * changed. Atomic (temporary file and rename); a failure (read-only checkout, no
   * space) only means the next run reads the files again.
   */
  save(cacheDir: string): void {
    if (!this.#changed && this.#kept === Object.keys(this.#loaded).length) return;
    const temporary = `${this.#path}.${process.pid}.${createHash("sha256").update(`${Math.random()}${process.hrtime.bigint()}`).digest("hex").slice(0, 8)}.tmp`;
    try {
      mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
      const file: CacheFile = { format: FORMAT, key: cacheKey(), directory: this.#directory, entries: this.#entries };
      writeFileSync(temporary, JSON.stringify(file), { mode: 0o600, flag: "wx" });
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
