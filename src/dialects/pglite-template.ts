/**
 * PGlite's start, made light. A new data directory normally runs initdb: a second
 * PGlite instance and the initdb WASM beside the first (~0.8 GB peak, 6 s). A tar of a
 * pristine data directory (the template, 40 MB, 4.5 MB gzipped) replaces that:
 *   1. the template shipped in the package (`dist/pglite-template/`, made by `npm run
 *      build`), used only when its manifest names the installed PGlite build (version,
 *      WASM size and SHA-256) and the file's SHA-256 matches;
 *   2. else a template made on this machine and cached in the user's cache directory
 *      (another PGlite build than the package was built with), named after the PGlite
 *      version and the size of its WASM; writing one removes the others;
 *   3. else initdb, whose result is then cached.
 * A database on disk is unpacked by Node before PGlite opens it (PGlite's own
 * `loadDataDir` holds the tar twice in memory and writes each file through its WASM
 * file system: ~130 MB more peak and ~1 s more CPU); an in-memory one takes the template
 * through `loadDataDir`.
 *
 * Memory: PGlite's shared_buffers default (128 MB) lives in the WASM heap; a migration
 * run touches a few pages of a small schema, so 16 MB is plenty.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import type { PGlite } from "@electric-sql/pglite";
import { athanorCacheDir } from "../config/cache-dir.js";

/**
 * Start parameters added to PGlite's own: a smaller buffer pool, a larger lock table, and
 * WAL segments that are not zero-filled when created.
 * A revision runs in one transaction, which locks every table, index, sequence and
 * constraint it touches: the downgrade of a 1,000-table first revision (autogenerate's
 * round trip replays it) ran out of the default (64 per transaction) with "out of shared
 * memory". 256 costs a few MB of the WASM heap.
 *
 * `wal_init_zero=off`: PostgreSQL writes each new 16 MB WAL segment full of zeros, 8 kB at
 * a time; in PGlite's in-memory file system every write past the end grows the file's
 * array by 1/8 and copies it, so each segment cost ~130 MB of copying and left freed
 * arrays for V8 to collect. Off, only the segment's last byte is written (one allocation,
 * zero-filled by JavaScript anyway). PostgreSQL does not rely on the zeros (each WAL page
 * is recognised by its header and CRC; the setting exists for copy-on-write file systems).
 * Measured on the first `revision --autogenerate` into an empty folder (peak RSS, which
 * varies by ±25 MB with when V8 collects): danbooru 375–419 MB → 343–386 MB, 500
 * Rails-style tables on one shadow 445–449 MB → 396–406 MB, 1,000 tables 649–684 MB → 575 MB.
 */
export const PGLITE_MEMORY_PARAMS: readonly string[] = ["-c", "shared_buffers=16MB", "-c", "max_locks_per_transaction=256", "-c", "wal_init_zero=off"];

const TEMPLATE_PREFIX = "pglite-template-";
const MANIFEST = "manifest.json";
const SHIPPED_FILE = "pgdata.tar.gz";

/** A template's bytes, as read from the package or the cache. */
export interface PgliteTemplate {
  readonly origin: "shipped" | "cache";
  /** The file it was read from. */
  readonly file: string;
  readonly bytes: Uint8Array;
  readonly gzipped: boolean;
}

/** The installed PGlite build: what a template must have been made with. */
export interface PgliteBuild {
  readonly version: string;
  readonly wasmBytes: number;
  readonly wasmSha256: string;
}

/** What `dist/pglite-template/manifest.json` records beside the shipped template. */
interface ShippedManifest {
  readonly pglite: PgliteBuild;
  readonly file: string;
  readonly sha256: string;
}

/**
 * Where the data-dir template is cached: `ATHANOR_CACHE_DIR` (`off` or empty disables
 * it), else `$XDG_CACHE_HOME/athanor`, else `~/.cache/athanor`.
 */
export const pgliteCacheDir: (env?: Readonly<Record<string, string | undefined>>) => string | null = athanorCacheDir;

