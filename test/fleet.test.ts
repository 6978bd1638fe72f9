/**
 * Fleets (issue #17) on real servers: 24 databases over two PostgreSQL servers, tenant
 * schemas, a failing target under both failure policies, SIGKILL mid-fleet then a rerun,
 * two runners at once, `--target` globs, one confirmation for the whole fleet.
 *
 * The databases are created once; each test uses version tables and revision tables of
 * its own (a prefix), so tests never see each other's rows and no database is recreated.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockKey } from "../src/run/lock.js";
import { BIN, baseEnv, runCli, spawnCli, type CliResult } from "./support/cli.js";
import { queryUrl, serverUrl, tempDir } from "./support/databases.js";
import { sqlRevisionText, type SqlRevision } from "./support/engine-project.js";
import { startExtraServer, type ExtraServer } from "./support/extra-server.js";

const PTY = fileURLToPath(new URL("./support/pty-run.py", import.meta.url));
const suffix = randomBytes(3).toString("hex");
let extra: ExtraServer;
/** Target name → URL: `a-01`..`a-12` on the main server, `b-01`..`b-12` on the second one. */
const fleet: Record<string, string> = {};
const cleanups: (() => Promise<void>)[] = [];

function databaseUrl(server: string, name: string): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

async function createDatabases(server: string, prefix: string, count: number): Promise<void> {
  const names = Array.from({ length: count }, (_, i) => `fleet_${suffix}_${prefix}${String(i + 1).padStart(2, "0")}`);
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    for (const name of names) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  names.forEach((name, i) => (fleet[`${prefix}-${String(i + 1).padStart(2, "0")}`] = databaseUrl(server, name)));
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: server });
    await c.connect();
    try {
      for (const name of names) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await c.end();
    }
  });
}

beforeAll(async () => {
  extra = await startExtraServer();
  await Promise.all([createDatabases(serverUrl(), "a", 12), createDatabases(extra.url, "b", 12)]);
  // The config lists the targets by name (the databases were created in parallel).
  const sorted = Object.entries(fleet).sort(([a], [b]) => a.localeCompare(b));
  for (const name of Object.keys(fleet)) delete fleet[name];
  for (const [name, url] of sorted) fleet[name] = url;
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => {});
  await extra?.stop();
});

/** A project whose environment `prod` is a fleet; `tag` names its version and effect tables. */
interface FleetProject {
  readonly dir: string;
  readonly tag: string;
  write(spec: SqlRevision): Promise<void>;
  run(argv: string[]): Promise<CliResult>;
}

async function fleetProject(environment: Record<string, unknown>, revisions: readonly SqlRevision[]): Promise<FleetProject> {
  const { dir, remove } = await tempDir("athanor-fleet-");
  cleanups.push(remove);
  const tag = `f${randomBytes(3).toString("hex")}`;
  await mkdir(join(dir, "migrations"));
  const write = (spec: SqlRevision) => writeFile(join(dir, "migrations", `${spec.id}.sql`), sqlRevisionText(spec));
  for (const spec of revisions) await write(spec);
  const env = { versionTable: { table: `${tag}_version` }, ...environment };
  await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { prod: env } }, null, 2));
  return { dir, tag, write, run: (argv) => runCli(["--env", "prod", ...argv], { cwd: dir, env: baseEnv() }) };
}

/** Three revisions, each with a side effect counted in `<tag>_effects` (same transaction as its version row). */
function effectRevisions(tag: string, options: { slow?: boolean } = {}): SqlRevision[] {
  return [
    { id: "aaaaaaaaaaa1", upgrade: `CREATE TABLE ${tag}_effects (revision text NOT NULL);\nINSERT INTO ${tag}_effects VALUES ('1');`, downgrade: `DROP TABLE ${tag}_effects;` },
    { id: "aaaaaaaaaaa2", down: "aaaaaaaaaaa1", upgrade: `${options.slow ? "SELECT pg_sleep(0.3);\n" : ""}INSERT INTO ${tag}_effects VALUES ('2');`, downgrade: `DELETE FROM ${tag}_effects WHERE revision = '2';` },
    { id: "aaaaaaaaaaa3", down: "aaaaaaaaaaa2", upgrade: `INSERT INTO ${tag}_effects VALUES ('3');`, downgrade: `DELETE FROM ${tag}_effects WHERE revision = '3';` },
  ];
}

