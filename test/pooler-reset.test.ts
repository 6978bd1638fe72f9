/**
 * A session-pooling PgBouncer whose `server_reset_query` is empty hands a server
 * connection to its next client as the last one left it. athanor's failed or interrupted
 * runs ended their connections with the run lock (an advisory lock of the migration
 * session), the stop gate (of the cancelling connection) and their `SET`s still on those
 * server connections: the next runs waited for that run lock and exited 4, for ever
 * (round 15, pool15 I). Every connection through a pooler now resets its server session
 * (`DISCARD ALL`) before it ends. Needs `pgbouncer` (Debian package).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";
import { baseEnv, spawnCli } from "./support/cli.js";
import { tempDir, type TestDatabase } from "./support/databases.js";
import { advisoryLocks, connect, pgbouncerBinary, type Bouncer, startPooledDatabase, type PooledDatabase } from "./support/faults.js";
import { interruptWhileSleeping } from "./support/interrupt.js";

const installed = pgbouncerBinary() !== null;
if (!installed) console.log("[pooler-reset] pgbouncer is not installed: the test is skipped (apt-get install pgbouncer)");

const R1 = "c5c5c5c5c501";
const R2 = "c5c5c5c5c502";
/** The pool's size: athanor's 3 connections at most, so the check below sees every server connection. */
const POOL_SIZE = 3;

describe.skipIf(!installed)("a session-pooling PgBouncer without a server_reset_query", { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let bouncer: Bouncer;
  let pool: PooledDatabase;
  let dir: { dir: string; remove(): Promise<void> };
  let direct: pg.Client;

  const revision = (id: string, down: string | null, sql: string) =>
    writeFile(join(dir.dir, "migrations", `${id}.sql`), [`-- athanor:revision ${id}`, ...(down === null ? [] : [`-- athanor:down ${down}`]), `-- athanor:message ${id}`, "-- athanor:upgrade", sql, ""].join("\n"));

  beforeAll(async () => {
    pool = await startPooledDatabase("athanor_pool_reset", (database) => ({ sess: { database, poolMode: "session", poolSize: POOL_SIZE } }), { server_reset_query: "" });
    ({ db, bouncer, direct: direct } = pool);
    dir = await tempDir("athanor-pool-reset-");
    await mkdir(join(dir.dir, "migrations"));
    // Timeouts of their own, to tell athanor's SETs from the server's defaults.
    await writeFile(join(dir.dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: bouncer.url("sess"), lockTimeout: "7s", statementTimeout: "13min" } } }));
  }, 60_000);
  afterAll(async () => {
    await pool?.stop();
    await dir?.remove();
  });

  /** What each of the pool's server connections holds: taken all at once, so every one is seen. */
  const pooledSessions = async () => {
    const clients = await Promise.all(Array.from({ length: POOL_SIZE }, () => connect(bouncer.url("sess"))));
    try {
      return await Promise.all(
        clients.map(async (client) =>
          (
            await client.query(
              "SELECT current_setting('lock_timeout') AS lock_timeout, current_setting('statement_timeout') AS statement_timeout, current_setting('idle_session_timeout') AS idle_session_timeout, (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS locks",
            )
          ).rows[0],
        ),
      );
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
  };
  const clean = { lock_timeout: "0", statement_timeout: "0", idle_session_timeout: "0", locks: 0 };

  it("after a failed run: no lock and no setting of athanor's left on the pooled connections; the next run takes the lock", async () => {
    await revision(R1, null, "CREATE TABLE first (x int);\nSELECT 1/0;");
    const failed = await spawnCli(["upgrade"], { cwd: dir.dir, env: baseEnv(), timeoutMs: 60_000 });
    expect(failed.status, failed.stderr).toBe(1);
    expect(failed.stderr).toContain("division by zero");
    expect(await advisoryLocks(direct)).toBe(0);
    expect(await pooledSessions()).toEqual(Array.from({ length: POOL_SIZE }, () => clean));

    await revision(R1, null, "CREATE TABLE first (x int);");
    const next = await spawnCli(["upgrade", "--lock-wait", "5"], { cwd: dir.dir, env: baseEnv(), timeoutMs: 60_000 });
    expect(next.status, next.stderr).toBe(0);
    expect(await pooledSessions()).toEqual(Array.from({ length: POOL_SIZE }, () => clean));
  });

  it("after an interrupted run (SIGINT, the stop gate closed): the same, and the next run applies", async () => {
    await revision(R2, R1, "SELECT pg_sleep(30);");
    const { status, stderr } = await interruptWhileSleeping(dir.dir, db.url);
    expect(status, stderr).toBe(130);
    expect(await advisoryLocks(direct)).toBe(0);
    expect(await pooledSessions()).toEqual(Array.from({ length: POOL_SIZE }, () => clean));

    await revision(R2, R1, "CREATE TABLE second (x int);");
    const next = await spawnCli(["upgrade", "--lock-wait", "5"], { cwd: dir.dir, env: baseEnv(), timeoutMs: 60_000 });
    expect(next.status, next.stderr).toBe(0);
    expect((await direct.query("SELECT to_regclass('second')::text AS t")).rows).toEqual([{ t: "second" }]);
  });
});
