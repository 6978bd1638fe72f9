/**
 * The PGlite template shipped in the package (dist/pglite-template/, made by `npm run
 * build`): a new database starts from it, on disk and in memory, and writes nothing to
 * the user's cache; a template made with another PGlite build, a torn template file and
 * a template that does not start are never used: the database falls back to initdb and
 * works. Needs `npm run build` (npm test builds first).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { createTar } from "nanotar";
import { startPglite, type StartedPglite } from "../src/dialects/pglite-start.js";
import { installedPgliteBuild, readShippedTemplate, shippedTemplateDir } from "../src/dialects/pglite-template.js";
import { tempDir } from "./support/databases.js";

let work: { dir: string; remove(): Promise<void> };
let n = 0;
const fresh = () => join(work.dir, `case-${(n += 1)}`);

/** A copy of the shipped template's folder, its manifest edited by `edit`. */
async function shippedCopy(edit: (manifest: Record<string, unknown>) => void, bytes?: Uint8Array): Promise<string> {
  const dir = fresh();
  await mkdir(dir);
  const manifest = JSON.parse(await readFile(join(shippedTemplateDir(), "manifest.json"), "utf8")) as Record<string, unknown>;
  if (bytes === undefined) await copyFile(join(shippedTemplateDir(), String(manifest["file"])), join(dir, String(manifest["file"])));
  else await writeFile(join(dir, String(manifest["file"])), bytes);
  edit(manifest);
  await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest));
  return dir;
}

/** Works as a database: creates, writes and reads a table. */
async function usable(started: StartedPglite): Promise<number> {
  try {
    await started.db.exec("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);");
    const result = await started.db.query<{ n: number }>("SELECT count(*)::int AS n FROM t");
    return result.rows[0]?.n ?? -1;
  } finally {
    await started.db.close();
  }
}

beforeAll(async () => {
  work = await tempDir("athanor-pglite-template-");
});
afterAll(async () => work.remove());

describe("the shipped template", { timeout: 120_000 }, () => {
  it("is in dist/ and matches the installed PGlite build", async () => {
    expect(await readShippedTemplate(shippedTemplateDir(), await installedPgliteBuild())).not.toBeNull();
  });

  it("starts a new database on disk and in memory; nothing is written to the cache", async () => {
    const cacheDir = fresh();
    const dataDir = fresh();
    const onDisk = await startPglite({ dataDir, cacheDir, shippedDir: shippedTemplateDir() });
    expect(onDisk.origin).toBe("shipped");
    expect(await usable(onDisk)).toBe(2);
    expect(await readdir(dataDir)).toContain("PG_VERSION");
    const reopened = await startPglite({ dataDir, cacheDir, shippedDir: shippedTemplateDir() });
    expect(reopened.origin).toBe("existing");
    expect((await reopened.db.query<{ n: number }>("SELECT count(*)::int AS n FROM t")).rows).toEqual([{ n: 2 }]);
    await reopened.db.close();
    const inMemory = await startPglite({ dataDir: null, cacheDir, shippedDir: shippedTemplateDir() });
    expect(inMemory.origin).toBe("shipped");
    expect(await usable(inMemory)).toBe(2);
    expect(await readdir(cacheDir).catch(() => [])).toEqual([]);
  });
});

describe("a template that does not fit falls back to initdb", { timeout: 300_000 }, () => {
  it("made with another PGlite build: not used; initdb runs and the result is cached", async () => {
    const shippedDir = await shippedCopy((manifest) => {
      (manifest["pglite"] as Record<string, unknown>)["wasmSha256"] = "0".repeat(64);
    });
    expect(await readShippedTemplate(shippedDir, await installedPgliteBuild())).toBeNull();
    const cacheDir = fresh();
    const started = await startPglite({ dataDir: fresh(), cacheDir, shippedDir });
    expect(started.origin).toBe("initdb");
    expect(await usable(started)).toBe(2);
    expect((await readdir(cacheDir)).filter((name) => name.startsWith("pglite-template-"))).toHaveLength(1);
  });

  it("a torn file (bytes other than those the manifest hashed): not used", async () => {
    const original = await readFile(join(shippedTemplateDir(), "pgdata.tar.gz"));
    const shippedDir = await shippedCopy(() => {}, original.subarray(0, original.length >> 1));
    expect(await readShippedTemplate(shippedDir, await installedPgliteBuild())).toBeNull();
    const started = await startPglite({ dataDir: null, cacheDir: null, shippedDir });
    expect(started.origin).toBe("initdb");
    expect(await usable(started)).toBe(2);
  });

  it("one that passes the checks but is no database: initdb runs in the emptied directory", async () => {
    // A manifest that vouches for a tar of something else (a stale or hand-made template).
    const bytes = gzipSync(createTar([{ name: "/PG_VERSION", data: "18\n" }, { name: "/global/readme", data: "not a cluster" }]));
    const shippedDir = await shippedCopy((manifest) => {
      manifest["sha256"] = createHash("sha256").update(bytes).digest("hex");
    }, bytes);
    expect(await readShippedTemplate(shippedDir, await installedPgliteBuild())).not.toBeNull();
    const dataDir = fresh();
    const started = await startPglite({ dataDir, cacheDir: null, shippedDir });
    expect(started.origin).toBe("initdb");
    expect(await usable(started)).toBe(2);
    expect(await readdir(join(dataDir, "global"))).not.toContain("readme");
  });
});
