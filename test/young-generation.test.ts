/**
 * The real binary keeps V8's young generation small (`--semi-space-growth-factor=1`,
 * src/cli/bin.ts) for `upgrade` and `downgrade` on a large migrations directory, as for
 * the read-only commands: 10,000 revisions held through the run otherwise grow the
 * semi-spaces to 16 MB, ~30 MB of peak RSS (docs/runtime.md, "Memory while a long plan
 * runs"). A TypeScript revision, which runs in the CLI's process, keeps 300,000 objects
 * alive and reports the young generation's size; the directory is made large with hidden
 * files, which the scan skips. The same revision in a small directory shows the growth
 * the flag prevents, so the probe can see it. On PostgreSQL and PGlite.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, spawnCli } from "./support/cli.js";
import { createPostgresDatabase, tempDir, type TestDatabase } from "./support/databases.js";

const MB = 1024 * 1024;
const REVISION = "a1b2c3d4e5f6";

/** A revision whose upgrade and downgrade keep many objects alive and write the young generation's size to $PROBE_DIR/<direction>.json. */
const probeRevision = (direction: "upgrade" | "downgrade") => `  async ${direction}() {
    const kept = [];
    for (let i = 0; i < 300000; i++) kept.push({ name: "x" + i, list: [i] });
    const space = getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
    writeFileSync(join(process.env.PROBE_DIR, "${direction}.json"), JSON.stringify({ newSpace: space.space_size, kept: kept.length }));
  },`;

async function project(url: string, padding: number): Promise<{ dir: string; remove(): Promise<void> }> {
  const project = await tempDir("athanor-young-");
  const migrations = join(project.dir, "migrations");
  await mkdir(migrations);
  await writeFile(join(project.dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url } } }));
  await writeFile(
    join(migrations, `${REVISION}_probe.ts`),
    [
      'import { defineMigration } from "athanor";',
      'import { getHeapSpaceStatistics } from "node:v8";',
      'import { writeFileSync } from "node:fs";',
      'import { join } from "node:path";',
      `export default defineMigration({ revision: "${REVISION}", message: "probe",`,
      probeRevision("upgrade"),
      probeRevision("downgrade"),
      "});",
      "",
    ].join("\n"),
  );
  // Hidden files are not revisions, but they grow the directory's own size (~70 bytes an entry on ext4).
  for (let i = 0; i < padding; i++) await writeFile(join(migrations, `.padding-${String(i).padStart(6, "0")}-so-that-the-directory-entry-is-long`), "");
  return project;
}

async function newSpaceAfter(dir: string, command: "upgrade" | "downgrade"): Promise<number> {
  const target = command === "upgrade" ? "head" : "base";
  const result = await spawnCli([command, target, "--quiet"], { cwd: dir, env: baseEnv({ PROBE_DIR: dir, ATHANOR_CACHE_DIR: "off" }), timeoutMs: 120_000 });
  expect(result.status, result.stderr).toBe(0);
  const probe = JSON.parse(await readFile(join(dir, `${command}.json`), "utf8")) as { newSpace: number; kept: number };
  expect(probe.kept).toBe(300_000);
  return probe.newSpace;
}

const targets: { name: string; url: () => Promise<{ url: string; drop(): Promise<void> }> }[] = [
  { name: "PGlite", url: async () => ({ url: "pglite://./.athanor/db", drop: async () => {} }) },
  {
    name: "PostgreSQL",
    url: async () => {
      const db: TestDatabase = await createPostgresDatabase();
      return { url: db.url, drop: () => db.drop() };
    },
  },
];

for (const target of targets) {
  describe(`young generation of upgrade and downgrade (${target.name})`, () => {
    const cleanup: (() => Promise<void>)[] = [];
    let large: string;
    let small: string;
    beforeAll(async () => {
      for (const padding of [2_000, 0]) {
        const db = await target.url();
        const made = await project(db.url, padding);
        cleanup.push(() => made.remove(), () => db.drop());
        if (padding > 0) large = made.dir;
        else small = made.dir;
      }
    }, 120_000);
    afterAll(async () => {
      for (const step of cleanup) await step();
    });

    it("stays at its initial size for a large migrations directory", async () => {
      expect(await newSpaceAfter(large, "upgrade")).toBeLessThanOrEqual(5 * MB);
      expect(await newSpaceAfter(large, "downgrade")).toBeLessThanOrEqual(5 * MB);
    }, 240_000);

    it("grows for a small one (what the flag prevents)", async () => {
      expect(await newSpaceAfter(small, "upgrade")).toBeGreaterThanOrEqual(16 * MB);
      expect(await newSpaceAfter(small, "downgrade")).toBeGreaterThanOrEqual(16 * MB);
    }, 240_000);
  });
}
