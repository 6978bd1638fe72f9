/**
 * The migration lock's idle connection ended by the server while a revision runs (the
 * server's idle_session_timeout, pg_terminate_backend, a proxy that drops idle
 * connections). The run lock held by the migration session keeps other runs out
 * meanwhile, so the revisions still run once and commit; what the output must get right
 * is the ending: a `lock-lost` error (exit 1) that says the run's revisions committed and
 * lists them, not a driver's "connection error" that reads as a failed run. Through the
 * real binary on PostgreSQL (`npm run build` first).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv } from "./support/cli.js";
import { createPostgresDatabase, tempDir, type TestDatabase } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";
import { advisoryLocks, connect, startCli, until } from "./support/faults.js";

const R1 = "c1c1c1c1c1c1";
const R2 = "d2d2d2d2d2d2";

describe("the lock connection ended by the server during a run (PostgreSQL)", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-lock-lost-"));
    db = await createPostgresDatabase("athanor_lock_lost");
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: db.url } } }));
    await writeFile(join(dir, "migrations", `${R1}_one.sql`), sqlRevisionText({ id: R1, message: "one", upgrade: "CREATE TABLE one (x int);" }));
    await writeFile(join(dir, "migrations", `${R2}_slow.sql`), sqlRevisionText({ id: R2, down: R1, message: "slow", upgrade: "SELECT pg_sleep(2);\nINSERT INTO one VALUES (2);" }));
  });
  afterAll(async () => {
    await db?.drop();
    await remove();
  });

  it("exit 1 with lock-lost saying both revisions committed, each applied once, no lock left", async () => {
    const observer = await connect(db.url);
    try {
      const run = startCli(["upgrade", "--json"], dir, baseEnv({}));
      // The slow revision is running on the migration session; the lock connection sits idle.
      await until(async () => (await observer.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(2)%' AND state = 'active' AND pid <> pg_backend_pid()")).rowCount === 1, 30_000, "the slow revision running");
      const ended = await observer.query(
        `SELECT pg_terminate_backend(a.pid) AS ended FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
          WHERE a.datname = current_database() AND a.state = 'idle' AND a.application_name LIKE 'athanor %'`,
      );
      expect(ended.rowCount).toBe(1);
      const result = await run.done;
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr).not.toContain("internal error");
      expect(result.stderr).toContain("was no longer held when the run ended (its connection was closed during the run");
      expect(result.stderr).toContain("the run itself finished: all 2 revisions of the plan were committed");
      const document = JSON.parse(result.stdout) as { error: { code: string; exitStatus: number; details: { completed: string[] } } };
      expect(document.error).toMatchObject({ code: "lock-lost", exitStatus: 1, details: { completed: [R1, R2] } });
      // What the message says: both committed, once each, and the lock is not stuck.
      const versions = await observer.query<{ revision: string }>("SELECT revision FROM athanor_version ORDER BY revision");
      expect(versions.rows.map((row) => row.revision)).toEqual([R1, R2]);
      const history = await observer.query<{ revision: string; outcome: string }>("SELECT revision, outcome FROM athanor_version_history ORDER BY id");
      expect(history.rows.map((row) => [row.revision, row.outcome])).toEqual([
        [R1, "success"],
        [R2, "success"],
      ]);
      expect((await observer.query<{ n: number }>("SELECT count(*)::int AS n FROM one")).rows[0]?.n).toBe(1);
      await until(async () => (await advisoryLocks(observer)) === 0, 10_000, "no advisory lock left");
    } finally {
      await observer.end();
    }
  });
});
