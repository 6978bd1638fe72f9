/**
 * SIGINT behind a session-pooling PgBouncer cancels the running revision. The pid a
 * connection through PgBouncer announces is the pooler's own key, not the server backend's:
 * athanor cancelled that pid (pg_cancel_backend), which stopped nothing, and the revision
 * ran to its end and committed after the notice said it was cancelled (adv14 A). It now
 * cancels the backend its opening query found (pg_backend_pid()). Needs `pgbouncer`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { interruptWhileSleeping } from "./support/interrupt.js";
import { createPostgresDatabase, queryUrl, serverUrl, tempDir, type TestDatabase } from "./support/databases.js";
import { pgbouncerBinary, startPgBouncer, type Bouncer } from "./support/faults.js";

const installed = pgbouncerBinary() !== null;
if (!installed) console.log("[interrupt-behind-pooler] pgbouncer is not installed: the test is skipped (apt-get install pgbouncer)");

const R1 = "e7e7e7e7e701";

describe.skipIf(!installed)("SIGINT behind a session-pooling PgBouncer", { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let bouncer: Bouncer;
  let dir: { dir: string; remove(): Promise<void> };

  beforeAll(async () => {
    db = await createPostgresDatabase("athanor_cancel_pooled");
    bouncer = await startPgBouncer(new URL(serverUrl()), { sess: { database: db.name, poolMode: "session" } });
    dir = await tempDir("athanor-cancel-pooled-");
    await mkdir(join(dir.dir, "migrations"));
    await writeFile(join(dir.dir, "migrations", `${R1}_sleeps.sql`), [`-- athanor:revision ${R1}`, "-- athanor:message sleeps", "-- athanor:upgrade", "SELECT pg_sleep(30);", "CREATE TABLE slept (x int);", ""].join("\n"));
    await writeFile(join(dir.dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: bouncer.url("sess") } } }));
  }, 60_000);
  afterAll(async () => {
    await bouncer?.stop();
    await db?.drop();
    await dir?.remove();
  });

  it("cancels the running revision: exit 130, nothing of it committed", async () => {
    const { status, stderr } = await interruptWhileSleeping(dir.dir, db.url);
    expect(status, stderr).toBe(130);
    expect(await queryUrl(db.url, "SELECT to_regclass('slept')::text AS slept")).toEqual([{ slept: null }]);
    expect(await queryUrl(db.url, "SELECT count(*)::int AS n FROM athanor_version")).toEqual([{ n: 0 }]);
  });
});
