/**
 * What bin/athanor.js runs: the CLI bundled into four CommonJS packs (dist/cli/bundle.cjs
 * and bundle-read/-run/-rest.cjs, written by scripts/build-cli.mjs from src/cli/bin.ts and
 * all it loads), each compiled with a V8 code cache when a command first needs it.
 * Reading, compiling and linking ~30 ES modules was most of the start-up of a small
 * command; a few files, and V8 restoring its compiled code instead of parsing the
 * JavaScript, is most of the gain (docs/architecture.md, "Start-up"); `heads` reads two
 * packs, ~0.27 MB of ~1.2 MB.
 *
 * The code cache is a help, never a requirement, and cannot run other code than the
 * pack's:
 * - it lives in athanor's cache folder (`ATHANOR_CACHE_DIR`, `off` disables it; else
 *   `$XDG_CACHE_HOME/athanor` or `~/.cache/athanor`), never in the installed package, and
 *   is read only when it is a regular file (not a link, a FIFO or a device) this user owns
 *   and no one else can write;
 * - its first line is a key: the pack's SHA-256 (written by the build into its first
 *   line), its size, mtime, ctime, inode and device, Node's version and architecture; the
 *   cached code follows it twice. A cache with another key, or whose two copies differ, is
 *   not given to V8, which checks its own version, flags and the source's length besides,
 *   and compiles the source normally when it rejects one;
 * - one file per pack path, Node version and Node flags (with the V8 flags the CLI set
 *   before the pack was compiled: src/cli/v8-flags.ts; a command's own flags are set
 *   before any pack is compiled, src/cli/start-flags.ts), written only when it was
 *   missing or rejected, when the process exits (with the functions the command ran
 *   compiled too; or as compiled, before any of the pack's code ran, marked so, when the
 *   command has set a V8 flag since: it must be made under the flags it was compiled with;
 *   the next command that sets none replaces a cache so marked), to a
 *   temporary file renamed into place; any failure to read or write it is ignored. Writing the first one of a run
 *   removes this user's code caches not written for 30 days (other paths and Node versions).
 * With --verbose (the one time an internal error's stack is printed) the packs are
 * loaded by Node's own `require` with source maps on, so stacks name dist/'s modules.
 */
import { closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync, type Stats } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { Script } from "node:vm";
import { cacheDirUnder } from "../config/cache-dir.js";
import { ConfigError } from "../errors.js";
import { findCommandName } from "./command-name.js";
import { startV8Flags } from "./start-flags.js";
import { runtimeV8Flags, setV8Flags } from "./v8-flags.js";

/** The bundle's wrapper function: CommonJS's five parameters and the `import()` it routes through this module. */
type BundleFunction = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string, importModule: (specifier: string) => Promise<unknown>) => void;

/** Where the code cache for `bundle` is, and the key its first line must hold; null when there is none to use. */
interface CodeCacheFile {
  readonly path: string;
  readonly key: string;
}

/**
 * What a code cache holds, the last word of its first line: `ran`, every function the
 * command that wrote it ran (taken at exit); `compiled`, only what V8 compiled before the
 * pack's code ran (taken then, because the command set a V8 flag afterwards: see
 * {@link writeCodeCacheAtExit}). V8 accepts both alike, so without the mark a `compiled`
 * one, written by the first command after a build when that was `upgrade`, was kept by
 * every later `heads`, which compiled the rest of the pack again at each run (a
 * one-revision `heads`: 142 M instructions on the main thread instead of 126 M).
 */
type CodeCoverage = "ran" | "compiled";

/** A code cache read from its file: the code for V8 and what it covers. */
interface CachedCode {
  readonly code: Buffer;
  readonly coverage: CodeCoverage;
}

/**
 * Two 32-bit hashes of a text's UTF-16 code units as 16 hex digits: a file name (the bundle
 * path, Node version, flags), not a secret, and no node:crypto at start-up. Code units, not
 * UTF-8 bytes: no Buffer to make (a third of the function's ~0.2 ms on a first call).
 */
function fileNameHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b + c + i, 0x85ebca6b) ^ (b >>> 13);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/**
 * The cached code from a cache file's body (what follows its key line), which holds it
 * twice: V8 checks no checksum of a code cache in release builds, and one flipped byte in
 * it crashed every later run (a segfault, a fatal "unreachable code", a spin), so damaged
 * data must never reach it. Two copies compared by `Buffer#equals` (memcmp) catch any damage
 * that does not strike both copies alike, for ~0.1 ms; a hash of the ~190 kB in JavaScript
 * cost 14–19 ms of every command's start-up (a loop V8 has not optimised yet), and
 * node:crypto or node:zlib ~3–6 ms to load. Undefined when the copies differ.
 */
function intactCode(body: Buffer): Buffer | undefined {
  if (body.length === 0 || body.length % 2 !== 0) return undefined;
  const half = body.length / 2;
  const code = body.subarray(0, half);
  return code.equals(body.subarray(half)) ? code : undefined;
}

/**
 * What `os.homedir()` returns, without loading node:os (~0.6 ms of every start-up) when it
 * need not: on POSIX libuv answers $HOME whenever it is set (even empty) and asks the
 * password database only when it is not.
 */
function homeDirectory(bundle: string): string {
  const home = process.platform === "win32" ? undefined : process.env["HOME"];
  return home ?? (createRequire(bundle)("node:os") as typeof import("node:os")).homedir();
}

/** The code cache's file and key for `bundle` (whose text is `source`, read from a file with `stats`), or null when the cache is off or the text names no hash. */
export function codeCacheFile(bundle: string, source: string, stats: Stats, env: Readonly<Record<string, string | undefined>>): CodeCacheFile | null {
  const dir = cacheDirUnder(env, () => homeDirectory(bundle));
  if (dir === null) return null;
  const firstLine = source.slice(0, source.indexOf("\n"));
  const hash = / \/\/ athanor-cli-bundle ([0-9a-f]{64})$/.exec(firstLine)?.[1];
  if (hash === undefined) return null;
  // With the flags the CLI itself gave V8 before this pack was compiled (src/cli/v8-flags.ts).
  const flags = `${process.execArgv.join(" ")}\0${env["NODE_OPTIONS"] ?? ""}\0${runtimeV8Flags()}`;
  const name = `cli-code-${fileNameHash(`${bundle}\0${process.version}\0${process.arch}\0${flags}`)}.bin`;
  const key = ["athanor-cli-code-cache 3", hash, stats.size, stats.mtimeMs, stats.ctimeMs, stats.ino, stats.dev, process.version, process.arch].join(" ");
  return { path: join(dir, name), key };
}

/**
 * The first line of a cache file: its key and coverage, padded with spaces so that the
 * code after the line starts 8-byte aligned in the buffer the file is read into: V8
 * copies cached data that is not aligned before reading it (~70 page faults of every `heads`).
 */
function cacheLine(key: string, coverage: CodeCoverage): string {
  const line = `${key} ${coverage}`;
  return line.padEnd(Math.ceil((line.length + 1) / 8) * 8 - 1);
}

/**
 * The cached code for `cache` and its coverage when its key line matches, else undefined.
 * A code cache is code V8 runs: only a file owned by this user and writable by no one else
 * is read (checked on the open file, so it cannot be swapped in between).
 */
