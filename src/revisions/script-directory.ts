/**
 * The script directory: the files of `migrations/` turned into revisions (header,
 * checksum), without running any of them, and the body of one revision loaded when it
 * is about to run. One read and one scan per file, in slices that yield to the event
 * loop: 10,000 revisions read in well under a second.
 */
import type { Hash } from "node:crypto";
import { isUtf8 } from "node:buffer";
import { closeSync, constants as fsConstants, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, statSync, type Stats } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve, sep } from "node:path";
import type { MigrationContext } from "../define.js";
import { importUserModule } from "../config/user-module.js";
import { escapeControlCharacters, hasControlCharacter } from "../control-characters.js";
import { AthanorError, ProcessExitError, RevisionError } from "../errors.js";
import { RevisionGraph } from "./graph.js";
import { normalizeLineEndings, parseRevisionHeader, type RevisionFormat } from "./header.js";
import type { SqlSection } from "./sql-sections.js";
import { sliceTurns } from "../event-loop-turns.js";
import { fileStamp, HeaderCache, isRacy } from "./header-cache.js";
import { SECTION_NOT_CHECKED, type SectionCheck } from "./section-check.js";
import type { RevisionFile, RevisionHeader } from "./types.js";
import { redactUrl } from "../secrets/redact.js";
import { describeFsError, errnoCode } from "../fs-errors.js";

/** Files larger than this are refused (10 MB): a revision that big is a data dump, not a migration. */
export const MAX_REVISION_FILE_BYTES = 10 * 1024 * 1024;

/** Below this size a file is read without asking its size first. */
const FIRST_READ_BYTES = 64 * 1024;

/**
 * The format of a revision file from its name: `.sql` → sql; `.ts`, `.mts`, `.js`,
 * `.mjs` → ts; anything else (declarations `.d.ts`, hidden files, notes) → null.
 */
export function revisionFormatOf(fileName: string): RevisionFormat | null {
  if (fileName.startsWith(".")) return null;
  if (fileName.endsWith(".sql")) return "sql";
  if (/\.d\.m?ts$/.test(fileName)) return null;
  if (/\.(?:m?ts|m?js)$/.test(fileName)) return "ts";
  return null;
}

interface NodeCrypto {
  createHash(algorithm: string): Hash;
  /** One-shot hashing, Node 20.12 and later (a string is hashed as UTF-8). */
  hash?: (algorithm: string, data: string, outputEncoding: "hex") => string;
}

let crypto: NodeCrypto | undefined;

/**
 * sha256 hex of a text. node:crypto loads on the first checksum: `heads` and `history`
 * hash nothing and do not pay for its modules at start-up. Node's one-shot `hash` where
 * it has one: no Hash object (a stream) per file, half the time of `createHash` for
 * 1,000 small files in a fresh process (~6 ms), on the path to an upgrade's first revision.
 */
function sha256Hex(text: string): string {
  crypto ??= createRequire(import.meta.url)("node:crypto") as NodeCrypto;
  return crypto.hash !== undefined ? crypto.hash("sha256", text, "hex") : crypto.createHash("sha256").update(text, "utf8").digest("hex");
}

/** sha256 hex of a revision's text, line endings normalised to LF (what the version table stores). */
export function revisionChecksum(text: string): string {
  return sha256Hex(normalizeLineEndings(text));
}

function missingDirectory(migrationsDir: string, reason: string): RevisionError {
  return new RevisionError("missing-migrations-dir", `the migrations directory ${migrationsDir} ${reason}`, {
    hint: "run `athanor init` to create it, or set `migrations` in athanor.config.ts to the directory that holds your revisions",
    details: { migrationsDir },
  });
}

function unreadable(relativePath: string, message: string, hint: string, cause?: unknown): RevisionError {
  return new RevisionError("unreadable-revision", `${relativePath}: ${message}`, { hint, details: { file: relativePath }, cause });
}

/**
 * A revision file that is listed but cannot be opened, read or stat'ed: why, in words, and
 * the fix. A name that is listed yet "does not exist" is a symbolic link whose target is
 * gone: said as such, with the target (looked up only on this failure).
 */
function unreadableFile(path: string, relativePath: string, error: unknown): RevisionError {
  const target = errnoCode(error) === "ENOENT" ? danglingLinkTarget(path) : undefined;
  if (target !== undefined) {
    return unreadable(relativePath, `cannot be read: it is a symbolic link to ${escapeControlCharacters(target)}, which does not exist (ENOENT)`, `point the link at the revision file (\`ln -sfn <file> ${relativePath}\`), or remove it`, error);
  }
  const problem = describeFsError(error);
  return unreadable(relativePath, `cannot be read: ${problem.reason}${problem.code === null ? "" : ` (${problem.code})`}`, problem.fix, error);
}

