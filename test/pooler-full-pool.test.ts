/**
 * A session-pooling PgBouncer whose pool for the database is full (pool_size 2, taken by
 * athanor's own lock connection and migration session, which connect at once; the check's
 * second connection comes after both have asked for a server connection): the check of its pooling mode cannot get a second server
 * connection, and athanor refuses to take the lock there (exit 2). The refusal says what
 * was observed — a pooler in between, a second connection that got no server session, a
 * full pool — and not "a transaction-pooling proxy", which this one is not; and the fix.
 * Needs `pgbouncer` (Debian package; .ci/run installs it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";
import { baseEnv, spawnCli } from "./support/cli.js";
import { tempDir, type TestDatabase } from "./support/databases.js";
import { advisoryLocks, hasStack, pgbouncerBinary, type Bouncer, startPooledDatabase, type PooledDatabase } from "./support/faults.js";

const installed = pgbouncerBinary() !== null;
if (!installed) console.log("[pooler-full-pool] pgbouncer is not installed: the test is skipped (apt-get install pgbouncer)");

const R1 = "d9d9d9d9d901";

describe.skipIf(!installed)("a session-pooling PgBouncer whose pool is full", { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let bouncer: Bouncer;
  let pool: PooledDatabase;
  let dir: { dir: string; remove(): Promise<void> };
  let client: pg.Client;

  beforeAll(async () => {
    pool = await startPooledDatabase("athanor_full_pool", (database) => ({ fullpool: { database, poolMode: "session", poolSize: 2 } }));
    ({ db, bouncer, direct: client } = pool);
    dir = await tempDir("athanor-full-pool-");
    await mkdir(join(dir.dir, "migrations"));
    await writeFile(join(dir.dir, "migrations", `${R1}_first.sql`), [`-- athanor:revision ${R1}`, "-- athanor:message first", "-- athanor:upgrade", "CREATE TABLE pooled (x int);", ""].join("\n"));
    await writeFile(join(dir.dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: bouncer.url("fullpool") } } }));
  }, 60_000);
  afterAll(async () => {
    await pool?.stop();
    await dir?.remove();
  });

  it("refuses with what it saw (a pooler, no free server connection for the check) and the fix, not 'a transaction-pooling proxy'", async () => {
    const result = await spawnCli(["upgrade"], { cwd: dir.dir, env: baseEnv(), timeoutMs: 60_000 });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).not.toContain("transaction-pooling");
    expect(result.stderr).toMatch(/goes through a connection pooler \(it announced backend -?\d+, and the server session is backend \d+\) whose pooling mode could not be checked: a second connection through it got no server session within 5 s: its pool for this database has no free server connection \(pool_size reached\)/);
    // How many server connections athanor needs there, and why (round 15, pool15 F).
    expect(result.stderr).toContain("athanor holds up to 3 server connections through it at once while it migrates: the migration session, the connection that holds the migration lock, and a third");
    expect(result.stderr).toContain("raise the pooler's pool for this database and user to at least 3 server connections");
    expect(result.stderr).toContain("set `migrationUrl` to the server's own host and port");
    expect(hasStack(result.stderr)).toBe(false);
    // Nothing applied, no lock left behind on the pooled server connection.
    expect((await client.query("SELECT to_regclass('pooled')::text AS t")).rows).toEqual([{ t: null }]);
    expect(await advisoryLocks(client)).toBe(0);
  });
});
