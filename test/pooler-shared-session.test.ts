/**
 * A connection pooler that hands one server session to several clients, and a server
 * session that already holds athanor's lock for another client. A session-level advisory
 * lock is re-entrant: asked for again on that server session, it is granted again, and
 * athanor ran beside the lock's real holder. Here a session-pooling PgBouncer with an
 * empty `server_reset_query` keeps the lock a client took and never released (a crashed
 * runner's, or any other program's) on the server connection it hands to the next client:
 * athanor used to take the lock there a second time, apply the revisions, and release
 * one of the two holds, leaving the lock on that server connection for every later run.
 * It now refuses (exit 2), naming the server session and how to end it, and takes
 * nothing. Through transaction pooling the same check keeps a second runner out while the
 * first holds the lock (src/dialects/advisory-lock.ts). Needs `pgbouncer` (Debian package).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";
import { baseEnv, spawnCli } from "./support/cli.js";
import { tempDir, type TestDatabase } from "./support/databases.js";
import { advisoryLocks, connect, pgbouncerBinary, type Bouncer, startPooledDatabase, type PooledDatabase } from "./support/faults.js";
import { lockKey, migrationLock, runLockKey } from "../src/run/lock.js";
import { lockDatabase, sharedLockConnections } from "../src/dialects/open.js";
import { parseDatabaseUrl } from "../src/config/url.js";
import { isAthanorError } from "../src/errors.js";

const installed = pgbouncerBinary() !== null;
if (!installed) console.log("[pooler-shared-session] pgbouncer is not installed: the test is skipped (apt-get install pgbouncer)");

const TABLE = { schema: "public", table: "athanor_version" };

describe.skipIf(!installed)("a pooled server session that already holds athanor's lock for another client", { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let bouncer: Bouncer;
  let pool: PooledDatabase;
  let dir: { dir: string; remove(): Promise<void> };
  let direct: pg.Client;

  beforeAll(async () => {
    pool = await startPooledDatabase("athanor_pool_shared", (database) => ({ sess: { database, poolMode: "session", poolSize: 4 } }), { server_reset_query: "" });
    ({ db, bouncer, direct: direct } = pool);
    dir = await tempDir("athanor-pool-shared-");
    await mkdir(join(dir.dir, "migrations"));
    await writeFile(join(dir.dir, "migrations", "d5d5d5d5d501.sql"), ["-- athanor:revision d5d5d5d5d501", "-- athanor:message one", "-- athanor:upgrade", "CREATE TABLE shared_marker (id int);", ""].join("\n"));
    await writeFile(join(dir.dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: bouncer.url("sess") } } }));
  }, 60_000);
  afterAll(async () => {
    await pool?.stop();
    await dir?.remove();
  });

  /** Another client takes `keys` through the pooler and leaves without releasing them; returns its backend. */
  const leaveLocksBehind = async (keys: readonly bigint[]): Promise<number> => {
    const other = await connect(bouncer.url("sess"));
    try {
      const takes = keys.map((_, i) => `pg_advisory_lock($${i + 1}::bigint)`).join(", ");
      return Number((await other.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid, ${takes}`, keys.map(String))).rows[0]?.pid);
    } finally {
      await other.end();
    }
  };

  /** Who holds advisory locks in the test's database, and how many. */
  const holders = async () =>
    (await direct.query<{ pid: number; n: number }>("SELECT pid, count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) GROUP BY pid")).rows;

  /** What taking the migration lock through the pooler with the library throws (null when it is taken, then released). */
  const lockErrorThroughPooler = async (shared?: ReturnType<typeof sharedLockConnections>): Promise<unknown> => {
    const { target } = parseDatabaseUrl(bouncer.url("sess"), "/", "test");
    const { request, display } = migrationLock({ target, versionTable: TABLE, waitMs: 1_000, applicationName: "athanor test" });
    return lockDatabase(target, request, { applicationName: "athanor test", display, ...(shared === undefined ? {} : { shared }) }).then(
      async (release) => {
        await release();
        return null;
      },
      (caught: unknown) => caught,
    );
  };

  it("refuses (exit 2, lock-needs-session) naming the server session, takes no lock and applies nothing; once it is ended, the run works", async () => {
    // Another client takes both of athanor's locks through the pooler and leaves without releasing them:
    // the empty server_reset_query keeps them on the server connection, which the pool hands out next.
    const pid = await leaveLocksBehind([lockKey(TABLE), runLockKey(TABLE)]);
    expect(await advisoryLocks(direct)).toBe(2);

    const result = await spawnCli(["--json", "upgrade"], { cwd: dir.dir, env: baseEnv() });
    expect(result.status, result.stdout + result.stderr).toBe(2);
    const error = (JSON.parse(result.stdout) as { error: { code: string; message: string; hint: string } }).error;
    expect(error.code).toBe("lock-needs-session");
    expect(error.message).toMatch(/^the (migration lock on public\.athanor_version|run lock) needs a connection that keeps one server session/);
    expect(error.message).toContain(`(backend ${pid}) already holds that lock for another client`);
    expect(error.hint).toContain("migrationUrl");
    expect(error.hint).toContain(`SELECT pg_terminate_backend(${pid})`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // Nothing applied, and athanor added no hold of its own: the two locks are the other client's, on its server
    // session. (That server connection may also be gone: the pooler check's probe, stopped by the refusal in the
    // middle of a statement on it, makes PgBouncer close it, and the backend's end releases both.)
    expect((await direct.query("SELECT to_regclass('shared_marker') AS t")).rows).toEqual([{ t: null }]);
    expect([[{ pid, n: 2 }], []]).toContainEqual(await holders());

    // The fix the hint gives: end that server session; the pooler opens a new one.
    await direct.query("SELECT pg_terminate_backend($1)", [pid]);
    const retried = await spawnCli(["--json", "upgrade"], { cwd: dir.dir, env: baseEnv() });
    expect(retried.status, retried.stdout + retried.stderr).toBe(0);
    expect((JSON.parse(retried.stdout) as { completed: string[] }).completed).toEqual(["d5d5d5d5d501"]);
    expect(await advisoryLocks(direct)).toBe(0);
  });

  it("the lock connection given such a server session refuses it too, before asking for the lock (library: lockDatabase)", async () => {
    const pid = await leaveLocksBehind([lockKey(TABLE)]);
    try {
      // The lock connection is the only client: the pool hands it the server connection the other client left.
      const error = await lockErrorThroughPooler();
      expect(isAthanorError(error) ? [error.code, error.exitStatus] : error).toEqual(["lock-needs-session", 2]);
      expect((error as Error).message).toContain(`the migration lock on public.athanor_version needs a connection that keeps one server session, but the server session this connection was given (backend ${pid}) already holds that lock for another client`);
      // Not granted a second time, and not released by a reset of a server session that is not athanor's.
      expect(await holders()).toEqual([{ pid, n: 1 }]);
    } finally {
      await direct.query("SELECT pg_terminate_backend($1)", [pid]);
    }
  });

  // adv16 A1: the fleet's shared lock connection is a wrapper of the session; the refusal noted on
  // the wrapper left the session marked as keeping its server session, and its close reset it,
  // releasing the other client's lock (a live runner's, through transaction pooling).
  it("a fleet's shared lock connection refused so does not reset that server session when it closes: the other client's lock stays", async () => {
    const pid = await leaveLocksBehind([lockKey(TABLE)]);
    const shared = sharedLockConnections();
    try {
      const error = await lockErrorThroughPooler(shared);
      expect(isAthanorError(error) ? error.code : error).toBe("lock-needs-session");
      await shared.close();
      expect(await holders()).toEqual([{ pid, n: 1 }]);
    } finally {
      await shared.close();
      await direct.query("SELECT pg_terminate_backend($1)", [pid]);
    }
  });
});