/** Where the symbolic link at `path` points, or undefined when it is not one (or is gone too). */
function danglingLinkTarget(path: string): string | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() === true ? readlinkSync(path) : undefined;
  } catch {
    return undefined;
  }
}

let scratch: Buffer | undefined;

/** Options of {@link readScriptDirectory} and {@link loadRevisionGraph}. */
export interface ReadScriptDirectoryOptions {
  /**
   * The directory of the header cache (the project's `.athanor/`, see
   * {@link projectCacheDir}); none when undefined or null. Only headers are cached.
   */
  readonly cacheDir?: string | null | undefined;
  /**
   * True (the default) for a command that compares checksums (`upgrade`, `status`,
   * `check`...): each file read is hashed from the same read. False for one that needs
   * headers only (`heads`, `history`...): a file is hashed only if its checksum is asked
   * for, and a large SQL file is read only as far as its header.
   */
  readonly checksums?: boolean | undefined;
  /**
   * An `upgrade`'s check of an SQL revision's upgrade section (src/run/check-section.ts),
   * run on each transactional SQL file the scan reads for the header cache, and kept in it
   * beside the header (src/revisions/section-check.ts). Never throws. Unused without a cache.
   */
  readonly checkSection?: SectionChecker | undefined;
}

/** Checks a revision's upgrade section in its file's text (see {@link ReadScriptDirectoryOptions.checkSection}). */
export type SectionChecker = (file: RevisionFile, text: string) => SectionCheck;

/** What every file of one scan is read with. */
interface ScanRun {
  readonly cache: HeaderCache | null;
  readonly origin: ScanOrigin;
  readonly checksums: boolean;
  readonly now: number;
  readonly checkSection: SectionChecker | undefined;
}

/** Where the revisions of one scan come from: one object shared by all of them. */
interface ScanOrigin {
  /** The directory with a trailing separator. */
  readonly directory: string;
  /** The directory as the header cache names it, and the cache's directory (null: no cache). */
  readonly listed: string;
  readonly cacheDir: string | null;
}

let directorySizeObserver: ((bytes: number) => void) | null = null;

/**
 * Registers what to call, each time a migrations directory is about to be listed, with
 * the directory's own size in bytes as `stat` gives it (null: nothing). It grows with
 * the number of entries on the usual file systems (ext4: ~52 bytes each), and it is
 * known before the listing allocates one object per entry. The CLI uses it to keep
 * V8's young generation small for a large directory (src/cli/bin.ts); a library
 * caller's process is left as it is.
 */
export function observeDirectorySize(observer: ((bytes: number) => void) | null): void {
  directorySizeObserver = observer;
}

/** The header cache's directory of a project: `.athanor/` next to its config file. */
export function projectCacheDir(rootDir: string): string {
  return join(rootDir, ".athanor");
}

/**
 * Reads every revision in a migrations directory (not its subdirectories): `*.sql`,
 * `*.ts`, `*.mts`, `*.js`, `*.mjs`, but not `.d.ts` files nor hidden files. Headers are
 * parsed from the text (or taken from the header cache when the file is unchanged),
 * nothing is imported. The result is sorted by file name.
 * Throws a RevisionError for a missing directory, and for a file that is too big, binary,
 * not UTF-8 or has a broken header (the first such file by name).
 * @example
 * const files = await readScriptDirectory("/app/migrations", { cacheDir: "/app/.athanor", checksums: false });
 */
