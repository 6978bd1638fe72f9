/**
 * SIGINT while a revision's SQL swallows the cancel (`EXCEPTION WHEN query_canceled`) and
 * another revision follows it in the same round trip: the cancel stops only the statement
 * it reaches, so the server used to go on to the next revision and commit it after
 * athanor had said it stopped (exit 0, everything applied). The stop gate
 * (src/dialects/stop-gate.ts) keeps every revision that had not started from starting;
 * the output says what committed and what did not. Through the real binary against
 * PostgreSQL (`npm run build` first).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv, spawnCli } from "./support/cli.js";
import { interruptWhileSleeping } from "./support/interrupt.js";
import { createPostgresDatabase, queryUrl, tempDir, type TestDatabase } from "./support/databases.js";

const FIRST = "b8b8b8b8b801";
const SWALLOW = "b8b8b8b8b802";
const AFTER = "b8b8b8b8b803";

function revision(id: string, down: string | null, message: string, sql: string): string {
  return [`-- athanor:revision ${id}`, ...(down === null ? [] : [`-- athanor:down ${down}`]), `-- athanor:message ${message}`, "-- athanor:upgrade", sql, ""].join("\n");
}

/**
 * `idleSessionTimeout`: the database's default, which the connection holding the stop gate must
 * not inherit (it would be ended while idle, and the gate reopen: adv14 J); the swallowing
 * revision then goes on for longer than it before it ends.
 */
for (const { idleSessionTimeout, handler } of [
  { idleSessionTimeout: null, handler: "RAISE NOTICE 'cancel swallowed';" },
  { idleSessionTimeout: "1s", handler: "PERFORM pg_sleep(3);" },
]) describe(`SIGINT while a revision swallows the cancel, with another revision in the same round trip (PostgreSQL${idleSessionTimeout === null ? "" : `, idle_session_timeout ${idleSessionTimeout}`})`, { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-swallow-"));
    db = await createPostgresDatabase("athanor_swallow");
    if (idleSessionTimeout !== null) await queryUrl(db.url, `ALTER DATABASE "${db.name}" SET idle_session_timeout = '${idleSessionTimeout}'`);
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: db.url } } }));
    // The first revision of a run travels alone; the next round trip carries the two others together.
    await writeFile(join(dir, "migrations", `${FIRST}_first.sql`), revision(FIRST, null, "first", "CREATE TABLE first_t (x int);"));
    await writeFile(
      join(dir, "migrations", `${SWALLOW}_swallow.sql`),
      revision(SWALLOW, FIRST, "swallows the cancel", `DO $$\nBEGIN\n  PERFORM pg_sleep(60);\nEXCEPTION WHEN query_canceled THEN\n  ${handler}\nEND $$;\nCREATE TABLE swallow_t (x int);`),
    );
    await writeFile(join(dir, "migrations", `${AFTER}_after.sql`), revision(AFTER, SWALLOW, "after", "CREATE TABLE after_t (x int);"));
  });
  afterAll(async () => {
    await db.drop();
    await remove();
  });

  it("no revision starts after the signal: exit 130, the next revision's table absent, the history as committed, the lock free", async () => {
    // The marker: the swallowing revision sleeps in its DO block.
    const { status, stdout, stderr } = await interruptWhileSleeping(dir, db.url);
    expect(status, stderr).toBe(130);
    // The notice, said as the signal came, promises no more than happened.
    expect(stderr).toContain("SIGINT: stopping: the running statement is cancelled and its revision rolled back and recorded as interrupted (one whose SQL catches the cancel runs to its end), athanor sends no further revision and releases the lock; the last message says what committed");
    expect(stderr).toContain(`error: interrupted by SIGINT before revision ${AFTER} started: it did not run, the revisions before it in this run stay committed (${FIRST}, ${SWALLOW}; committed in the round trip that was running when the signal came: ${SWALLOW}); the lock was released`);
    expect(stderr).not.toMatch(/\n\s+at /);
    // What the output lists as applied is what committed.
    expect(stdout).toContain(`upgrade ${SWALLOW} swallows the cancel`);
    expect(stdout).not.toContain(AFTER);

    expect(await queryUrl(db.url, "SELECT to_regclass('after_t')::text AS after, to_regclass('swallow_t')::text AS swallow")).toEqual([{ after: null, swallow: "swallow_t" }]);
    expect(await queryUrl(db.url, "SELECT revision FROM athanor_version ORDER BY revision")).toEqual([{ revision: FIRST }, { revision: SWALLOW }]);
    expect(await queryUrl(db.url, "SELECT revision, outcome FROM athanor_version_history ORDER BY id")).toEqual([
      { revision: FIRST, outcome: "success" },
      { revision: SWALLOW, outcome: "success" },
    ]);
    // No advisory lock left in the database (the migration and run locks, the stop gate).
    expect(await queryUrl(db.url, "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).toEqual([{ n: 0 }]);
    // The lock is free: a run that does not wait for it applies the revision that did not run.
    const next = await spawnCli(["upgrade", "--lock-wait", "1"], { cwd: dir, env: baseEnv(), timeoutMs: 60_000 });
    expect(next.status, next.stderr).toBe(0);
    expect(await queryUrl(db.url, "SELECT to_regclass('after_t')::text AS after")).toEqual([{ after: "after_t" }]);
  });
});
