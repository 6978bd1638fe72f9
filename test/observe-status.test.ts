/**
 * `athanor status` over several environments at once (DESIGN.md §5): one up to date
 * (PostgreSQL, through a role with a distinctive password), one behind (PGlite), one
 * unreachable, one that never answers (its own timeout), one whose variable is unset.
 * Each gets its own state; none hides the others; exit 5 unless all are up to date.
 */
import { createServer, type Server, type Socket } from "node:net";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, runCli } from "./support/cli.js";
import type { TestDatabase } from "./support/databases.js";
import { GUARD_PASSWORD, createGuardProject, createGuardRole, createOwnedDatabase, guardUrlTemplate, writeRevision, type GuardProject } from "./support/guard-project.js";

const R1 = "0a1b2c3d4e5f";
const R2 = "1b2c3d4e5f60";

describe("athanor status", () => {
  let project: GuardProject;
  let role: { name: string; drop(): Promise<void> };
  let database: TestDatabase;
  let silent: Server;
  const sockets: Socket[] = [];
  const env = baseEnv({ DB_PASSWORD: GUARD_PASSWORD });

  beforeAll(async () => {
    role = await createGuardRole();
    database = await createOwnedDatabase(role.name);
    // A server that accepts connections and never says a word: only a timeout ends the wait.
    silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const silentPort = (silent.address() as { port: number }).port;
    project = await createGuardProject();
    await project.writeConfig({
      production: { url: guardUrlTemplate(role.name, database.name) },
      development: { url: "pglite://./.athanor/dev" },
      staging: { url: "postgresql://app:${DB_PASSWORD}@127.0.0.1:1/staging" },
      qa: { url: `postgresql://app:\${DB_PASSWORD}@127.0.0.1:${silentPort}/qa` },
      preview: { url: "postgresql://app:${PREVIEW_PASSWORD}@preview.internal:5432/app" },
    });
    await writeRevision(project.migrationsDir, { id: R1, down: null, message: "one", upgrade: "CREATE TABLE one (id int);" }, 0);
    await writeRevision(project.migrationsDir, { id: R2, down: R1, message: "two", upgrade: "CREATE TABLE two (id int);" }, 1);
    expect((await runCli(["--env", "production", "--yes", "upgrade"], { cwd: project.dir, env })).status).toBe(0);
    expect((await runCli(["--env", "development", "upgrade", R1], { cwd: project.dir, env })).status).toBe(0);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
    await project?.remove();
    await database?.drop();
    await role?.drop();
  });

  it("--json: the document of DESIGN.md §5, every environment with its own state, exit 5", async () => {
    const started = Date.now();
    // PGlite needs a few seconds to start on a loaded machine: the timeout leaves it room.
    const result = await runCli(["--json", "status", "--timeout", "6s"], { cwd: project.dir, env });
    expect(result.status).toBe(5);
    // Environments are read in parallel: the silent one's timeout bounds the whole run.
    expect(Date.now() - started).toBeLessThan(15_000);
    const document = JSON.parse(result.stdout) as { environments: Record<string, unknown>[] };
    expect(Object.keys(document)).toEqual(["environments"]);
    expect(document.environments.map((entry) => entry["name"])).toEqual(["production", "development", "staging", "qa", "preview"]);
    for (const entry of document.environments) {
      // An environment not configured yet also names the variables to set.
      const extra = entry["state"] === "not-configured" ? ["unsetVariables"] : [];
      expect(Object.keys(entry).sort()).toEqual(["current", "heads", "name", "pending", "problems", "reachable", "state", ...extra, "url"]);
      for (const problem of entry["problems"] as Record<string, unknown>[]) expect(Object.keys(problem).sort()).toEqual(["code", "message"]);
    }
    const [production, development, staging, qa, preview] = document.environments;
    expect(production).toEqual({
      name: "production",
      url: expect.stringMatching(new RegExp(`^postgresql://${role.name}:\\*\\*\\*@127\\.0\\.0\\.1:\\d+/${database.name}$`)),
      reachable: true,
      current: [R2],
      heads: [R2],
      pending: 0,
      state: "up-to-date",
      problems: [],
    });
    expect(development).toEqual({ name: "development", url: "pglite://./.athanor/dev", reachable: true, current: [R1], heads: [R2], pending: 1, state: "behind", problems: [] });
    expect(staging).toMatchObject({ name: "staging", url: "postgresql://app:***@127.0.0.1:1/staging", reachable: false, current: [], heads: [R2], state: "unreachable" });
    expect((staging?.["problems"] as { code: string }[])[0]?.code).toBe("unreachable");
    expect(qa).toMatchObject({ name: "qa", reachable: false, state: "unreachable", problems: [{ code: "unreachable", message: expect.stringContaining("did not answer within") }] });
    expect(preview).toMatchObject({ name: "preview", url: "postgresql://app:${PREVIEW_PASSWORD}@preview.internal:5432/app", reachable: false, state: "not-configured", heads: [R2], unsetVariables: ["PREVIEW_PASSWORD"] });
    expect((preview?.["problems"] as { code: string; message: string }[])[0]).toMatchObject({ code: "not-configured", message: expect.stringContaining("set PREVIEW_PASSWORD") });
    for (const form of [GUARD_PASSWORD, encodeURIComponent(GUARD_PASSWORD), "S3cr3t"]) expect(result.stdout + result.stderr).not.toContain(form);
  });

  it("text: one row per environment with a symbol for its state, problems below, a summary", async () => {
    const result = await runCli(["status", "--timeout", "6s"], { cwd: project.dir, env });
    expect(result.status).toBe(5);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toMatch(/^ENVIRONMENT\s+DATABASE\s+CURRENT\s+PENDING\s+STATE$/);
    const row = (name: string) => lines.find((line) => line.startsWith(`${name} `)) ?? "";
    expect(row("production")).toMatch(new RegExp(`^production\\s+127\\.0\\.0\\.1:\\d+/${database.name}\\s+${R2}\\s+0\\s+✓ up-to-date$`));
    expect(row("development")).toMatch(new RegExp(`^development\\s+pglite \\./\\.athanor/dev\\s+${R1}\\s+1\\s+↑ behind$`));
    expect(row("staging")).toMatch(/^staging\s+127\.0\.0\.1:1\/staging\s+-\s+-\s+✗ unreachable$/);
    expect(row("preview")).toMatch(/^preview\s+preview\.internal:5432\/app\s+-\s+-\s+○ not configured yet$/);
    expect(result.stdout).toMatch(/^\s+→ not configured yet: set PREVIEW_PASSWORD \(in the environment, or in \.env\.preview\)/m);
    expect(result.stdout).toContain("3 of 5 environments need attention; 1 not configured yet");
    // Not a terminal: no colour codes.
    expect(result.stdout).not.toContain("\u001b[");
    expect(result.stdout + result.stderr).not.toContain(GUARD_PASSWORD);
  });

  it("exits 0 when every environment is up to date", async () => {
    const only = await createGuardProject();
    try {
      await only.writeConfig({ production: { url: guardUrlTemplate(role.name, database.name) } });
      await writeRevision(only.migrationsDir, { id: R1, down: null, message: "one", upgrade: "CREATE TABLE one (id int);" }, 0);
      await writeRevision(only.migrationsDir, { id: R2, down: R1, message: "two", upgrade: "CREATE TABLE two (id int);" }, 1);
      const result = await runCli(["status"], { cwd: only.dir, env });
      expect(result.status).toBe(0);
      expect(result.stdout).toContain("✓ all 1 environments are up to date");
    } finally {
      await only.remove();
    }
  });

  it("reports a checksum mismatch as a problem (exit 5) even when up to date", async () => {
    const only = await createGuardProject();
    try {
      await only.writeConfig({ production: { url: guardUrlTemplate(role.name, database.name) } });
      await writeRevision(only.migrationsDir, { id: R1, down: null, message: "one", upgrade: "CREATE TABLE one (id int); -- edited after it was applied" }, 0);
      await writeRevision(only.migrationsDir, { id: R2, down: R1, message: "two", upgrade: "CREATE TABLE two (id int);" }, 1);
      const result = await runCli(["--json", "status"], { cwd: only.dir, env });
      expect(result.status).toBe(5);
      const [entry] = (JSON.parse(result.stdout) as { environments: { state: string; problems: { code: string; message: string }[] }[] }).environments;
      expect(entry?.state).toBe("up-to-date");
      expect(entry?.problems.map((problem) => problem.code)).toEqual(["checksum-mismatch"]);
      const text = await runCli(["status"], { cwd: only.dir, env });
      expect(text.stdout).toMatch(/• checksum-mismatch: .*0a1b2c3d4e5f/);
      expect(text.stdout).toContain("1 of 1 environment needs attention");
    } finally {
      await only.remove();
    }
  });

  it("is read-only: a PGlite environment that was never migrated is not created", async () => {
    const fresh = await createGuardProject();
    try {
      await fresh.writeConfig({ development: { url: "pglite://./.athanor/never" } });
      await writeRevision(fresh.migrationsDir, { id: R1, down: null, message: "one", upgrade: "SELECT 1;" }, 0);
      const result = await runCli(["--json", "status"], { cwd: fresh.dir, env: baseEnv() });
      expect(result.status).toBe(5);
      expect(JSON.parse(result.stdout)).toEqual({
        environments: [{ name: "development", url: "pglite://./.athanor/never", reachable: true, current: [], heads: [R1], pending: 1, state: "behind", problems: [] }],
      });
      expect(existsSync(join(fresh.dir, ".athanor", "never"))).toBe(false);
    } finally {
      await fresh.remove();
    }
  });
});
