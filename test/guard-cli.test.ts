/**
 * Production guardrails end to end (DESIGN.md §6), through the real binary against the
 * real PostgreSQL server, checking the database afterwards: the confirmation on a
 * pseudo-terminal (right and wrong name) and without one (with and without --yes, CI
 * mode), the backup (0600, custom format, pg_restore reads it; pg_dump missing → exit 1
 * before migrating), identity and promotion refusals, `check --exit-code`, and no
 * password in any output nor on pg_dump's command line.
 *
 * Needs `npm run build` (the `npm test` script builds first).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { chmod, mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv, BIN, spawnCli, type CliResult } from "./support/cli.js";
import { onTerminal } from "./support/terminal.js";
import type { TestDatabase } from "./support/databases.js";
import { adminQuery, createGuardProject, createGuardRole, createOwnedDatabase, GUARD_PASSWORD, guardUrlTemplate, writeRevision, type GuardProject } from "./support/guard-project.js";

const R1 = "a1a1a1a1a1a1";
const R2 = "b2b2b2b2b2b2";
const R3 = "c3c3c3c3c3c3";

function noSecret(...texts: string[]): void {
  for (const text of texts) {
    expect(text).not.toContain(GUARD_PASSWORD);
    expect(text).not.toContain(encodeURIComponent(GUARD_PASSWORD));
  }
}

describe("production guardrails through the CLI", () => {
  let project: GuardProject;
  let role: { name: string; drop(): Promise<void> };
  let prodDb: TestDatabase;
  let testDb: TestDatabase;
  const env = (extra: Record<string, string | undefined> = {}) => baseEnv({ DB_PASSWORD: GUARD_PASSWORD, ...extra });
  const outputs: string[] = [];
  const run = async (argv: string[], extra: Record<string, string | undefined> = {}, stdin?: string): Promise<CliResult> => {
    const result = await spawnCli(argv, { cwd: project.dir, env: env(extra), ...(stdin === undefined ? {} : { stdin }) });
    outputs.push(result.stdout, result.stderr);
    return result;
  };
  const versionRows = async (): Promise<string[]> => {
    const exists = await adminQuery<{ found: string | null }>(prodDb.name, "SELECT to_regclass('public.athanor_version')::text AS found");
    if (exists[0]?.found == null) return [];
    return (await adminQuery<{ revision: string }>(prodDb.name, "SELECT revision FROM athanor_version ORDER BY applied_at")).map((r) => r.revision);
  };
  const publicTables = async (): Promise<string[]> =>
    (await adminQuery<{ name: string }>(prodDb.name, "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")).map((r) => r.name);
  const advisoryLocks = async (): Promise<number> =>
    Number((await adminQuery<{ n: string }>(prodDb.name, "SELECT count(*) AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()"))[0]?.n ?? 0);
  const backups = async (): Promise<string[]> => readdir(join(project.dir, "backups")).catch(() => []);

  beforeAll(async () => {
    project = await createGuardProject();
    role = await createGuardRole();
    prodDb = await createOwnedDatabase(role.name);
    testDb = await createOwnedDatabase(role.name);
    await project.writeConfig({
      testing: { url: guardUrlTemplate(role.name, testDb.name) },
      production: { url: guardUrlTemplate(role.name, prodDb.name), protected: true, backup: { dir: "./backups", keep: 5 }, promoteFrom: "testing" },
      development: { url: guardUrlTemplate(role.name, prodDb.name) },
    });
    await writeRevision(project.migrationsDir, { id: R1, down: null, message: "create users", upgrade: "CREATE TABLE users (id bigint PRIMARY KEY, email text);", downgrade: "DROP TABLE users;" }, 1);
  });
  afterAll(async () => {
    await prodDb?.drop();
    await testDb?.drop();
    await role?.drop();
    await project?.remove();
  });

  it("without a terminal and without --yes: exit 3 naming --yes, nothing changed", async () => {
    expect((await run(["--env", "testing", "upgrade", "head"])).status).toBe(0);
    const result = await run(["--env", "production", "upgrade", "head"]);
    expect(result.status).toBe(3);
    expect(result.stderr).toMatch(/protected/);
    expect(result.stderr).toMatch(/--yes/);
    expect(result.stderr).toMatch(/no terminal/);
    // The plan was shown before the refusal.
    expect(result.stderr).toContain(R1);
    expect(await publicTables()).toEqual([]);
    expect(await backups()).toEqual([]);
    expect(await advisoryLocks()).toBe(0);
  });

  it("CI mode never prompts: exit 3 without --yes, also when stdin has text", async () => {
    const result = await run(["--env", "production", "upgrade", "head"], { CI: "true" }, "production\n");
    expect(result.status).toBe(3);
    expect(result.stderr).toMatch(/CI run/);
    expect(result.stderr).not.toMatch(/\u001b\[/); // no colours in CI mode
    expect(await publicTables()).toEqual([]);
  });

  it("on a terminal, a wrong name aborts with exit 3 and changes nothing", async () => {
    const result = await onTerminal(["--env", "production", "upgrade", "head"], "prod\r", project.dir, env());
    outputs.push(result.stdout, result.stderr);
    expect(result.stdout).toMatch(/environment's name/);
    expect(result.stdout).toMatch(/does not match "production"/);
    expect(result.status).toBe(3);
    expect(await publicTables()).toEqual([]);
    expect(await backups()).toEqual([]);
    expect(await advisoryLocks()).toBe(0);
  });

  it("on a terminal, typing the name runs it after a 0600 custom-format backup", async () => {
    const result = await onTerminal(["--env", "production", "upgrade", "head"], "production\r", project.dir, env());
    outputs.push(result.stdout, result.stderr);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/backup: .*production-\d{8}T\d{6}Z-a1a1a1a1a1a1\.dump/);
    expect(await versionRows()).toEqual([R1]);
    const files = await backups();
    expect(files).toHaveLength(1);
    const path = join(project.dir, "backups", files[0] as string);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readFile(path)).subarray(0, 5).toString("latin1")).toBe("PGDMP");
    // The dump was taken before R1 ran: it holds no users table yet.
    const toc = execFileSync("pg_restore", ["--list", path]).toString("utf8");
    expect(toc).toMatch(/^; Archive created at/m);
    expect(toc).not.toMatch(/TABLE public users/);
    const meta = await adminQuery<{ value: string }>(prodDb.name, "SELECT value FROM athanor_version_meta WHERE key = 'environment'");
    expect(meta).toEqual([{ value: "production" }]);
  });

  it("check --exit-code returns 5 while revisions are pending, 0 once applied", async () => {
    await writeRevision(project.migrationsDir, { id: R2, down: R1, message: "add name", upgrade: "ALTER TABLE users ADD COLUMN name text;", downgrade: "ALTER TABLE users DROP COLUMN name;" }, 2);
    const pending = await run(["--env", "production", "check", "--exit-code"]);
    expect(pending.status).toBe(5);
    expect(pending.stdout).toContain(R2);
    const plain = await run(["--env", "production", "check"]);
    expect(plain.status).toBe(0);
  });

  it("the promotion gate refuses a revision testing has not applied (exit 3), listing it", async () => {
    const result = await run(["--env", "production", "--yes", "upgrade", "head"]);
    expect(result.status).toBe(3);
    expect(result.stderr).toContain(`promoted from "testing", which has not applied b2b2b2b2b2b2 (add name); nothing was changed`);
    expect(await versionRows()).toEqual([R1]);
    expect(await backups()).toHaveLength(1);
    // status shows what would run next and that the gate blocks it.
    const report = await run(["status", "--json"]);
    const entry = (JSON.parse(report.stdout) as { environments: { name: string; promotion?: unknown }[] }).environments.find((e) => e.name === "production");
    expect(entry?.promotion).toEqual({ source: "testing", next: [R2], allowed: false, blocked: [R2], stamped: [], changed: [], sourceError: null });
    const table = await run(["status"]);
    expect(table.stdout).toContain("next: 1 revision; promotion gate from testing refuses: testing has not applied b2b2b2b2b2b2");
  });

  it("with pg_dump missing from PATH: exit 1 before migrating, saying why", async () => {
    expect((await run(["--env", "testing", "upgrade", "head"])).status).toBe(0);
    const result = await run(["--env", "production", "--yes", "upgrade", "head"], { PATH: "/nonexistent" });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/pg_dump was not found on PATH/);
    expect(result.stderr).toMatch(/--no-backup/);
    expect(await versionRows()).toEqual([R1]);
    expect(await backups()).toHaveLength(1);
    expect(await advisoryLocks()).toBe(0);
  });

  it("with --yes and no terminal it runs; pg_dump's command line never holds the password", async () => {
    // A pg_dump that waits a second, then becomes the real one (exec keeps the pid): time to read its command line.
    const bin = join(project.dir, "slow-bin");
    await mkdir(bin, { recursive: true });
    const realDump = execFileSync("sh", ["-c", "command -v pg_dump"]).toString().trim();
    const realRestore = execFileSync("sh", ["-c", "command -v pg_restore"]).toString().trim();
    await writeFile(join(bin, "pg_dump"), `#!/bin/sh\n[ "$1" = "--version" ] || sleep 1\nexec ${realDump} "$@"\n`);
    await chmod(join(bin, "pg_dump"), 0o755);
    await symlink(realRestore, join(bin, "pg_restore"));
    const child = spawn(process.execPath, [BIN, "--env", "production", "--yes", "upgrade", "head"], { cwd: project.dir, env: env({ ATHANOR_PG_BINDIR: bin }) as NodeJS.ProcessEnv, stdio: ["pipe", "pipe", "pipe"] });
    child.stdin.end();
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = new Promise<number>((resolvePromise) => child.on("close", (code) => resolvePromise(code ?? 1)));
    const cmdlines = new Set<string>();
    let done = false;
    void closed.then(() => (done = true));
    while (!done) {
      for (const pid of await readdir("/proc").catch(() => [] as string[])) {
        if (!/^\d+$/.test(pid)) continue;
        const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
        if (cmdline.includes("--format=custom") && cmdline.includes(prodDb.name)) cmdlines.add(cmdline.split("\0").join(" "));
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const status = await closed;
    outputs.push(stdout, stderr);
    expect(status).toBe(0);
    expect(await versionRows()).toEqual([R1, R2]);
    expect(await backups()).toHaveLength(2);
    expect(cmdlines.size).toBeGreaterThan(0);
    for (const cmdline of cmdlines) {
      expect(cmdline).toMatch(/--host=\S+ --port=\d+ --username=athanor_guard_\w+/);
      noSecret(cmdline);
    }
  });

  it("--no-backup skips the backup and says so", async () => {
    await writeRevision(project.migrationsDir, { id: R3, down: R2, message: "add age", upgrade: "ALTER TABLE users ADD COLUMN age int;", downgrade: "ALTER TABLE users DROP COLUMN age;" }, 3);
    expect((await run(["--env", "testing", "upgrade", "head"])).status).toBe(0);
    const result = await run(["--env", "production", "--yes", "upgrade", "head", "--no-backup"]);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/backup: skipped \(--no-backup\)/);
    expect(await backups()).toHaveLength(2);
    expect(await versionRows()).toEqual([R1, R2, R3]);
  });

  it("a dangerous downgrade needs --allow-dangerous (exit 3 otherwise)", async () => {
    const refused = await run(["--env", "production", "--yes", "downgrade", "-1", "--no-backup"]);
    expect(refused.status).toBe(3);
    expect(refused.stderr).toMatch(/dangerous/);
    expect(refused.stderr).toMatch(/drop-column/);
    expect(await versionRows()).toEqual([R1, R2, R3]);
  });

  it("the development config reaching production's database is refused (exit 3), with the fix", async () => {
    const result = await run(["--env", "development", "upgrade", "head"]);
    expect(result.status).toBe(3);
    expect(result.stderr).toMatch(/belongs to environment "production", but this run reached it through environment "development"/);
    expect(result.stderr).toMatch(/--env production/);
    const stamped = await run(["--env", "development", "stamp", "base"]);
    expect(stamped.status).toBe(3);
    expect(await versionRows()).toEqual([R1, R2, R3]);
  });

  it("backups list shows the backups", async () => {
    const result = await run(["backups", "list", "--json"]);
    expect(result.status).toBe(0);
    const document = JSON.parse(result.stdout) as { backups: { environment: string; kind: string; size: number }[] };
    expect(document.backups).toHaveLength(2);
    expect(document.backups.every((b) => b.environment === "production" && b.kind === "dump" && b.size > 0)).toBe(true);
  });

  it("no output of any of these runs holds the password, nor does any file name", async () => {
    noSecret(...outputs, ...(await backups()));
    expect(outputs.length).toBeGreaterThan(10);
  });
});
