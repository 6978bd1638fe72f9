/**
 * The engine as separate processes (the real binary, `npm run build` first): two
 * `upgrade` runs at once apply each revision once (the second waits, or exits 4 naming
 * the holder), SIGTERM during a long revision exits 143 with everything rolled back and
 * the lock free, and the PGlite lock file between two runners (and after a crash).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { AthanorError } from "../src/errors.js";
import { acquireLock, lockFilePath } from "../src/run/lock.js";
import { BIN, baseEnv, type CliResult } from "./support/cli.js";
import { tempDir } from "./support/databases.js";
import { createEngineProject, historyRows, ids, postgresEngine, versionRows, type EngineDatabase, type EngineProject } from "./support/engine-project.js";

interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<CliResult>;
}

function start(argv: string[], cwd: string, env: Record<string, string | undefined>): Running {
  const child = spawn(process.execPath, [BIN, ...argv], { cwd, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const done = new Promise<CliResult>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? (signal === "SIGTERM" ? 143 : 128), stdout, stderr });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

async function until(what: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await what()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("condition not reached in time");
}

const engine = postgresEngine();

describe("engine processes on PostgreSQL", () => {
  let project: EngineProject;
  let db: EngineDatabase;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    project = await createEngineProject();
  });
  afterAll(() => project.remove());
  afterEach(() => db?.drop());

  async function setUp(files: Parameters<EngineProject["write"]>[0][]) {
    db = await engine.database();
    for (const name of await readdir(project.migrationsDir)) await project.removeFile(name);
    for (const file of files) await project.write(file);
    await project.configure({ development: { url: "${DATABASE_URL}" } });
    env = baseEnv({ DATABASE_URL: String(db.envConfig["url"]) });
  }

  const advisoryLocks = async (): Promise<number> =>
    (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"))[0]?.n ?? -1;

  it("two concurrent upgrades apply each revision once: the second waits for the first", async () => {
    const revisions = ids(4, "e");
    // The first runner's first revision holds the lock until the second runner, refused it,
    // has asked who holds it (its holder query, src/dialects/postgres-session.ts findHolder,
    // is seen in this database), at most 60 s: a fixed sleep let a slow start of the second
    // runner (load 12) find the lock already free and print no "waiting" line.
    const untilSecondRunnerTries = `DO $$ BEGIN
  FOR i IN 1..1200 LOOP
    PERFORM pg_stat_clear_snapshot();
    EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'SELECT a.pid, a.application_name%');
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;`;
    await setUp(
      revisions.map((id, i) => ({ id, down: i === 0 ? null : (revisions[i - 1] as string), message: `step ${i + 1}`, upgrade: `CREATE TABLE t_${id} (id int);${i === 0 ? `\n${untilSecondRunnerTries}` : ""}` })),
    );
    const first = start(["upgrade"], project.dir, env);
    await until(async () => (await advisoryLocks()) >= 1);
    const second = start(["upgrade"], project.dir, env);
    const [a, b] = await Promise.all([first.done, second.done]);
    expect(a.stderr + b.stderr).not.toContain("error");
    expect([a.status, b.status]).toEqual([0, 0]);
    expect(a.stdout).toContain("upgraded development");
    expect(b.stderr).toMatch(/waiting up to 60 s for the migration lock, held by pid \d+ \(athanor upgrade \(development\)/);
    expect(b.stdout).toContain("nothing to upgrade");
    expect((await versionRows(db)).map((row) => row.revision)).toEqual(revisions);
    expect((await historyRows(db)).filter((row) => row.direction === "up")).toHaveLength(4);
    expect(await advisoryLocks()).toBe(0);
  });

  it("with a short --lock-wait the second runner exits 4 naming the holder and changes nothing", async () => {
    const [slow] = ids(1, "f");
    await setUp([{ id: slow as string, message: "slow", upgrade: "SELECT pg_sleep(4);" }]);
    const first = start(["upgrade"], project.dir, env);
    await until(async () => (await advisoryLocks()) >= 1);
    const second = await start(["--lock-wait", "1", "upgrade"], project.dir, env).done;
    expect(second.status).toBe(4);
    expect(second.stderr).toMatch(/error: the migration lock on public\.athanor_version is held by pid \d+ \(athanor upgrade \(development\), user postgres.*since .*gave up after waiting 1 s/);
    expect(second.stderr).toContain("hint:");
    expect((await first.done).status).toBe(0);
    expect((await versionRows(db)).map((row) => row.revision)).toEqual([slow]);
  });

  it("SIGTERM during a long revision exits 143, rolls it back and frees the lock", async () => {
    const [fast, long] = ids(2, "9") as [string, string];
    await setUp([
      { id: fast, message: "fast", upgrade: "CREATE TABLE t_fast (id int);" },
      { id: long, down: fast, message: "long", upgrade: "CREATE TABLE t_long (id int);\nSELECT pg_sleep(30);" },
    ]);
    const started = Date.now();
    const run = start(["upgrade"], project.dir, env);
    await until(async () => (await db.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()")).length > 0);
    run.child.kill("SIGTERM");
    const result = await run.done;
    expect(result.status).toBe(143);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(result.stderr).toContain("interrupted by SIGTERM");
    expect((await versionRows(db)).map((row) => row.revision)).toEqual([fast]);
    expect(await db.query("SELECT to_regclass('t_long') AS t")).toEqual([{ t: null }]);
    expect(await advisoryLocks()).toBe(0);
    // Its connections are gone too (a backend leaves pg_stat_activity a moment after the client closes).
    await until(async () => (await db.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'athanor%'")).length === 0, 5_000);
  });
});

describe("PGlite lock file", () => {
  it("excludes a second runner, names the holder, and is taken over when its process is dead", async () => {
    const { dir, remove } = await tempDir("athanor-lockfile-");
    try {
      const dataDir = join(dir, "db");
      const target = { kind: "pglite" as const, dataDir };
      const versionTable = { schema: "public", table: "athanor_version" };
      const release = await acquireLock({ target, versionTable, waitMs: 1_000, applicationName: "athanor upgrade (development)" });
      const error = await acquireLock({ target, versionTable, waitMs: 300, applicationName: "athanor upgrade (other)" }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AthanorError);
      expect((error as AthanorError).exitStatus).toBe(4);
      expect((error as AthanorError).message).toContain(`held by pid ${process.pid} on ${hostname()} (athanor upgrade (development)`);
      await release();
      await release();

      // A crashed runner's file: its pid is not running on this host.
      await mkdir(dir, { recursive: true });
      await writeFile(lockFilePath(dataDir), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), startedAt: "2020-01-01T00:00:00Z", holder: "athanor upgrade (dead)" }));
      const again = await acquireLock({ target, versionTable, waitMs: 300, applicationName: "athanor upgrade (development)" });
      await again();
      const memory = await acquireLock({ target: { kind: "pglite", dataDir: null }, versionTable, waitMs: 0, applicationName: "x" });
      await memory();
    } finally {
      await remove();
    }
  });
});

describe("SIGINT on PGlite", () => {
  // PGlite runs in this process and cannot cancel a statement: the run stops after the
  // revision that is running. Its statements settle as promise callbacks, which ran before
  // the signal handler, so the signal used to be seen only once every revision had run (exit 0).
  it("stops after the running revision: exit 130, the later revisions not applied", async () => {
    const { dir, remove } = await tempDir("athanor-pglite-sigint-");
    try {
      const revisionIds = ids(5, "7");
      await mkdir(join(dir, "migrations"));
      await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: "pglite://./db" } } }));
      for (const [k, id] of revisionIds.entries()) {
        const upgrade = k === 0 ? "CREATE TABLE t (n bigint);" : "INSERT INTO t SELECT count(*) FROM generate_series(1, 1000000) a, generate_series(1, 3) b;";
        await writeFile(join(dir, "migrations", `${id}_r${k}.sql`), [`-- athanor:revision ${id}`, ...(k > 0 ? [`-- athanor:down ${revisionIds[k - 1]}`] : []), "", "-- athanor:upgrade", upgrade, ""].join("\n"));
      }
      const run = start(["upgrade"], dir, baseEnv());
      // Once the first slow revision has committed, the next one is running.
      await until(async () => run.stdout().includes(`upgrade ${revisionIds[1]}`), 60_000);
      run.child.kill("SIGINT");
      const result = await run.done;
      expect(result.status, result.stderr).toBe(130);
      expect(result.stderr).toContain("interrupted by SIGINT");
      expect(result.stdout).not.toContain(`upgrade ${revisionIds[4]}`);
      const current = await new Promise<string>((resolve) => {
        const child = spawn(process.execPath, [BIN, "current"], { cwd: dir, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "ignore"] });
        let out = "";
        child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
        child.on("close", () => resolve(out));
      });
      expect(current).not.toContain(revisionIds[4] as string);
    } finally {
      await remove();
    }
  }, 120_000);
});
