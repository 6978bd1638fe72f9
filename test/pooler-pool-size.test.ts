/**
 * A session-pooling PgBouncer whose pool has room for fewer server connections than
 * athanor holds at once (3: migration session, lock connection, pooler check / canceller).
 * PgBouncer answers a connect itself and queues the connection's first statement until a
 * server connection is free (query_wait_timeout, 120 s by default): with pool_size = 1 the
 * lock connection waited for the server connection its own migration session held, and
 * `upgrade` hung until PgBouncer gave up, deaf to Ctrl-C, then exited 1 with PgBouncer's
 * bare message (round 15, pool15 F). The first answer is now part of the connect: bounded
 * by the connect timeout and ended by the signal. And Ctrl-C while a revision runs in a
 * pool with no server connection left for the canceller: the cancel went nowhere, and the
 * revision ran to its end and committed (exit 0); a protocol cancel request through the
 * pooler now stops it. Needs `pgbouncer` (Debian package).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";
import { BIN, baseEnv, spawnCli } from "./support/cli.js";
import { createPostgresDatabase, queryUrl, serverUrl, tempDir, type TestDatabase } from "./support/databases.js";
import { advisoryLocks, connect, hasStack, pgbouncerBinary, startPgBouncer, type Bouncer, startPooledDatabase, type PooledDatabase } from "./support/faults.js";
import { openSession } from "../src/dialects/open.js";
import { parseDatabaseUrl } from "../src/config/url.js";
import { isAthanorError } from "../src/errors.js";

const installed = pgbouncerBinary() !== null;
if (!installed) console.log("[pooler-pool-size] pgbouncer is not installed: the test is skipped (apt-get install pgbouncer)");

const R1 = "f1f1f1f1f101";
/** PgBouncer's own wait, longer than every wait of the test: the old code waited this long. */
const QUERY_WAIT_TIMEOUT_S = 90;

