/**
 * The lock wait names the backend that holds the run lock with its current statement
 * (pg_stat_activity): a leftover backend of a dead runner in a revision's
 * `ALTER ROLE ... PASSWORD '...'` must not put the password on the waiting runner's
 * stderr, its `--json` error or its `--log-format json` `lock-wait` event — masked as a
 * failed statement is (docs/runtime.md).
 */
import { describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runLockKey } from "../src/run/lock.js";
import { baseEnv } from "./support/cli.js";
import { createPostgresDatabase, tempDir } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";
import { connect, startCli, until } from "./support/faults.js";

const PASSWORD = "Hunter2ZqLockWait";

describe("the lock wait's holder", () => {
  it("shows the holder's statement with its password literal masked, in text, --json and the JSON log", async () => {
    const { dir, remove } = await tempDir("athanor-lock-holder-");
    const db = await createPostgresDatabase("athanor_lock_holder");
    const role = `${db.name}_role`;
    const client = await connect(db.url);
    const blocker = await connect(db.url);
    const leftover = await connect(db.url);
    let alter: Promise<unknown> | null = null;
    try {
      await mkdir(join(dir, "migrations"));
      await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: "${DATABASE_URL}" } } }));
      await writeFile(join(dir, "migrations", "e00000000001_a.sql"), sqlRevisionText({ id: "e00000000001", message: "a", upgrade: "CREATE TABLE holder_a (id int);" }));
      const env = baseEnv({ DATABASE_URL: db.url });
      await client.query(`CREATE ROLE "${role}"`);
      // An open transaction that updated the role's row: the leftover's ALTER ROLE waits for it, active.
      await blocker.query(`BEGIN; ALTER ROLE "${role}" CONNECTION LIMIT 5`);
      await leftover.query("SET application_name = 'athanor upgrade (development)'");
      await leftover.query("SELECT pg_advisory_lock($1::bigint)", [runLockKey({ schema: "public", table: "athanor_version" }).toString()]);
      alter = leftover.query(`ALTER ROLE "${role}" PASSWORD '${PASSWORD}'`).catch(() => {});
      await until(async () => (await client.query("SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'ALTER ROLE%PASSWORD%'")).rowCount === 1, 10_000, "the leftover's ALTER ROLE waiting");

      const text = await startCli(["--lock-wait", "1", "upgrade"], dir, env).done;
      expect(text.status, text.stderr).toBe(4);
      expect(text.stderr).toMatch(/pid \d+ \(athanor upgrade \(development\), active: ALTER ROLE "[a-z0-9_]+" PASSWORD '\*\*\*'\)/);
      expect(text.stderr + text.stdout).not.toContain(PASSWORD);

      const json = await startCli(["--lock-wait", "1", "--json", "upgrade"], dir, env).done;
      expect(json.status, json.stderr).toBe(4);
      expect((JSON.parse(json.stdout) as { error: { message: string } }).error.message).toContain("PASSWORD '***'");
      expect(json.stderr + json.stdout).not.toContain(PASSWORD);

      const log = await startCli(["--lock-wait", "1", "--log-format", "json", "upgrade"], dir, env).done;
      expect(log.status, log.stderr).toBe(4);
      const lockWait = log.stderr
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as { event?: string; holder?: string })
        .find((record) => record.event === "lock-wait");
      expect(lockWait?.holder).toContain("PASSWORD '***'");
      expect(log.stderr + log.stdout).not.toContain(PASSWORD);
    } finally {
      await blocker.end().catch(() => {});
      await alter;
      await leftover.end().catch(() => {});
      await client.query(`DROP ROLE IF EXISTS "${role}"`).catch(() => {});
      await client.end().catch(() => {});
      await db.drop();
      await remove();
    }
  });
});
