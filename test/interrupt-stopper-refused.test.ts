/**
 * SIGINT when no connection can be opened to stop the run: the role's `CONNECTION LIMIT` is
 * reached by the run's own two connections (the lock connection and the migration
 * session), so the connection that closes the stop gate and sends `pg_cancel_backend` is
 * refused. The signal used to cancel nothing: the round trip ran on and a run whose last
 * revision was in it exited 0 (trust15 G). The running statement is now cancelled by a
 * protocol-level CancelRequest (which needs no connection slot), a run that got the signal
 * never exits 0, and the output names the revisions that committed in the round trip that
 * was running when the signal came. Through
 * the real binary against PostgreSQL (`npm run build` first).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { interruptWhileSleeping } from "./support/interrupt.js";
import { createPostgresDatabase, queryUrl, serverUrl, tempDir, type TestDatabase } from "./support/databases.js";

const FIRST = "c6c6c6c6c601";
const SLEEPER = "c6c6c6c6c602";
const AFTER = "c6c6c6c6c603";

function revision(id: string, down: string | null, message: string, sql: string): string {
  return [`-- athanor:revision ${id}`, ...(down === null ? [] : [`-- athanor:down ${down}`]), `-- athanor:message ${message}`, "-- athanor:upgrade", sql, ""].join("\n");
}

for (const { name, sleeper, swallows } of [
  { name: "the sleeping statement is cancelled", sleeper: "SELECT pg_sleep(60);\nCREATE TABLE sleeper_t (x int);", swallows: false },
  // Without the gate nothing keeps the next revision of the round trip from starting: it commits, and the output says so.
  { name: "the sleeping revision catches the cancel", sleeper: "DO $$\nBEGIN\n  PERFORM pg_sleep(60);\nEXCEPTION WHEN query_canceled THEN\n  RAISE NOTICE 'cancel swallowed';\nEND $$;\nCREATE TABLE sleeper_t (x int);", swallows: true },
]) describe(`SIGINT when the role's CONNECTION LIMIT leaves no connection to stop the run: ${name} (PostgreSQL)`, { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase;
  const role = `athanor_limited_${randomBytes(4).toString("hex")}`;
  const password = "limited-role-pw";

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-stopper-refused-"));
    db = await createPostgresDatabase("athanor_stopper_refused");
    await queryUrl(db.url, `CREATE ROLE ${role} LOGIN PASSWORD '${password}' CONNECTION LIMIT 2`);
    await queryUrl(db.url, `ALTER DATABASE "${db.name}" OWNER TO ${role}`);
    await queryUrl(db.url, `ALTER SCHEMA public OWNER TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: url.toString() } } }));
    // The first revision of a run travels alone; the next round trip carries the two others together.
    await writeFile(join(dir, "migrations", `${FIRST}_first.sql`), revision(FIRST, null, "first", "CREATE TABLE first_t (x int);"));
    await writeFile(join(dir, "migrations", `${SLEEPER}_sleeper.sql`), revision(SLEEPER, FIRST, "sleeper", sleeper));
    await writeFile(join(dir, "migrations", `${AFTER}_after.sql`), revision(AFTER, SLEEPER, "after", "CREATE TABLE after_t (x int);"));
  });
  afterAll(async () => {
    await db.drop();
    await queryUrl(serverUrl(), `DROP ROLE IF EXISTS ${role}`);
    await remove();
  });

  it("exit 130 at once, the output saying what committed and why the gate could not stop the round trip, no password, no lock left", async () => {
    const { status, stdout, stderr } = await interruptWhileSleeping(dir, db.url);
    expect(status, stderr).toBe(130);
    const gate = `the stop gate could not be closed (no connection could be opened to close it (too many connections for role "${role}")): the running statement was cancelled without it, so only that cancel could stop its round trip`;
    // The last revision travels in the sleeper's round trip when the first round trip was quick
    // (src/run/execute.ts nextBatchSize); on a loaded machine it may come in one of its own,
    // which the signal then keeps from starting. The output must say which of the two happened.
    const afterCommitted = (await queryUrl<{ t: string | null }>(db.url, "SELECT to_regclass('after_t')::text AS t"))[0]?.t !== null;
    // The sleeper that catches the cancel committed, or the cancel reached it outside its
    // handler and it was rolled back (seen in full CI runs on a loaded machine: the second of
    // the two SIGINTs one CancelRequest becomes, see below, arriving after the handler):
    // either way the output must say which.
    const sleeperCommitted = (await queryUrl<{ t: string | null }>(db.url, "SELECT to_regclass('sleeper_t')::text AS t"))[0]?.t !== null;
    if (!sleeperCommitted) expect(afterCommitted).toBe(false);
    // PostgreSQL delivers one CancelRequest as two SIGINTs (postmaster's signal_child signals the
    // backend and its process group): on a loaded machine the second can arrive after the
    // sleeper caught the first and committed, and cancel the revision after it in the same
    // round trip (seen in 1 of ~9 runs under load; the server log showed one CancelRequest and
    // one uncaught cancel). The output must then say that the sleeper committed and the
    // revision after it was interrupted and rolled back.
    const cancelledTwice = swallows && sleeperCommitted && !afterCommitted && stderr.includes(`INTERRUPTED upgrade ${AFTER} after`);
    console.log(`[interrupt-stopper-refused] ${name}: sleeper ${sleeperCommitted ? "committed" : "rolled back"}, the revision after it ${afterCommitted ? "committed" : cancelledTwice ? "cancelled by the second SIGINT" : "not run"}`);
    if (cancelledTwice) {
      expect(stdout, stdout + stderr).toMatch(new RegExp(`upgrade ${SLEEPER} sleeper \\(`));
      expect(stderr, stderr).toContain(`error: interrupted by SIGINT while revision ${AFTER} was running: it was rolled back, the revisions before it in this run stay committed (${FIRST}, ${SLEEPER}; committed in the round trip that was running when the signal came: ${SLEEPER}); the lock was released; ${gate}`);
    } else if (swallows && afterCommitted) {
      expect(stderr, stderr).toContain(`error: interrupted by SIGINT too late to stop the plan: every revision of it committed (${FIRST}, ${SLEEPER}, ${AFTER}; committed in the round trip that was running when the signal came: ${SLEEPER}, ${AFTER}); the lock was released; ${gate}`);
      expect(stdout, stdout + stderr).toContain(`upgrade ${AFTER} after`);
    } else if (swallows && sleeperCommitted) {
      expect(stderr, stderr).toContain(`error: interrupted by SIGINT before revision ${AFTER} started: it did not run, the revisions before it in this run stay committed (${FIRST}, ${SLEEPER}; committed in the round trip that was running when the signal came: ${SLEEPER}); the lock was released; ${gate}`);
      expect(stdout, stdout + stderr).not.toContain(AFTER);
    } else {
      expect(stderr, stderr).toContain(`INTERRUPTED upgrade ${SLEEPER} sleeper`);
      expect(stderr, stderr).toContain(`error: interrupted by SIGINT while revision ${SLEEPER} was running: it was rolled back, the revisions before it in this run stay committed (${FIRST}); the lock was released; ${gate}`);
      expect(stdout, stdout + stderr).not.toContain(AFTER);
    }
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stdout + stderr).not.toContain(password);

    if (!swallows) expect(sleeperCommitted).toBe(false);
    const committed = sleeperCommitted ? [FIRST, SLEEPER, ...(afterCommitted ? [AFTER] : [])] : [FIRST];
    expect(await queryUrl(db.url, "SELECT revision FROM athanor_version ORDER BY revision")).toEqual(committed.map((revision) => ({ revision })));
    expect(await queryUrl(db.url, "SELECT revision, outcome FROM athanor_version_history ORDER BY id")).toEqual(
      sleeperCommitted
        ? [...committed.map((revision) => ({ revision, outcome: "success" })), ...(cancelledTwice ? [{ revision: AFTER, outcome: "failed" }] : [])]
        : [
            { revision: FIRST, outcome: "success" },
            { revision: SLEEPER, outcome: "failed" },
          ],
    );
    expect(await queryUrl(db.url, "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).toEqual([{ n: 0 }]);
  });
});
