/**
 * `--log-format json` end to end (DESIGN.md §7): the JSON lines of a successful run, of a
 * failed revision and of a refused production run, on PostgreSQL (through a role whose
 * password is `S3cr3t-p@ss:w/rd#x`) and on PGlite. Every stderr line must parse, carry the
 * documented fields, and no line anywhere may hold the password in any encoding.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv, runCli, type CliResult } from "./support/cli.js";
import type { TestDatabase } from "./support/databases.js";
import { GUARD_PASSWORD, createGuardProject, createGuardRole, createOwnedDatabase, guardUrlTemplate, writeRevision, type GuardProject } from "./support/guard-project.js";
import { VERSION } from "../src/version.js";

const R1 = "0a1b2c3d4e5f";
const R2 = "1b2c3d4e5f60";
const R3 = "2c3d4e5f6071";

interface Line {
  [key: string]: unknown;
  level: string;
  event: string;
  msg: string;
}

/** Every stderr line as JSON (a line that does not parse fails the test). */
function jsonLines(result: CliResult): Line[] {
  return result.stderr
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      try {
        return JSON.parse(line) as Line;
      } catch {
        throw new Error(`stderr line is not JSON: ${line}`);
      }
    });
}

/** Fails when the password shows up anywhere, raw or encoded. */
function expectNoSecret(...results: CliResult[]): void {
  const forms = [GUARD_PASSWORD, encodeURIComponent(GUARD_PASSWORD), encodeURI(GUARD_PASSWORD), JSON.stringify(GUARD_PASSWORD).slice(1, -1), "S3cr3t"];
  for (const result of results) for (const form of forms) for (const text of [result.stdout, result.stderr]) expect(text).not.toContain(form);
}

const COMMON = ["time", "level", "msg", "event", "environment", "toolVersion", "pid", "hostname"];

/** The fields of every event line (the CLI's own message and error lines have all but `environment` when unknown). */
function expectCommon(lines: readonly Line[], environment: string): void {
  for (const line of lines) {
    if (line.event === "message" || line.event === "error") {
      for (const field of COMMON.filter((name) => name !== "environment")) expect(line, `${line.event} has ${field}`).toHaveProperty(field);
      continue;
    }
    for (const field of COMMON) expect(line, `${line.event} has ${field}`).toHaveProperty(field);
    expect(line.environment).toBe(environment);
    expect(line.toolVersion).toBe(VERSION);
    expect(Number.isNaN(Date.parse(String(line["time"])))).toBe(false);
  }
}

const revisions = [
  { id: R1, down: null, message: "create widgets", upgrade: "CREATE TABLE widgets (id int PRIMARY KEY);\nINSERT INTO widgets VALUES (1);", downgrade: "DROP TABLE widgets;" },
  { id: R2, down: R1, message: "add widget names", upgrade: "ALTER TABLE widgets ADD COLUMN name text;", downgrade: "ALTER TABLE widgets DROP COLUMN name;" },
];
const failing = { id: R3, down: R2, message: "reference a missing table", upgrade: "INSERT INTO gadgets VALUES (1);", downgrade: "SELECT 1;" };

