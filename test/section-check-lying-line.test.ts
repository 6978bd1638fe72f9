/**
 * A header-cache line whose section check says "passed" for a revision that must be refused
 * (src/revisions/section-check.ts; found by adv18, an adversarial review of round 18). The
 * online executor checks the text again when it sends it (`sectionOf`); beyond that:
 * - `upgrade --sql` (offline) takes no check from the cache: it refuses the revision as an
 *   online run would, instead of writing the COMMIT into the script;
 * - a line found lying empties the cache: the next upgrade reads and checks every file, and
 *   refuses the revision before anything runs, instead of stopping at it on every run.
 * On PostgreSQL, through the library.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { RACY_WINDOW_MS } from "../src/revisions/header-cache.js";
import { projectCacheDir } from "../src/revisions/script-directory.js";
import { runMigration } from "../src/run/migrate.js";
import { createPostgresDatabase, queryUrl, type TestDatabase } from "./support/databases.js";
import { createEngineProject, ids, type EngineProject } from "./support/engine-project.js";

const [A, B, C] = ids(3, "f") as [string, string, string];

async function withProject(test: (project: EngineProject, database: () => Promise<string>) => Promise<void>): Promise<void> {
  const project = await createEngineProject();
  const databases: TestDatabase[] = [];
  try {
    await project.configure({ development: { url: "${DATABASE_URL}" } });
    await test(project, async () => {
      const db = await createPostgresDatabase("athanor_adv18");
      databases.push(db);
      return db.url;
    });
  } finally {
    for (const db of databases) await db.drop();
    await project.remove();
  }
}

async function upgrade(project: EngineProject, url: string, options: Partial<Parameters<typeof runMigration>[1]> = {}) {
  const env = await project.env("development", { PATH: process.env["PATH"], DATABASE_URL: url });
  return runMigration(env, { command: "upgrade", target: "head", guardrails: false, ...options });
}

async function appliedIds(url: string): Promise<string[]> {
  const found = await queryUrl<{ n: number }>(url, "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'athanor_version'");
  if (found[0]?.n === 0) return [];
  return (await queryUrl<{ revision: string }>(url, "SELECT revision FROM athanor_version ORDER BY revision")).map((row) => row.revision);
}

/** A, B good; C commits in the middle. The cache is warmed, then C's line made to say it passed (B's value). */
async function lyingProject(project: EngineProject, database: () => Promise<string>): Promise<void> {
  await project.write({ id: A, message: "first", upgrade: "CREATE TABLE adv_a (x int);" });
  await project.write({ id: B, down: A, message: "second", upgrade: "CREATE TABLE adv_b (x int);" });
  await project.write({ id: C, down: B, message: "third", upgrade: "CREATE TABLE adv_c (x int);\nCOMMIT;" });
  await sleep(RACY_WINDOW_MS + 150);
  for (let run = 0; run < 2; run += 1) await upgrade(project, await database()).catch(() => {});
  const dir = projectCacheDir(project.dir);
  const name = (await readdir(dir)).find((entry) => entry.endsWith(".txt")) as string;
  const [head, ...rest] = (await readFile(join(dir, name), "utf8")).split("\n").filter((line) => line !== "");
  const lines = rest.map((line) => line.split("\t"));
  const checkOf = (prefix: string) => lines.find((fields) => fields[0]?.startsWith(prefix)) as string[];
  expect(checkOf(C)[9]).toBe("x");
  checkOf(C)[9] = checkOf(B)[9] as string;
  await writeFile(join(dir, name), `${head}\n${lines.map((fields) => `${fields.join("\t")}\n`).join("")}`);
}

describe("adv18: a cache line that says a refused revision passed", () => {
  it("upgrade --sql still refuses the revision, as an online run would", () =>
    withProject(async (project, database) => {
      await lyingProject(project, database);
      const outcome = await upgrade(project, await database(), { sql: true }).then(
        (result) => ({ code: "none", sql: result.sql ?? "" }),
        (error: { code?: string }) => ({ code: error.code ?? "?", sql: "" }),
      );
      expect(outcome.sql).not.toContain("adv_c");
      expect(["transaction-control", "revision-changed"]).toContain(outcome.code);
    }), 120_000);

  it("is not believed again by the next upgrade: that one refuses the COMMIT before anything runs", () =>
    withProject(async (project, database) => {
      await lyingProject(project, database);
      const first = await database();
      await expect(upgrade(project, first)).rejects.toMatchObject({ code: "revision-changed", details: { revision: C } });
      const second = await database();
      await expect(upgrade(project, second)).rejects.toMatchObject({ code: "transaction-control" });
      expect(await appliedIds(second)).toEqual([]);
    }), 120_000);
});