export async function readScriptDirectory(migrationsDir: string, options: ReadScriptDirectoryOptions = {}): Promise<RevisionFile[]> {
  const directory = resolve(migrationsDir);
  if (directorySizeObserver !== null) {
    // Only a hint: a directory that cannot be stat'ed (missing, EACCES, ELOOP, ...) is reported by the listing below.
    let size: number | null = null;
    try {
      size = statSync(directory).size;
    } catch {
      // reported below
    }
    if (size !== null) directorySizeObserver(size);
  }
  let names: string[];
  try {
    // Synchronous like the reads below (see readRevisionText): the thread pool's round trip costs more than the call.
    // Names only: `withFileTypes` builds a Dirent per entry in JavaScript, 11–14 ms of a
    // first run at 10,000 files. An entry that is not a file shows itself when it is
    // opened or read, and is then skipped (see skippedEntry).
    names = readdirSync(directory);
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT") throw missingDirectory(directory, "does not exist");
    if (code === "ENOTDIR") throw missingDirectory(directory, "is not a directory");
    const problem = describeFsError(error);
    throw new RevisionError("unreadable-revision", `the migrations directory ${directory} cannot be read: ${problem.reason}${problem.code === null ? "" : ` (${problem.code})`}`, {
      hint: problem.fix,
      details: { migrationsDir: directory },
      cause: error,
    });
  }
  const candidates: string[] = [];
  // An index, not for...of (see graph.ts): no iterator result per entry in unoptimised code.
  for (let i = 0; i < names.length; i += 1) {
    const name = names[i] as string;
    if (revisionFormatOf(name) !== null) candidates.push(name);
  }
  // The default order compares UTF-16 code units, as `<` does, without a JavaScript call per comparison.
  candidates.sort();

  const cacheDir = options.cacheDir ?? null;
  // No cache (or none that can be trusted): this run reads the files without their stamps
  // and leaves an empty cache, which the next run fills (see HeaderCache.open).
  const cache = cacheDir === null ? null : HeaderCache.open(cacheDir, directory, candidates.length);
  const files: RevisionFile[] = [];
  // The directory is absolute and normalised, and a name from readdir has no separator: no path.join per file.
  const prefix = directory.endsWith(sep) ? directory : `${directory}${sep}`;
  const run: ScanRun = { cache, origin: { directory: prefix, listed: directory, cacheDir }, checksums: options.checksums ?? true, now: Date.now(), checkSection: options.checkSection };
  // Connections, timers and signal handlers run between slices of synchronous reads. A
  // turn every 64 files (the rule until round 12) came every ~4 ms in a fresh process, and
  // an upgrade's SCRAM handshake on 1,000 revisions waited for most of the scan.
  const turn = sliceTurns();
  for (let i = 0; i < candidates.length; i += 1) {
    const next = turn();
    if (next !== null) await next;
    const name = candidates[i] as string;
    const format = revisionFormatOf(name) as RevisionFormat;
    let file: RevisionFile;
    try {
      file = scanRevision(run, name, format);
    } catch (error) {
      if (skippedEntry(prefix + name)) continue;
      throw error;
    }
    files.push(file);
  }
  if (cacheDir !== null) {
    if (cache === null) HeaderCache.markSeen(cacheDir, directory);
    else cache.save(cacheDir);
  }
  return files;
}

/**
 * A revision file's name is printed by every command: one holding a control character
 * (an escape sequence, a newline that would print a line of its own, a bidirectional
 * override that shows it reordered) is refused, named with escapes so the error itself
 * is safe to print.
 */
export function refuseControlCharacterName(name: string): void {
  if (!hasControlCharacter(name)) return;
  const shown = escapeControlCharacters(name);
  throw new RevisionError("unsafe-file-name", `the revision file name \`${shown}\` holds a control character`, {
    hint: "rename the file to plain text (letters, digits, `_`, `-`, `.`); `git mv` keeps its history",
    details: { file: shown },
  });
}

/**
 * One entry of the listing read as a revision: from the header cache when it has the
 * file's stamp, else read (and, with a cache, stamped and cached).
 */
function scanRevision(run: ScanRun, name: string, format: RevisionFormat): RevisionFile {
  refuseControlCharacterName(name);
  const { cache } = run;
  if (cache === null) return readRevisionFile(run, name, format, false).file;
  // A file the cache has a line for is stat'ed before anything is read (a write after it
  // changes the stamp); one it has none for is opened at once and its stamp taken from
  // the open file before the read: one path lookup instead of two on the run that fills the cache.
  let stats: Stats | undefined;
  if (cache.seek(name)) {
    stats = statFile(run.origin.directory + name, name);
    const cached = cache.take(stats, run.checkSection !== undefined);
    if (cached !== undefined && cached.format === format) {
      // Sliced from the cache's text, which is one string of about 130 bytes per revision: nothing to detach from a file's text.
      return new ScannedRevision(cached.header, run.origin, name, format, null, cached.stamp, false, cached.check);
    }
  }
  const read = readRevisionFile(run, name, format, true, stats);
  if (read.stamp !== null && !read.racy) cache.set(name, read.stamp, format, read.file, ScannedRevision.sectionCheckOf(read.file));
  return read.file;
}

