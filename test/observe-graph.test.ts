/**
 * `athanor history --graph [--status]`: the revision graph drawn in the terminal like
 * `git log --graph`, each environment's current revision marked with `--status`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, runCli } from "./support/cli.js";
import { createGuardProject, writeRevision, type GuardProject } from "./support/guard-project.js";

const A = "1a2b3c4d5e6f";
const B = "2b3c4d5e6f70";
const C = "3c4d5e6f7081";
const D = "4d5e6f708192";
const M = "5e6f708192a3";

describe("athanor history --graph", () => {
  let project: GuardProject;

  beforeAll(async () => {
    project = await createGuardProject();
    await project.writeConfig({
      development: { url: "pglite://./.athanor/dev" },
      testing: { url: "pglite://./.athanor/test" },
      production: { url: "postgresql://app:${DB_PASSWORD}@127.0.0.1:1/prod" },
      preview: { url: "pglite://./.athanor/preview" },
    });
    const specs = [
      { id: A, down: null, message: "create users", upgrade: "CREATE TABLE users (id int);" },
      { id: B, down: A, message: "add email", upgrade: "ALTER TABLE users ADD COLUMN email text;" },
      { id: C, down: B, message: "create orders", upgrade: "CREATE TABLE orders (id int);" },
      { id: D, down: B, message: "create invoices", upgrade: "CREATE TABLE invoices (id int);" },
    ];
    for (const [index, spec] of specs.entries()) await writeRevision(project.migrationsDir, spec, index);
    // The merge's header lists both parents.
    await writeRevision(project.migrationsDir, { id: M, down: `${C}, ${D}`, message: "merge orders and invoices", upgrade: "SELECT 1;" }, 4);
    const env = baseEnv();
    expect((await runCli(["--env", "development", "upgrade"], { cwd: project.dir, env })).status).toBe(0);
    expect((await runCli(["--env", "testing", "upgrade", C], { cwd: project.dir, env })).status).toBe(0);
  });

  afterAll(async () => {
    await project?.remove();
  });

  it("draws branches and the merge, newest first, without a database", async () => {
    const result = await runCli(["history", "--graph"], { cwd: project.dir, env: baseEnv() });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe(
      [
        `*   ${M} merge orders and invoices`,
        "|\\",
        `* | ${C} create orders`,
        `| * ${D} create invoices`,
        "|/",
        `* ${B} add email`,
        `* ${A} create users`,
        "",
      ].join("\n"),
    );
  });

  it("--status marks each environment's current revision and says which could not be read", async () => {
    const result = await runCli(["history", "--graph", "--status"], { cwd: project.dir, env: baseEnv({ DB_PASSWORD: "S3cr3t-p@ss:w/rd#x" }) });
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines.slice(0, 7)).toEqual([
      `*   ${M} (development) merge orders and invoices`,
      "|\\",
      `* | ${C} (testing) create orders`,
      `| * ${D} create invoices`,
      "|/",
      `* ${B} add email`,
      `* ${A} create users`,
    ]);
    expect(result.stdout).toMatch(/^production: unreachable \(cannot connect to 127\.0\.0\.1:1\/prod/m);
    expect(result.stdout).toContain("preview: nothing applied yet");
    expect(result.stdout + result.stderr).not.toContain("S3cr3t");
  });
});
