/**
 * What bin/athanor.js runs: the CLI bundled into one CommonJS file (dist/cli/bundle.cjs,
 * written by scripts/build-cli.mjs from src/cli/bin.ts and all it loads), compiled with a
 * V8 code cache. Reading, compiling and linking ~30 ES modules was most of the start-up
 * of a small command; one file, and V8 restoring its compiled code instead of parsing
 * 1 MB of JavaScript, is most of the gain (docs/architecture.md, "Start-up").
 *
 * The code cache is a help, never a requirement, and cannot run other code than the
 * bundle's:
 * - it lives in athanor's cache folder (`ATHANOR_CACHE_DIR`, `off` disables it; else
 *   `$XDG_CACHE_HOME/athanor` or `~/.cache/athanor`), never in the installed package, and
 *   is read only when this user owns it and no one else can write it;
 * - its first line is a key: the bundle's SHA-256 (written by the build into its first
 *   line), its size, mtime, ctime, inode and device, Node's version and architecture; a
 *   cache with another key is not given to V8, which checks its own version, flags and
 *   the source's length besides, and compiles the source normally when it rejects one;
 * - one file per bundle path, Node version and Node flags, written only when it was
 *   missing or rejected, right after the compilation (before any of the bundle's code
 *   runs, so under the flags every run starts with), to a temporary file renamed into
 *   place; any failure to read or write it is ignored.
 * What the cache holds grows with use: V8 compiles most functions only when first
 * called, and a cache taken right after compiling holds only what it compiled eagerly.
 * So a run that evaluated a bundled module the cache does not cover yet (the first
 * `upgrade` after `heads`: pg, the runner...) writes it again as it exits, with every
 * function compiled by then, and the cache's second line lists the modules it covers
 * (all of them, once each command has run). Measured: `current` on one revision runs
 * ~15 % fewer instructions with the functions it calls in the cache.
 * With --verbose (the one time an internal error's stack is printed) the bundle is
 * loaded by Node's own `require` with source maps on, so stacks name dist/'s modules.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Script } from "node:vm";
import { athanorCacheDir } from "../config/cache-dir.js";

/**
 * The bundle's wrapper function: CommonJS's five parameters, the `import()` it routes
 * through this module, and what it calls as each of its modules is evaluated (scripts/build-cli.mjs).
 */
type BundleFunction = (
  exports: object,
  require: NodeJS.Require,
  module: { exports: object },
  filename: string,
  dirname: string,
  importModule: (specifier: string) => Promise<unknown>,
  evaluated: (module: string) => void,
) => void;

/** What a code cache file holds after its key line: the modules whose functions it has, and V8's data. */
interface CodeCacheContent {
  /** The bundled modules (as the bundle names them) evaluated by the run that wrote it; null: never to be rewritten at exit. */
  readonly covers: ReadonlySet<string> | null;
  readonly data: Buffer;
}

/** Where the code cache for `bundle` is, and the key its first line must hold; null when there is none to use. */
interface CodeCacheFile {
  readonly path: string;
  readonly key: string;
}

/** Two 32-bit string hashes as 16 hex digits: a file name, not a secret (no node:crypto at start-up). */
function fileNameHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b + c, 0x85ebca6b) ^ (b >>> 13);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/** The code cache's file and key for `bundle` (whose text is `source`), or null when the cache is off or the bundle unreadable. */
export function codeCacheFile(bundle: string, source: string, env: Readonly<Record<string, string | undefined>>): CodeCacheFile | null {
  const dir = athanorCacheDir(env);
  if (dir === null) return null;
  const firstLine = source.slice(0, source.indexOf("\n"));
  const hash = /^\/\/ athanor-cli-bundle ([0-9a-f]{64})$/.exec(firstLine)?.[1];
  if (hash === undefined) return null;
  const stats = statSync(bundle, { throwIfNoEntry: false });
  if (stats === undefined) return null;
  const flags = `${process.execArgv.join(" ")}\0${env["NODE_OPTIONS"] ?? ""}`;
  const name = `cli-code-${fileNameHash(`${bundle}\0${process.version}\0${process.arch}\0${flags}`)}.bin`;
  const key = ["athanor-cli-code-cache 2", hash, stats.size, stats.mtimeMs, stats.ctimeMs, stats.ino, stats.dev, process.version, process.arch].join(" ");
  return { path: join(dir, name), key };
}

