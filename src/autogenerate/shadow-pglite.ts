/**
 * Starting the shadow PGlite fast. A fresh in-memory PGlite runs initdb every time
 * (~2.5 s); started from a dump of a pristine data directory it takes ~0.6 s. The dump
 * (a 40 MB tar) is made once per PGlite build and kept in a cache directory; without a
 * usable cache, the shadow starts fresh, as before. Contrib extensions are loaded at start
 * (PGlite cannot load them later). The dialect's PGlite session takes neither a data-dir
 * dump nor extensions, hence this small Session of its own; its errors go through
 * toDatabaseError like every driver error.
 */
import { readFile, rm } from "node:fs/promises";
import type { Extensions, PGlite } from "@electric-sql/pglite";
import { driverErrorGuard } from "../dialects/driver-errors.js";
import type { Session } from "../dialects/types.js";
import { sessionOverPglite } from "../dialects/pglite-session.js";
import { PGLITE_MEMORY_PARAMS, pgliteCacheDir, pgliteTemplatePath, savePgliteTemplate } from "../dialects/pglite-template.js";

/** Extension name → module under `@electric-sql/pglite/contrib/` (and its export), as PGlite 0.5 ships them. */
export const pgliteContrib: ReadonlyMap<string, string> = new Map<string, string>(
  [
    "amcheck", "auto_explain", "bloom", "btree_gin", "btree_gist", "citext", "cube", "dict_int", "dict_xsyn", "earthdistance",
    "file_fdw", "fuzzystrmatch", "hstore", "intarray", "isn", "lo", "ltree", "moddatetime", "pageinspect", "pg_buffercache",
    "pg_freespacemap", "pg_stat_statements", "pg_surgery", "pg_trgm", "pg_visibility", "pg_walinspect", "pgcrypto", "seg",
    "tablefunc", "tcn", "tsm_system_rows", "tsm_system_time", "unaccent",
  ]
    .map((name): [string, string] => [name, name])
    .concat([["uuid-ossp", "uuid_ossp"]]),
);

/** Where the data-dir template is cached (see src/dialects/pglite-template.ts). */
export const defaultShadowCacheDir = pgliteCacheDir;

const target = { kind: "pglite", dataDir: null } as const;

const wrap = driverErrorGuard([], target);

/** Starts an in-memory PGlite with the given contrib extensions, from the cached template when there is one. */
export async function startShadowPglite(extensionNames: readonly string[], cacheDir: string | null): Promise<Session> {
  const db = await wrap("connect", async () => {
    const { PGlite: PGliteClass } = await import("@electric-sql/pglite");
    const extensions: Extensions = {};
    for (const name of extensionNames) {
      const moduleName = pgliteContrib.get(name);
      if (moduleName === undefined) continue;
      const loaded: unknown = await import(`@electric-sql/pglite/contrib/${moduleName}`);
      extensions[moduleName] = (loaded as Record<string, Extensions[string]>)[moduleName] as Extensions[string];
    }
    const templateFile = cacheDir === null ? null : await pgliteTemplatePath(cacheDir);
    if (templateFile !== null) {
      const template = await readFile(templateFile).catch(() => null);
      if (template !== null) {
        const fromTemplate = await startFrom(PGliteClass, extensions, template);
        if (fromTemplate !== null) return fromTemplate;
        await rm(templateFile, { force: true }).catch(() => {}); // unusable: made again below
      }
    }
    const fresh = new PGliteClass({ extensions, startParams: [...PGliteClass.defaultStartParams, ...PGLITE_MEMORY_PARAMS] });
    await fresh.waitReady;
    if (templateFile !== null) await savePgliteTemplate(fresh, templateFile);
    return fresh;
  });
  return sessionOverPglite(db, [], target);
}

/** A PGlite started from the template, or null when the template does not work. */
async function startFrom(PGliteClass: typeof PGlite, extensions: Extensions, template: Buffer): Promise<PGlite | null> {
  let db: PGlite | null = null;
  try {
    db = new PGliteClass({ extensions, loadDataDir: new Blob([template]), startParams: [...PGliteClass.defaultStartParams, ...PGLITE_MEMORY_PARAMS] });
    await db.waitReady;
    await db.query("SELECT 1");
    return db;
  } catch {
    await db?.close().catch(() => {});
    return null;
  }
}