/**
 * The folder of the template shipped in the package: `dist/pglite-template` at the
 * package root, found from this module whether it runs from `dist/dialects/` or, in
 * this repository's tests, from `src/dialects/`.
 */
export function shippedTemplateDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "pglite-template");
}

async function installedWasm(): Promise<{ wasm: string; version: string } | null> {
  try {
    const require = createRequire(import.meta.url);
    const wasm = require.resolve("@electric-sql/pglite/pglite.wasm");
    const { version } = JSON.parse(await readFile(join(wasm, "..", "..", "package.json"), "utf8")) as { version?: unknown };
    return { wasm, version: typeof version === "string" ? version : "unknown" };
  } catch {
    return null;
  }
}

/** The installed PGlite build (its WASM hashed: ~20 ms), or null when PGlite cannot be found. */
export async function installedPgliteBuild(): Promise<PgliteBuild | null> {
  const found = await installedWasm();
  if (found === null) return null;
  const bytes = await readFile(found.wasm).catch(() => null);
  if (bytes === null) return null;
  return { version: found.version, wasmBytes: bytes.length, wasmSha256: sha256(bytes) };
}

/** The template's file in the cache for the installed PGlite build, or null when PGlite cannot be found. */
export async function pgliteTemplatePath(cacheDir: string): Promise<string | null> {
  const found = await installedWasm();
  if (found === null) return null;
  const size = await stat(found.wasm).then((info) => info.size, () => null);
  if (size === null) return null;
  return join(cacheDir, `${TEMPLATE_PREFIX}${found.version.replace(/[^\w.-]/g, "_")}-${size}.tar`);
}

/**
 * The shipped template, or null when there is none, when it was made with another
 * PGlite build than the installed one, or when its bytes are not those the manifest
 * hashed (a torn or edited file): a template is never trusted on its name alone.
 */
export async function readShippedTemplate(dir: string, build: PgliteBuild | null): Promise<PgliteTemplate | null> {
  if (build === null) return null;
  const manifest = parseManifest(await readFile(join(dir, MANIFEST), "utf8").catch(() => null));
  if (manifest === null || !sameBuild(manifest.pglite, build)) return null;
  const file = join(dir, manifest.file);
  const bytes = await readFile(file).catch(() => null);
  if (bytes === null || sha256(bytes) !== manifest.sha256) return null;
  return { origin: "shipped", file, bytes, gzipped: true };
}

/** The template cached for the installed build, or null when there is none. */
export async function readCachedTemplate(file: string | null): Promise<PgliteTemplate | null> {
  if (file === null) return null;
  const bytes = await readFile(file).catch(() => null);
  return bytes === null ? null : { origin: "cache", file, bytes, gzipped: false };
}

/**
 * A tar already in memory, as PGlite's `loadDataDir` takes it. PGlite only calls
 * `arrayBuffer()`, which Node 20's Blob answers by copying 64 kB pieces (0.5 s of CPU for
 * 40 MB); this one hands over the bytes it holds.
 */
class TarBlob extends Blob {
  readonly #tar: ArrayBuffer;

  constructor(tar: ArrayBuffer) {
    super([]);
    this.#tar = tar;
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.resolve(this.#tar);
  }
}

/** The template as PGlite's `loadDataDir` takes it (uncompressed: see inflate). */
export async function templateBlob(template: PgliteTemplate): Promise<Blob> {
  const tar = await inflate(template);
  const exact = tar.byteOffset === 0 && tar.byteLength === tar.buffer.byteLength && tar.buffer instanceof ArrayBuffer;
  return new TarBlob(exact ? (tar.buffer as ArrayBuffer) : new Uint8Array(tar).buffer);
}

/**
 * The template's tar. A gzip stream ends with the size of what it holds (mod 2^32):
 * gunzip into one buffer of that size rather than 16 kB chunks joined at the end
 * (0.35 s of CPU less for 40 MB; PGlite's own gunzip joins chunks).
 */
async function inflate(template: PgliteTemplate): Promise<Uint8Array> {
  if (!template.gzipped) return template.bytes;
  const { bytes } = template;
  const size = bytes.length < 4 ? 0 : new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true);
  const chunkSize = Math.min(Math.max(size + 1, 64 * 1024), 1024 * 1024 * 1024);
  return promisify(gunzip)(bytes, { chunkSize });
}