/** How many times each revision's side effect ran on a target (none: the table is missing). */
async function effects(url: string, tag: string): Promise<Record<string, number>> {
  const rows = await queryUrl<{ revision: string; n: string }>(url, `SELECT revision, count(*) AS n FROM (SELECT revision FROM ${tag}_effects WHERE to_regclass('${tag}_effects') IS NOT NULL) e GROUP BY revision`).catch(() => []);
  return Object.fromEntries(rows.map((row) => [row.revision, Number(row.n)]));
}

function subset(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, fleet[name] as string]));
}

function parse(result: CliResult): { targets: { target: string; status: string; completed?: string[]; error?: { code: string } }[]; summary: Record<string, number> } {
  return JSON.parse(result.stdout) as ReturnType<typeof parse>;
}

describe("a fleet of 24 databases on two servers", () => {
  it("upgrades every target once, shows the fleet, and runs --target globs on the chosen ones", async () => {
    const names = Object.keys(fleet);
    expect(names).toHaveLength(24);
    const project = await fleetProject({ targets: fleet, parallel: 8 }, []);
    for (const spec of effectRevisions(project.tag)) await project.write(spec);

    const first = await project.run(["--json", "upgrade", "head"]);
    expect(first.status, first.stderr).toBe(0);
    const document = parse(first);
    expect(document.targets.map((entry) => entry.target)).toEqual(names);
    expect(document.targets.every((entry) => entry.status === "ok" && entry.completed?.length === 3)).toBe(true);
    expect(document.summary).toMatchObject({ targets: 24, succeeded: 24, failed: 0, revisions: 72 });
    for (const name of names) expect(await effects(fleet[name] as string, project.tag)).toEqual({ 1: 1, 2: 1, 3: 1 });
    // History rows name their target (the column is added for fleets).
    const history = await queryUrl<{ target: string; n: string }>(fleet["b-07"] as string, `SELECT target, count(*) AS n FROM ${project.tag}_version_history GROUP BY target`);
    expect(history).toEqual([{ target: "b-07", n: "3" }]);

    const again = await project.run(["--json", "upgrade"]);
    expect(again.status).toBe(0);
    expect(parse(again).summary).toMatchObject({ succeeded: 24, revisions: 0 });

    const upToDate = await project.run(["--json", "status"]);
    expect(upToDate.status).toBe(0);
    expect(JSON.parse(upToDate.stdout)).toMatchObject({ environment: "prod", states: { "up-to-date": 24 }, behind: [] });

    await project.write({ id: "aaaaaaaaaaa4", down: "aaaaaaaaaaa3", upgrade: `INSERT INTO ${project.tag}_effects VALUES ('4');` });
    const behind = await project.run(["status"]);
    expect(behind.status).toBe(5);
    expect(behind.stdout).toMatch(/behind\s+24\s+a-01, a-02/);

    const some = await project.run(["--target", "b-0*", "--target", "a-1?", "upgrade"]);
    expect(some.status, some.stderr).toBe(0);
    expect(some.stdout).toContain("✓ b-09: upgraded to aaaaaaaaaaa4 (1 revision");
    expect(some.stdout).not.toContain("a-09");
    const after = JSON.parse((await project.run(["--json", "status"])).stdout) as { behind: string[]; states: Record<string, number> };
    expect(after.states).toEqual({ "up-to-date": 12, behind: 12 });
    expect(after.behind).toEqual(["a-01", "a-02", "a-03", "a-04", "a-05", "a-06", "a-07", "a-08", "a-09", "b-10", "b-11", "b-12"]);

    const current = JSON.parse((await project.run(["--json", "--target", "a-01", "--target", "b-01", "current"])).stdout) as { targets: { target: string; current: string[] }[] };
    expect(current.targets).toEqual([
      { target: "a-01", status: "ok", current: ["aaaaaaaaaaa3"], durationMs: expect.any(Number) as number },
      { target: "b-01", status: "ok", current: ["aaaaaaaaaaa4"], durationMs: expect.any(Number) as number },
    ]);

    const typo = await project.run(["--target", "c-*", "upgrade"]);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain("--target c-* matches no target");
  }, 60_000);

  it("writes JSON log lines naming each target, and --sql prints one script per target", async () => {
    const project = await fleetProject({ targets: subset(["a-01", "b-01"]) }, []);
    for (const spec of effectRevisions(project.tag)) await project.write(spec);
    const logged = await project.run(["--log-format", "json", "upgrade"]);
    expect(logged.status, logged.stderr).toBe(0);
    const lines = logged.stderr.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    const ends = lines.filter((line) => line["event"] === "command-end");
    expect(ends.map((line) => line["fleetTarget"]).sort()).toEqual(["a-01", "b-01"]);
    expect(lines.filter((line) => line["event"] === "revision-end" && line["fleetTarget"] === "b-01")).toHaveLength(3);
    expect(logged.stderr).not.toContain(new URL(serverUrl()).password || "\u0000never");

    const sql = await project.run(["upgrade", "--sql"]);
    expect(sql.status).toBe(0);
    expect(sql.stdout.match(/^-- target: (a-01|b-01)$/gm)).toEqual(["-- target: a-01", "-- target: b-01"]);
  }, 30_000);

  it("traces one OpenTelemetry span per target", async () => {
    const project = await fleetProject({ targets: subset(["a-03", "b-03"]) }, []);
    for (const spec of effectRevisions(project.tag)) await project.write(spec);
    const file = join(project.dir, "spans.jsonl");
    const dump = fileURLToPath(new URL("./support/otel-dump.mjs", import.meta.url));
    const result = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", dump, BIN, "--env", "prod", "upgrade"], { cwd: project.dir, env: { ...baseEnv(), ATHANOR_TEST_OTEL_FILE: file } as NodeJS.ProcessEnv, stdio: "ignore" });
      child.on("error", reject);
      child.on("close", resolve);
    });
    expect(result).toBe(0);
    const spans = (await readFile(file, "utf8")).trim().split("\n").map((line) => JSON.parse(line) as { name: string; attributes: Record<string, unknown> });
    const commands = spans.filter((span) => span.name === "athanor.upgrade");
    expect(commands.map((span) => span.attributes["athanor.fleet.target"]).sort()).toEqual(["a-03", "b-03"]);
    expect(spans.filter((span) => span.name === "athanor.revision" && span.attributes["athanor.fleet.target"] === "a-03")).toHaveLength(3);
  }, 30_000);

  it("checks every target, shows the fleet redacted, and runs one-database commands on one --target only", async () => {
    const project = await fleetProject({ targets: subset(["a-02", "b-02"]), canary: 1 }, []);
    for (const spec of effectRevisions(project.tag)) await project.write(spec);
    expect((await project.run(["upgrade"])).status).toBe(0);
    const check = await project.run(["--json", "check"]);
    expect(check.status, check.stdout).toBe(0);
    const report = JSON.parse(check.stdout) as { ok: boolean; environments: { targets: { target: string; ok: boolean }[] }[] };
    expect(report.environments[0]?.targets.map((entry) => `${entry.target}:${entry.ok}`)).toEqual(["a-02:true", "b-02:true"]);

    // The overview of every environment shows the fleet as one row.
    const overview = await runCli(["status"], { cwd: project.dir, env: baseEnv() });
    expect(overview.status, overview.stdout).toBe(0);
    expect(overview.stdout).toMatch(/prod\s+fleet of 2 targets\s+aaaaaaaaaaa3\s+0\s+✓ up-to-date/);

    const env = await project.run(["env"]);
    expect(env.stdout).toMatch(/targets\.b-02\s+postgres:\/\/postgres:\*\*\*@/);
    expect(env.stdout).toMatch(/canary\s+1/);

    const whole = await project.run(["log"]);
    expect(whole.status).toBe(2);
    expect(whole.stderr).toContain('`log` works on one database, and environment "prod" is a fleet');
    const one = await project.run(["--json", "--target", "b-02", "log"]);
    expect(one.status, one.stderr).toBe(0);
    expect(one.stdout).toContain("aaaaaaaaaaa3");
  }, 30_000);
});

