/**
 * An upgrade on a server checks its SQL revisions while it waits for its connections,
 * the lock and the applied state (src/run/check-ahead.ts): before the plan is known, so
 * among them revisions already applied. That must change nothing of what a run does:
 * an applied TypeScript revision's module is never loaded (its top-level code would run),
 * a refusal found ahead for an applied revision is not reported, and a pending revision
 * edited after its check still stops the run before it is sent. On PostgreSQL, through
 * the library (a guard of the caller's own edits a file between the check and the send).
 */
import { execFileSync } from "node:child_process";
import { appendFile, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createPostgresDatabase, queryUrl } from "./support/databases.js";
import { createEngineProject, ids, sqlRevisionText, type EngineProject } from "./support/engine-project.js";
import { runMigration } from "../src/run/migrate.js";

const [A, B, C, D] = ids(4, "c") as [string, string, string, string];

async function withDatabase(test: (project: EngineProject, url: string) => Promise<void>): Promise<void> {
  const project = await createEngineProject();
  const db = await createPostgresDatabase("athanor_ahead");
  try {
    await project.configure({ development: { url: "${DATABASE_URL}" } });
    await test(project, db.url);
  } finally {
    await db.drop();
    await project.remove();
  }
}

async function upgrade(project: EngineProject, url: string, options: Partial<Parameters<typeof runMigration>[1]> = {}) {
  const env = await project.env("development", { PATH: process.env["PATH"], DATABASE_URL: url });
  return runMigration(env, { command: "upgrade", target: "head", guardrails: false, ...options });
}

async function appliedIds(url: string): Promise<string[]> {
  return (await queryUrl<{ revision: string }>(url, "SELECT revision FROM athanor_version ORDER BY revision")).map((row) => row.revision);
}

describe("checking ahead of the plan (PostgreSQL)", () => {
  it("never loads an applied TypeScript revision's module, and runs the SQL revisions after it", () =>
    withDatabase(async (project, url) => {
      const marker = join(project.dir, "loaded.txt");
      await project.write({ id: A, message: "first", upgrade: "CREATE TABLE ahead_a (x int);" });
      await project.writeFile(
        `${B}_second.ts`,
        `import { appendFileSync } from "node:fs";\nappendFileSync(${JSON.stringify(marker)}, "loaded\\n");\nexport default { revision: "${B}", down: "${A}", message: "second", async upgrade({ sql }) { await sql.unsafe("CREATE TABLE ahead_b (x int)"); } };\n`,
      );
      expect((await upgrade(project, url)).completed).toEqual([A, B]);
      expect(await readFile(marker, "utf8")).toBe("loaded\n");
      await project.write({ id: C, down: B, message: "third", upgrade: "CREATE TABLE ahead_c (x int);" });
      await project.write({ id: D, down: C, message: "fourth", upgrade: "CREATE TABLE ahead_d (x int);" });
      expect((await upgrade(project, url)).completed).toEqual([C, D]);
      expect(await readFile(marker, "utf8")).toBe("loaded\n");
      expect(await appliedIds(url)).toEqual([A, B, C, D].sort());
    }), 120_000);

  it("does not report a refusal of an applied revision's file that the run never reads", () =>
    withDatabase(async (project, url) => {
      await project.write({ id: A, message: "first", upgrade: "CREATE TABLE ahead_a (x int);" });
      expect((await upgrade(project, url)).completed).toEqual([A]);
      // The applied revision's file now ends inside a string (refused if it were to run), and
      // a new revision is pending: the run checks A's checksum, which the edit changed...
      // so the refusal must be the checksum's (exit 5), not the unterminated string's.
      await appendFile(join(project.migrationsDir, `${A}_first.sql`), "SELECT 'never closed;\n");
      await project.write({ id: B, down: A, message: "second", upgrade: "CREATE TABLE ahead_b (x int);" });
      await expect(upgrade(project, url)).rejects.toMatchObject({ code: "checksum-mismatch" });
      expect(await appliedIds(url)).toEqual([A]);
    }), 120_000);

  it("stops at a pending revision edited after its check, before anything of its round trip is sent", () =>
    withDatabase(async (project, url) => {
      await project.write({ id: A, message: "first", upgrade: "CREATE TABLE ahead_a (x int);" });
      await project.write({ id: B, down: A, message: "second", upgrade: "CREATE TABLE ahead_b (x int);" });
      await project.write({ id: C, down: B, message: "third", upgrade: "CREATE TABLE ahead_c (x int);" });
      const edit = async (): Promise<void> => {
        await writeFile(join(project.migrationsDir, `${C}_third.sql`), sqlRevisionText({ id: C, down: B, message: "third", upgrade: "CREATE TABLE ahead_edited (x int);" }));
      };
      await expect(upgrade(project, url, { beforeExecute: [edit] })).rejects.toMatchObject({ code: "revision-changed" });
      const tables = await queryUrl<{ name: string }>(url, "SELECT table_name AS name FROM information_schema.tables WHERE table_name LIKE 'ahead\\_%' ORDER BY 1");
      expect(tables.map((row) => row.name)).not.toContain("ahead_edited");
      expect(tables.map((row) => row.name)).not.toContain("ahead_c");
      expect(await appliedIds(url)).not.toContain(C);
    }), 120_000);

  it("refuses, without waiting on it, a pending revision's file replaced by a FIFO after its check (adv13 F1), and releases the locks", () =>
    withDatabase(async (project, url) => {
      await project.write({ id: A, message: "first", upgrade: "CREATE TABLE ahead_a (x int);" });
      await project.write({ id: B, down: A, message: "second", upgrade: "CREATE TABLE ahead_b (x int);" });
      const file = join(project.migrationsDir, `${B}_second.sql`);
      const replace = async (): Promise<void> => {
        await rm(file);
        execFileSync("mkfifo", [file]);
      };
      // Opened for reading as a FIFO with no writer, it used to block this thread (signals unheard, both locks held).
      await expect(upgrade(project, url, { beforeExecute: [replace] })).rejects.toMatchObject({ message: expect.stringContaining("it is not a regular file") });
      expect(await appliedIds(url)).not.toContain(B);
      // This database's only: other test files run on the same server at the same time.
      const held = await queryUrl<{ n: number }>(url, "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
      expect(held[0]?.n).toBe(0);
    }), 60_000);
});
