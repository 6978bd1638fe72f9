/**
 * What only a real PostgreSQL server shows: non-transactional revisions
 * (CREATE INDEX CONCURRENTLY, which fails inside a transaction block), the unfinished
 * state and `resolve`, offline SQL run by `psql -v ON_ERROR_STOP=1 -f`, cancelling a
 * running revision, and the migration lock between sessions.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { checkEnvironment } from "../src/commands/check.js";
import { current } from "../src/commands/current.js";
import { downgrade } from "../src/commands/downgrade.js";
import { resolve } from "../src/commands/resolve.js";
import { getStatus } from "../src/commands/status-entry.js";
import { upgrade } from "../src/commands/upgrade.js";
import { loadConfigFile } from "../src/config/load.js";
import type { MigrationEvent } from "../src/run/events.js";
import { acquireLock } from "../src/run/lock.js";
import { createEngineProject, historyRows, ids, postgresEngine, tablesIn, versionRows, type EngineDatabase, type EngineProject } from "./support/engine-project.js";
import { caught } from "./support/caught.js";

const [A, B, C] = ids(3, "c") as [string, string, string];
const engine = postgresEngine();

describe("engine on PostgreSQL only", () => {
  let project: EngineProject;
  let db: EngineDatabase;

  beforeAll(async () => {
    project = await createEngineProject();
  });
  afterAll(() => project.remove());
  afterEach(() => db?.drop());

  async function setUp(files: Parameters<EngineProject["write"]>[0][]) {
    db = await engine.database();
    for (const name of await readdir(project.migrationsDir)) await project.removeFile(name);
    for (const file of files) await project.write(file);
    await project.configure({ development: db.envConfig });
    return project.env("development");
  }

  /** The error of an upgrade that its caller aborts (`abort()`, no reason) when `onEvent` calls `abort`. */
  const abortedUpgrade = (env: Awaited<ReturnType<typeof setUp>>, onEvent: (event: MigrationEvent, abort: () => void) => void) => {
    const controller = new AbortController();
    return caught(upgrade(env, { signal: controller.signal, events: (event) => onEvent(event, () => controller.abort()) }));
  };

  async function advisoryLocks(): Promise<number> {
    const rows = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
    return rows[0]?.n ?? -1;
  }

  it("runs a non-transactional revision (CREATE INDEX CONCURRENTLY) outside a transaction, up and down", async () => {
    const env = await setUp([
      { id: A, message: "table", upgrade: "CREATE TABLE t1 (id int, v text);", downgrade: "DROP TABLE t1;" },
      {
        id: B,
        down: A,
        message: "indexes",
        transactional: false,
        upgrade: "CREATE INDEX CONCURRENTLY t1_id ON t1 (id);\nCREATE INDEX CONCURRENTLY t1_v ON t1 (v);",
        downgrade: "DROP INDEX CONCURRENTLY t1_v;\nDROP INDEX CONCURRENTLY t1_id;",
      },
    ]);
    const result = await upgrade(env);
    expect(result.completed).toEqual([A, B]);
    expect((await versionRows(db)).map((row) => row.state)).toEqual(["applied", "applied"]);
    expect(await db.query("SELECT indexrelid::regclass::text AS name, indisvalid AS valid FROM pg_index WHERE indrelid = 't1'::regclass ORDER BY 1")).toEqual([
      { name: "t1_id", valid: true },
      { name: "t1_v", valid: true },
    ]);
    expect((await downgrade(env, { target: "-1" })).completed).toEqual([B]);
    expect(await db.query("SELECT indexrelid FROM pg_index WHERE indrelid = 't1'::regclass")).toEqual([]);
    expect(await caught(upgrade(env, { singleTransaction: true }))).toMatchObject({ code: "single-transaction-not-possible", exitStatus: 2 });
  });

  it("a non-transactional revision that fails stays unfinished, blocks later runs (exit 5) until resolve", async () => {
    const env = await setUp([
      { id: A, message: "data", upgrade: "CREATE TABLE t1 (v int);\nINSERT INTO t1 VALUES (1), (1);", downgrade: "DROP TABLE t1;" },
      { id: B, down: A, message: "unique index", file: "0002_unique.sql", transactional: false, upgrade: "CREATE UNIQUE INDEX CONCURRENTLY t1_v ON t1 (v);", downgrade: "DROP INDEX CONCURRENTLY t1_v;" },
      { id: C, down: B, message: "after", upgrade: "CREATE TABLE t3 (id int);" },
    ]);
    const failed = await caught(upgrade(env));
    expect(failed.exitStatus).toBe(1);
    expect(failed.message).toContain("0002_unique.sql:7");
    expect(failed.message).toContain("CREATE UNIQUE INDEX CONCURRENTLY t1_v ON t1 (v)");
    expect(failed.hint).toContain(`athanor resolve ${B}`);
    expect((await versionRows(db)).map((row) => [row.revision, row.state])).toEqual([
      [A, "applied"],
      [B, "started"],
    ]);

    const blocked = await caught(upgrade(env));
    expect(blocked).toMatchObject({ exitStatus: 5, code: "unfinished-revision" });
    expect(blocked.hint).toContain(`athanor resolve ${B} --applied`);
    expect(await tablesIn(db)).not.toContain("t3");
    expect((await getStatus(env)).problems.map((problem) => problem.code)).toEqual(["unfinished-revision"]);
    const report = await checkEnvironment(await loadConfigFile(join(project.dir, "athanor.config.json")), "development", { processEnv: {} });
    expect(report.findings.find((finding) => finding.check === "unfinished")).toMatchObject({ status: "error" });
    expect(report.findings.find((finding) => finding.check === "invalid-indexes")).toMatchObject({ status: "warning", message: expect.stringContaining("public.t1_v") });

    await db.query("DROP INDEX t1_v");
    await db.query("DELETE FROM t1");
    const resolved = await resolve(env, { revision: B.slice(0, 6), as: "rolled-back" });
    expect(resolved).toEqual({ environment: "development", revision: B, resolution: "rolled-back", editAccepted: false });
    expect((await historyRows(db)).at(-1)).toMatchObject({ direction: "resolve", revision: B, note: "resolved as rolled-back" });
    expect((await upgrade(env)).completed).toEqual([B, C]);
    expect((await versionRows(db)).every((row) => row.state === "applied")).toBe(true);
  });

  it("offline SQL runs with psql -v ON_ERROR_STOP=1 -f on a fresh database, ranges included", async () => {
    const env = await setUp([
      { id: A, message: "table", upgrade: "CREATE TABLE t1 (id int, v text);", downgrade: "DROP TABLE t1;" },
      { id: B, down: A, message: "index", transactional: false, upgrade: "CREATE INDEX CONCURRENTLY t1_v ON t1 (v);", downgrade: "DROP INDEX CONCURRENTLY t1_v;" },
    ]);
    await project.writeFile(
      "0003_ts.ts",
      `import { defineMigration } from "athanor";\nexport default defineMigration({ revision: "${C}", down: "${B}", message: "data", async upgrade({ sql }) { await sql\`INSERT INTO t1 (id, v) VALUES (\${1}, \${"o'neil"})\`; }, async downgrade({ sql }) { await sql\`DELETE FROM t1\`; } });\n`,
    );
    const script = (await upgrade(env, { sql: true })).sql ?? "";
    expect(await tablesIn(db)).toEqual([]);
    const file = join(project.dir, "upgrade.sql");
    await writeFile(file, script);
    const run = spawnSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", file, env.url.value], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(await db.query("SELECT id, v FROM t1")).toEqual([{ id: 1, v: "o'neil" }]);
    expect((await current(env)).current).toEqual([C]);
    expect(await getStatus(env)).toMatchObject({ state: "up-to-date", problems: [] });
    expect((await historyRows(db)).map((row) => row.direction)).toEqual(["up", "up", "up"]);

    const range = (await upgrade(env, { sql: true, target: `${A}:head` })).sql ?? "";
    expect(range).not.toContain(`-- upgrade ${A}`);
    expect(range).toContain(`-- upgrade ${B}`);
    expect(range).toContain(`-- upgrade ${C}`);

    const down = (await downgrade(env, { sql: true, target: "head:base" })).sql ?? "";
    await writeFile(file, down);
    const back = spawnSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", file, env.url.value], { encoding: "utf8" });
    expect(back.status).toBe(0);
    expect((await current(env)).current).toEqual([]);
    expect(await tablesIn(db)).toEqual(["athanor_version", "athanor_version_history", "athanor_version_meta"]);
    expect((await caught(downgrade(env, { sql: true, target: "base" }))).code).toBe("offline-range-required");
  });

  it("offline SQL with --single-transaction does what the online run does: one transaction, the same refusal, the same timeouts", async () => {
    await setUp([
      { id: A, message: "table", upgrade: "CREATE TABLE t1 (id int);", downgrade: "DROP TABLE t1;" },
      { id: B, down: A, message: "fails", file: "0002_b.sql", upgrade: "SELECT 1/0;", downgrade: "SELECT 1;" },
    ]);
    await project.configure({ development: { ...db.envConfig, lockTimeout: "2s", statementTimeout: "1min" } });
    const env = await project.env("development");
    const psqlRun = async (script: string) => {
      const file = join(project.dir, "single.sql");
      await writeFile(file, script);
      return spawnSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", file, env.url.value], { encoding: "utf8" });
    };

    // Online: the failure rolls back the whole plan.
    expect((await caught(upgrade(env, { singleTransaction: true }))).exitStatus).toBe(1);
    expect(await versionRows(db)).toEqual([]);
    expect(await tablesIn(db)).not.toContain("t1");
    // Offline: one BEGIN/COMMIT around everything, so psql stops with nothing applied either.
    const failing = (await upgrade(env, { sql: true, singleTransaction: true })).sql ?? "";
    expect(failing.match(/^BEGIN;$/gm)).toHaveLength(1);
    expect(failing.match(/^COMMIT;$/gm)).toHaveLength(1);
    const failed = await psqlRun(failing);
    expect(failed.status).toBe(3);
    expect(failed.stderr).toContain("division by zero");
    expect(await versionRows(db)).toEqual([]);
    expect(await tablesIn(db)).not.toContain("t1");

    // The revisions see the environment's timeouts offline as online.
    await project.write({ id: B, down: A, message: "settings", file: "0002_b.sql", upgrade: "CREATE TABLE s AS SELECT current_setting('lock_timeout') AS l, current_setting('statement_timeout') AS st;", downgrade: "DROP TABLE s;" });
    expect((await upgrade(env, { singleTransaction: true })).completed).toEqual([A, B]);
    const online = await db.query("SELECT l, st FROM s");
    expect(online).toEqual([{ l: "2s", st: "1min" }]);
    const down = (await downgrade(env, { sql: true, singleTransaction: true, target: "head:base" })).sql ?? "";
    expect(down.match(/^BEGIN;$/gm)).toHaveLength(1);
    expect((await psqlRun(down)).status).toBe(0);
    expect((await current(env)).current).toEqual([]);
    expect(await tablesIn(db)).not.toContain("s");
    const passing = await psqlRun((await upgrade(env, { sql: true, singleTransaction: true })).sql ?? "");
    expect(passing.status).toBe(0);
    expect(await db.query("SELECT l, st FROM s")).toEqual(online);
    expect((await current(env)).current).toEqual([B]);
    expect((await historyRows(db)).map((row) => [row.direction, row.revision, row.outcome])).toEqual([
      ["up", B, "failed"],
      ["up", A, "success"],
      ["up", B, "success"],
      ["down", B, "success"],
      ["down", A, "success"],
      ["up", A, "success"],
      ["up", B, "success"],
    ]);

    // A `transaction false` revision cannot run in the plan's transaction: refused offline as online.
    await project.write({ id: C, down: B, message: "index", transactional: false, upgrade: "CREATE INDEX CONCURRENTLY t1_id ON t1 (id);", downgrade: "DROP INDEX CONCURRENTLY t1_id;" });
    expect(await caught(upgrade(env, { singleTransaction: true }))).toMatchObject({ code: "single-transaction-not-possible", exitStatus: 2 });
    expect(await caught(upgrade(env, { sql: true, singleTransaction: true }))).toMatchObject({ code: "single-transaction-not-possible", exitStatus: 2 });
    expect(await caught(downgrade(env, { sql: true, singleTransaction: true, target: "head:base" }))).toMatchObject({ code: "single-transaction-not-possible", exitStatus: 2 });
  });

  it("an abort cancels the running statement, rolls back and releases the lock", async () => {
    const env = await setUp([
      { id: A, message: "fast", upgrade: "CREATE TABLE t1 (id int);" },
      { id: B, down: A, message: "slow", upgrade: "CREATE TABLE t2 (id int);\nSELECT pg_sleep(30);" },
    ]);
    const controller = new AbortController();
    const events: MigrationEvent[] = [];
    const started = Date.now();
    const run = upgrade(env, {
      signal: controller.signal,
      events: (event) => {
        events.push(event);
        if (event.type === "revision-start" && event.revision === B) setTimeout(() => controller.abort("SIGTERM"), 300);
      },
    });
    const error = await caught(run);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(error).toMatchObject({ code: "interrupted", exitStatus: 143 });
    expect((await versionRows(db)).map((row) => row.revision)).toEqual([A]);
    expect(await tablesIn(db)).not.toContain("t2");
    expect(await advisoryLocks()).toBe(0);
    expect(events.at(-1)).toMatchObject({ type: "command-end", outcome: "interrupted" });
    expect((await historyRows(db)).at(-1)).toMatchObject({ revision: B, outcome: "failed" });
  });

  it("a library caller's abort() is reported as the caller's abort, not as a signal it was not", async () => {
    const env = await setUp([
      { id: A, message: "fast", upgrade: "CREATE TABLE t1 (id int);" },
      { id: B, down: A, message: "slow", upgrade: "CREATE TABLE t2 (id int);\nSELECT pg_sleep(30);" },
    ]);
    const error = await abortedUpgrade(env, (event, abort) => {
      if (event.type === "revision-start" && event.revision === B) setTimeout(abort, 300);
    });
    expect(error).toMatchObject({ code: "interrupted", signal: "aborted", exitStatus: 130 });
    expect(error.message).toMatch(new RegExp(`^aborted by the caller's AbortSignal while revision ${B} was running: it was rolled back, the revisions before it in this run stay committed \\(${A}\\); `));
    expect((await versionRows(db)).map((row) => row.revision)).toEqual([A]);
    const failed = (await historyRows(db)).at(-1);
    expect(failed).toMatchObject({ revision: B, outcome: "failed" });
    expect(failed?.error).toMatch(/^aborted by the caller's AbortSignal/);
  });

  it("an abort during the second revision of a round trip does not say the first, committed before it, committed after the signal", async () => {
    // A travels alone; B and C share the next round trip, and the abort comes while C sleeps.
    const env = await setUp([
      { id: A, message: "first", upgrade: "CREATE TABLE t1 (id int);" },
      { id: B, down: A, message: "fast", upgrade: "CREATE TABLE t2 (id int);" },
      { id: C, down: B, message: "slow", upgrade: "CREATE TABLE t3 (id int);\nSELECT pg_sleep(30);" },
    ]);
    const error = await abortedUpgrade(env, (event, abort) => {
      if (event.type === "revision-end" && event.revision === A) setTimeout(abort, 500);
    });
    // The server answers a round trip when it ends: athanor cannot tell B's commit from one after the signal, and says only what it knows.
    expect(error.message).toBe(`aborted by the caller's AbortSignal while revision ${C} was running: it was rolled back, the revisions before it in this run stay committed (${A}, ${B}; committed in the round trip that was running when the signal came: ${B}); the lock was released`);
    expect(error.message).not.toContain("committed after the signal");
    expect((await versionRows(db)).map((row) => row.revision)).toEqual([A, B]);
  });

  it("an abort whose revision then loses its connection does not claim the revision was rolled back: its COMMIT may have reached the server", async () => {
    // The revision ends its own backend right after the abort, before the cancel (which opens a connection first) can land.
    const env = await setUp([
      { id: A, message: "fast", upgrade: "CREATE TABLE t1 (id int);" },
      { id: B, down: A, message: "dies", upgrade: "CREATE TABLE t2 (id int);\nSELECT pg_terminate_backend(pg_backend_pid());" },
    ]);
    const error = await abortedUpgrade(env, (event, abort) => {
      if (event.type === "revision-start" && event.revision === B) abort();
    });
    expect(error).toMatchObject({ code: "interrupted", signal: "aborted", exitStatus: 130, details: { committed: [A], connectionLost: true } });
    expect(error.message).toBe(`aborted by the caller's AbortSignal while revision ${B} was running: the connection to the server was lost, so PostgreSQL rolled it back unless its COMMIT had already reached the server, the revisions before it in this run stay committed (${A}); the lock was released`);
    expect(error.hint).toContain("Once the server is back, `athanor status` shows where the database stands.");
    expect((await versionRows(db)).map((row) => row.revision)).toEqual([A]);
  });

  it("a second runner waits for the lock and gives up after --lock-wait, naming the holder (exit 4)", async () => {
    const env = await setUp([{ id: A, upgrade: "CREATE TABLE t1 (id int);" }]);
    const release = await acquireLock({ target: env.target, versionTable: env.versionTable, waitMs: 1_000, applicationName: "athanor upgrade (elsewhere)" });
    try {
      const waits: MigrationEvent[] = [];
      const started = Date.now();
      const error = await caught(upgrade(env, { lockWaitMs: 700, events: (event) => event.type === "lock-wait" && waits.push(event) }));
      expect(Date.now() - started).toBeGreaterThanOrEqual(650);
      expect(error.exitStatus).toBe(4);
      expect(error.message).toMatch(/held by pid \d+ \(athanor upgrade \(elsewhere\), user postgres/);
      expect(error.message).toContain("since ");
      expect(error.hint).toContain("pg_terminate_backend");
      expect(waits).toHaveLength(1);
      expect(await tablesIn(db)).toEqual([]);
    } finally {
      await release();
    }
    expect(await advisoryLocks()).toBe(0);
    expect((await upgrade(env, { lockWaitMs: 700 })).completed).toEqual([A]);
    expect(await advisoryLocks()).toBe(0);
  });

  it("a lock lost before its release is reported (exit 1)", async () => {
    const env = await setUp([{ id: A, upgrade: "SELECT 1;" }]);
    const release = await acquireLock({ target: env.target, versionTable: env.versionTable, waitMs: 1_000, applicationName: "athanor test (lost)" });
    // Another session ends the lock holder's backend: the session lock is gone with it.
    await db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'athanor test (lost)'");
    const error = await caught(release());
    expect(error.exitStatus).toBe(1);
  });
});