describe("a failing target", () => {
  const names = ["a-01", "a-02", "a-03", "b-01", "b-02", "b-03"];

  async function failingProject(onFailure: "stop" | "continue"): Promise<FleetProject> {
    const project = await fleetProject({ targets: subset(names), parallel: 1, onFailure }, []);
    for (const spec of effectRevisions(project.tag)) await project.write(spec);
    // The third target already has the table the first revision creates: it fails there.
    await queryUrl(fleet["a-03"] as string, `CREATE TABLE ${project.tag}_effects (revision text NOT NULL)`);
    return project;
  }

  it("stop: no new target starts after the failure; a rerun finishes the fleet, each revision once", async () => {
    const project = await failingProject("stop");
    const result = await project.run(["--json", "upgrade"]);
    expect(result.status).toBe(1);
    expect(parse(result).targets.map((entry) => `${entry.target}:${entry.status}`)).toEqual(["a-01:ok", "a-02:ok", "a-03:failed", "b-01:skipped", "b-02:skipped", "b-03:skipped"]);
    expect(await effects(fleet["b-01"] as string, project.tag)).toEqual({});

    const text = await project.run(["upgrade"]);
    expect(text.status).toBe(1);
    expect(text.stdout).toContain("✗ a-03:");
    expect(text.stdout).toContain("b-01: not started (an earlier target failed; onFailure is stop)");

    await queryUrl(fleet["a-03"] as string, `DROP TABLE ${project.tag}_effects`);
    const rerun = await project.run(["--json", "upgrade"]);
    expect(rerun.status, rerun.stderr).toBe(0);
    for (const name of names) expect(await effects(fleet[name] as string, project.tag)).toEqual({ 1: 1, 2: 1, 3: 1 });
  }, 30_000);

  it("continue: every other target runs; the exit status is 1", async () => {
    const project = await failingProject("continue");
    const result = await project.run(["--json", "upgrade"]);
    expect(result.status).toBe(1);
    expect(parse(result).targets.map((entry) => `${entry.target}:${entry.status}`)).toEqual(["a-01:ok", "a-02:ok", "a-03:failed", "b-01:ok", "b-02:ok", "b-03:ok"]);
    expect(parse(result).targets[2]?.error?.code).toBeDefined();
    expect(await effects(fleet["b-03"] as string, project.tag)).toEqual({ 1: 1, 2: 1, 3: 1 });
    expect(await effects(fleet["a-03"] as string, project.tag)).toEqual({});
  }, 30_000);
});

