/**
 * Dynamic SQL is not "clean": a revision with a DO block (EXECUTE of dynamic text) is
 * reported not linted by `lint` (text and JSON) and in a protected run's plan, as a
 * TypeScript revision is, and the gate lets it run as it lets a TypeScript revision run.
 * On PGlite (the linter and the guards do not depend on the engine).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { lintRevisions } from "../src/commands/lint.js";
import { upgrade } from "../src/commands/upgrade.js";
import { loadConfigFile } from "../src/config/load.js";
import { resolveEnvironment } from "../src/config/resolve.js";
import type { ResolvedEnvironment } from "../src/config/types.js";
import type { ConfirmationRequest } from "../src/guard/confirm.js";
import { runCli, baseEnv } from "./support/cli.js";
import { tempDir } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";

const R1 = "d1d1d1d1d1d1";
const R2 = "e2e2e2e2e2e2";

describe("dynamic SQL is reported as not linted", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  let env: ResolvedEnvironment;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-notlinted-"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { production: { url: "pglite://./prod", protected: true } } }));
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "migrations", `${R1}_one.sql`), sqlRevisionText({ id: R1, message: "one", upgrade: "CREATE TABLE t (x int);", downgrade: "DROP TABLE t;" }));
    await writeFile(join(dir, "migrations", `${R2}_two.sql`), sqlRevisionText({ id: R2, down: R1, message: "dynamic", upgrade: "DO $$ BEGIN EXECUTE $q$DROP TABLE t$q$; END $$;", downgrade: "CREATE TABLE t (x int);" }));
    env = await resolveEnvironment(await loadConfigFile(join(dir, "athanor.config.json")), { environment: "production", processEnv: process.env });
  });
  afterAll(() => remove());

  it("lint: the revision is not linted, with the line and why, in JSON and text", async () => {
    const report = await lintRevisions({ migrationsDir: env.migrationsDir, environment: env });
    expect(report.findings).toEqual([]);
    expect(report.revisions.map((r) => [r.revision, r.linted])).toEqual([
      [R1, true],
      [R2, false],
    ]);
    expect(report.revisions[1]?.reason).toMatch(/^code the linter does not read at line \d+ \(a DO block\)/);
    const text = await runCli(["--env", "production", "lint", "--no-color"], { cwd: dir, env: baseEnv({}) });
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`skip +${R2} .*not linted: code the linter does not read at line \\d+ \\(a DO block\\)`));
  });

  it("a protected run's plan says so; it runs (as a TypeScript revision would) once confirmed", async () => {
    const shown: ConfirmationRequest[] = [];
    const ui = { showPlan: (request: ConfirmationRequest) => void shown.push(request), askEnvironmentName: async () => "production" };
    const result = await upgrade(env, { yes: true, guardrails: { ui, interactive: false } });
    expect(result.completed).toEqual([R1, R2]);
    expect(shown[0]?.steps.map((step) => [step.revision, step.notLinted])).toEqual([
      [R1, false],
      [R2, true],
    ]);
    expect(shown[0]?.steps[1]?.notLintedReason).toMatch(/a DO block/);
  });
});
