/**
 * Issue #8, connection poolers: a PgBouncer started by the test (loopback, a port of its
 * own, config and auth file in a temporary directory), with one alias in transaction
 * pooling and one in session pooling for the same database.
 * - Through transaction pooling the session advisory lock is not reliable: athanor
 *   detects it before taking the lock and refuses (exit 2) with the fix. With four runners
 *   at once it may not tell, but the lock still excludes: no revision runs twice and no
 *   lock is left behind on a pooled server connection.
 * - Statement pooling (no transaction blocks at all) is refused the same way (exit 2).
 * - `migrationUrl` (a direct URL for migrations) works beside a pooled `url`.
 * - Session pooling keeps one server session per client: it works, and excludes.
 * - A schema-scoped environment's search_path (a startup option) does not survive a
 *   pooler that drops `options`: refused (exit 2) rather than run in another schema.
 * Needs `pgbouncer` (Debian package; .ci/run installs it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";
import { baseEnv } from "./support/cli.js";
import { tempDir, type TestDatabase } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";
import { advisoryLocks, athanorBackends, hasStack, pgbouncerBinary, startCli, until, type Bouncer, startPooledDatabase, type PooledDatabase } from "./support/faults.js";

const installed = pgbouncerBinary() !== null;
if (!installed) console.log("[faults-pooler] pgbouncer is not installed: the pooler tests are skipped (apt-get install pgbouncer)");

describe.skipIf(!installed)("through PgBouncer", () => {
  let db: TestDatabase;
  let bouncer: Bouncer;
  let pool: PooledDatabase;
  let dir: { dir: string; remove(): Promise<void> };
  let client: pg.Client;
  const ids = Array.from({ length: 6 }, (_, i) => `f${String(i + 1).padStart(11, "0")}`);

  beforeAll(async () => {
    pool = await startPooledDatabase("athanor_fault_pool", (database) => ({
      txpool: { database, poolMode: "transaction" },
      sesspool: { database, poolMode: "session" },
      stmtpool: { database, poolMode: "statement" },
    }));
    ({ db, bouncer, direct: client } = pool);
    console.log(`[faults-pooler] pgbouncer on 127.0.0.1:${bouncer.port} (transaction, session and statement pools)`);
    dir = await tempDir("athanor-faults-pool-");
    await mkdir(join(dir.dir, "migrations"));
    for (const [i, id] of ids.entries()) {
      await writeFile(
        join(dir.dir, "migrations", `${id}.sql`),
        sqlRevisionText({
          id,
          down: i === 0 ? null : (ids[i - 1] as string),
          message: `pooled ${i + 1}`,
          upgrade: `${i === 0 ? "CREATE TABLE pool_marker (revision text NOT NULL);\n" : ""}CREATE TABLE p_${i} (id int);\nINSERT INTO pool_marker VALUES ('${id}');\nSELECT pg_sleep(0.1);`,
          downgrade: i === 0 ? "DROP TABLE p_0;\nDROP TABLE pool_marker;" : `DROP TABLE p_${i};\nDELETE FROM pool_marker WHERE revision = '${id}';`,
        }),
      );
    }
    const direct = db.url;
    await writeFile(
      join(dir.dir, "athanor.config.json"),
      JSON.stringify({
        migrations: "./migrations",
        environments: {
          pooled: { url: bouncer.url("txpool") },
          split: { url: bouncer.url("txpool"), migrationUrl: direct },
          session: { url: bouncer.url("sesspool") },
          statement: { url: bouncer.url("stmtpool") },
          scoped: { url: bouncer.url("txpool"), schema: "public" },
        },
      }),
    );
  }, 60_000);
  afterAll(async () => {
    await pool?.stop();
    await dir?.remove();
  });

  const env = () => baseEnv();

  it("transaction pooling: a runner refuses before taking the lock (exit 2), naming the pooler and migrationUrl; nothing applied, no lock left", async () => {
    const result = await startCli(["--env", "pooled", "upgrade"], dir.dir, env()).done;
    expect(result.status, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toMatch(/error: the migration lock needs a connection that keeps one server session, but 127\.0\.0\.1:\d+\/txpool goes through a transaction-pooling proxy/);
    expect(result.stderr).toContain("migrationUrl");
    expect(hasStack(result.stderr)).toBe(false);
    expect((await client.query("SELECT to_regclass('pool_marker') AS t, to_regclass('athanor_version') AS v")).rows).toEqual([{ t: null, v: null }]);
    expect(await advisoryLocks(client)).toBe(0);
    // Reads need no lock: they work through the pooler.
    const current = await startCli(["--env", "pooled", "current"], dir.dir, env()).done;
    expect(current.status, current.stderr).toBe(0);
    console.log(`[faults-pooler] transaction pooling: refused with exit 2: ${result.stderr.split("\n")[0]}`);
  }, 60_000);

  // Four runners at once: the pooler check cannot always tell (each statement may land where
  // a session pooler would have put it); what must hold is that the lock still excludes and
  // is released where it was taken (src/dialects/advisory-lock.ts). In practice all four refuse.
  it("transaction pooling, four runners at once: each refuses (lock-needs-session) or runs; no revision twice, no lock left", async () => {
    const runners = Array.from({ length: 4 }, () => startCli(["--env", "pooled", "--json", "upgrade"], dir.dir, env()));
    const results = await Promise.all(runners.map((runner) => runner.done));
    const refused = results.filter((result) => result.status === 2);
    for (const result of results) expect([0, 2], result.stdout + result.stderr).toContain(result.status);
    for (const result of refused) {
      expect(JSON.parse(result.stdout) as { error: { code: string } }).toMatchObject({ error: { code: "lock-needs-session" } });
      expect(hasStack(result.stderr)).toBe(false);
    }
    const ran = results.filter((result) => result.status === 0);
    if (ran.length > 0) {
      const completed = ran.map((result) => (JSON.parse(result.stdout) as { completed: string[] }).completed.length).sort();
      expect(completed.reduce((sum, n) => sum + n, 0)).toBe(ids.length);
      expect((await client.query("SELECT revision, count(*)::int AS n FROM pool_marker GROUP BY 1 ORDER BY 1")).rows).toEqual(ids.map((revision) => ({ revision, n: 1 })));
      expect((await startCli(["--env", "split", "downgrade", "base"], dir.dir, env()).done).status).toBe(0);
    }
    expect((await client.query("SELECT to_regclass('pool_marker') AS t")).rows).toEqual([{ t: null }]);
    expect(await advisoryLocks(client)).toBe(0);
    console.log(`[faults-pooler] transaction pooling, four at once: ${refused.length} refused, ${ran.length} ran`);
  }, 60_000);

  it("statement pooling: upgrade refuses before taking the lock (exit 2), naming statement pooling and migrationUrl; nothing applied, no lock left", async () => {
    const result = await startCli(["--env", "statement", "upgrade"], dir.dir, env()).done;
    expect(result.status, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toMatch(/error: the migration lock needs a connection that keeps one server session, but 127\.0\.0\.1:\d+\/stmtpool goes through a statement-pooling proxy/);
    expect(result.stderr).toContain("migrationUrl");
    expect(result.stderr).not.toContain("hint: null");
    expect(hasStack(result.stderr)).toBe(false);
    expect((await client.query("SELECT to_regclass('pool_marker') AS t, to_regclass('athanor_version') AS v")).rows).toEqual([{ t: null, v: null }]);
    expect(await advisoryLocks(client)).toBe(0);
  }, 60_000);

  it("migrationUrl: the same environment migrates through a direct connection, and four runners at once apply each revision once", async () => {
    const runners = Array.from({ length: 4 }, () => startCli(["--env", "split", "--json", "upgrade"], dir.dir, env()));
    const results = await Promise.all(runners.map((runner) => runner.done));
    for (const result of results) expect(result.status, result.stderr).toBe(0);
    const completed = results.map((result) => (JSON.parse(result.stdout) as { completed: string[] }).completed.length).sort();
    expect(completed).toEqual([0, 0, 0, 6]);
    expect((await client.query("SELECT revision, count(*)::int AS n FROM pool_marker GROUP BY 1 ORDER BY 1")).rows).toEqual(ids.map((revision) => ({ revision, n: 1 })));
    expect(await advisoryLocks(client)).toBe(0);
    expect((await startCli(["--env", "split", "downgrade", "base"], dir.dir, env()).done).status).toBe(0);
  }, 60_000);

  it("a schema-scoped environment through a pooler that drops the startup options is refused (exit 2), not run in the wrong schema", async () => {
    const result = await startCli(["--env", "scoped", "current"], dir.dir, env()).done;
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('instead of "public": something between athanor and the server dropped the startup option');
    expect(result.stderr).toContain("migrationUrl");
  }, 60_000);

  it("session pooling keeps a server session per client: the lock works and excludes", async () => {
    const runners = Array.from({ length: 4 }, () => startCli(["--env", "session", "--json", "upgrade"], dir.dir, env()));
    const results = await Promise.all(runners.map((runner) => runner.done));
    for (const result of results) expect(result.status, result.stderr).toBe(0);
    const completed = results.map((result) => (JSON.parse(result.stdout) as { completed: string[] }).completed.length).sort();
    expect(completed).toEqual([0, 0, 0, 6]);
    expect((await client.query("SELECT revision, count(*)::int AS n FROM pool_marker GROUP BY 1 ORDER BY 1")).rows).toEqual(ids.map((revision) => ({ revision, n: 1 })));
    // The pooler keeps its server connections open: the lock was released on them, not left behind.
    await until(async () => (await athanorBackends(client)).every((backend) => backend.state === "idle"), 5_000, "pooled connections idle");
    expect(await advisoryLocks(client)).toBe(0);
    console.log("[faults-pooler] session pooling: 4 runners, one applied 6 revisions, 3 found nothing to do");
  }, 60_000);
});
