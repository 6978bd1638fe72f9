/**
 * `athanor log`: the history table of an environment, newest first (DESIGN.md §5), on
 * PostgreSQL and PGlite; "no history yet" and exit 0 when nothing ever ran, and nothing
 * created by reading.
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, runCli } from "./support/cli.js";
import type { TestDatabase } from "./support/databases.js";
import { GUARD_PASSWORD, adminQuery, createGuardProject, createGuardRole, createOwnedDatabase, guardUrlTemplate, writeRevision, type GuardProject } from "./support/guard-project.js";
import { VERSION } from "../src/version.js";

const R1 = "0a1b2c3d4e5f";
const R2 = "1b2c3d4e5f60";
const R3 = "2c3d4e5f6071";

interface Entry {
  id: number;
  environment: string;
  direction: string;
  revision: string | null;
  user: string;
  osUser: string | null;
  host: string | null;
  toolVersion: string;
  startedAt: string;
  durationMs: number | null;
  outcome: string;
  error: string | null;
  note: string | null;
}

async function prepare(project: GuardProject): Promise<void> {
  await writeRevision(project.migrationsDir, { id: R1, down: null, message: "one", upgrade: "CREATE TABLE one (id int);", downgrade: "DROP TABLE one;" }, 0);
  await writeRevision(project.migrationsDir, { id: R2, down: R1, message: "two", upgrade: "CREATE TABLE two (id int);", downgrade: "DROP TABLE two;" }, 1);
}

/** upgrade R1..R2, a failing R3, downgrade -1: four history rows, the failure third. */
async function runSomeMigrations(project: GuardProject, args: string[], env: Record<string, string | undefined>): Promise<void> {
  expect((await runCli([...args, "upgrade"], { cwd: project.dir, env })).status).toBe(0);
  await writeRevision(project.migrationsDir, { id: R3, down: R2, message: "broken", upgrade: "INSERT INTO missing VALUES (1);" }, 2);
  expect((await runCli([...args, "upgrade"], { cwd: project.dir, env })).status).toBe(1);
  await rm(join(project.migrationsDir, `0002_${R3}.sql`));
  expect((await runCli([...args, "downgrade", "-1"], { cwd: project.dir, env })).status).toBe(0);
}

function expectHistory(entries: readonly Entry[], environment: string): void {
  expect(entries.map((entry) => `${entry.direction} ${entry.revision} ${entry.outcome}`)).toEqual([`down ${R2} success`, `up ${R3} failed`, `up ${R2} success`, `up ${R1} success`]);
  for (const entry of entries) {
    expect(entry.environment).toBe(environment);
    expect(entry.toolVersion).toBe(VERSION);
    expect(entry.host).toBe(hostname());
    expect(entry.startedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    expect(typeof entry.durationMs).toBe("number");
  }
  // Newest first.
  const times = entries.map((entry) => Date.parse(entry.startedAt));
  expect([...times].sort((a, b) => b - a)).toEqual(times);
  expect(entries[1]?.error).toContain("missing");
  expect(entries[0]?.error).toBeNull();
}

describe("athanor log on PostgreSQL", () => {
  let project: GuardProject;
  let role: { name: string; drop(): Promise<void> };
  let database: TestDatabase;
  let empty: TestDatabase;
  const env = baseEnv({ DB_PASSWORD: GUARD_PASSWORD });

  beforeAll(async () => {
    role = await createGuardRole();
    database = await createOwnedDatabase(role.name);
    empty = await createOwnedDatabase(role.name);
    project = await createGuardProject();
    await project.writeConfig({ testing: { url: guardUrlTemplate(role.name, database.name) }, fresh: { url: guardUrlTemplate(role.name, empty.name) } });
    await prepare(project);
    await runSomeMigrations(project, ["--env", "testing"], env);
  });

  afterAll(async () => {
    await project?.remove();
    await database?.drop();
    await empty?.drop();
    await role?.drop();
  });

  it("--json: every run, newest first, who, where, when, how long, outcome", async () => {
    const result = await runCli(["--env", "testing", "--json", "log"], { cwd: project.dir, env });
    expect(result.status, result.stderr).toBe(0);
    const log = JSON.parse(result.stdout) as { environment: string; table: string; exists: boolean; entries: Entry[] };
    expect(log).toMatchObject({ environment: "testing", table: "public.athanor_version_history", exists: true });
    expectHistory(log.entries, "testing");
    expect(log.entries[0]?.user).toBe(role.name);
    expect(result.stdout).not.toContain(GUARD_PASSWORD);
  });

  it("-n limits the rows; text shows a table with the failure's error under its row", async () => {
    const result = await runCli(["--env", "testing", "log", "-n", "2"], { cwd: project.dir, env });
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^WHEN \(UTC\)\s+ENVIRONMENT\s+DIRECTION\s+REVISION\s+DURATION\s+OUTCOME\s+BY\s+VERSION$/);
    expect(lines[1]).toMatch(new RegExp(`^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\s+testing\\s+down\\s+${R2}\\s+\\d+ ms\\s+✓ success\\s+\\S+@${hostname()}`));
    expect(lines[2]).toMatch(new RegExp(`testing\\s+up\\s+${R3}\\s+\\d+ ms\\s+✗ failed`));
    expect(lines[3]).toMatch(/^\s+revision 2c3d4e5f6071 \(broken\) failed to upgrade .*missing/);
    expect(lines).toHaveLength(4);
  });

  it("says \"no history yet\" and exits 0 when nothing ever ran, creating nothing", async () => {
    const result = await runCli(["--env", "fresh", "log"], { cwd: project.dir, env });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("fresh: no history yet");
    const json = await runCli(["--env", "fresh", "--json", "log"], { cwd: project.dir, env });
    expect(JSON.parse(json.stdout)).toEqual({ environment: "fresh", table: "public.athanor_version_history", exists: false, entries: [] });
    expect(await adminQuery(empty.name, "SELECT to_regclass('public.athanor_version_history') AS t")).toEqual([{ t: null }]);
  });

  it("rejects a malformed -n with a usage error", async () => {
    const result = await runCli(["--env", "testing", "log", "-n", "many"], { cwd: project.dir, env });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("is not a number");
  });
});

describe("athanor log on PGlite", () => {
  let project: GuardProject;

  beforeAll(async () => {
    project = await createGuardProject();
    await project.writeConfig({ development: { url: "pglite://./.athanor/dev" }, other: { url: "pglite://./.athanor/other" } });
    await prepare(project);
    await runSomeMigrations(project, [], baseEnv());
  });

  afterAll(async () => {
    await project?.remove();
  });

  it("lists the runs newest first", async () => {
    const result = await runCli(["--json", "log"], { cwd: project.dir, env: baseEnv() });
    expect(result.status, result.stderr).toBe(0);
    expectHistory((JSON.parse(result.stdout) as { entries: Entry[] }).entries, "development");
  });

  it("does not create a PGlite directory that does not exist", async () => {
    const result = await runCli(["--env", "other", "log"], { cwd: project.dir, env: baseEnv() });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("other: no history yet");
    expect(existsSync(join(project.dir, ".athanor", "other"))).toBe(false);
  });
});
