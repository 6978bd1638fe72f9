/**
 * SIGINT when a revision itself holds the stop gate's key (the lock class athanor's gate uses,
 * with the migration session's pid): closing the gate cannot succeed, and it used to wait
 * for ever, so the cancel was never sent, the running revision ran to its end and the next
 * one after it (adv14 E2). The gate's closing now waits at most two seconds; then the cancel
 * goes without it. Through the real binary against PostgreSQL (`npm run build` first).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { interruptWhileSleeping } from "./support/interrupt.js";
import { createPostgresDatabase, queryUrl, tempDir, type TestDatabase } from "./support/databases.js";

const HOLDS = "c6c6c6c6c601";
const SLEEPS = "c6c6c6c6c602";
const AFTER = "c6c6c6c6c603";

function revision(id: string, down: string | null, sql: string): string {
  return [`-- athanor:revision ${id}`, ...(down === null ? [] : [`-- athanor:down ${down}`]), `-- athanor:message ${id}`, "-- athanor:upgrade", sql, ""].join("\n");
}

describe("SIGINT while a revision holds the stop gate's key (PostgreSQL)", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-gate-key-"));
    db = await createPostgresDatabase("athanor_gate_key");
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: db.url } } }));
    // 1635018855 is the gate's lock class ('athg'), src/dialects/stop-gate.ts.
    await writeFile(join(dir, "migrations", `${HOLDS}_holds.sql`), revision(HOLDS, null, "SELECT pg_advisory_lock_shared(1635018855, pg_backend_pid());"));
    await writeFile(join(dir, "migrations", `${SLEEPS}_sleeps.sql`), revision(SLEEPS, HOLDS, "SELECT pg_sleep(40);\nCREATE TABLE slept (x int);"));
    await writeFile(join(dir, "migrations", `${AFTER}_after.sql`), revision(AFTER, SLEEPS, "CREATE TABLE after_t (x int);"));
  });
  afterAll(async () => {
    await db.drop();
    await remove();
  });

  it("the cancel still goes: exit 130, the sleeping revision rolled back, the next one never run", async () => {
    const { status, stderr } = await interruptWhileSleeping(dir, db.url);
    expect(status, stderr).toBe(130);
    expect(await queryUrl(db.url, "SELECT to_regclass('slept')::text AS slept, to_regclass('after_t')::text AS after")).toEqual([{ slept: null, after: null }]);
    expect(await queryUrl(db.url, "SELECT revision FROM athanor_version ORDER BY revision")).toEqual([{ revision: HOLDS }]);
  });
});
