/**
 * `athanor lint` and `athanor backups list`, driven through the CLI in-process against the
 * real PostgreSQL server: pending revisions come from the environment's version table;
 * an unreachable database means every revision, said on stderr; exit 3 on danger.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { versionTablesDdl } from "../src/run/version-table.js";
import { baseEnv, runCli } from "./support/cli.js";
import type { TestDatabase } from "./support/databases.js";
import { createGuardProject, createGuardRole, createOwnedDatabase, GUARD_PASSWORD, guardUrlTemplate, writeRevision, type GuardProject } from "./support/guard-project.js";

const R1 = "a1a1a1a1a1a1";
const R2 = "b2b2b2b2b2b2";
const R3 = "c3c3c3c3c3c3";
const R4 = "d4d4d4d4d4d4";

interface LintJson {
  environment: string | null;
  scope: string;
  note: string | null;
  revisions: { revision: string; linted: boolean }[];
  findings: { revision: string; file: string; line: number; rule: string; severity: string; why: string; safe: string }[];
  danger: number;
}

describe("athanor lint", () => {
  let project: GuardProject;
  let role: { name: string; drop(): Promise<void> };
  let db: TestDatabase;
  const env = () => baseEnv({ DB_PASSWORD: GUARD_PASSWORD });

  beforeAll(async () => {
    project = await createGuardProject();
    role = await createGuardRole();
    db = await createOwnedDatabase(role.name);
    await project.writeConfig({
      production: { url: guardUrlTemplate(role.name, db.name), protected: true },
      broken: { url: "postgresql://nobody:${DB_PASSWORD}@127.0.0.1:1/nothing" },
    });
    await writeRevision(project.migrationsDir, { id: R1, down: null, message: "create users", upgrade: "CREATE TABLE users (id bigint PRIMARY KEY, email text);", downgrade: "DROP TABLE users;" }, 1);
    await writeRevision(project.migrationsDir, { id: R2, down: R1, message: "drop email", upgrade: "ALTER TABLE users\n  DROP COLUMN email;" }, 2);
    await writeRevision(project.migrationsDir, { id: R3, down: R2, message: "truncate, allowed", upgrade: "TRUNCATE users;", header: ["-- athanor:allow truncate"] }, 3);
    await writeRevision(project.migrationsDir, { id: R4, down: R3, message: "add column", upgrade: "ALTER TABLE users ADD COLUMN name text;" }, 4);
  });
  afterAll(async () => {
    await db?.drop();
    await role?.drop();
    await project?.remove();
  });

  it("lints the pending revisions (all, on an empty database) and exits 3 on a danger finding", async () => {
    const result = await runCli(["--env", "production", "lint", "--json"], { cwd: project.dir, env: env() });
    expect(result.status).toBe(3);
    const report = JSON.parse(result.stdout) as LintJson;
    expect(report.scope).toBe("pending");
    expect(report.environment).toBe("production");
    expect(report.revisions.map((r) => r.revision)).toEqual([R1, R2, R3, R4]);
    expect(report.danger).toBe(1);
    const finding = report.findings[0];
    expect(finding).toMatchObject({ revision: R2, file: `0002_${R2}.sql`, line: 6, rule: "drop-column", severity: "danger" });
    expect(finding?.why).toMatch(/loses its data/);
    expect(finding?.safe).toMatch(/later revision/);
    expect(result.stdout + result.stderr).not.toContain(GUARD_PASSWORD);
  });

  it("text output names revision, file:line, rule, why and the safe pattern", async () => {
    const result = await runCli(["--env", "production", "lint"], { cwd: project.dir, env: env() });
    expect(result.status).toBe(3);
    expect(result.stdout).toContain(`0002_${R2}.sql:6`);
    expect(result.stdout).toMatch(/danger +drop-column/);
    expect(result.stdout).toMatch(/why: +Dropping column email of users loses its data/);
    expect(result.stdout).toMatch(/safe: +Stop reading/);
    expect(result.stdout).toContain("1 danger");
  });

  it("only what the version table does not hold is pending", async () => {
    // As the role athanor connects with: it owns the version tables it reads.
    const url = new URL(db.url);
    url.username = role.name;
    url.password = encodeURIComponent(GUARD_PASSWORD);
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await client.query(versionTablesDdl({ schema: "public", table: "athanor_version" }));
      for (const id of [R1, R2]) await client.query("INSERT INTO athanor_version (revision, checksum) VALUES ($1, 'x')", [id]);
    } finally {
      await client.end();
    }
    const result = await runCli(["--env", "production", "lint", "--json"], { cwd: project.dir, env: env() });
    const report = JSON.parse(result.stdout) as LintJson;
    expect(report.revisions.map((r) => r.revision)).toEqual([R3, R4]);
    expect(report.danger).toBe(0);
    expect(result.status).toBe(0);
  });

  it("given revisions (prefixes) are linted whatever the database holds", async () => {
    const result = await runCli(["--env", "production", "lint", "--json", "b2b2", R4], { cwd: project.dir, env: env() });
    const report = JSON.parse(result.stdout) as LintJson;
    expect(report.scope).toBe("given");
    expect(report.revisions.map((r) => r.revision)).toEqual([R2, R4]);
    expect(result.status).toBe(3);
  });

  it("an unreachable database: every revision is linted and stderr says why", async () => {
    const result = await runCli(["--env", "broken", "lint", "--json"], { cwd: project.dir, env: env() });
    const report = JSON.parse(result.stdout) as LintJson;
    expect(report.scope).toBe("all");
    expect(report.revisions).toHaveLength(4);
    expect(result.stderr).toMatch(/note: .*could not be read.*every revision was linted/);
    expect(result.status).toBe(3);
    expect(result.stdout + result.stderr).not.toContain(GUARD_PASSWORD);
  });

  it("an environment whose variables do not resolve: every revision, and why", async () => {
    const result = await runCli(["--env", "production", "lint", "--json"], { cwd: project.dir, env: baseEnv() });
    const report = JSON.parse(result.stdout) as LintJson;
    expect(report.scope).toBe("all");
    expect(result.stderr).toMatch(/DB_PASSWORD/);
  });
});

describe("athanor backups list", () => {
  let project: GuardProject;
  beforeAll(async () => {
    project = await createGuardProject();
    await project.writeConfig({
      production: { url: "postgresql://app:${DB_PASSWORD}@db/prod", protected: true, backup: { dir: "./backups" } },
      "prod-eu": { url: "postgresql://app:${DB_PASSWORD}@db/eu", protected: true, backup: { dir: "./backups" } },
      development: { url: "pglite://memory" },
    });
    const dir = join(project.dir, "backups");
    await mkdir(dir);
    await writeFile(join(dir, "production-20260101T120000Z-a1a1a1a1a1a1.dump"), "x".repeat(2048));
    await writeFile(join(dir, "production-20260102T120000Z-stamp.dump"), "x".repeat(10));
    await writeFile(join(dir, "prod-eu-20260103T120000Z-b2b2b2b2b2b2.dump"), "x");
    await mkdir(join(dir, "production-20260104T120000Z.pglite"));
    await writeFile(join(dir, "production-20260104T120000Z.pglite", "PG_VERSION"), "18\n");
    await writeFile(join(dir, "README.txt"), "not a backup");
  });
  afterAll(() => project?.remove());

  it("lists every backup, newest first, with size, date and environment (no variable needed)", async () => {
    const result = await runCli(["backups", "list", "--json"], { cwd: project.dir, env: baseEnv() });
    expect(result.status).toBe(0);
    const document = JSON.parse(result.stdout) as { backups: { file: string; environment: string; size: number; createdAt: string; kind: string; revision: string | null }[] };
    expect(document.backups.map((b) => b.file)).toEqual([
      "production-20260104T120000Z.pglite",
      "prod-eu-20260103T120000Z-b2b2b2b2b2b2.dump",
      "production-20260102T120000Z-stamp.dump",
      "production-20260101T120000Z-a1a1a1a1a1a1.dump",
    ]);
    expect(document.backups[1]).toMatchObject({ environment: "prod-eu", size: 1, createdAt: "2026-01-03T12:00:00.000Z", kind: "dump", revision: "b2b2b2b2b2b2" });
    expect(document.backups[0]).toMatchObject({ kind: "pglite", size: 3 });
    const text = await runCli(["backups", "list"], { cwd: project.dir, env: baseEnv() });
    expect(text.stdout).toMatch(/FILE +SIZE +DATE +ENVIRONMENT/);
    expect(text.stdout).toMatch(/production-20260101T120000Z-a1a1a1a1a1a1\.dump +2\.0 KiB +2026-01-01 12:00:00 UTC +production/);
  });

  it("--env limits the list to one environment (aliases work)", async () => {
    const result = await runCli(["--env", "prod", "backups", "list", "--json"], { cwd: project.dir, env: baseEnv() });
    const document = JSON.parse(result.stdout) as { backups: { environment: string }[] };
    expect(document.backups.length).toBe(3);
    expect(new Set(document.backups.map((b) => b.environment))).toEqual(new Set(["production"]));
  });
});