/** Spawns the CLI; resolves with its exit status and output. */
function spawnRun(argv: string[], cwd: string, onSpawn?: (kill: () => void) => void): Promise<CliResult & { signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], { cwd, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ status: code ?? 128, stdout, stderr, signal }));
    onSpawn?.(() => child.kill("SIGKILL"));
  });
}

describe("resumable and exact", () => {
  const names = ["a-04", "a-05", "a-06", "b-04", "b-05", "b-06"];

  it("after a SIGKILL mid-fleet, a rerun finishes the fleet with every revision applied exactly once", async () => {
    const project = await fleetProject({ targets: subset(names), parallel: 2 }, []);
    for (const spec of effectRevisions(project.tag, { slow: true })) await project.write(spec);
    const killed = await spawnRun(["--env", "prod", "upgrade"], project.dir, (kill) => {
      // Killed once the first target is done and others are mid-way (0.3 s per slow revision).
      const poll = setInterval(() => {
        void effects(fleet["a-04"] as string, project.tag).then((seen) => {
          if (seen["3"] === 1) {
            clearInterval(poll);
            kill();
          }
        });
      }, 50);
    });
    expect(killed.signal).toBe("SIGKILL");
    const partial = await Promise.all(names.map((name) => effects(fleet[name] as string, project.tag)));
    expect(partial.some((seen) => seen["3"] !== 1)).toBe(true);

    const rerun = await project.run(["--json", "upgrade"]);
    expect(rerun.status, rerun.stderr).toBe(0);
    for (const name of names) {
      expect(await effects(fleet[name] as string, project.tag)).toEqual({ 1: 1, 2: 1, 3: 1 });
      const rows = await queryUrl<{ revision: string }>(fleet[name] as string, `SELECT revision FROM ${project.tag}_version ORDER BY revision`);
      expect(rows.map((row) => row.revision)).toEqual(["aaaaaaaaaaa1", "aaaaaaaaaaa2", "aaaaaaaaaaa3"]);
    }
  }, 40_000);

  it("two runners on the same fleet at once: each target's revisions run once, both runners succeed", async () => {
    const twoNames = ["a-07", "a-08", "b-07", "b-08"];
    const project = await fleetProject({ targets: subset(twoNames), parallel: 2 }, []);
    for (const spec of effectRevisions(project.tag, { slow: true })) await project.write(spec);
    const [one, two] = await Promise.all([spawnRun(["--env", "prod", "--json", "upgrade"], project.dir), spawnRun(["--env", "prod", "--json", "upgrade"], project.dir)]);
    expect(one.status, one.stderr).toBe(0);
    expect(two.status, two.stderr).toBe(0);
    const applied = [...parse(one).targets, ...parse(two).targets].reduce((sum, entry) => sum + (entry.completed?.length ?? 0), 0);
    expect(applied).toBe(twoNames.length * 3);
    for (const name of twoNames) expect(await effects(fleet[name] as string, project.tag)).toEqual({ 1: 1, 2: 1, 3: 1 });
  }, 40_000);
});