describe("JSON logs on PostgreSQL", () => {
  let project: GuardProject;
  let role: { name: string; drop(): Promise<void> };
  let testing: TestDatabase;
  let production: TestDatabase;
  const env = baseEnv({ DB_PASSWORD: GUARD_PASSWORD });

  beforeAll(async () => {
    role = await createGuardRole();
    testing = await createOwnedDatabase(role.name);
    production = await createOwnedDatabase(role.name);
    project = await createGuardProject();
    await project.writeConfig({
      testing: { url: guardUrlTemplate(role.name, testing.name), echo: true },
      production: { url: guardUrlTemplate(role.name, production.name), protected: true },
    });
    for (const [index, spec] of revisions.entries()) await writeRevision(project.migrationsDir, spec, index);
  });

  afterAll(async () => {
    await project?.remove();
    await testing?.drop();
    await production?.drop();
    await role?.drop();
  });

  it("logs a successful run: command start and end, plan, each revision and echoed statement", async () => {
    const result = await runCli(["--env", "testing", "--log-format", "json", "upgrade", "head"], { cwd: project.dir, env });
    expect(result.status, result.stderr).toBe(0);
    const lines = jsonLines(result);
    expectCommon(lines, "testing");
    const events = lines.map((line) => line.event);
    expect(events[0]).toBe("command-start");
    expect(events.at(-1)).toBe("command-end");
    expect(events).toContain("plan");

    const start = lines[0] as Line;
    expect(start).toMatchObject({ level: "info", command: "upgrade", mode: "online" });
    expect(start["url"]).toMatch(new RegExp(`^postgresql://${role.name}:\\*\\*\\*@`));

    const ends = lines.filter((line) => line.event === "revision-end");
    expect(ends.map((line) => line["revision"])).toEqual([R1, R2]);
    for (const end of ends) {
      expect(end).toMatchObject({ level: "info", command: "upgrade", direction: "up", outcome: "success" });
      expect(typeof end["durationMs"]).toBe("number");
      expect(String(end["file"])).toMatch(/\.sql$/);
    }
    // echo: true → one line per statement, and the count on the revision's line.
    const statements = lines.filter((line) => line.event === "statement" && line["revision"] === R1);
    expect(statements.map((line) => line["sql"])).toEqual(["CREATE TABLE widgets (id int PRIMARY KEY)", "INSERT INTO widgets VALUES (1)"]);
    for (const statement of statements) expect(typeof statement["durationMs"]).toBe("number");
    expect(ends[0]?.["statements"]).toBe(2);
    expect(ends[1]?.["statements"]).toBe(1);

    const end = lines.at(-1) as Line;
    expect(end).toMatchObject({ level: "info", command: "upgrade", outcome: "success", completed: 2, current: [R2], url: start["url"], mode: "online", startedAt: start["time"] });
    expect(typeof end["durationMs"]).toBe("number");
    // The summary stays on stdout, for people and scripts; stderr has JSON only.
    expect(result.stdout).toContain(`upgraded testing to ${R2}`);
    expectNoSecret(result);
  });

  it("logs a failed revision at level error, with the error's code and message", async () => {
    await writeRevision(project.migrationsDir, failing, 2);
    try {
      const result = await runCli(["--env", "testing", "--log-format", "json", "upgrade", "head"], { cwd: project.dir, env });
      expect(result.status).toBe(1);
      const lines = jsonLines(result);
      expectCommon(lines, "testing");
      const failed = lines.find((line) => line.event === "revision-end" && line["revision"] === R3) as Line;
      expect(failed).toMatchObject({ level: "error", outcome: "failed", direction: "up", file: expect.stringMatching(/\.sql$/) });
      const error = failed["error"] as { code: string; message: string };
      expect(error.code).toBe("migration-failed");
      expect(error.message).toContain("gadgets");
      const end = lines.find((line) => line.event === "command-end") as Line;
      expect(end).toMatchObject({ level: "error", outcome: "failed", completed: 0, error: { code: "migration-failed" } });
      // The CLI's own final error is a JSON line too.
      const final = lines.at(-1) as Line;
      expect(final).toMatchObject({ level: "error", event: "error", code: "migration-failed", exitStatus: 1 });
      expectNoSecret(result);
    } finally {
      await rm(join(project.migrationsDir, `0002_${R3}.sql`));
    }
  });

  it("logs a refused production run (exit 3, nothing changed) without the password", async () => {
    const result = await runCli(["--env", "production", "--log-format", "json", "upgrade", "head"], { cwd: project.dir, env });
    expect(result.status).toBe(3);
    const lines = jsonLines(result);
    expectCommon(lines, "production");
    expect(lines[0]).toMatchObject({ event: "command-start", command: "upgrade" });
    expect(lines.find((line) => line.event === "plan")).toMatchObject({ revisions: [R1, R2] });
    expect(lines.some((line) => line.event === "revision-start" || line.event === "revision-end")).toBe(false);
    const end = lines.find((line) => line.event === "command-end") as Line;
    expect(end).toMatchObject({ level: "error", outcome: "failed", completed: 0, error: { code: "confirmation-required" } });
    expect(lines.at(-1)).toMatchObject({ event: "error", code: "confirmation-required", exitStatus: 3 });
    expectNoSecret(result);
  });

  it("with --json too: the result document on stdout, JSON lines on stderr", async () => {
    const result = await runCli(["--env", "testing", "--json", "--log-format", "json", "upgrade", "head"], { cwd: project.dir, env });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ environment: "testing", current: [R2] });
    expect(jsonLines(result).map((line) => line.event)).toEqual(["command-start", "plan", "command-end"]);
    expectNoSecret(result);
  });

  it("does not load pino for a text run", async () => {
    const result = await runCli(["--env", "testing", "upgrade", "head"], { cwd: project.dir, env });
    expect(result.status).toBe(0);
    expect(result.stderr).not.toMatch(/^\{/m);
  });
});

describe("JSON logs on PGlite", () => {
  let project: GuardProject;

  beforeAll(async () => {
    project = await createGuardProject();
    await project.writeConfig({ development: { url: "pglite://./.athanor/dev", logLevel: "debug" } });
    for (const [index, spec] of revisions.entries()) await writeRevision(project.migrationsDir, spec, index);
  });

  afterAll(async () => {
    await project?.remove();
  });

  it("logs a successful run, revision starts included at logLevel debug", async () => {
    const result = await runCli(["--log-format", "json", "upgrade"], { cwd: project.dir, env: baseEnv() });
    expect(result.status, result.stderr).toBe(0);
    const lines = jsonLines(result);
    expectCommon(lines, "development");
    expect(lines[0]).toMatchObject({ event: "command-start", url: "pglite://./.athanor/dev" });
    const revisionEvents = lines.filter((line) => line.event.startsWith("revision-")).map((line) => `${line.event} ${String(line["revision"])}`);
    expect(revisionEvents).toEqual([`revision-start ${R1}`, `revision-end ${R1}`, `revision-start ${R2}`, `revision-end ${R2}`]);
    expect(lines.find((line) => line.event === "revision-start")).toMatchObject({ level: "debug", index: 1, total: 2, transactional: true });
    expect(lines.some((line) => line.event === "lock-acquired")).toBe(true);
    expect(lines.at(-1)).toMatchObject({ event: "command-end", outcome: "success", completed: 2 });
  });

  it("logs a failed revision", async () => {
    await writeRevision(project.migrationsDir, failing, 2);
    const result = await runCli(["--log-format", "json", "upgrade"], { cwd: project.dir, env: baseEnv() });
    expect(result.status).toBe(1);
    const lines = jsonLines(result);
    expect(lines.find((line) => line.event === "revision-end" && line["revision"] === R3)).toMatchObject({ level: "error", outcome: "failed", error: { code: "migration-failed" } });
    expect(lines.find((line) => line.event === "command-end")).toMatchObject({ outcome: "failed" });
  });
});
