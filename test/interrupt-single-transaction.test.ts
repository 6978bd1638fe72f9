/**
 * SIGINT during `upgrade --single-transaction`, several revisions pending: the plan's one
 * transaction is rolled back, and the output and the history table say what really ran.
 * A revision that never started used to get an INTERRUPTED line and a `failed` history
 * row (the plan's last revision, when the signal was seen between two revisions), and the
 * message said only "any revision that was running was rolled back" (trust15 D). Through
 * the real binary against PostgreSQL (`npm run build` first).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { interruptWhileSleeping } from "./support/interrupt.js";
import { createPostgresDatabase, queryUrl, tempDir, type TestDatabase } from "./support/databases.js";

const FIRST = "c5c5c5c5c501";
const SLEEPER = "c5c5c5c5c502";
const THIRD = "c5c5c5c5c503";
const FOURTH = "c5c5c5c5c504";

function revision(id: string, down: string | null, message: string, sql: string): string {
  return [`-- athanor:revision ${id}`, ...(down === null ? [] : [`-- athanor:down ${down}`]), `-- athanor:message ${message}`, "-- athanor:upgrade", sql, ""].join("\n");
}

for (const { name, sleeper, running } of [
  // The cancel stops the sleeping revision: it ran, and is the one recorded as interrupted.
  { name: "the running revision is cancelled", sleeper: "SELECT pg_sleep(60);\nCREATE TABLE sleeper_t (x int);", running: true },
  // It catches the cancel and ends: the signal is seen before the next revision starts.
  { name: "the running revision catches the cancel", sleeper: "DO $$\nBEGIN\n  PERFORM pg_sleep(60);\nEXCEPTION WHEN query_canceled THEN\n  RAISE NOTICE 'cancel swallowed';\nEND $$;\nCREATE TABLE sleeper_t (x int);", running: false },
]) describe(`SIGINT during upgrade --single-transaction: ${name} (PostgreSQL)`, { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-single-interrupt-"));
    db = await createPostgresDatabase("athanor_single_interrupt");
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: db.url } } }));
    await writeFile(join(dir, "migrations", `${FIRST}_first.sql`), revision(FIRST, null, "first", "CREATE TABLE first_t (x int);"));
    await writeFile(join(dir, "migrations", `${SLEEPER}_sleeper.sql`), revision(SLEEPER, FIRST, "sleeper", sleeper));
    await writeFile(join(dir, "migrations", `${THIRD}_third.sql`), revision(THIRD, SLEEPER, "third", "CREATE TABLE third_t (x int);"));
    await writeFile(join(dir, "migrations", `${FOURTH}_fourth.sql`), revision(FOURTH, THIRD, "fourth", "CREATE TABLE fourth_t (x int);"));
  });
  afterAll(async () => {
    await db.drop();
    await remove();
  });

  it("exit 130, nothing applied, no history row nor INTERRUPTED line for a revision that did not start, the message names what ran and what did not", async () => {
    const { status, stdout, stderr } = await interruptWhileSleeping(dir, db.url, "SIGINT", ["--single-transaction"]);
    expect(status, stderr).toBe(130);
    const where = running ? `while revision ${SLEEPER} was running` : `before revision ${THIRD} started`;
    expect(stderr).toContain(
      `error: interrupted by SIGINT ${where}: the plan's transaction (--single-transaction) was rolled back, nothing of this run was committed (ran and rolled back: ${FIRST}, ${SLEEPER}; did not run: ${THIRD}, ${FOURTH}); the lock was released`,
    );
    expect(stderr).not.toMatch(/\n\s+at /);
    // Only the revision that was running when the cancel reached it is reported interrupted.
    const interruptedLines = (stdout + stderr).split("\n").filter((line) => line.startsWith("INTERRUPTED"));
    expect(interruptedLines.map((line) => line.replace(/ \(.*\)$/, ""))).toEqual(running ? [`INTERRUPTED upgrade ${SLEEPER} sleeper`] : []);
    expect(stdout + stderr).not.toContain(`upgrade ${THIRD}`);
    expect(stdout + stderr).not.toContain(`upgrade ${FOURTH}`);

    expect(await queryUrl(db.url, "SELECT to_regclass('first_t')::text AS first, to_regclass('sleeper_t')::text AS sleeper, to_regclass('third_t')::text AS third")).toEqual([{ first: null, sleeper: null, third: null }]);
    expect(await queryUrl(db.url, "SELECT revision FROM athanor_version")).toEqual([]);
    expect(await queryUrl(db.url, "SELECT revision, outcome FROM athanor_version_history ORDER BY id")).toEqual(running ? [{ revision: SLEEPER, outcome: "failed" }] : []);
    expect(await queryUrl(db.url, "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).toEqual([{ n: 0 }]);
  });
});
