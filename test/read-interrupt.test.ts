/**
 * SIGTERM stops the commands that only read (the real binary, `npm run build` first):
 * `current`, `check` (one environment, or a fleet's targets), `status` (every environment, or a fleet's targets), `history --graph
 * --status`, `log` and `lint` waiting on a version (or history) table another session has locked, and `diff`
 * replaying a revision on a `shadowUrl` server, exit 143 with one line saying what was
 * stopped, instead of printing a normal result once the wait is over; the diff's shadow
 * database is dropped.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { BIN, baseEnv, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, serverUrl, tempDir, type TestDatabase } from "./support/databases.js";

interface Running {
  kill(signal: NodeJS.Signals): void;
  done: Promise<CliResult>;
}

function start(argv: string[], cwd: string): Running {
  const child = spawn(process.execPath, [BIN, ...argv], { cwd, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  // The command's own wait (the locked table, the shadow's sleep) is longer than this test's: only a stopped command ends in time.
  const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
  return {
    kill: (signal) => child.kill(signal),
    done: new Promise((resolve) => {
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ status: code ?? (signal === "SIGKILL" ? 137 : 128), stdout, stderr });
      });
    }),
  };
}

async function until(what: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await what()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("condition not reached in time");
}

async function adminQuery<Row>(sql: string, params: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as Row[];
  } finally {
    await client.end();
  }
}

const revision = (upgrade: string) => ["-- athanor:revision a00000000001", "-- athanor:message t", "", "-- athanor:upgrade", upgrade, ""].join("\n");

describe("SIGTERM stops a reading command", () => {
  let project: { dir: string; remove(): Promise<void> };
  let db: TestDatabase;
  let holder: pg.Client | null = null;

  beforeAll(async () => {
    project = await tempDir("athanor-read-interrupt-");
    await mkdir(join(project.dir, "migrations"));
    await mkdir(join(project.dir, "db"));
    await writeFile(join(project.dir, "db", "schema.sql"), "CREATE TABLE a (id int);\n");
  });
  afterAll(() => project.remove());
  afterEach(async () => {
    await holder?.end().catch(() => {});
    holder = null;
    await db?.drop();
  });

  async function setUp(upgrade: string): Promise<void> {
    db = await createPostgresDatabase("athanor_readint");
    await writeFile(join(project.dir, "migrations", "a00000000001_t.sql"), revision(upgrade));
    const environments = { development: { url: db.url, shadowUrl: serverUrl() }, shards: { targets: { one: db.url } } };
    await writeFile(join(project.dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", schema: "./db/schema.sql", environments }));
  }

  // status's own timeout (60 s) is longer than the test's: only a stopped status ends in time.
  // history --graph --status reads with status's default timeout (5 s): before, it drew the graph once that was over, exit 0.
  const cases = [
    { name: "current", argv: ["current"], waiting: 1, command: "current", table: "athanor_version" },
    { name: "check", argv: ["check"], waiting: 1, command: "check", table: "athanor_version" },
    { name: "check of a fleet", argv: ["--env", "shards", "check"], waiting: 1, command: "check", table: "athanor_version" },
    { name: "status (every environment, a fleet's targets included)", argv: ["status", "--timeout", "60"], waiting: 2, command: "status", table: "athanor_version" },
    { name: "status of a fleet", argv: ["--env", "shards", "status", "--timeout", "60"], waiting: 1, command: "status", table: "athanor_version" },
    { name: "history --graph --status", argv: ["history", "--graph", "--status"], waiting: 2, command: "history", table: "athanor_version" },
    { name: "log", argv: ["log"], waiting: 1, command: "log", table: "athanor_version_history" },
    { name: "lint (the environment's pending revisions)", argv: ["lint"], waiting: 1, command: "lint", table: "athanor_version" },
  ];
  for (const { name, argv, waiting, command, table } of cases) {
    it(`${name} waiting on a locked ${table} table exits 143 at once, saying it stopped`, async () => {
      await setUp("CREATE TABLE a (id int);");
      const upgraded = await new Promise<number | null>((resolve) => spawn(process.execPath, [BIN, "upgrade"], { cwd: project.dir, env: baseEnv() as NodeJS.ProcessEnv, stdio: "ignore" }).on("close", resolve));
      expect(upgraded).toBe(0);
      holder = new pg.Client({ connectionString: db.url });
      holder.on("error", () => {});
      await holder.connect();
      await holder.query(`BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      const run = start(argv, project.dir);
      // Its queries wait on the lock (held until this test ends it).
      await until(async () => (await adminQuery<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'", [db.name]))[0]?.n === waiting);
      run.kill("SIGTERM");
      const result = await run.done;
      expect(result.stderr).toContain("SIGTERM: stopping: the running query is cancelled");
      expect(result.stderr).toContain(`interrupted by SIGTERM: ${command} stopped: its query was cancelled; it changes nothing`);
      expect(result.status).toBe(143);
      expect(result.stdout).not.toContain("a00000000001");
      // The cancelled queries are gone from the server, not left waiting on the lock.
      expect((await adminQuery<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'", [db.name]))[0]?.n).toBe(0);
    });
  }

  it("diff replaying a revision on a shadowUrl server exits 143 and drops the shadow database", async () => {
    await setUp("CREATE TABLE a (id int);\nSELECT pg_sleep(40);");
    const run = start(["diff", "--from", "migrations", "--to", "schema"], project.dir);
    let shadow = "";
    await until(async () => {
      const rows = await adminQuery<{ datname: string }>("SELECT datname FROM pg_stat_activity WHERE datname LIKE 'athanor\\_shadow\\_%' AND query LIKE '%pg_sleep(40)%' AND state = 'active'");
      shadow = rows[0]?.datname ?? "";
      return shadow !== "";
    });
    run.kill("SIGTERM");
    const result = await run.done;
    expect(result.stderr).toContain("interrupted by SIGTERM: the schema comparison stopped");
    expect(result.status).toBe(143);
    expect(result.stdout).not.toContain("no differences");
    expect(await adminQuery("SELECT 1 FROM pg_database WHERE datname = $1", [shadow])).toEqual([]);
  });

  it("the next shadowUrl comparison drops a killed run's shadow database older than an hour, and only that", async () => {
    await setUp("CREATE TABLE a (id int);");
    const suffix = Date.now().toString(16).slice(-6);
    const stale = `athanor_shadow_0000aa${suffix}`;
    const recent = `athanor_shadow_0000bb${suffix}`;
    const unmarked = `athanor_shadow_0000cc${suffix}`;
    for (const name of [stale, recent, unmarked]) await adminQuery(`CREATE DATABASE ${name}`);
    await adminQuery(`COMMENT ON DATABASE ${stale} IS 'athanor shadow created ${new Date(Date.now() - 2 * 3_600_000).toISOString()}'`);
    await adminQuery(`COMMENT ON DATABASE ${recent} IS 'athanor shadow created ${new Date(Date.now() - 60_000).toISOString()}'`);
    try {
      const result = await start(["diff", "--from", "migrations", "--to", "schema"], project.dir).done;
      expect(result.stdout).toContain("no differences");
      expect(result.status).toBe(0);
      const left = (await adminQuery<{ datname: string }>("SELECT datname FROM pg_database WHERE datname = ANY($1::text[]) ORDER BY 1", [[stale, recent, unmarked]])).map((r) => r.datname);
      expect(left).toEqual([recent, unmarked]);
    } finally {
      for (const name of [stale, recent, unmarked]) await adminQuery(`DROP DATABASE IF EXISTS ${name}`);
    }
  });
});
