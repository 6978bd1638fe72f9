/**
 * Imports code the user wrote — the config file, the settings module, TypeScript and
 * JavaScript revisions: `.ts`/`.mts`/`.cts` through jiti (loaded lazily), `.js`/`.mjs`
 * natively.
 *
 * jiti keeps the JavaScript it transpiles in a file cache, by default under the system's
 * temporary directory with mode 0644: a config holding a literal password would leave a
 * copy every user of the machine can read. Here the cache is `.athanor/cache/` in the
 * project (mode 0700, checked on every start); when that directory cannot be made
 * private, nothing is cached on disk (each start transpiles again, ~0.3 s).
 *
 * `import ... from "athanor"` in that code resolves to this copy's `define` module
 * (`defineConfig`, `defineMigration` and the types), installed in the project or not:
 * the whole package entry would be transpiled too, on every start.
 */
import { chmodSync, lstatSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { findConfigFile } from "./find.js";

/**
 * The one line that says why user code could not be loaded: the error's first line, with
 * the place jiti gives on the next line for a syntax error (`ParseError: Unexpected token`,
 * then ` /app/athanor.config.ts:4:51`) said as "at line 4, column 52": jiti's column counts
 * from 0, an editor's from 1. Not redacted: the caller redacts.
 */
export function loadFailureLine(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const [first = "", second = ""] = error.message.split("\n");
  const place = /:(\d+):(\d+)\s*$/.exec(second);
  if (place === null) return first.trimEnd();
  return `${first.trimEnd()} at line ${place[1]}, column ${Number(place[2]) + 1}`;
}

/** Options of {@link importUserModule}. */
export interface UserModuleOptions {
  /** The project directory (the config file's); default: found by walking up from the file. */
  readonly projectDir?: string | undefined;
  /** jiti's `interopDefault` (default true); revisions read their default export as is. */
  readonly interopDefault?: boolean | undefined;
  /** Added to a JavaScript file's URL, so an edited file loads anew in a long-lived process. */
  readonly version?: string | undefined;
}

type Importer = (file: string) => Promise<unknown>;
const importers = new Map<string, Promise<Importer>>();
const projectDirs = new Map<string, string | null>();
const cacheDirs = new Map<string, string | false>();

/** True for the extensions jiti transpiles. */
export function isTypeScriptModule(file: string): boolean {
  const ext = extname(file);
  return ext === ".ts" || ext === ".mts" || ext === ".cts";
}

/**
 * `<projectDir>/.athanor/cache`, created with mode 0700 (and set back to it if it was
 * widened); false when it cannot be made private (another owner, a symbolic link, a
 * read-only checkout), and jiti then keeps nothing on disk.
 */
export function privateCacheDir(projectDir: string): string | false {
  const dir = join(projectDir, ".athanor", "cache");
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = lstatSync(dir);
    if (!stat.isDirectory()) return false;
    if (typeof process.getuid === "function" && stat.uid !== process.getuid()) return false;
    if ((stat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
    return dir;
  } catch {
    return false;
  }
}

function projectDirOf(file: string): string | null {
  const start = dirname(file);
  let dir = projectDirs.get(start);
  if (dir === undefined) {
    const config = findConfigFile(start);
    dir = config === undefined ? null : dirname(config);
    projectDirs.set(start, dir);
  }
  return dir;
}

/**
 * jiti, through `require` (its CommonJS entry): `import("jiti")` set up Node's ES module
 * loader and had it scan jiti's 188 kB CommonJS file for its export names (cjs-module-lexer)
 * before the config could load, ~30 ms and ~1,500 page faults of every command in a project
 * with a TypeScript config (what `athanor init` writes); measured on the CI machine, a
 * one-revision `heads` went from 162 to 131 ms.
 */
export function loadJiti(): typeof import("jiti") {
  return createRequire(import.meta.url)("jiti") as typeof import("jiti");
}

function typeScriptImporter(projectDir: string | null, interopDefault: boolean): Promise<Importer> {
  let fsCache: string | false = false;
  if (projectDir !== null) {
    const known = cacheDirs.get(projectDir);
    fsCache = known ?? privateCacheDir(projectDir);
    if (known === undefined) cacheDirs.set(projectDir, fsCache);
  }
  const key = `${String(fsCache)}\0${String(interopDefault)}`;
  let importer = importers.get(key);
  if (importer === undefined) {
    importer = Promise.resolve().then(() => {
      const { createJiti } = loadJiti();
      const athanor = fileURLToPath(new URL("../define.js", import.meta.url));
      const jiti = createJiti(import.meta.url, { alias: { athanor }, moduleCache: false, fsCache, interopDefault });
      return (file: string) => jiti.import(file);
    });
    importers.set(key, importer);
  }
  return importer;
}

/**
 * Imports a module the user wrote and returns its namespace.
 * @example
 * const exports = await importUserModule("/app/athanor.config.ts", { projectDir: "/app" });
 */
export async function importUserModule(file: string, options: UserModuleOptions = {}): Promise<unknown> {
  if (isTypeScriptModule(file)) {
    const importer = await typeScriptImporter(options.projectDir ?? projectDirOf(file), options.interopDefault ?? true);
    return importer(file);
  }
  const url = pathToFileURL(file).href;
  return import(options.version === undefined ? url : `${url}?version=${options.version}`);
}