/** The line after the key: `covers` and the modules, `covers *` for a cache never rewritten at exit. */
function coversLine(covers: ReadonlySet<string> | null): string {
  return covers === null ? "covers *" : ["covers", ...covers].join(" ");
}

/**
 * The cached code for `cache` when its key line matches, else undefined. A code cache is
 * code V8 runs: only a file owned by this user and writable by no one else is read
 * (checked on the open file, so it cannot be swapped in between).
 */
function readCodeCache(cache: CodeCacheFile): CodeCacheContent | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(cache.path, "r");
    const stats = fstatSync(fd);
    const uid = process.getuid?.();
    if ((uid !== undefined && stats.uid !== uid) || (stats.mode & 0o022) !== 0) return undefined;
    const data = readFileSync(fd);
    const end = data.indexOf(10);
    if (end <= 0 || data.toString("latin1", 0, end) !== cache.key) return undefined;
    const next = data.indexOf(10, end + 1);
    const line = next === -1 ? "" : data.toString("latin1", end + 1, next);
    if (!line.startsWith("covers")) return undefined;
    const covers = line === "covers *" ? null : new Set(line.split(" ").slice(1));
    return { covers, data: data.subarray(next + 1) };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes `data` under `cache`'s key: a temporary file, renamed into place; failures are ignored. */
function writeCodeCache(cache: CodeCacheFile, covers: ReadonlySet<string> | null, data: Buffer): void {
  const temporary = `${cache.path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(cache.path), { recursive: true, mode: 0o700 });
    writeFileSync(temporary, Buffer.concat([Buffer.from(`${cache.key}\n${coversLine(covers)}\n`, "latin1"), data]), { mode: 0o600 });
    renameSync(temporary, cache.path);
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // Nothing was written.
    }
  }
}

/** True when argv asks for --verbose (or -v): internal errors then print their stack. */
function wantsStacks(argv: readonly string[]): boolean {
  return argv.includes("--verbose") || argv.includes("-v");
}

/**
 * Runs the bundled CLI at `bundle` (dist/cli/bundle.cjs) in this process; it reads
 * process.argv and sets the exit status itself.
 */
export function launch(bundle: string, env: Readonly<Record<string, string | undefined>> = process.env): void {
  const require = createRequire(bundle);
  if (wantsStacks(process.argv.slice(2))) {
    process.setSourceMapsEnabled(true);
    require(bundle);
    return;
  }
  // ASCII (the build checks it): Latin-1 is the cheapest decoding.
  const source = readFileSync(bundle, "latin1");
  const cache = codeCacheFile(bundle, source, env);
  const cached = cache === null ? undefined : readCodeCache(cache);
  const script = new Script(`(function (exports, require, module, __filename, __dirname, __athanorLauncherImport, __athanorLauncherEvaluated) {${source}\n})`, {
    filename: bundle,
    ...(cached === undefined ? {} : { cachedData: cached.data }),
  });
  const evaluated = new Set<string>();
  if (cache !== null) {
    // Written before the bundle runs: what V8 compiled eagerly, and under the V8 flags every
    // run starts with (the CLI sets some later, and puts them back before it exits).
    // A cache V8 rejected although its key matched (V8 flags that differ at exit, set by code
    // that does not put them back?) is written once more and never again at exit: no churn.
    if (cached === undefined || script.cachedDataRejected === true) writeCodeCache(cache, cached === undefined ? new Set() : null, script.createCachedData());
    const covers = cached === undefined ? new Set<string>() : script.cachedDataRejected === true ? null : cached.covers;
    if (covers !== null) {
      process.on("exit", () => {
        // Only when this run evaluated a module the cache has not seen: most runs write nothing.
        let grew = false;
        for (const name of evaluated) if (!covers.has(name)) grew = true;
        if (grew) writeCodeCache(cache, new Set([...covers, ...evaluated]), script.createCachedData());
      });
    }
  }
  const run = script.runInThisContext() as BundleFunction;
  const module = { exports: {} };
  run.call(module.exports, module.exports, require, module, bundle, dirname(bundle), (specifier) => import(specifier), (name) => evaluated.add(name));
}
