/**
 * The migration session ended while athanor creates its version tables: the tables'
 * transaction is rolled back, so nothing changed, and the error says so and to rerun
 * (it was a bare `database-error`). Made deterministic by another transaction creating a
 * table of the same name, uncommitted: athanor's `CREATE TABLE IF NOT EXISTS` waits for
 * it, and is ended while it waits.
 */
import { describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv } from "./support/cli.js";
import { createPostgresDatabase, tempDir } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";
import { connect, startCli, until } from "./support/faults.js";

describe("the connection lost while the version tables are created", { timeout: 120_000 }, () => {
  it("exit 1 saying nothing was changed and to run the command again; no table left", async () => {
    const { dir, remove } = await tempDir("athanor-tables-lost-");
    const db = await createPostgresDatabase("athanor_tables_lost");
    const client = await connect(db.url);
    const blocker = await connect(db.url);
    try {
      await mkdir(join(dir, "migrations"));
      await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: "${DATABASE_URL}" } } }));
      await writeFile(join(dir, "migrations", "e00000000001_a.sql"), sqlRevisionText({ id: "e00000000001", message: "a", upgrade: "CREATE TABLE lost_a (id int);" }));
      await blocker.query("BEGIN; CREATE TABLE athanor_version (id int)");
      const run = startCli(["--json", "upgrade"], dir, baseEnv({ DATABASE_URL: db.url }));
      const waiting = async () => (await client.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE '%CREATE TABLE IF NOT EXISTS%' AND pid <> pg_backend_pid()")).rows;
      await until(async () => (await waiting()).length === 1, 30_000, "athanor's CREATE TABLE waiting");
      await client.query("SELECT pg_terminate_backend($1)", [(await waiting())[0]?.pid]);
      const result = await run.done;
      await blocker.query("ROLLBACK");
      expect(result.status, result.stderr).toBe(1);
      const error = (JSON.parse(result.stdout) as { error: { message: string; hint: string } }).error;
      expect(error.message).toMatch(/^the connection to the server was lost while athanor created its version tables \(terminating connection due to administrator command\)/);
      expect(error.hint).toBe("Nothing was changed: the tables are created in one transaction, which the server rolled back. Once the server is back, run the command again.");
      expect((await client.query("SELECT to_regclass('athanor_version')::text AS v, to_regclass('athanor_version_history')::text AS h, to_regclass('lost_a')::text AS a")).rows).toEqual([{ v: null, h: null, a: null }]);
    } finally {
      await blocker.end().catch(() => {});
      await client.end().catch(() => {});
      await db.drop();
      await remove();
    }
  });
});