describe("a target locked by another runner", () => {
  it("is waited for within --lock-wait, then reported, while the other targets run", async () => {
    const project = await fleetProject({ targets: subset(["a-12", "b-12"]), parallel: 1 }, []);
    // Slow on a-12 only: the first runner holds a-12's lock for 8 s.
    await project.write({ id: "ddddddddddd1", upgrade: `SELECT pg_sleep(CASE WHEN current_database() LIKE '%a12' THEN 8 ELSE 0 END);\nCREATE TABLE ${project.tag}_effects (n int);` });
    const holder = spawnRun(["--env", "prod", "--target", "a-12", "upgrade"], project.dir);
    // Wait until the holder runs the slow revision (it holds the lock from before it starts).
    for (let i = 0; i < 100; i++) {
      const rows = await queryUrl<{ n: string }>(fleet["a-12"] as string, "SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE '%pg_sleep(CASE%' AND state = 'active' AND pid <> pg_backend_pid()");
      if (rows[0]?.n !== "0") break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const second = await project.run(["--json", "--lock-wait", "1", "upgrade"]);
    expect(second.status).toBe(1);
    const entries = parse(second).targets;
    expect(entries.map((entry) => `${entry.target}:${entry.status}`)).toEqual(["a-12:failed", "b-12:ok"]);
    expect(entries[0]?.error?.code).toBe("lock-timeout");
    expect((await holder).status).toBe(0);
  }, 30_000);
});

describe("the production confirmation", () => {
  const names = ["a-09", "a-10", "b-09", "b-10"];

  it("is asked once for the whole fleet, naming how many targets; refused where nobody can answer", async () => {
    const project = await fleetProject({ targets: subset(names), protected: true }, []);
    for (const spec of effectRevisions(project.tag)) await project.write(spec);
    const refused = await project.run(["upgrade"]);
    expect(refused.status).toBe(3);
    // The plan does not claim "0 revisions (current: none)": each target is planned under its own lock.
    expect(refused.stderr).toContain("upgrade to head on 4 targets: each target's revisions are planned under its own lock once this is confirmed");
    expect(refused.stderr).toContain("targets of prod: a-09, a-10, b-09, b-10");
    expect(refused.stderr).not.toMatch(/\d+ revisions? \(current: /);
    for (const name of names) expect(await effects(fleet[name] as string, project.tag)).toEqual({});

    const terminal = await new Promise<CliResult>((resolve, reject) => {
      const child = spawn("python3", [PTY, "environment's name", "prod\\r", "60", process.execPath, BIN, "--env", "prod", "upgrade"], { cwd: project.dir, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ status: code ?? 1, stdout, stderr: "" }));
    });
    expect(terminal.status, terminal.stdout).toBe(0);
    // One plan shown, one prompt answered: the targets' own guards ask nothing.
    expect(terminal.stdout.match(/protected environment/g)).toHaveLength(1);
    expect(terminal.stdout).toContain("a fleet of 4 targets");
    for (const name of names) expect(await effects(fleet[name] as string, project.tag)).toEqual({ 1: 1, 2: 1, 3: 1 });

    // --yes answers the confirmation; the plan is still printed on stderr (docs/guardrails.md).
    const confirmed = await project.run(["--yes", "upgrade"]);
    expect(confirmed.status, confirmed.stderr).toBe(0);
    expect(confirmed.stderr).toContain("protected environment prod");
    expect(confirmed.stderr).toContain("upgrade to head on 4 targets");
  }, 60_000);
});

describe("schema-per-tenant", () => {
  async function tenantProject(count: number): Promise<{ project: FleetProject; url: string; schemas: string[] }> {
    const url = fleet["a-11"] as string;
    const prefix = `tenant_${randomBytes(3).toString("hex")}`;
    const schemas = Array.from({ length: count }, (_, i) => `${prefix}_${i + 1}`);
    await queryUrl(url, schemas.map((schema) => `CREATE SCHEMA ${schema};`).join("\n"));
    const project = await fleetProject({ url, tenantSchemas: `SELECT nspname FROM pg_namespace WHERE nspname LIKE '${prefix}\\_%' ORDER BY 1` }, []);
    return { project, url, schemas };
  }

  it("keeps each tenant's version and history rows in its own schema, named by the tenant", async () => {
    const { project, url, schemas } = await tenantProject(5);
    // Tenants migrate in parallel: the shared table exists first (concurrent CREATEs would race).
    await queryUrl(url, `CREATE TABLE public.${project.tag}_seen (n int)`);
    await project.write({ id: "bbbbbbbbbbb1", upgrade: `INSERT INTO public.${project.tag}_seen VALUES (1);` });
    const result = await project.run(["--json", "upgrade"]);
    expect(result.status, result.stderr).toBe(0);
    expect(parse(result).targets.map((entry) => entry.target)).toEqual(schemas);
    const seen = await queryUrl<{ n: string }>(url, `SELECT count(*) AS n FROM public.${project.tag}_seen`);
    expect(seen).toEqual([{ n: "5" }]);
    for (const schema of schemas) {
      const rows = await queryUrl<{ revision: string; target: string }>(url, `SELECT v.revision, h.target FROM ${schema}.${project.tag}_version v, ${schema}.${project.tag}_version_history h`);
      expect(rows).toEqual([{ revision: "bbbbbbbbbbb1", target: schema }]);
    }
    // As a user runs it (its own process, so a driver warning would reach stderr): the tenants
    // of one database are read in parallel over one shared connection, their queries queued.
    const statusRun = await spawnCli(["--env", "prod", "--json", "status"], { cwd: project.dir, env: baseEnv() });
    expect(statusRun.stderr).toBe("");
    const status = JSON.parse(statusRun.stdout) as { states: Record<string, number> };
    expect(status.states).toEqual({ "up-to-date": 5 });
  }, 30_000);

  it("holds each tenant's own migration lock, all on one lock connection per database", async () => {
    const { project, url, schemas } = await tenantProject(6);
    // Each revision records the advisory locks other backends hold while it runs.
    await queryUrl(url, `CREATE TABLE public.${project.tag}_locks (schema text, pid int, classid bigint, objid bigint)`);
    await project.write({
      id: "ddddddddddd1",
      upgrade: `INSERT INTO public.${project.tag}_locks SELECT current_schema(), l.pid, l.classid, l.objid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.pid <> pg_backend_pid() AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database());`,
    });
    const result = await project.run(["--json", "upgrade"]);
    expect(result.status, result.stderr).toBe(0);
    const rows = await queryUrl<{ schema: string; pid: number; classid: string; objid: string }>(url, `SELECT schema, pid, classid::text, objid::text FROM public.${project.tag}_locks`);
    const holders = new Set<number>();
    for (const schema of schemas) {
      const key = BigInt.asUintN(64, lockKey({ schema, table: `${project.tag}_version` }));
      const own = rows.filter((row) => row.schema === schema && BigInt(row.classid) === key >> 32n && BigInt(row.objid) === (key & 0xffffffffn));
      // The tenant's own key is held (by a connection other than its migration session) while its revision runs.
      expect(own, schema).toHaveLength(1);
      holders.add((own[0] as { pid: number }).pid);
    }
    // One lock connection for the six tenants of the database, not one per tenant.
    expect(holders.size).toBe(1);
  }, 30_000);

  // NEEDS the `replica` branch (ResolvedEnvironment.searchPath applied to sessions): fails on
  // `fleet` alone, where the unqualified table lands in public for the first tenant only.
  it("[needs replica's searchPath] runs each tenant's revisions with search_path set to its schema", async () => {
    const { project, url, schemas } = await tenantProject(3);
    await project.write({ id: "ccccccccccc1", upgrade: `CREATE TABLE ${project.tag}_t (id int);\nINSERT INTO ${project.tag}_t VALUES (1);` });
    const result = await project.run(["--json", "upgrade"]);
    expect(result.status, result.stdout).toBe(0);
    for (const schema of schemas) expect(await queryUrl(url, `SELECT id FROM ${schema}.${project.tag}_t`)).toEqual([{ id: 1 }]);
    expect(await queryUrl(url, `SELECT to_regclass('public.${project.tag}_t') AS t`)).toEqual([{ t: null }]);
  }, 30_000);
});
