/**
 * An upgrade's plan check taken from the header cache (src/revisions/section-check.ts): the
 * scan of an `upgrade` checks each SQL file it reads for the cache and keeps the outcome
 * on the file's line, so a later run checks its plan without reading the files, and reads
 * each one once, to send it. What that must not change: a revision that cannot run is
 * still refused before anything runs, and a revision is never sent unless the text sent
 * passes the check (a file edited after the scan, or a cache line that lies, stops the
 * run at that revision: nothing of it runs, the revisions before it stay committed, and
 * the cache is emptied so the next run refuses it before anything runs); the offline
 * script takes no check from the cache. On PostgreSQL, through the library.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { RACY_WINDOW_MS } from "../src/revisions/header-cache.js";
import { loadRevisionGraph, projectCacheDir, readScriptDirectory } from "../src/revisions/script-directory.js";
import { checkUpgradeInText } from "../src/run/check-section.js";
import { runMigration } from "../src/run/migrate.js";
import { createPostgresDatabase, queryUrl, type TestDatabase } from "./support/databases.js";
import { createEngineProject, ids, sqlRevisionText, type EngineProject } from "./support/engine-project.js";

const [A, B, C] = ids(3, "e") as [string, string, string];

/** Waits until files written now are older than the header cache's racy window. */
const ageFiles = (): Promise<void> => sleep(RACY_WINDOW_MS + 150);

interface Setup {
  readonly project: EngineProject;
  /** A new empty database on each call, dropped at the end. */
  database(): Promise<string>;
}