/**
 * True when the entry at `path`, whose reading failed, is neither a file nor a symbolic
 * link: a directory, a FIFO, a socket or a device named like a revision, which the scan
 * skips (as a listing with file types did before reading). Asked only after a failure, so
 * a run over files pays nothing for it; a symbolic link is a revision, and its failure is reported.
 */
function skippedEntry(path: string): boolean {
  try {
    const stats = lstatSync(path, { throwIfNoEntry: false });
    return stats !== undefined && !stats.isFile() && !stats.isSymbolicLink();
  } catch {
    return false;
  }
}

function statFile(path: string, relativePath: string): Stats {
  try {
    return statSync(path);
  } catch (error) {
    throw unreadableFile(path, relativePath, error);
  }
}

/**
 * A copy of a string that does not keep alive the file text it was sliced from (V8
 * copies slices shorter than 13 characters anyway): 10,000 revisions must not hold
 * 10,000 files' text through their messages.
 */
function detached(text: string): string {
  // Slicing a concatenation makes V8 flatten it into a new string first: one copy, not
  // the UTF-8 round trip through a Buffer (a third of the garbage, a fifth of the time).
  return text.length < 13 ? text : ` ${text}`.slice(1);
}

function detachedList(items: readonly string[]): readonly string[] {
  // A lone entry as an array literal, not `map`'s: see parseCommonSqlHeader's parents.
  return items.length === 0 ? EMPTY : items.length === 1 ? [detached(items[0] as string)] : items.map(detached);
}

const EMPTY: readonly string[] = Object.freeze([]);

/**
 * A revision as read from its directory. The checksum is computed from the file when it
 * was read whole for a command that compares checksums, otherwise on first access (a
 * header from the cache, or a header-only read): the file is then read and hashed, and
 * must still have the stamp it had when the directory was read, so the checksum is
 * always that of the text the header came from. A file read without a stamp (a run that
 * found no header cache takes none) must instead still hold that header: the checksum is
 * then of the text as it is when asked for, whose header is the one the graph was built
 * from, as if the file had been saved before the run.
 *
 * The checksum and the path are getters: a copy made with `{ ...file }` has neither. The
 * path is the directory's (one string shared by every revision) joined with the file name
 * when asked for: an absolute path kept per revision cost ~110 bytes (the concatenation
 * and the flat copy V8 makes of it at the first open) of the ~700 a revision held while
 * 10,000 of them were applied. The stamp is dropped once the checksum is known: from then
 * on a read is checked against the checksum (docs/runtime.md, "Memory while a long plan runs").
 */
class ScannedRevision implements RevisionFile {
  readonly id: string;
  readonly parents: readonly string[];
  readonly message: string;
  readonly branchLabels: readonly string[];
  readonly dependsOn: readonly string[];
  readonly transactional: boolean;
  readonly allow: readonly string[];
  readonly relativePath: string;
  readonly format: RevisionFormat;
  /** Its directory (with a trailing separator) and header cache, shared by every revision of a scan. */
  readonly #origin: ScanOrigin;
  #checksum: string | null;
  /** The stamp the header was read under, until the checksum is known (then null). */
  #stamp: string | null;
  /** Its upgrade section's check, from the scan or the header cache (src/revisions/section-check.ts). */
  #sectionCheck: SectionCheck;

  // One constructor with a fixed property order gives every revision the same hidden class,
  // which keeps the graph's property reads monomorphic.
  constructor(header: RevisionHeader, origin: ScanOrigin, relativePath: string, format: RevisionFormat, checksum: string | null, stamp: string | null, detach = true, sectionCheck: SectionCheck = SECTION_NOT_CHECKED) {
    this.id = header.id;
    this.parents = detach ? detachedList(header.parents) : header.parents;
    this.message = detach ? detached(header.message) : header.message;
    this.branchLabels = detach ? detachedList(header.branchLabels) : header.branchLabels;
    this.dependsOn = detach ? detachedList(header.dependsOn) : header.dependsOn;
    this.transactional = header.transactional;
    this.allow = detach ? detachedList(header.allow) : header.allow;
    this.relativePath = relativePath;
    this.format = format;
    this.#origin = origin;
    this.#checksum = checksum;
    this.#stamp = checksum === null ? stamp : null;
    this.#sectionCheck = sectionCheck;
  }

  /** The check of `file`'s upgrade section the scan made or found (SECTION_NOT_CHECKED for a revision not from a scan). */
  static sectionCheckOf(file: RevisionFile): SectionCheck {
    return file instanceof ScannedRevision ? file.#sectionCheck : SECTION_NOT_CHECKED;
  }

