/**
 * SIGINT while `upgrade` waits for a lock another session holds (the migration lock, or
 * the run lock of another run's migration session): nothing ran and nothing was taken, and
 * the error says exactly that — not "any revision that was running was rolled back, and
 * the lock released", as it did —, and so does the note said as the signal comes (trust15
 * K1). Exit 130, no version table created, no lock of the run left. Through the real
 * binary against PostgreSQL (`npm run build` first).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { lockKey, runLockKey } from "../src/run/lock.js";
import { startUpgrade } from "./support/interrupt.js";
import { createPostgresDatabase, queryUrl, tempDir, type TestDatabase } from "./support/databases.js";

const R1 = "c7c7c7c7c701";
const TABLE = { schema: "public", table: "athanor_version" };

for (const { lock, key, waitsFor } of [
  { lock: "the migration lock", key: lockKey(TABLE), waitsFor: "the migration lock on public.athanor_version" },
  { lock: "the run lock", key: runLockKey(TABLE), waitsFor: "another run's migration session (the run lock on public.athanor_version)" },
]) describe(`SIGINT while upgrade waits for ${lock} (PostgreSQL)`, { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase;
  let holder: pg.Client;
  let holderPid: number;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-lock-wait-interrupt-"));
    db = await createPostgresDatabase("athanor_lock_wait_interrupt");
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: db.url } } }));
    await writeFile(join(dir, "migrations", `${R1}_first.sql`), [`-- athanor:revision ${R1}`, "-- athanor:message first", "-- athanor:upgrade", "CREATE TABLE first_t (x int);", ""].join("\n"));
    holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    holderPid = Number((await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid, pg_advisory_lock($1::bigint)", [key.toString()])).rows[0]?.pid);
  });
  afterAll(async () => {
    await holder.end();
    await db.drop();
    await remove();
  });

  it("says it stopped while waiting, that nothing ran or changed and no lock is held; exit 130", async () => {
    const run = startUpgrade(dir);
    await vi.waitFor(() => expect(run.stderr).toContain("waiting up to 60 s for the migration lock"), { timeout: 60_000, interval: 50 });
    run.child.kill("SIGINT");
    expect(await run.status, run.stderr).toBe(130);
    expect(run.stderr).toContain(`error: interrupted by SIGINT while waiting for ${waitsFor}: no revision ran, nothing was changed, and no lock is held`);
    // The note said as the signal comes promises nothing about revisions either.
    expect(run.stderr).toContain("SIGINT: stopping: the wait for the lock ends; no revision has run, nothing is changed (press Ctrl-C again");
    expect(run.stderr).not.toContain("a running revision rolled back");
    expect(run.stderr).not.toContain("rolled back, and the lock released");
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).not.toContain(R1);
    expect(await queryUrl(db.url, "SELECT to_regclass('athanor_version')::text AS version, to_regclass('first_t')::text AS first")).toEqual([{ version: null, first: null }]);
    // Only the holder's lock is left: the run took none, or gave back what it took.
    expect(await queryUrl(db.url, "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).toEqual([{ pid: holderPid }]);
  });
});
