/**
 * Another connection holds the stop gate's key for the migration session's backend pid (an
 * advisory lock (1635018855, pid): src/dialects/stop-gate.ts) while no signal came: every
 * revision sent in a round trip fails its first statement. The error used to blame the
 * revision's file (`unrecognized configuration parameter
 * "athanor_stopped_by_an_interruption"` at its first line); it now says the gate is held,
 * by whom, and the fix (trust15 E1). PostgreSQL, in-process CLI.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { lockKey } from "../src/run/lock.js";
import { baseEnv, runCli } from "./support/cli.js";
import { createPostgresDatabase, queryUrl, tempDir, type TestDatabase } from "./support/databases.js";

const R1 = "cacacacaca01";
const R2 = "cacacacaca02";

function revision(id: string, down: string | null, sql: string): string {
  return [`-- athanor:revision ${id}`, ...(down === null ? [] : [`-- athanor:down ${down}`]), `-- athanor:message ${id}`, "-- athanor:upgrade", sql, ""].join("\n");
}

for (const singleTransaction of [false, true]) describe(`the stop gate's key held by another connection, no signal${singleTransaction ? ", --single-transaction" : ""} (PostgreSQL)`, { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase;
  let holder: pg.Client;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-gate-held-"));
    db = await createPostgresDatabase("athanor_gate_held");
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: db.url } } }));
    await writeFile(join(dir, "migrations", `${R1}_first.sql`), revision(R1, null, "CREATE TABLE first_t (x int);"));
    await writeFile(join(dir, "migrations", `${R2}_second.sql`), revision(R2, R1, "CREATE TABLE second_t (x int);"));
    holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
  });
  afterAll(async () => {
    await holder.end();
    await db.drop();
    await remove();
  });

  it("fails before the first revision, naming the holder and the fix, not the revision's file; exit 1, nothing applied, no history row", async () => {
    // The run waits for the migration lock, its migration session open: its pid is known, and the gate's key taken for it.
    const key = lockKey({ schema: "public", table: "athanor_version" }).toString();
    await holder.query("SELECT pg_advisory_lock($1::bigint)", [key]);
    const run = runCli(["upgrade", ...(singleTransaction ? ["--single-transaction"] : [])], { cwd: dir, env: baseEnv() });
    const migrationSession = async () =>
      (await queryUrl<{ pid: number }>(db.url, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'athanor upgrade (development)' AND query LIKE '%client_connection_check_interval%'"))[0]?.pid;
    await vi.waitFor(async () => expect(await migrationSession()).toBeTypeOf("number"), { timeout: 30_000, interval: 20 });
    const pid = (await migrationSession()) as number;
    const holderPid = Number((await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid, pg_advisory_lock(1635018855, $1::int)", [pid])).rows[0]?.pid);
    await holder.query("SELECT pg_advisory_unlock($1::bigint)", [key]);
    const result = await run;
    await holder.query("SELECT pg_advisory_unlock_all()");
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain(`error: revision ${R1} did not start: athanor's stop gate for this migration session is closed, though no signal came: pid ${holderPid} (no application_name, user postgres) holds its advisory lock (1635018855, ${pid}). It and the 1 after it did not run;`);
    expect(result.stderr).toContain(`SELECT pg_advisory_unlock(1635018855, ${pid}) in that session`);
    expect(result.stderr).toContain(`SELECT pg_terminate_backend(${holderPid})`);
    expect(result.stderr).not.toContain("athanor_stopped_by_an_interruption");
    expect(result.stderr).not.toContain(`${R1}_first.sql`);
    expect(await queryUrl(db.url, "SELECT to_regclass('first_t')::text AS t")).toEqual([{ t: null }]);
    expect(await queryUrl(db.url, "SELECT count(*)::int AS n FROM athanor_version_history")).toEqual([{ n: 0 }]);
    expect(await queryUrl(db.url, "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).toEqual([{ n: 0 }]);
  });
});