describe.skipIf(!installed)("a session-pooling PgBouncer whose pool is smaller than athanor needs", { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let bouncer: Bouncer;
  let pool: PooledDatabase;
  let dir: { dir: string; remove(): Promise<void> };
  let direct: pg.Client;

  beforeAll(async () => {
    pool = await startPooledDatabase("athanor_pool_size", (database) => ({ one: { database, poolMode: "session", poolSize: 1 } }), { query_wait_timeout: QUERY_WAIT_TIMEOUT_S });
    ({ db, bouncer, direct: direct } = pool);
    dir = await tempDir("athanor-pool-size-");
    await mkdir(join(dir.dir, "migrations"));
    await writeFile(join(dir.dir, "migrations", `${R1}_first.sql`), [`-- athanor:revision ${R1}`, "-- athanor:message first", "-- athanor:upgrade", "CREATE TABLE pooled (x int);", ""].join("\n"));
    await writeFile(join(dir.dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: bouncer.url("one") } } }));
  }, 60_000);
  afterAll(async () => {
    await pool?.stop();
    await dir?.remove();
  });

  const nothingChanged = async () => {
    expect(await queryUrl(db.url, "SELECT to_regclass('pooled')::text AS t")).toEqual([{ t: null }]);
    expect(await advisoryLocks(direct)).toBe(0);
  };

  /** What opening a session through `url` throws (null when it opens) while another client holds the pool's only server connection. */
  const openErrorWhilePoolHeld = async (url: string): Promise<unknown> => {
    const holder = await connect(bouncer.url("one"));
    try {
      await holder.query("SELECT 1");
      const { target } = parseDatabaseUrl(url, "/", "test");
      return await openSession(target, { connectTimeoutMs: 1_000, applicationName: "athanor test" }).then(
        async (session) => {
          await session.close();
          return null;
        },
        (caught: unknown) => caught,
      );
    } finally {
      await holder.end();
    }
  };

  it("a connection whose first statement gets no server connection gives up at the connect timeout, naming the pool and the fix", async () => {
    const error = await openErrorWhilePoolHeld(bouncer.url("one"));
    expect(isAthanorError(error) ? [error.code, error.exitStatus] : error).toEqual(["pooler-pool-full", 2]);
    expect((error as Error).message).toContain("its first statement got no answer within 1 s");
    expect((error as Error).message).toContain("athanor holds up to 3 server connections through it at once");
    expect((error as { hint?: string }).hint).toContain("set `migrationUrl` to the server's own host and port");
  });

  it("with target_session_attrs=read-write, whose check is the first statement, the wait is bounded the same way", async () => {
    const error = await openErrorWhilePoolHeld(`${bouncer.url("one")}?target_session_attrs=read-write`);
    // Before: the check waited for PgBouncer's query_wait_timeout (90 s here), past the test's timeout.
    expect(isAthanorError(error) ? [error.code, error.exitStatus] : error).toEqual(["pooler-pool-full", 2]);
  });

  it("the same wait ends at once with InterruptedError when the signal aborts", async () => {
    const holder = await connect(bouncer.url("one"));
    try {
      await holder.query("SELECT 1");
      const { target } = parseDatabaseUrl(bouncer.url("one"), "/", "test");
      const abort = new AbortController();
      const opening = openSession(target, { applicationName: "athanor test", signal: abort.signal });
      setTimeout(() => abort.abort("SIGINT"), 300);
      const error = await opening.then(
        async (session) => {
          await session.close();
          return null;
        },
        (caught: unknown) => caught,
      );
      expect(isAthanorError(error) ? error.code : error).toBe("interrupted");
    } finally {
      await holder.end();
    }
  });

  it("`upgrade` exits 2 with the pool's problem and the fix instead of hanging (whichever of its connections waits)", async () => {
    const result = await spawnCli(["upgrade"], { cwd: dir.dir, env: baseEnv(), timeoutMs: 60_000 });
    expect(result.status, result.stderr).toBe(2);
    // The lock connection waiting behind the migration session (pooler-pool-full), or the pooler check's probe behind both (pooler-unchecked).
    expect(result.stderr).toContain("athanor holds up to 3 server connections through it at once");
    expect(result.stderr).toContain("set `migrationUrl` to the server's own host and port");
    expect(result.stderr).toContain("pool_size");
    expect(hasStack(result.stderr)).toBe(false);
    await nothingChanged();
  });

  it("Ctrl-C while one of its connections waits for a server connection: exit 130, nothing changed", async () => {
    const child = spawn(process.execPath, [BIN, "upgrade"], { cwd: dir.dir, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const status = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    // One of its connections holds the pool's server connection: the other waits behind it.
    await expect
      .poll(async () => (await queryUrl<{ n: number }>(db.url, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'athanor upgrade%'"))[0]?.n, { timeout: 30_000, interval: 50 })
      .toBe(1);
    child.kill("SIGINT");
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    try {
      expect(await status, stderr).toBe(130);
    } finally {
      clearTimeout(killer);
    }
    expect(hasStack(stderr)).toBe(false);
    await nothingChanged();
  });
});

describe.skipIf(!installed)("Ctrl-C while a revision runs and another client took the pool's last free server connection", { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let bouncer: Bouncer;
  let dir: { dir: string; remove(): Promise<void> };

  beforeAll(async () => {
    db = await createPostgresDatabase("athanor_pool_cancel");
    // Room for athanor's 3 (the pooler check's connection is back in the pool when the revision runs).
    bouncer = await startPgBouncer(new URL(serverUrl()), { three: { database: db.name, poolMode: "session", poolSize: 3 } });
    dir = await tempDir("athanor-pool-cancel-");
    await mkdir(join(dir.dir, "migrations"));
    await writeFile(join(dir.dir, "migrations", `${R1}_sleeps.sql`), [`-- athanor:revision ${R1}`, "-- athanor:message sleeps", "-- athanor:upgrade", "SELECT pg_sleep(30);", "CREATE TABLE slept (x int);", ""].join("\n"));
    await writeFile(join(dir.dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: bouncer.url("three") } } }));
  }, 60_000);
  afterAll(async () => {
    await bouncer?.stop();
    await db?.drop();
    await dir?.remove();
  });

  it("the cancel still reaches the revision (a protocol cancel request through the pooler): exit 130, nothing of it committed", async () => {
    const child = spawn(process.execPath, [BIN, "upgrade"], { cwd: dir.dir, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const status = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const holder = await connect(bouncer.url("three"));
    try {
      await expect
        .poll(async () => (await queryUrl<{ n: number }>(db.url, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'"))[0]?.n, { timeout: 30_000, interval: 50 })
        .toBe(1);
      // The server connection the pooler check had used: the canceller finds none free.
      await holder.query("SELECT 1");
      child.kill("SIGINT");
      expect(await status, stderr).toBe(130);
    } finally {
      clearTimeout(killer);
      await holder.end();
    }
    expect(hasStack(stderr)).toBe(false);
    expect(await queryUrl(db.url, "SELECT to_regclass('slept')::text AS t")).toEqual([{ t: null }]);
    expect(await queryUrl(db.url, "SELECT count(*)::int AS n FROM athanor_version")).toEqual([{ n: 0 }]);
  });
});
