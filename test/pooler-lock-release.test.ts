/**
 * The release of an advisory lock taken through a transaction-pooling PgBouncer, when the
 * pool keeps handing the releasing connection another server session. PgBouncer reuses
 * server connections last in, first out: a client alone on the pool gets the server
 * connection its own last statement used. If that is not the one that took the lock, every
 * `pg_advisory_unlock` it sends lands there again, and the lock stayed on the pooled
 * server connection for every later run (seen in faults-pooler's "four runners at once":
 * two locks left, the next tests waited for them). The release now pins the server
 * connections it keeps landing on, each with a transaction of a connection of its own,
 * until one lands where the lock is held (src/dialects/advisory-lock.ts, releaseByPinning).
 * Needs `pgbouncer` (Debian package).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import type { TestDatabase } from "./support/databases.js";
import { connect, pgbouncerBinary, until, type Bouncer, startPooledDatabase, type PooledDatabase } from "./support/faults.js";
import { openSession } from "../src/dialects/open.js";
import { takeAdvisoryLock } from "../src/dialects/advisory-lock.js";
import { parseDatabaseUrl } from "../src/config/url.js";
import type { Session } from "../src/dialects/types.js";

const installed = pgbouncerBinary() !== null;
if (!installed) console.log("[pooler-lock-release] pgbouncer is not installed: the test is skipped (apt-get install pgbouncer)");

const KEY = 7_345_123_001n;

describe.skipIf(!installed)("releasing a lock through transaction pooling when the pool hands out another server session", { timeout: 60_000 }, () => {
  let db: TestDatabase;
  let bouncer: Bouncer;
  let pool: PooledDatabase;
  let direct: pg.Client;

  beforeAll(async () => {
    pool = await startPooledDatabase("athanor_pool_release", (database) => ({ tx: { database, poolMode: "transaction" } }));
    ({ db, bouncer, direct: direct } = pool);
  }, 60_000);
  afterAll(async () => {
    await pool?.stop();
  });

  const backend = async (session: Session, extra = ""): Promise<number> => Number((await session.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid${extra}`)).rows[0]?.pid);
  const holders = async () => (await direct.query<{ pid: number }>("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).rows.map((row) => row.pid);

  it("lands the unlock on the server session that took the lock, and leaves no lock behind", async () => {
    const { target } = parseDatabaseUrl(bouncer.url("tx"), "/", "test");
    const session = await openSession(target, { applicationName: "athanor pool release test" });
    const other = await connect(bouncer.url("tx"));
    try {
      const held = await takeAdvisoryLock(session, { key: KEY, waitMs: 1_000, timeout: () => new Error("lock wait ran out"), name: "the test lock" });
      expect(await holders()).toEqual([held.backendPid]);

      // Another client's transaction takes that server session (the pool's most recent)...
      await other.query("BEGIN");
      expect(Number((await other.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid)).toBe(held.backendPid);
      // ...so the session's next statement runs on another one, which is given back after the
      // other client's: the pool's most recent server connection is now that one, not the lock's.
      const slow = backend(session, ", pg_sleep(1)");
      // Once it runs on a server session of its own (the pool may take a while to open one), the other client commits.
      await until(async () => (await direct.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(1)%' AND state = 'active' AND pid <> $1 AND pid <> pg_backend_pid()", [held.backendPid])).rows.length > 0, 10_000, "the slow statement running on another server session");
      await other.query("COMMIT");
      const elsewhere = await slow;
      expect(elsewhere).not.toBe(held.backendPid);
      await other.end();
      // The session is alone on the pool now: every statement lands where its last one ran.
      for (let i = 0; i < 3; i++) expect(await backend(session)).toBe(elsewhere);

      await held.release();
      expect(await holders()).toEqual([]);
      // The spare connections' transactions were rolled back: no server session is left holding one.
      const open = await direct.query("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'");
      expect(open.rows).toEqual([]);
      // And the session goes on through the pool.
      expect(await backend(session)).toBeGreaterThan(0);
    } finally {
      await other.end().catch(() => {});
      await session.close();
      await direct.query("SELECT pg_advisory_unlock_all()").catch(() => {});
    }
  });
});
