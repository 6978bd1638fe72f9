/**
 * SIGINT during `upgrade` on PGlite, while a round trip of revisions runs: PGlite runs in
 * this process, so the signal is handled only once that round trip has returned (every
 * revision of it committed) and nothing can be cancelled. The note said as the signal comes
 * used to promise that the running statement is cancelled and no later revision starts
 * (trust15 K3); it now says what happens, and the error lists what committed and why.
 * Through the real binary (`npm run build` first).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv, runCli } from "./support/cli.js";
import { startUpgrade } from "./support/interrupt.js";
import { tempDir } from "./support/databases.js";

const FIRST = "c8c8c8c8c801";
const SLEEPER = "c8c8c8c8c802";
const SAME_TRIP = "c8c8c8c8c803";
const LATER = "c8c8c8c8c804";

function revision(id: string, down: string | null, message: string, sql: string): string {
  return [`-- athanor:revision ${id}`, ...(down === null ? [] : [`-- athanor:down ${down}`]), `-- athanor:message ${message}`, "-- athanor:upgrade", sql, ""].join("\n");
}

describe("SIGINT during upgrade on PGlite, while a round trip of two revisions runs", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-pglite-interrupt-"));
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: "pglite://./db" } } }));
    // The first revision travels alone; the second round trip carries the sleeper and the next; the last comes after.
    await writeFile(join(dir, "migrations", `${FIRST}_first.sql`), revision(FIRST, null, "first", "CREATE TABLE first_t (x int);"));
    await writeFile(join(dir, "migrations", `${SLEEPER}_sleeper.sql`), revision(SLEEPER, FIRST, "sleeper", "SELECT pg_sleep(4);\nCREATE TABLE sleeper_t (x int);"));
    await writeFile(join(dir, "migrations", `${SAME_TRIP}_same.sql`), revision(SAME_TRIP, SLEEPER, "same trip", "CREATE TABLE same_t (x int);"));
    await writeFile(join(dir, "migrations", `${LATER}_later.sql`), revision(LATER, SAME_TRIP, "later", "CREATE TABLE later_t (x int);"));
  });
  afterAll(async () => {
    await remove();
  });

  it("the note and the error say that what was sent ran to its end and the next did not start; exit 130", async () => {
    const run = startUpgrade(dir);
    // The first round trip is back: the second (its 4 s sleep) is sent at once, and the signal comes during it.
    await vi.waitFor(() => expect(run.stdout).toContain(`upgrade ${FIRST} first`), { timeout: 60_000, interval: 20 });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    run.child.kill("SIGINT");
    expect(await run.status, run.stderr).toBe(130);
    expect(run.stderr).toContain("SIGINT: stopping: PGlite runs in this process and cannot cancel a statement: what was already sent to it ran to its end (a round trip of several revisions committed them all)");
    expect(run.stderr).not.toContain("a running statement is cancelled");
    expect(run.stderr).toContain(
      `error: interrupted by SIGINT before revision ${LATER} started: it did not run, the revisions before it in this run stay committed (${FIRST}, ${SLEEPER}, ${SAME_TRIP}), which ran to their end: PGlite runs in this process and cannot cancel a statement, so the signal was handled once the revisions already sent to it had committed; the lock was released`,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).toContain(`upgrade ${SAME_TRIP} same trip`);
    expect(run.stdout).not.toContain(LATER);
    const current = await runCli(["current"], { cwd: dir, env: baseEnv() });
    expect(current.stdout).toContain(SAME_TRIP);
    const log = await runCli(["log"], { cwd: dir, env: baseEnv() });
    expect(log.stdout).not.toContain(LATER);
    expect(log.stdout).not.toContain("failed");
  });
});
