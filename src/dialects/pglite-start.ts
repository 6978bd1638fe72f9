/**
 * Opening a PGlite database, one way for the dialect's sessions and autogenerate's
 * shadow: an existing data directory is opened as it is; a new database starts from a
 * template (shipped, then cached: see pglite-template.ts) and falls back to initdb
 * when none is usable, so a template never leaves a broken database behind.
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Extensions, PGlite, PGliteOptions } from "@electric-sql/pglite";
import {
  installedPgliteBuild,
  PGLITE_MEMORY_PARAMS,
  pgliteTemplatePath,
  readCachedTemplate,
  readShippedTemplate,
  savePgliteTemplate,
  templateBlob,
  unpackTemplate,
  type PgliteTemplate,
} from "./pglite-template.js";

/** What to open and where templates come from. */
export interface PgliteStartOptions {
  /** The data directory, or null for a database in memory. */
  readonly dataDir: string | null;
  /** Contrib extensions to load at start (PGlite cannot load them later). */
  readonly extensions?: Extensions;
  /** The user's template cache (pglite-template.ts's pgliteCacheDir), or null for none. */
  readonly cacheDir: string | null;
  /** The folder of the shipped template (shippedTemplateDir()), or null to ignore it. */
  readonly shippedDir: string | null;
}

/** An open PGlite and how its database came to be. */
export interface StartedPglite {
  readonly db: PGlite;
  /** `existing`: a data directory opened as it was; otherwise where the new database came from. */
  readonly origin: "existing" | "shipped" | "cache" | "initdb";
}

/** Opens the database, from a template when it is new (see the module comment). */
export async function startPglite(options: PgliteStartOptions): Promise<StartedPglite> {
  const { PGlite: PGliteClass } = await import("@electric-sql/pglite");
  const base: PGliteOptions = {
    startParams: [...PGliteClass.defaultStartParams, ...PGLITE_MEMORY_PARAMS],
    ...(options.extensions === undefined ? {} : { extensions: options.extensions }),
    ...(options.dataDir === null ? {} : { dataDir: options.dataDir }),
  };
  if (options.dataDir !== null && !(await isEmptyDirectory(options.dataDir))) {
    const db = new PGliteClass(base);
    await db.waitReady;
    return { db, origin: "existing" };
  }
  const cacheFile = options.cacheDir === null ? null : await pgliteTemplatePath(options.cacheDir);
  const shipped = options.shippedDir === null ? null : await readShippedTemplate(options.shippedDir, await installedPgliteBuild());
  for (const template of [shipped, await readCachedTemplate(cacheFile)]) {
    if (template === null) continue;
    const db = await startFromTemplate(PGliteClass, base, options.dataDir, template);
    if (db !== null) return { db, origin: template.origin };
    // Unusable (a torn cache write; a shipped template that does not start): the new
    // directory is emptied and the next source tried; a bad cached file is forgotten.
    if (options.dataDir !== null) await emptyDirectory(options.dataDir);
    if (template.origin === "cache") await rm(template.file, { force: true }).catch(() => {});
  }
  if (options.dataDir !== null) await mkdir(options.dataDir, { recursive: true });
  const db = new PGliteClass(base);
  await db.waitReady;
  if (cacheFile !== null) await savePgliteTemplate(db, cacheFile);
  return { db, origin: "initdb" };
}

/** A PGlite started from the template and answering a query, or null (closed) when it does not. */
async function startFromTemplate(
  PGliteClass: typeof PGlite,
  base: PGliteOptions,
  dataDir: string | null,
  template: PgliteTemplate,
): Promise<PGlite | null> {
  let db: PGlite | null = null;
  try {
    // On disk, Node writes the files and PGlite opens them as an existing database.
    if (dataDir !== null) await unpackTemplate(template, dataDir);
    db = new PGliteClass(dataDir === null ? { ...base, loadDataDir: await templateBlob(template) } : base);
    await db.waitReady;
    await db.query("SELECT 1");
    return db;
  } catch {
    await db?.close().catch(() => {});
    return null;
  }
}

/** True when the directory does not exist or holds nothing (a database not created yet). */
async function isEmptyDirectory(dir: string): Promise<boolean> {
  const names = await readdir(dir).catch((error: { code?: string }) => (error.code === "ENOENT" ? [] : null));
  return names !== null && names.length === 0;
}

async function emptyDirectory(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch((): string[] => [])) await rm(join(dir, name), { recursive: true, force: true });
}
