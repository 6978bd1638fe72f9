/**
 * The migration session connects at once and waits, idle, for the migration lock. When the
 * server ends it meanwhile (its idle_session_timeout), the run says so — the session was
 * ended while it waited, the server's reason, the setting and the fix — instead of pg's
 * "Client has encountered a connection error and is not queryable"; exit 1, nothing
 * applied, no lock left. And a migration session that fails to open (here a missing
 * schema) is reported at once, not after the lock wait. PostgreSQL, in-process CLI.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { lockKey } from "../src/run/lock.js";
import { baseEnv, runCli } from "./support/cli.js";
import { createPostgresDatabase, queryUrl, tempDir, type TestDatabase } from "./support/databases.js";

const R1 = "e1e1e1e1e101";

describe("the migration session while it waits for the migration lock (PostgreSQL)", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase;
  let holder: pg.Client;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-session-ended-"));
    db = await createPostgresDatabase("athanor_session_ended");
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: db.url }, scoped: { url: db.url, schema: "nowhere" } } }));
    await writeFile(join(dir, "migrations", `${R1}_first.sql`), [`-- athanor:revision ${R1}`, "-- athanor:message first", "-- athanor:upgrade", "CREATE TABLE first_t (x int);", ""].join("\n"));
    holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    // The holder waits idle between its statements: the database's idle_session_timeout must not end it.
    await holder.query("SET idle_session_timeout = 0");
  });
  afterAll(async () => {
    await holder.end();
    await db.drop();
    await remove();
  });

  const advisoryLocks = async () => (await queryUrl<{ n: number }>(db.url, "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"))[0]?.n;

  it("ended by the server's idle_session_timeout: says so, names the setting and the fix, exit 1, nothing applied, no lock left", async () => {
    const name = db.name;
    await queryUrl(db.url, `ALTER DATABASE "${name}" SET idle_session_timeout = 1000`);
    const key = lockKey({ schema: "public", table: "athanor_version" }).toString();
    await holder.query("SELECT pg_advisory_lock($1::bigint)", [key]);
    let released = false;
    try {
      const run = runCli(["upgrade", "--lock-wait", "60"], { cwd: dir, env: baseEnv() });
      // Both of the run's connections are there (the lock connection polling), then the idle migration session is ended.
      const backends = async () => (await queryUrl<{ n: number }>(db.url, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'athanor upgrade (development)'"))[0]?.n;
      await vi.waitFor(async () => expect(await backends()).toBe(2), { timeout: 30_000, interval: 20 });
      // Ended, the run reports it at once and closes its lock connection too.
      await vi.waitFor(async () => expect(await backends()).toBeLessThan(2), { timeout: 30_000, interval: 20 });
      await holder.query("SELECT pg_advisory_unlock($1::bigint)", [key]);
      released = true;
      const result = await run;
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr).toMatch(/error: the migration session was ended while it waited \d+\.\d s for the migration lock, before it ran anything \(terminating connection due to idle-session timeout\); nothing was changed/);
      expect(result.stderr).toContain("idle_session_timeout");
      expect(result.stderr).toContain('ALTER ROLE "postgres" SET idle_session_timeout = 0');
      expect(result.stderr).not.toContain("not queryable");
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      if (!released) await holder.query("SELECT pg_advisory_unlock_all()");
      await queryUrl(db.url, `ALTER DATABASE "${name}" RESET idle_session_timeout`);
    }
    expect(await queryUrl(db.url, "SELECT to_regclass('first_t')::text AS t")).toEqual([{ t: null }]);
    expect(await advisoryLocks()).toBe(0);
  });

  it("ended by pg_terminate_backend while the lock is still held by another: reported at once, exit 1, nothing applied, no lock of the run left (trust15 K2)", async () => {
    const key = lockKey({ schema: "public", table: "athanor_version" }).toString();
    await holder.query("SELECT pg_advisory_lock($1::bigint)", [key]);
    try {
      const run = runCli(["upgrade", "--lock-wait", "60"], { cwd: dir, env: baseEnv() });
      // The migration session: the run's connection that is not polling for the lock (its last statement set its settings).
      const migrationSession = async () =>
        (await queryUrl<{ pid: number }>(db.url, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'athanor upgrade (development)' AND query LIKE '%client_connection_check_interval%'"))[0]?.pid;
      await vi.waitFor(async () => expect(await migrationSession()).toBeTypeOf("number"), { timeout: 30_000, interval: 20 });
      await queryUrl(db.url, "SELECT pg_terminate_backend($1)", [await migrationSession()]);
      // Before: reported only once the lock was free (here: never, within the 60 s wait; exit 4 after it).
      const result = await run;
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr).toMatch(/error: the migration session was ended while it waited \d+\.\d s for the migration lock, before it ran anything \(terminating connection due to administrator command\); nothing was changed/);
      expect(result.stderr).not.toContain("not queryable");
      expect(result.stderr).not.toMatch(/\n\s+at /);
      // The lock is still the holder's: the run gave up the wait without it.
      expect(await advisoryLocks()).toBe(1);
    } finally {
      await holder.query("SELECT pg_advisory_unlock($1::bigint)", [key]);
    }
    expect(await queryUrl(db.url, "SELECT to_regclass('first_t')::text AS t")).toEqual([{ t: null }]);
    expect(await advisoryLocks()).toBe(0);
  });

  it("a migration session that cannot be opened (a missing schema) is reported at once, while the lock is still held by another", async () => {
    const key = lockKey({ schema: "nowhere", table: "athanor_version" }).toString();
    await holder.query("SELECT pg_advisory_lock($1::bigint)", [key]);
    try {
      // Before: reported only once the wait was over (here: exit 4 after 5 s, the lock still held).
      const result = await runCli(["--env", "scoped", "upgrade", "--lock-wait", "5"], { cwd: dir, env: baseEnv() });
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toContain('error: schema "nowhere" does not exist');
    } finally {
      await holder.query("SELECT pg_advisory_unlock($1::bigint)", [key]);
    }
    expect(await advisoryLocks()).toBe(0);
  });
});