async function withProject(test: (setup: Setup) => Promise<void>): Promise<void> {
  const project = await createEngineProject();
  const databases: TestDatabase[] = [];
  try {
    await project.configure({ development: { url: "${DATABASE_URL}" } });
    await test({
      project,
      async database() {
        const db = await createPostgresDatabase("athanor_seccheck");
        databases.push(db);
        return db.url;
      },
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
  const tables = await queryUrl<{ n: number }>(url, "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'athanor_version'");
  if (tables[0]?.n === 0) return [];
  return (await queryUrl<{ revision: string }>(url, "SELECT revision FROM athanor_version ORDER BY revision")).map((row) => row.revision);
}

async function tables(url: string): Promise<string[]> {
  return (await queryUrl<{ name: string }>(url, "SELECT table_name AS name FROM information_schema.tables WHERE table_name LIKE 'sc\\_%' ORDER BY 1")).map((row) => row.name);
}

async function historyOf(url: string, revision: string): Promise<string[]> {
  const tables = await queryUrl<{ n: number }>(url, "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'athanor_version_history'");
  if (tables[0]?.n === 0) return [];
  return (await queryUrl<{ outcome: string }>(url, "SELECT outcome FROM athanor_version_history WHERE revision = $1 ORDER BY id", [revision])).map((row) => row.outcome);
}

/** The cache's file and its lines by file name (tab-separated fields; the check is the next-to-last). */
async function cacheLines(project: EngineProject): Promise<{ file: string; head: string; lines: Map<string, string[]> }> {
  const dir = projectCacheDir(project.dir);
  const names = (await readdir(dir)).filter((name) => name.endsWith(".txt"));
  expect(names).toHaveLength(1);
  const file = join(dir, names[0] as string);
  const [head = "", ...rest] = (await readFile(file, "utf8")).split("\n").filter((line) => line !== "");
  return { file, head, lines: new Map(rest.map((line) => [line.split("\t")[0] ?? "", line.split("\t")])) };
}

const checkOf = (fields: string[] | undefined): string | undefined => fields?.[fields.length - 2];

async function writeThree(project: EngineProject, third: string): Promise<void> {
  await project.write({ id: A, message: "first", upgrade: "CREATE TABLE sc_a (x int);" });
  await project.write({ id: B, down: A, message: "second", upgrade: "CREATE TABLE sc_b (x int);" });
  await project.write({ id: C, down: B, message: "third", upgrade: third });
}

/**
 * A, B good; C commits in its middle (`third`). The cache is warmed (refused runs fill it
 * too: the scan comes before the plan's check), then C's line made to say it passed, with
 * B's value, as a line of a file without the COMMIT would.
 */
async function plantLyingCheck(setup: Setup, third: string): Promise<void> {
  const { project } = setup;
  await writeThree(project, third);
  await ageFiles();
  for (let run = 0; run < 2; run += 1) await upgrade(project, await setup.database()).catch(() => {});
  const { file, head, lines } = await cacheLines(project);
  const fields = lines.get(`${C}_third.sql`) as string[];
  expect(checkOf(fields)).toBe("x");
  fields[fields.length - 2] = checkOf(lines.get(`${B}_second.sql`)) as string;
  await writeFile(file, `${head}\n${[...lines.values()].map((line) => `${line.join("\t")}\n`).join("")}`);
}

/** Two upgrades on throwaway databases: the first finds no cache and leaves an empty one, the second fills it, checks included. */
async function warmCache(setup: Setup): Promise<void> {
  await ageFiles();
  for (let run = 0; run < 2; run += 1) await upgrade(setup.project, await setup.database());
}

describe("an upgrade's plan check kept in the header cache (PostgreSQL)", () => {
  it("is written beside each SQL file's header by an upgrade's scan, and a warm upgrade applies its plan", () =>
    withProject(async (setup) => {
      const { project } = setup;
      await writeThree(project, "CREATE TABLE sc_c (x int);\nSET LOCAL work_mem = '8MB';");
      await warmCache(setup);
      const { lines } = await cacheLines(project);
      const checks = [...lines.values()].map(checkOf);
      // Each line holds a passed check: twice the section's length, plus one when it may change the session (C's SET).
      expect(checks.map((check) => /^\d+$/.test(check ?? ""))).toEqual([true, true, true]);
      expect(Number(checkOf(lines.get(`${C}_third.sql`))) % 2).toBe(1);
      expect(Number(checkOf(lines.get(`${A}_first.sql`))) % 2).toBe(0);
      const url = await setup.database();
      expect((await upgrade(project, url)).completed).toEqual([A, B, C]);
      expect(await tables(url)).toEqual(["sc_a", "sc_b", "sc_c"]);
    }), 120_000);

  it("marks a revision the plan must check itself, and a warm upgrade still refuses it before anything runs", () =>
    withProject(async (setup) => {
      const { project } = setup;
      await writeThree(project, "CREATE TABLE sc_c (x int);\nCOMMIT;");
      await project.write({ id: "e00000000009", down: C, message: "open", upgrade: "SELECT 'never closed;" });
      await ageFiles();
      // Refused runs fill the cache as well: the scan comes before the plan's check.
      for (let run = 0; run < 2; run += 1) await expect(upgrade(project, await setup.database())).rejects.toMatchObject({ code: "transaction-control" });
      const { lines } = await cacheLines(project);
      expect(checkOf(lines.get(`${C}_third.sql`))).toBe("x");
      expect(checkOf(lines.get("e00000000009_open.sql"))).toBe("x");
      const url = await setup.database();
      await expect(upgrade(project, url)).rejects.toMatchObject({ code: "transaction-control" });
      expect(await appliedIds(url)).toEqual([]);
      expect(await tables(url)).toEqual([]);
    }), 120_000);

  it("never sends a text that does not pass as the cache says: a lying line stops the run at that revision, nothing of it runs", () =>
    withProject(async (setup) => {
      const { project } = setup;
      await plantLyingCheck(setup, "CREATE TABLE sc_c (x int);\nCOMMIT;\nCREATE TABLE sc_c_after (x int);");
      const url = await setup.database();
      await expect(upgrade(project, url)).rejects.toMatchObject({ code: "revision-changed", details: { revision: C } });
      expect(await appliedIds(url)).not.toContain(C);
      // At most the record of a failed attempt, which says why.
      expect(await historyOf(url, C)).not.toContain("success");
      const created = await tables(url);
      expect(created).not.toContain("sc_c");
      expect(created).not.toContain("sc_c_after");
      // The revisions before C are committed or never ran, never half: each table with its row.
      expect(created).toEqual((await appliedIds(url)).map((id) => ({ [A]: "sc_a", [B]: "sc_b" })[id]));
    }), 120_000);

  // Found by adv18, an adversarial review of round 18: both failed before their fixes.
  it("empties the cache when a line is found lying: the next upgrade refuses the revision before anything runs", () =>
    withProject(async (setup) => {
      const { project } = setup;
      await plantLyingCheck(setup, "CREATE TABLE sc_c (x int);\nCOMMIT;");
      await expect(upgrade(project, await setup.database())).rejects.toMatchObject({ code: "revision-changed", details: { revision: C } });
      const url = await setup.database();
      await expect(upgrade(project, url)).rejects.toMatchObject({ code: "transaction-control" });
      expect(await appliedIds(url)).toEqual([]);
    }), 120_000);

  it("`upgrade --sql` takes no check from the cache: it refuses the revision as an online run would", () =>
    withProject(async (setup) => {
      const { project } = setup;
      await plantLyingCheck(setup, "CREATE TABLE sc_c (x int);\nCOMMIT;");
      const outcome = await upgrade(project, await setup.database(), { sql: true }).then(
        (result) => ({ code: "none", sql: result.sql ?? "" }),
        (error: { code?: string }) => ({ code: error.code ?? "?", sql: "" }),
      );
      expect(outcome).toEqual({ code: "transaction-control", sql: "" });
    }), 120_000);

  it("stops at a pending revision edited after the plan's check, before anything of its round trip is sent", () =>
    withProject(async (setup) => {
      const { project } = setup;
      await writeThree(project, "CREATE TABLE sc_c (x int);");
      await warmCache(setup);
      const edit = async (): Promise<void> => {
        await writeFile(join(project.migrationsDir, `${C}_third.sql`), sqlRevisionText({ id: C, down: B, message: "third", upgrade: "CREATE TABLE sc_edited (x int);\nCOMMIT;" }));
      };
      const url = await setup.database();
      await expect(upgrade(project, url, { beforeExecute: [edit] })).rejects.toMatchObject({ code: "revision-changed" });
      const created = await tables(url);
      expect(created).not.toContain("sc_edited");
      expect(created).not.toContain("sc_c");
      expect(await appliedIds(url)).not.toContain(C);
    }), 120_000);

  it("is filled by the first upgrade after a command that reads headers only, once", () =>
    withProject(async (setup) => {
      const { project } = setup;
      await writeThree(project, "CREATE TABLE sc_c (x int);");
      await ageFiles();
      const headersOnly = () => loadRevisionGraph(project.migrationsDir, { cacheDir: projectCacheDir(project.dir), checksums: false });
      await headersOnly();
      await headersOnly();
      expect([...(await cacheLines(project)).lines.values()].map(checkOf)).toEqual(["", "", ""]);
      const url = await setup.database();
      expect((await upgrade(project, url)).completed).toEqual([A, B, C]);
      const filled = await cacheLines(project);
      expect([...filled.lines.values()].map((fields) => /^\d+$/.test(checkOf(fields) ?? ""))).toEqual([true, true, true]);
      // A headers-only scan keeps the checks it finds.
      await headersOnly();
      expect((await cacheLines(project)).lines).toEqual(filled.lines);
    }), 120_000);

  it("reads a large SQL revision whole once to check it, then serves it from the cache like any other", async () => {
    const project = await createEngineProject();
    try {
      // Past the first read (64 KiB), where a headers-only scan stops after the header.
      await project.write({ id: A, message: "large", upgrade: `CREATE TABLE sc_large (x int);\n${"INSERT INTO sc_large VALUES (1);\n".repeat(4000)}` });
      await ageFiles();
      const cacheDir = projectCacheDir(project.dir);
      const scan = () => readScriptDirectory(project.migrationsDir, { cacheDir, checksums: false, checkSection: checkUpgradeInText });
      await scan();
      await scan();
      const { file, head, lines } = await cacheLines(project);
      const fields = lines.get(`${A}_large.sql`) as string[];
      expect(checkOf(fields)).toMatch(/^\d+$/);
      // Planted: a scan that believes the line returns it, one that reads the file does not.
      fields[fields.length - 1] = JSON.stringify("from the cache");
      await writeFile(file, `${head}\n${fields.join("\t")}\n`);
      expect((await scan()).map((revision) => revision.message)).toEqual(["from the cache"]);
    } finally {
      await project.remove();
    }
  }, 60_000);
});
