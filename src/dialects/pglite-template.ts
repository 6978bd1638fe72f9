/**
 * PGlite's start, made light. A new data directory normally runs initdb: a second
 * PGlite instance and the initdb WASM beside the first (~0.75 GB peak, seconds). A tar
 * of a pristine data directory (the template, 40 MB) made once per PGlite build and kept
 * in the user's cache directory replaces that: the database starts by unpacking it
 * (~0.35 GB peak). The template is named after the PGlite version and the size of its
 * WASM, so a reinstall of the same build reuses it, and writing a new one removes the
 * others (the cache holds one template, not one per install).
 *
 * Memory: PGlite's shared_buffers default (128 MB) lives in the WASM heap; a migration
 * run touches a few pages of a small schema, so 16 MB is plenty.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";

/** Start parameters added to PGlite's own: a smaller buffer pool. */
export const PGLITE_MEMORY_PARAMS: readonly string[] = ["-c", "shared_buffers=16MB"];

const TEMPLATE_PREFIX = "pglite-template-";

/**
 * Where the data-dir template is cached: `ATHANOR_CACHE_DIR` (`off` or empty disables
 * it), else `$XDG_CACHE_HOME/athanor`, else `~/.cache/athanor`.
 */
export function pgliteCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  const configured = env["ATHANOR_CACHE_DIR"];
  if (configured !== undefined) return configured === "" || configured === "off" ? null : configured;
  const base = env["XDG_CACHE_HOME"] || join(homedir(), ".cache");
  return join(base, "athanor");
}

/** The template's file for the installed PGlite build, or null when PGlite cannot be found. */
export async function pgliteTemplatePath(cacheDir: string): Promise<string | null> {
  try {
    const require = createRequire(import.meta.url);
    const wasm = require.resolve("@electric-sql/pglite/pglite.wasm");
    const { version } = JSON.parse(await readFile(join(wasm, "..", "..", "package.json"), "utf8")) as { version?: unknown };
    const size = (await stat(wasm)).size;
    return join(cacheDir, `${TEMPLATE_PREFIX}${typeof version === "string" ? version.replace(/[^\w.-]/g, "_") : "unknown"}-${size}.tar`);
  } catch {
    return null;
  }
}

/** The cached template as PGlite's `loadDataDir`, or null when there is none. */
export async function readPgliteTemplate(file: string | null): Promise<Blob | null> {
  if (file === null) return null;
  const bytes = await readFile(file).catch(() => null);
  return bytes === null ? null : new Blob([bytes]);
}

/**
 * Dumps the pristine data directory of a just-initialised PGlite into the cache
 * (atomically), then removes every other template there. Failures are ignored: the
 * cache only saves time.
 */
export async function savePgliteTemplate(db: PGlite, file: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    const dump = await db.dumpDataDir("none");
    await mkdir(join(file, ".."), { recursive: true });
    await writeFile(temporary, Buffer.from(await dump.arrayBuffer()), { mode: 0o600 });
    await rename(temporary, file);
    await prunePgliteTemplates(join(file, ".."), file);
  } catch {
    await rm(temporary, { force: true }).catch(() => {});
  }
}

/**
 * Removes the templates of other PGlite builds (and leftovers of interrupted writes
 * older than an hour) from the cache directory, keeping `keep`.
 * @returns the files removed
 */
export async function prunePgliteTemplates(cacheDir: string, keep: string): Promise<string[]> {
  const removed: string[] = [];
  const names = await readdir(cacheDir).catch((): string[] => []);
  for (const name of names) {
    const path = join(cacheDir, name);
    if (!name.startsWith(TEMPLATE_PREFIX) || path === keep) continue;
    if (name.endsWith(".tmp")) {
      // Another process may be writing it right now: only old leftovers go.
      const info = await stat(path).catch(() => null);
      if (info === null || Date.now() - info.mtimeMs < 3_600_000) continue;
    }
    await rm(path, { force: true }).then(() => removed.push(path), () => {});
  }
  return removed;
}