function readCodeCache(cache: CodeCacheFile, room: Buffer): CachedCode | undefined {
  let fd: number | undefined;
  try {
    // Never through a link, never waiting on a FIFO: athanor writes the cache by renaming a file of its own into place.
    fd = openSync(cache.path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
    const stats = fstatSync(fd);
    const uid = process.getuid?.();
    if (!stats.isFile() || (uid !== undefined && stats.uid !== uid) || (stats.mode & 0o022) !== 0) return undefined;
    const data = stats.size <= room.length ? room.subarray(0, readSync(fd, room, 0, stats.size, 0)) : readFileSync(fd);
    const end = data.indexOf(10);
    if (end <= 0) return undefined;
    const line = data.toString("latin1", 0, end);
    const coverage = line === cacheLine(cache.key, "ran") ? "ran" : line === cacheLine(cache.key, "compiled") ? "compiled" : undefined;
    if (coverage === undefined) return undefined;
    const code = intactCode(data.subarray(end + 1));
    return code === undefined ? undefined : { code, coverage };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes `data` twice under `cache`'s key and `coverage` (see {@link intactCode}): a new temporary file, renamed into
 * place; failures are ignored. The temporary file is created exclusively (`wx`: a file or
 * a symbolic link already at that name, in a cache folder others can write to, is never
 * followed or overwritten) under a name with a random part (two containers sharing the
 * folder can have the same pid).
 */
function writeCodeCache(cache: CodeCacheFile, data: Buffer, coverage: CodeCoverage): void {
  const temporary = `${cache.path}.${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`;
  let created = false;
  try {
    mkdirSync(dirname(cache.path), { recursive: true, mode: 0o700 });
    const fd = openSync(temporary, "wx", 0o600);
    created = true;
    try {
      writeFileSync(fd, Buffer.concat([Buffer.from(`${cacheLine(cache.key, coverage)}\n`, "latin1"), data, data]));
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, cache.path);
  } catch {
    // Only what this run created is removed (never a file someone else put at that name).
    if (created) {
      try {
        unlinkSync(temporary);
      } catch {
        // Already gone.
      }
    }
  }
}

/** A code cache not written for this long is removed when another one is written. */
const STALE_CODE_CACHE_MS = 30 * 24 * 3600 * 1000;

/**
 * Removes the code caches in `cache`'s folder that were last written more than
 * {@link STALE_CODE_CACHE_MS} ago: there is one per bundle path, Node version and Node
 * flags, so upgrades of athanor or Node (and `npx`, which installs each version at a path
 * of its own) would otherwise leave one behind each time. Only when a cache is written
 * (rare), only this user's `cli-code-*.bin` files and their temporary files; a cache still
 * in use that is removed is written again by its next run. Failures are ignored.
 */
function pruneStaleCodeCaches(cache: CodeCacheFile, now: number): void {
  const folder = dirname(cache.path);
  const own = basename(cache.path);
  try {
    for (const name of readdirSync(folder)) {
      if (name === own || !name.startsWith("cli-code-") || !(name.endsWith(".bin") || name.endsWith(".tmp"))) continue;
      const path = join(folder, name);
      try {
        const stats = statSync(path);
        if (!stats.isFile() || stats.uid !== process.getuid?.() || now - stats.mtimeMs < STALE_CODE_CACHE_MS) continue;
        unlinkSync(path);
      } catch {
        // Gone already, or not ours to remove.
      }
    }
  } catch {
    // The folder cannot be listed: nothing to prune.
  }
}

/** The fix for a missing or broken build; bin/athanor.js says the same when this file itself is missing. */
const BUILD_HINT = "in a checkout of athanor, run `npm run build`; in an install, reinstall athanor (`npm install athanor`, or `npm ci` in the project).";

/**
 * Ends the process when the bundle cannot be read or compiled (a checkout never built, a
 * build interrupted, a damaged install): one line naming the fix and status 2 (DESIGN.md
 * §5: the installation is the configuration here), not Node's stack. The CLI, which maps
 * every other error to its status, is what failed to load.
 */
function stopOnBrokenBundle(bundle: string, reason: unknown): never {
  process.stderr.write(`error: athanor's built CLI ${bundle} ${brokenState(reason)}\n  hint: ${BUILD_HINT}\n`);
  process.exit(2);
}

/**
 * A pack that cannot be loaded once the command runs (an install that lost a file, a build
 * interrupted), as the command's error: a configuration error (exit 2, DESIGN.md §5: the
 * installation is the configuration here) naming the file and the fix, like
 * {@link stopOnBrokenBundle} for the bundle itself, so what the command did before it is
 * closed and reported as for any other failure (a revision is rolled back, the lock released).
 */
function brokenPack(file: string, reason: unknown): ConfigError {
  return new ConfigError("broken-install", `athanor's built CLI ${file} ${brokenState(reason)}`, { hint: BUILD_HINT, details: { file } });
}

/** The code and state of a failure to load one of the CLI's files: "is missing (ENOENT)"... */
function brokenState(reason: unknown): string {
  const code = typeof reason === "object" && reason !== null && "code" in reason && typeof reason.code === "string" ? reason.code : reason instanceof Error ? reason.name : String(reason);
  const state = code === "ENOENT" || code === "MODULE_NOT_FOUND" ? "is missing" : code === "SyntaxError" || code === "TypeError" ? "is damaged or incomplete" : "cannot be read";
  return `${state} (${code})`;
}

/** True when argv asks for --verbose (or -v): internal errors then print their stack. */
function wantsStacks(argv: readonly string[]): boolean {
  return argv.includes("--verbose") || argv.includes("-v");
}

/** The `import()` the bundle's chunks route through (the launcher's own: code compiled by vm.Script has none). */
const importModule = (specifier: string): Promise<unknown> => import(specifier);

/** What the packs of one run share while they are loaded. */
interface PackLoading {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The run only prints help or the version: see {@link writeCodeCacheAtExit}. */
  readonly thin: boolean;
  /** Whether stale caches were pruned already (once a run, when a cache is written). */
  pruned: boolean;
  /**
   * The buffer the packs and their code caches are read into, one after the other: the
   * second pack of `heads` (bundle-read.cjs) and its cache then land in pages the first one's
   * already touched instead of ~50 new ones (~0.7 ms on the CI machine, where a page fault
   * costs 12–14 µs). Safe to reuse: V8 copies a pack's text into a string of its own and has
   * read the code cache by the time `new Script` returns. See {@link readRegularFile}.
   */
  scratch: Buffer | undefined;
}

/**
 * Compiles one of the CLI's packs (dist/cli/bundle*.cjs) with its code cache and returns
 * its value, the object of its chunks' functions; writes the cache when it was missing or
 * rejected. Throws what reading or compiling threw.
 */
function compilePack(file: string, loading: PackLoading): unknown {
  // ASCII (the build checks it): Latin-1 is the cheapest decoding. The buffer the file was
  // read into is then reused for the code cache: each new page of memory costs a page fault,
  // ~12 µs on the CI machine.
  const { bytes, room, stats } = readRegularFile(file, loading);
  const source = bytes.toString("latin1");
  const cache = codeCacheFile(file, source, stats, loading.env);
  const cached = cache === null ? undefined : readCodeCache(cache, room);
  const script = new Script(source, { filename: file, ...(cached === undefined ? {} : { cachedData: cached.code }) });
  if (cache !== null && (cached === undefined || script.cachedDataRejected === true)) writeCodeCacheAtExit(cache, script, script.createCachedData(), loading);
  else if (cache !== null && cached?.coverage === "compiled") writeCodeCacheAtExit(cache, script, null, loading);
  return script.runInThisContext();
}

/**
 * Writes `script`'s code cache when the process exits, with every function the command ran:
 * V8 compiles most functions when first called, and a cache taken right after compiling holds
 * only what it compiled eagerly, so every later run compiled the rest again (a one-revision
 * `heads`: 149 M instructions on the main thread with that cache, 125 M with this one, the
 * larger cache's reading included). V8 stamps a cache with the flags in force when it is made
 * and rejects it under others: when the command set a V8 flag after this pack was compiled
 * (bin.ts: `heads` in a large directory sets the young generation's size, `diff` on a large
 * schema the TurboFan flags; --liftoff-only is set before any pack is compiled:
 * src/cli/start-flags.ts), `compiled` — the cache taken before the code ran,
 * under the flags its name says (codeCacheFile) — is written instead, marked as such, or
 * nothing when it is null (the pack was compiled from such a cache, already in place).
 *
 * The first later command that sets no flag after compiling the pack from a `compiled`
 * cache replaces it with one of every function it ran: a script compiled from a cache gets
 * the functions compiled since in `createCachedData()` like one compiled from source
 * (measured on the bundle: 64 kB → 190 kB of code). A command that sets a flag keeps it.
 * Measured against the other designs (docs/architecture.md, "Start-up": round 16): once
 * per cache file, and nothing on a warm run.
 *
 * `loading.thin`: the run only prints help or the version (no command word: `--version`, `--help`,
 * `help`). It runs little of each pack it loads, so its cache is written as `compiled`, for
 * the first real command to replace: written `ran`, a first `athanor --version` after
 * installing left every later `heads` compiling most of the bundle at every run.
 */
function writeCodeCacheAtExit(cache: CodeCacheFile, script: Script, compiled: Buffer | null, loading: PackLoading): void {
  const flags = runtimeV8Flags();
  process.once("exit", () => {
    if (runtimeV8Flags() === flags && !loading.thin) writeCodeCache(cache, script.createCachedData(), "ran");
    else if (compiled !== null) writeCodeCache(cache, compiled, "compiled");
    else return;
    if (!loading.pruned) {
      loading.pruned = true;
      pruneStaleCodeCaches(cache, Date.now());
    }
  });
}

/**
 * How much larger than a pack the buffer it is read into is: its code cache (the compiled
 * code twice, with every function a run compiled: 1.7–2.5 times the pack) is then read into
 * the pages the pack's bytes were, instead of as many new ones (~55 page faults fewer for
 * `heads`); pages never written cost nothing. A larger cache gets a buffer of its own.
 */
const READ_ROOM = 4;

/**
 * The bytes of `file`, the buffer they are at the start of (`loading.scratch`, or a larger one
 * that replaces it: see {@link READ_ROOM}) and the stats of what was read (the code cache's
 * key), opened without waiting (a FIFO put where a pack should be hung the command in
 * `readFileSync`, deaf to signals) and read only when it is a regular file: up to the size
 * fstat gave or the end of the file, as readFileSync reads.
 */
function readRegularFile(file: string, loading: Pick<PackLoading, "scratch">): { readonly bytes: Buffer; readonly room: Buffer; readonly stats: Stats } {
  const fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw Object.assign(new Error(`${file} is not a regular file`), { code: "not a regular file" });
    const wanted = READ_ROOM * stats.size;
    const room = loading.scratch !== undefined && loading.scratch.length >= wanted ? loading.scratch : Buffer.allocUnsafeSlow(wanted);
    loading.scratch = room;
    let length = 0;
    for (let read = -1; read !== 0 && length < stats.size; length += read) read = readSync(fd, room, length, stats.size - length, null);
    return { bytes: room.subarray(0, length), room, stats };
  } finally {
    closeSync(fd);
  }
}

/**
 * What a chunk's require of another names (scripts/build-cli.mjs): `<pack>#<chunk>`, the
 * pack `main` (bundle.cjs) or `read`, `run`, `rest` (bundle-<pack>.cjs). No specifier of
 * Node's looks so: a package name cannot hold `#`, and a package import starts with it.
 */
const CHUNK = /^([a-z]+)#([\w-]+)$/;

/**
 * What a chunk's require of node:module gets: the one function the CLI's modules take from
 * it (scripts/build-cli.mjs fails the build if a chunk uses anything else). Node's
 * node:module is CommonJS's loader plus `register`, `SourceMap` and `findSourceMap`, for
 * which it loads the ES module loader and the source map parser: ~0.7 ms of every start-up
 * that neither this launcher nor any chunk needs (launch.cjs takes `createRequire` from its
 * own module's loader: see the build script).
 */
const NODE_MODULE_FOR_CHUNKS = Object.freeze({ createRequire });

/** The file of pack `key`, beside the bundle. */
function packFile(dir: string, key: string): string {
  return join(dir, key === "main" ? "bundle.cjs" : `bundle-${key}.cjs`);
}

/**
 * Runs the bundled CLI at `bundle` (dist/cli/bundle.cjs) in this process; it reads
 * process.argv and sets the exit status itself.
 *
 * The CLI is ~110 chunks in four packs (scripts/build-cli.mjs): a pack is read and compiled
 * at the first require of one of its chunks, and a chunk runs once, at its first require,
 * into one registry (each class and each module's state exists once, however many chunks
 * import it). `heads` reads two packs, an `upgrade` on PostgreSQL three.
 */
export function launch(bundle: string, env: Readonly<Record<string, string | undefined>> = process.env): void {
  const nodeRequire = createRequire(bundle);
  const dir = dirname(bundle);
  const argv = process.argv.slice(2);
  const command = findCommandName(argv);
  // Before any pack is compiled: each is then compiled, run and cached under one set of flags (src/cli/start-flags.ts).
  const flags = startV8Flags(command);
  if (flags !== "") setV8Flags(flags, nodeRequire);
  const verbose = wantsStacks(argv);
  if (verbose) process.setSourceMapsEnabled(true);
  // Help or the version only: its caches are written for the first real command to replace (writeCodeCacheAtExit).
  const loading: PackLoading = { env, thin: command === undefined || command === "help", pruned: false, scratch: undefined };
  const packs = new Map<string, Record<string, unknown>>();
  /** The pack at `file`, loaded once; throws what loading threw, or a TypeError when its value is no pack. */
  const packAt = (file: string): Record<string, unknown> => {
    let pack = packs.get(file);
    if (pack === undefined) {
      // With --verbose Node's own require loads the packs: it applies their source maps to stacks.
      const value: unknown = verbose ? nodeRequire(file) : compilePack(file, loading);
      if (typeof value !== "object" || value === null) throw new TypeError("not one of the CLI's packs");
      pack = value as Record<string, unknown>;
      packs.set(file, pack);
    }
    return pack;
  };
  const modules = new Map<string, { exports: object }>();
  const chunkRequire = Object.assign(
    (specifier: string): unknown => {
      const chunk = CHUNK.exec(specifier);
      if (chunk === null) return specifier === "node:module" ? NODE_MODULE_FOR_CHUNKS : nodeRequire(specifier);
      const known = modules.get(specifier);
      if (known !== undefined) return known.exports;
      const file = packFile(dir, chunk[1] as string);
      let pack: Record<string, unknown>;
      try {
        pack = packAt(file);
      } catch (error) {
        throw brokenPack(file, error);
      }
      const run = pack[chunk[2] as string];
      if (typeof run !== "function") throw brokenPack(file, new TypeError(`no chunk ${chunk[2] as string} in it`));
      const module = { exports: {} };
      modules.set(specifier, module);
      (run as BundleFunction).call(module.exports, module.exports, chunkRequire, module, file, dir, importModule);
      return module.exports;
    },
    { resolve: nodeRequire.resolve, cache: nodeRequire.cache, main: nodeRequire.main, extensions: nodeRequire.extensions },
  ) as NodeJS.Require;
  // The entry: its pack must load (one line naming the fix otherwise); a pack loaded later
  // that is missing or damaged fails the command like any other error.
  try {
    if (typeof packAt(bundle)["bundle"] !== "function") throw new TypeError("not the bundle's pack");
  } catch (error) {
    stopOnBrokenBundle(bundle, error);
  }
  chunkRequire("main#bundle");
}
