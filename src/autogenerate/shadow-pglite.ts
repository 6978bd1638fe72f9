/**
 * Starting the shadow PGlite fast. A fresh in-memory PGlite runs initdb every time
 * (~2.5 s, 0.8 GB); started from a dump of a pristine data directory it takes ~0.6 s. The
 * dump is the template shipped in the package, or one made once per PGlite build and kept
 * in a cache directory (src/dialects/pglite-template.ts). Contrib extensions are loaded at start
 * (PGlite cannot load them later). The start is the dialect's (startPglite) with
 * extensions and no data directory; its errors go through toDatabaseError like every
 * driver error.
 */
import type { Extensions } from "@electric-sql/pglite";
import { driverErrorGuard } from "../dialects/driver-errors.js";
import type { Session } from "../dialects/types.js";
import { sessionOverPglite } from "../dialects/pglite-session.js";
import { startPglite } from "../dialects/pglite-start.js";
import { pgliteCacheDir, shippedTemplateDir } from "../dialects/pglite-template.js";

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

/**
 * Starts an in-memory PGlite with the given contrib extensions, from the template shipped
 * in the package, else the cached one, else initdb (src/dialects/pglite-start.ts).
 * `shippedDir` null ignores the shipped template.
 */
export async function startShadowPglite(
  extensionNames: readonly string[],
  cacheDir: string | null,
  shippedDir: string | null = shippedTemplateDir(),
): Promise<Session> {
  const { db } = await wrap("connect", async () => {
    const extensions: Extensions = {};
    for (const name of extensionNames) {
      const moduleName = pgliteContrib.get(name);
      if (moduleName === undefined) continue;
      const loaded: unknown = await import(`@electric-sql/pglite/contrib/${moduleName}`);
      extensions[moduleName] = (loaded as Record<string, Extensions[string]>)[moduleName] as Extensions[string];
    }
    return startPglite({ dataDir: null, extensions, cacheDir, shippedDir });
  });
  return sessionOverPglite(db, [], target);
}