  /** Records the check the scan made of the text it read. */
  checkedSection(check: SectionCheck): void {
    this.#sectionCheck = check;
  }

  /**
   * Empties the header cache `file` was read with (see HeaderCache.markSeen): its line was
   * found to hold a check the file's text does not give, so no line of it is believed again.
   */
  static dropCacheOf(file: RevisionFile): void {
    if (!(file instanceof ScannedRevision)) return;
    const { cacheDir, listed } = file.#origin;
    if (cacheDir !== null) HeaderCache.markSeen(cacheDir, listed);
  }

  get path(): string {
    return this.#origin.directory + this.relativePath;
  }

  get checksum(): string {
    if (this.#checksum === null) this.#checksum = sha256Hex(this.#unverifiedText());
    return this.#checksum;
  }

  /**
   * The text to run, read once: it must have the checksum already computed, or, when
   * none was yet, what the header was read with (and then gives the checksum).
   */
  textToRun(): string {
    if (this.#checksum === null) {
      const text = this.#unverifiedText();
      this.#checksum = sha256Hex(text);
      return text;
    }
    const text = normalizeLineEndings(readRevisionText(this.path, this.relativePath));
    if (sha256Hex(text) !== this.#checksum) throw changedWhileRunning(this.relativePath, this.id);
    return text;
  }

  /**
   * The file's text (line endings normalised) before its checksum is known, read again:
   * it must still have the stamp the header was read under, or, for a file read without
   * one (a run that found no header cache), still hold that very header.
   */
  #unverifiedText(): string {
    const stamp = this.#stamp;
    const text = normalizeLineEndings(readRevisionText(this.path, this.relativePath, stamp));
    if (stamp === null && !holdsHeader(text, this)) throw changedWhileRunning(this.relativePath, this.id);
    this.#stamp = null;
    return text;
  }
}

/** True when `text` parses to the header `revision` was read with (a text that no longer parses does not). */
function holdsHeader(text: string, revision: ScannedRevision): boolean {
  let header: RevisionHeader;
  try {
    header = parseRevisionHeader(text, revision.relativePath, revision.format);
  } catch {
    return false;
  }
  return (
    header.id === revision.id &&
    header.message === revision.message &&
    header.transactional === revision.transactional &&
    sameList(header.parents, revision.parents) &&
    sameList(header.branchLabels, revision.branchLabels) &&
    sameList(header.dependsOn, revision.dependsOn) &&
    sameList(header.allow, revision.allow)
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

/** A file read by the scan, with the stamp it was read under (null without one) and whether it is too recent to cache. */
interface ScannedFile {
  readonly file: RevisionFile;
  readonly stamp: string | null;
  readonly racy: boolean;
}

/**
 * Reads a revision during the scan with one open: `stamped` takes its stamp (from
 * `known`, a stat taken before, or from the open file before it is read). A file that
 * fits in the first read is read once; a larger SQL file read for its header only stops
 * after its header, when the header is complete there. `directory` ends with a separator.
 */
function readRevisionFile(run: ScanRun, relativePath: string, format: RevisionFormat, stamped: boolean, known?: Stats): ScannedFile {
  // withRevisionFd's steps without its callback: a closure over these seven values was ~70
  // bytes of garbage per file, on the path a first run takes for every file.
  const path = run.origin.directory + relativePath;
  const fd = openRevision(path, relativePath, SCAN_OPEN_FLAGS);
  try {
    return readOpenedRevision(fd, run, relativePath, format, stamped, known);
  } catch (error) {
    throw readFailure(path, relativePath, error);
  } finally {
    closeSync(fd);
  }
}

/** {@link readRevisionFile} once the file is open. */
function readOpenedRevision(fd: number, run: ScanRun, relativePath: string, format: RevisionFormat, stamped: boolean, known: Stats | undefined): ScannedFile {
  const { origin, checksums, now } = run;
  const stats = stamped ? (known ?? fstatSync(fd)) : null;
  let stamp = stats === null ? null : fileStamp(stats);
  // A racy file (changed in the last second) may change again within the same clock tick, keeping its stamp: hash what was read.
  let racy = stats !== null && isRacy(stats, now);
  const buffer = scratchBuffer();
  const bytesRead = readSync(fd, buffer, 0, FIRST_READ_BYTES, 0);
  let text: string;
  if (bytesRead < FIRST_READ_BYTES) {
    text = normalizeLineEndings(decodeRevisionBytes(buffer, bytesRead, relativePath));
  } else {
    const opened = fstatSync(fd);
    const size = opened.size;
    // The size limit costs one fstat, so even a header-only read refuses an oversized file.
    refuseOversized(size, relativePath);
    if (stamp === null) {
      // A read without stamps takes this large file's from the same fstat: its header can
      // then be read alone, and its checksum later, from the file as it was read.
      stamp = fileStamp(opened);
      racy = isRacy(opened, now);
    }
    // An upgrade's scan reads a file for the cache whole, to check it (else its line would
    // lack the check, and every upgrade would read the file again for it).
    if (!checksums && format === "sql" && !(stamped && run.checkSection !== undefined)) {
      // A line feed byte is never inside a multi-byte UTF-8 character: the cut is clean.
      const end = buffer.lastIndexOf(0x0a);
      if (end !== -1) {
        const prefix = normalizeLineEndings(decodeRevisionBytes(buffer, end + 1, relativePath));
        try {
          return { file: new ScannedRevision(parseRevisionHeader(prefix, relativePath, format), origin, relativePath, format, null, stamp), stamp, racy };
        } catch {
          // The header goes past the prefix, or the file is broken: the whole file says which.
        }
      }
    }
    const whole = readRest(fd, buffer, bytesRead, size);
    text = normalizeLineEndings(decodeRevisionBytes(whole, whole.length, relativePath));
  }
  const header = parseRevisionHeader(text, relativePath, format);
  // A racy stamp may not tell this text from the next one: the checksum must come from this
  // very read. Otherwise it can wait for a command that asks, whose read is checked against
  // the stamp or, without one, against the header (see ScannedRevision).
  const checksum = checksums || racy ? sha256Hex(text) : null;
  const file = new ScannedRevision(header, origin, relativePath, format, checksum, stamp);
  // Checked here, from the text the header came from, for the cache: a run that found none checks nothing while scanning.
  if (stamped && run.checkSection !== undefined && format === "sql" && header.transactional) file.checkedSection(run.checkSection(file, text));
  return { file, stamp, racy };
}

/** The whole file (`size` bytes) from its first `bytesRead` bytes already in `first`. */
function readRest(fd: number, first: Buffer, bytesRead: number, size: number): Buffer {
  const whole = Buffer.allocUnsafe(size);
  first.copy(whole, 0, 0, bytesRead);
  let read = bytesRead;
  while (read < size) {
    const more = readSync(fd, whole, read, size - read, read);
    if (more === 0) break;
    read += more;
  }
  return whole.subarray(0, read);
}

/**
 * Reads a revision file's text with the checks every revision gets: at most 10 MB
 * (its size is asked before it is read whole, so a huge file is refused at once), no
 * NUL byte, valid UTF-8. A leading byte-order mark is dropped. With `stamp`, the file
 * must still have that {@link fileStamp} (else: `revision-changed`).
 *
 * Synchronous on purpose: libuv's four-thread pool makes each asynchronous open, read
 * and close cost ~30 µs of overhead, which for 10,000 small files is five times the
 * cost of reading them synchronously. {@link readScriptDirectory} yields to the event
 * loop between batches instead.
 */
export function readRevisionText(path: string, relativePath: string, stamp: string | null = null): string {
  return withRevisionFd(path, relativePath, (fd) => {
    if (stamp !== null && fileStamp(fstatSync(fd)) !== stamp) throw changedWhileRunning(relativePath);
    const buffer = scratchBuffer();
    const bytesRead = readSync(fd, buffer, 0, FIRST_READ_BYTES, 0);
    if (bytesRead < FIRST_READ_BYTES) return decodeRevisionBytes(buffer, bytesRead, relativePath);
    const { size } = fstatSync(fd);
    refuseOversized(size, relativePath);
    const whole = readRest(fd, buffer, bytesRead, size);
    return decodeRevisionBytes(whole, whole.length, relativePath);
  }, SCAN_OPEN_FLAGS);
}

function refuseOversized(size: number, relativePath: string): void {
  if (size <= MAX_REVISION_FILE_BYTES) return;
  throw unreadable(
    relativePath,
    `is ${(size / (1024 * 1024)).toFixed(1)} MB; revision files are limited to ${MAX_REVISION_FILE_BYTES / (1024 * 1024)} MB`,
    "load large data with COPY from a separate file or a script, and keep the revision to schema changes",
  );
}

function scratchBuffer(): Buffer {
  // Reads are synchronous, so one scratch buffer serves every small file (no garbage per file).
  scratch ??= Buffer.allocUnsafe(FIRST_READ_BYTES);
  return scratch;
}

/**
 * How the scan opens a file: read-only, and without blocking (where the platform has the
 * flag), so an entry that is a FIFO reads as empty (and is then skipped) instead of
 * waiting for a writer. No effect on a regular file.
 */
const SCAN_OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0);

function withRevisionFd<T>(path: string, relativePath: string, read: (fd: number) => T, flags: number | string = "r"): T {
  const fd = openRevision(path, relativePath, flags);
  try {
    return read(fd);
  } catch (error) {
    throw readFailure(path, relativePath, error);
  } finally {
    closeSync(fd);
  }
}

/** The descriptor of a revision file opened with `flags`; a failure is the file's `unreadable-revision`. */
function openRevision(path: string, relativePath: string, flags: number | string): number {
  try {
    return openSync(path, flags);
  } catch (error) {
    throw unreadableFile(path, relativePath, error);
  }
}

/** What a failure while reading an open revision file throws: an athanor error as it is, any other as the file's `unreadable-revision`. */
function readFailure(path: string, relativePath: string, error: unknown): unknown {
  return error instanceof AthanorError ? error : unreadableFile(path, relativePath, error);
}

/**
 * The text of a revision's first `length` bytes: no NUL byte, valid UTF-8, a leading
 * byte-order mark dropped. Decoded with `toString`, which replaces a malformed sequence
 * with U+FFFD instead of failing: only a text holding one (which a valid file may also
 * hold) is validated byte by byte. Cheaper per file than a fatal TextDecoder (no
 * `subarray` view, no separate scan of the bytes for a NUL): a first run decodes every file.
 */
function decodeRevisionBytes(bytes: Buffer, length: number, relativePath: string): string {
  const text = bytes.toString("utf8", 0, length);
  // A NUL byte is U+0000 in the text whatever surrounds it, malformed or not: this check comes first, as it did on the bytes.
  if (text.includes("\0")) {
    throw unreadable(relativePath, "holds NUL bytes: it looks like a binary file, not a revision", "move it out of the migrations directory");
  }
  if (text.includes("\ufffd") && !isUtf8(bytes.subarray(0, length))) {
    throw unreadable(relativePath, "is not valid UTF-8 text", "save the file as UTF-8");
  }
  return text.charCodeAt(0) === BYTE_ORDER_MARK ? text.slice(1) : text;
}

const BYTE_ORDER_MARK = 0xfeff;

/**
 * The check of `file`'s upgrade section that its scan made or found in the header cache
 * (src/revisions/section-check.ts); SECTION_NOT_CHECKED when there is none.
 */
export function scannedSectionCheck(file: RevisionFile): SectionCheck {
  return ScannedRevision.sectionCheckOf(file);
}

/**
 * RevisionError `revision-changed` for a revision whose text does not pass as the check its
 * scan made or found in the header cache said; the cache is emptied first (the next run reads
 * and checks every file again, and refuses the revision before anything runs if it must be).
 */
export function checkNotGivenByText(file: RevisionFile): RevisionError {
  ScannedRevision.dropCacheOf(file);
  return new RevisionError("revision-changed", `${file.relativePath} does not pass the check this run found for it in the header cache, made of its text by an earlier run: the file changed since, or the cache is damaged`, {
    hint: "run the command again: the header cache was emptied, and the next run reads and checks every file",
    details: { file: file.relativePath, revision: file.id },
  });
}

/** RevisionError `revision-changed`: a revision's file is no longer the one this run read. */
export function changedWhileRunning(relativePath: string, revision?: string): RevisionError {
  return new RevisionError("revision-changed", `${relativePath} changed while athanor was running`, {
    hint: "run the command again once the file is saved",
    details: revision === undefined ? { file: relativePath } : { file: relativePath, revision },
  });
}

/**
 * Reads the migrations directory and builds the checked graph: what every command that
 * looks at revisions starts with.
 * @example
 * const graph = await loadRevisionGraph(env.migrationsDir, { cacheDir: projectCacheDir(env.rootDir), checksums: false });
 */
export async function loadRevisionGraph(migrationsDir: string, options: ReadScriptDirectoryOptions = {}): Promise<RevisionGraph> {
  return RevisionGraph.build(await readScriptDirectory(migrationsDir, options));
}

let sqlSections: typeof import("./sql-sections.js") | undefined;

/** A TypeScript revision's `upgrade` or `downgrade`. */
export type MigrationFunction = (context: MigrationContext) => Promise<void> | void;

/** What runs when a revision is applied or reverted. */
export type RevisionBody =
  | { readonly format: "sql"; readonly upgrade: SqlSection; readonly downgrade: SqlSection | null }
  | { readonly format: "ts"; readonly upgrade: MigrationFunction; readonly downgrade: MigrationFunction | null };

/** The body of a revision whose module called process.exit while loading: both directions rethrow it. */
function exitingBody(error: ProcessExitError): RevisionBody {
  const fail: MigrationFunction = () => {
    throw error;
  };
  return { format: "ts", upgrade: fail, downgrade: fail };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/**
 * Loads what a revision runs: the upgrade and downgrade sections of an SQL file, or the
 * `upgrade`/`downgrade` functions of a TypeScript or JavaScript module (imported with
 * jiti for `.ts`/`.mts`, natively for `.js`/`.mjs`). The file must still have the
 * checksum it had when the directory was read.
 * @example
 * const body = await loadRevisionBody(graph.get("3f2a9c1d0b7e"));
 * if (body.format === "sql") console.log(body.upgrade.line);
 */
export async function loadRevisionBody(file: RevisionFile): Promise<RevisionBody> {
  let text: string;
  if (file instanceof ScannedRevision) {
    text = file.textToRun();
  } else {
    text = normalizeLineEndings(readRevisionText(file.path, file.relativePath));
    if (revisionChecksum(text) !== file.checksum) throw changedWhileRunning(file.relativePath, file.id);
  }
  if (file.format === "sql") {
    // Loaded with the first body (the commands that read headers only never need it), and
    // kept: an import() per revision costs the loader's lookup and its promises each time.
    const { splitSqlSections } = (sqlSections ??= await import("./sql-sections.js"));
    const sections = splitSqlSections(text, file.relativePath);
    return { format: "sql", upgrade: sections.upgrade, downgrade: sections.downgrade };
  }

  let namespace: unknown;
  try {
    // The checksum in a JavaScript file's URL makes an edited file load anew in a long-lived process.
    namespace = await importUserModule(file.path, { interopDefault: false, version: file.checksum.slice(0, 16) });
  } catch (error) {
    // Top-level code that calls process.exit fails the revision when it runs, so the
    // failure is recorded in the history like any other failure of the revision.
    if (error instanceof ProcessExitError) return exitingBody(error);
    // The module's own message may hold a URL, password and all.
    const reason = redactUrl(error instanceof Error ? error.message : String(error));
    throw new RevisionError("unloadable-revision", `${file.relativePath} could not be loaded: ${reason}`, {
      hint: "fix the error in the file (`npx tsc --noEmit` shows type errors); its imports must resolve from the migrations directory",
      details: { file: file.relativePath, revision: file.id },
      cause: error,
    });
  }
  const definition = isRecord(namespace) ? namespace["default"] : undefined;
  if (!isRecord(definition) || typeof definition["upgrade"] !== "function") {
    throw new RevisionError("malformed-revision", `${file.relativePath} does not export a migration: its default export must be an object with an \`upgrade\` function`, {
      hint: 'write `export default defineMigration({ revision: "...", down: ..., async upgrade({ sql }) { ... } })`',
      details: { file: file.relativePath, revision: file.id },
    });
  }
  // A header in `// athanor:` lines leaves `revision` out of the object; when it is there, it must agree.
  if (definition["revision"] !== undefined && definition["revision"] !== file.id) {
    throw new RevisionError("malformed-revision", `${file.relativePath}: the module's revision (${String(definition["revision"])}) is not the ${file.id} read from its text`, {
      hint: "write the header fields as literals directly in the object given to defineMigration",
      details: { file: file.relativePath, revision: file.id },
    });
  }
  const downgrade = definition["downgrade"];
  if (downgrade !== undefined && downgrade !== null && typeof downgrade !== "function") {
    throw new RevisionError("malformed-revision", `${file.relativePath}: \`downgrade\` must be a function`, {
      hint: "write `async downgrade({ sql }) { ... }`, or leave it out for a revision that cannot be reverted",
      details: { file: file.relativePath, revision: file.id },
    });
  }
  return {
    format: "ts",
    upgrade: definition["upgrade"] as MigrationFunction,
    downgrade: typeof downgrade === "function" ? (downgrade as MigrationFunction) : null,
  };
}