/**
 * Writes the template's files into `dir` (created, mode 0700; files 0600), as PGlite
 * would on opening it with `loadDataDir`. Throws on an entry that is not a file or a
 * folder or whose name leaves `dir`.
 */
export async function unpackTemplate(template: PgliteTemplate, dir: string): Promise<void> {
  const { parseTar } = await import("nanotar");
  const tar = await inflate(template);
  const root = resolve(dir);
  await mkdir(root, { recursive: true, mode: 0o700 });
  let entries = 0;
  for (const entry of parseTar(tar)) {
    const path = resolve(root, `.${sep}${entry.name.replace(/^\/+/, "")}`);
    if (path !== root && !path.startsWith(root + sep)) throw new Error(`template entry ${entry.name} leaves the data directory`);
    if (entry.type === "directory") await mkdir(path, { recursive: true, mode: 0o700 });
    else if (entry.type === "file") {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await writeFile(path, entry.data ?? new Uint8Array(0), { mode: 0o600 });
    } else throw new Error(`template entry ${entry.name} is a ${entry.type ?? "unknown"}, not a file or a folder`);
    entries += 1;
  }
  if (entries === 0) throw new Error("the template holds no files");
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
 * Makes the template shipped in the package (`npm run build`): a pristine data
 * directory of a just-initialised PGlite, gzipped, with a manifest naming the PGlite
 * build. Nothing is done when the folder already holds a valid template for the
 * installed build (a rebuild costs no initdb).
 * @returns whether a new template was written
 */
export async function writeShippedTemplate(dir: string): Promise<boolean> {
  const build = await installedPgliteBuild();
  if (build === null) throw new Error("@electric-sql/pglite is not installed");
  if ((await readShippedTemplate(dir, build)) !== null) return false;
  const { PGlite: PGliteClass } = await import("@electric-sql/pglite");
  const db = new PGliteClass();
  let tar: Uint8Array;
  try {
    await db.waitReady;
    tar = new Uint8Array(await (await db.dumpDataDir("none")).arrayBuffer());
  } finally {
    await db.close();
  }
  const bytes = await promisify(gzip)(tar, { level: 9 });
  await mkdir(dir, { recursive: true });
  // The manifest goes last and by rename: a build interrupted half-way leaves no manifest
  // that vouches for a torn file.
  await rm(join(dir, MANIFEST), { force: true });
  await writeFile(join(dir, SHIPPED_FILE), bytes);
  const manifest: ShippedManifest = { pglite: build, file: SHIPPED_FILE, sha256: sha256(bytes) };
  await writeFile(join(dir, `${MANIFEST}.tmp`), `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(join(dir, `${MANIFEST}.tmp`), join(dir, MANIFEST));
  return true;
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

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function sameBuild(a: PgliteBuild, b: PgliteBuild): boolean {
  return a.version === b.version && a.wasmBytes === b.wasmBytes && a.wasmSha256 === b.wasmSha256;
}

function parseManifest(text: string | null): ShippedManifest | null {
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as { pglite?: Partial<PgliteBuild>; file?: unknown; sha256?: unknown };
    const pglite = value.pglite;
    if (typeof value.file !== "string" || typeof value.sha256 !== "string" || pglite === undefined) return null;
    if (typeof pglite.version !== "string" || typeof pglite.wasmBytes !== "number" || typeof pglite.wasmSha256 !== "string") return null;
    // The file lives beside the manifest, never elsewhere.
    if (value.file.includes("/") || value.file.includes("\\") || value.file.startsWith(".")) return null;
    return { pglite: { version: pglite.version, wasmBytes: pglite.wasmBytes, wasmSha256: pglite.wasmSha256 }, file: value.file, sha256: value.sha256 };
  } catch {
    return null;
  }
}
