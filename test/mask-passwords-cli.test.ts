/**
 * A failed revision's password in dynamic SQL reaches neither `upgrade --json`, the
 * JSON log lines nor the history table (the real binary, `npm run build` first).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv, spawnCli } from "./support/cli.js";
import { createPostgresDatabase, queryUrl, tempDir, type TestDatabase } from "./support/databases.js";

let project: { dir: string; remove(): Promise<void> };
let db: TestDatabase;

beforeAll(async () => {
  project = await tempDir("athanor-mask-cli-");
  db = await createPostgresDatabase("athanor_mask");
  await mkdir(join(project.dir, "migrations"));
  const upgrade = [
    "DO $$ BEGIN EXECUTE 'ALTER ROLE athanor_mask_nobody PASSWORD ''DynSecret42'''; END $$;",
    "DO $$ BEGIN EXECUTE format('ALTER ROLE %I PASSWORD %L', 'athanor_mask_nobody', 'FmtSecret45'); END $$;",
  ];
  for (const [n, sql] of upgrade.entries()) {
    const id = `b0000000000${n + 1}`;
    const down = n === 0 ? [] : [`-- athanor:down b0000000000${n}`];
    await writeFile(join(project.dir, "migrations", `${id}_r.sql`), [`-- athanor:revision ${id}`, ...down, "-- athanor:message r", "", "-- athanor:upgrade", sql, ""].join("\n"));
  }
  await writeFile(join(project.dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: db.url } } }));
});
afterAll(async () => {
  await db.drop();
  await project.remove();
});

it("upgrade --json, the JSON log and the history table hold no password of a failed dynamic statement", async () => {
  const first = await spawnCli(["upgrade", "--json", "--log-format", "json"], { cwd: project.dir, env: baseEnv() });
  expect(first.status).toBe(1);
  expect(first.stdout).toContain("PASSWORD ***");
  // The first revision fails; the second is tried once the first is out of the way.
  await writeFile(join(project.dir, "migrations", "b00000000001_r.sql"), ["-- athanor:revision b00000000001", "-- athanor:message r", "", "-- athanor:upgrade", "SELECT 1;", ""].join("\n"));
  const second = await spawnCli(["upgrade", "--json", "--log-format", "json"], { cwd: project.dir, env: baseEnv() });
  expect(second.status).toBe(1);
  const errors = (await queryUrl<{ error: string | null }>(db.url, "SELECT error FROM athanor_version_history WHERE outcome = 'failed'")).map((row) => row.error ?? "");
  expect(errors).toHaveLength(2);
  for (const text of [first.stdout, first.stderr, second.stdout, second.stderr, ...errors]) expect(text).not.toMatch(/DynSecret42|FmtSecret45/);
});
