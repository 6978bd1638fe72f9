/**
 * adv21faults: the commands that only change athanor's rows (`stamp`, `repair`, `resolve`)
 * under a signal and a lost lock connection, on PostgreSQL.
 *
 * Finding 1: once the lock is taken, these commands never look at the signal. A SIGINT (or
 * the library's AbortSignal) that comes while their statement waits on the server (here: a
 * table lock another session holds on the version table) is not acted on: the command goes
 * on, commits its rows after the signal, and exits 0 / resolves — after the CLI's note said
 * "stopping: the running statement is cancelled ...". README: "SIGINT/SIGTERM cancel the
 * running statement, roll back, release the lock and exit 130/143"; docs/runtime.md: "A run
 * that got SIGINT/SIGTERM never exits 0".
 *
 * Finding 2: when the idle lock connection is ended while `stamp` writes, its rows and its
 * history row commit, but the command fails with `lock-lost` (exit 1) and nothing says the
 * stamp was recorded. `upgrade` says it ("the run itself finished: all 2 revisions of the
 * plan were committed", test/lock-connection-lost.test.ts): a failure reported for
 * something committed.
 *
 * Through the library and the real binary (`npm run build` first).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repair, resolve, stamp } from "../src/index.js";
import { baseEnv, runCli } from "./support/cli.js";
import type { TestDatabase } from "./support/databases.js";
import type { EngineProject } from "./support/engine-project.js";
import { athanorWaitsOnLock, connect, startCli, startTwoTableProject, until, type TwoTableProject } from "./support/faults.js";
import type pg from "pg";

const A = "a21a21a21a21";
const B = "b21b21b21b21";
const N = "c21c21c21c21";

describe("adv21faults: stamp, repair and resolve under a signal and a lost lock (PostgreSQL)", { timeout: 120_000 }, () => {
  let project: EngineProject;
  let db: TestDatabase;
  let observer: pg.Client;
  const env = () => project.env("development", { DATABASE_URL: db.url });
  const cli = (...argv: string[]) => runCli(argv, { cwd: project.dir, env: baseEnv({ DATABASE_URL: db.url }) });
  const revisions = async () => (await observer.query<{ revision: string; state: string }>("SELECT revision, state FROM athanor_version ORDER BY revision")).rows;
  const history = async () => (await observer.query<{ direction: string; outcome: string }>("SELECT direction, outcome FROM athanor_version_history ORDER BY id")).rows;

  /**
   * Holds `mode` on the version table in a transaction of its own until `release()`; `waiting()`
   * is true once an athanor session waits for that lock.
   */
  async function holdVersionTable(mode: string): Promise<{ waiting(): Promise<boolean>; release(): Promise<void> }> {
    const holder = await connect(db.url);
    await holder.query("BEGIN");
    await holder.query(`LOCK TABLE athanor_version IN ${mode} MODE`);
    return {
      waiting: () => athanorWaitsOnLock(observer),
      release: async () => {
        await holder.query("COMMIT");
        await holder.end();
      },
    };
  }

  let started: TwoTableProject;
  beforeAll(async () => {
    started = await startTwoTableProject("athanor_adv21_rows", A, B);
    ({ project, db, observer } = started);
  });
  afterAll(async () => {
    await started?.stop();
  });

  it("finding 1 (library): stamp aborted while its write waits rejects as interrupted and records nothing", async () => {
    expect((await cli("stamp", A)).status).toBe(0);
    const lock = await holdVersionTable("SHARE");
    const controller = new AbortController();
    const run = stamp(await env(), { target: "head", signal: controller.signal }).then(
      (result) => ({ ok: true as const, result }),
      (error: unknown) => ({ ok: false as const, error: error as { code?: string; exitStatus?: number } }),
    );
    await until(lock.waiting, 20_000, "stamp waiting for the table lock");
    controller.abort();
    // The cancel reaches the waiting statement (through a connection of its own): only then does the other session let go.
    await until(async () => !(await lock.waiting()), 20_000, "the waiting statement cancelled");
    await lock.release();
    const outcome = await run;
    const rows = await revisions();
    // What happens today: { ok: true } and both rows recorded after the abort.
    expect(outcome.ok, `stamp resolved after its AbortSignal fired; rows now ${JSON.stringify(rows)}`).toBe(false);
    expect(outcome.ok ? null : outcome.error).toMatchObject({ code: "interrupted", exitStatus: 130 });
    expect(rows.map((row) => row.revision)).toEqual([A]);
  });

  it("finding 1 (library): repair aborted while its write waits rejects as interrupted and stores no checksum", async () => {
    await cli("stamp", "base");
    expect((await cli("upgrade")).status).toBe(0);
    const stored = (await observer.query<{ checksum: string }>(`SELECT checksum FROM athanor_version WHERE revision = '${B}'`)).rows[0]?.checksum;
    await project.write({ id: B, down: A, message: "b", upgrade: "CREATE TABLE b (x int); -- edited", downgrade: "DROP TABLE b;" });
    const lock = await holdVersionTable("SHARE");
    const controller = new AbortController();
    const run = repair(await env(), { signal: controller.signal }).then(
      () => ({ ok: true as const }),
      (error: unknown) => ({ ok: false as const, error: error as { code?: string } }),
    );
    await until(lock.waiting, 20_000, "repair waiting for the table lock");
    controller.abort();
    // The cancel reaches the waiting statement (through a connection of its own): only then does the other session let go.
    await until(async () => !(await lock.waiting()), 20_000, "the waiting statement cancelled");
    await lock.release();
    const outcome = await run;
    const after = (await observer.query<{ checksum: string }>(`SELECT checksum FROM athanor_version WHERE revision = '${B}'`)).rows[0]?.checksum;
    expect(outcome.ok, "repair resolved after its AbortSignal fired").toBe(false);
    expect(outcome.ok ? null : outcome.error).toMatchObject({ code: "interrupted" });
    expect(after).toBe(stored);
    // Put the file back as applied for the next tests.
    await project.write({ id: B, down: A, message: "b", upgrade: "CREATE TABLE b (x int);", downgrade: "DROP TABLE b;" });
    await cli("repair");
  });

  it("finding 1 (library): resolve aborted while its write waits rejects as interrupted and leaves the revision unfinished", async () => {
    await project.write({ id: N, down: B, message: "half", transactional: false, upgrade: "CREATE TABLE n (x int);\nSELECT 1/0;", downgrade: "DROP TABLE n;" });
    expect((await cli("upgrade")).status).toBe(1);
    try {
    const lock = await holdVersionTable("SHARE");
    const controller = new AbortController();
    const run = resolve(await env(), { revision: N, as: "rolled-back", signal: controller.signal }).then(
      () => ({ ok: true as const }),
      (error: unknown) => ({ ok: false as const, error: error as { code?: string } }),
    );
    await until(lock.waiting, 20_000, "resolve waiting for the table lock");
    controller.abort();
    // The cancel reaches the waiting statement (through a connection of its own): only then does the other session let go.
    await until(async () => !(await lock.waiting()), 20_000, "the waiting statement cancelled");
    await lock.release();
    const outcome = await run;
    const rows = await revisions();
    expect(outcome.ok, `resolve resolved after its AbortSignal fired; rows now ${JSON.stringify(rows)}`).toBe(false);
    expect(outcome.ok ? null : outcome.error).toMatchObject({ code: "interrupted" });
    expect(rows.find((row) => row.revision === N)?.state).not.toBe(undefined);
    } finally {
      // Clean up for the next tests (whatever the outcome).
      await cli("resolve", N, "--rolled-back");
      await cli("stamp", B);
      await project.removeFile(`${N}_half.sql`);
      await observer.query("DROP TABLE IF EXISTS n");
    }
  });

  it("finding 1 (CLI): SIGINT while `stamp` waits on the server never exits 0 and records nothing", async () => {
    await cli("stamp", A);
    const before = (await history()).length;
    const lock = await holdVersionTable("SHARE");
    const run = startCli(["stamp", "head"], project.dir, baseEnv({ DATABASE_URL: db.url }));
    await until(lock.waiting, 20_000, "stamp waiting for the table lock");
    run.child.kill("SIGINT");
    await until(() => run.stderr().includes("SIGINT: stopping"), 10_000, "the signal's note");
    await until(async () => !(await lock.waiting()), 20_000, "the waiting statement cancelled");
    await lock.release();
    const result = await run.done;
    const rows = await revisions();
    // Today: the note says the running statement is cancelled, then `stamped development at ...`, exit 0.
    expect(result.stderr).toContain("SIGINT: stopping");
    expect(result.status, `${result.stdout}\n${result.stderr}\nrows: ${JSON.stringify(rows)}`).toBe(130);
    expect(rows.map((row) => row.revision)).toEqual([A]);
    expect((await history()).length).toBe(before);
  });

  it("a stamp aborted just as its write may commit: interrupted either way, and the message says what the rows show", async () => {
    await cli("stamp", A);
    const lock = await holdVersionTable("SHARE");
    const controller = new AbortController();
    const run = stamp(await env(), { target: "head", signal: controller.signal }).then(
      () => null,
      (error: unknown) => error as { code?: string; message: string; details: Record<string, unknown> },
    );
    await until(lock.waiting, 20_000, "stamp waiting for the table lock");
    // The other session lets go at once: the write may commit before the cancel reaches it.
    controller.abort();
    await lock.release();
    const error = await run;
    const rows = (await revisions()).map((row) => row.revision);
    expect(error, "a stamp whose signal fired never resolves").not.toBeNull();
    expect(error?.code).toBe("interrupted");
    if (rows.length === 2) {
      expect(error?.message).toContain("what it recorded stays committed");
      expect(error?.details["committed"]).toBe(true);
    } else {
      expect(rows).toEqual([A]);
      expect(error?.message).toContain("stopped before it recorded anything");
    }
  });

  it("finding 2 (CLI): the lock connection ended while `stamp` writes: the error says the stamp was recorded", async () => {
    await cli("stamp", A);
    const lock = await holdVersionTable("SHARE");
    const run = startCli(["stamp", "head", "--json"], project.dir, baseEnv({ DATABASE_URL: db.url }));
    await until(lock.waiting, 20_000, "stamp waiting for the table lock");
    const ended = await observer.query(
      `SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
        WHERE a.datname = current_database() AND a.state = 'idle' AND a.application_name LIKE 'athanor %'`,
    );
    expect(ended.rowCount).toBe(1);
    await lock.release();
    const result = await run.done;
    // The stamp committed: its rows and a success history row are there.
    expect((await revisions()).map((row) => row.revision)).toEqual([A, B]);
    expect((await history()).at(-1)).toEqual({ direction: "stamp", outcome: "success" });
    expect(result.status, result.stderr).toBe(1);
    const document = JSON.parse(result.stdout) as { error: { code: string; message: string; details: Record<string, unknown> } };
    expect(document.error.code).toBe("lock-lost");
    // Today the message ends at "(its connection was closed during the run: terminating connection ...)".
    expect(document.error.message).toMatch(/stamp .*(recorded|committed)/);
  });
  it("finding 5 (CLI): stamp's session ended while it writes: the error says what became of the stamp", async () => {
    await cli("stamp", A);
    const lock = await holdVersionTable("SHARE");
    const run = startCli(["stamp", "head", "--json"], project.dir, baseEnv({ DATABASE_URL: db.url }));
    await until(lock.waiting, 20_000, "stamp waiting for the table lock");
    await observer.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'athanor %' AND wait_event_type = 'Lock'");
    await lock.release();
    const result = await run.done;
    expect(result.status, result.stderr).toBe(1);
    expect((await revisions()).map((row) => row.revision)).toEqual([A]);
    const document = JSON.parse(result.stdout) as { error: { code: string; message: string; hint: string | null } };
    // Today: {"code":"database-error","message":"terminating connection due to administrator command","hint":null}.
    expect(document.error.message).toContain("stamp");
    expect(document.error.hint).not.toBeNull();
  });
  it("resolve --applied of a revision whose file changed since its attempt says the edit is taken", async () => {
    const E = "e21e21e21e2e";
    await project.write({ id: E, down: B, message: "edited", transactional: false, upgrade: "CREATE TABLE e (x int);\nSELECT 1/0;", downgrade: "DROP TABLE e;" });
    try {
      expect((await cli("stamp", B)).status).toBe(0);
      expect((await cli("upgrade")).status).toBe(1);
      const attempt = (await observer.query<{ checksum: string }>(`SELECT checksum FROM athanor_version WHERE revision = '${E}'`)).rows[0]?.checksum;
      // The fix written into the file after the failure; the rest done by hand.
      await project.write({ id: E, down: B, message: "edited", transactional: false, upgrade: "CREATE TABLE e (x int);", downgrade: "DROP TABLE e;" });
      const result = await cli("resolve", E, "--applied", "--json");
      expect(result.status, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ revision: E, resolution: "applied", editAccepted: true });
      expect(result.stderr).toContain(`warning: the file of ${E} changed since its attempt was recorded`);
      const stored = (await observer.query<{ checksum: string }>(`SELECT checksum FROM athanor_version WHERE revision = '${E}'`)).rows[0]?.checksum;
      expect(stored).not.toBe(attempt);
      // The stored checksum is the file's: status finds nothing edited.
      expect((await cli("status", "--json")).status).toBe(0);
    } finally {
      await cli("stamp", B);
      await project.removeFile(`${E}_edited.sql`);
      await observer.query("DROP TABLE IF EXISTS e");
    }
  });
});
