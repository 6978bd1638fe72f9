/**
 * Every command that opens an environment waits for a PGlite directory another process
 * has open as `current` does: up to `--lock-wait`, saying once on stderr whom it waits
 * for, then exit 4 (`lock-timeout`) naming that process — `diff`, `revision
 * --autogenerate --against`, `lint`, `review`, `baseline`, the promotion gate of
 * `upgrade`, `check`, and fleet `current` and `check` (a fleet reports it as the target's failure, `check --all`
 * as that environment's finding). `status`
 * bounds the wait by its per-environment timeout, its promotion gate too. The holder is a
 * child process with the directory open; the commands run on the built binary
 * (`npm run build` first).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { lockFilePath } from "../src/run/lock.js";
import { BIN, baseEnv, runCli, spawnCli, type CliResult } from "./support/cli.js";
import { tempDir } from "./support/databases.js";

const DIST = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const FIRST = "c10000000001";

/** A child process that opens the PGlite directory `dataDir` and keeps it open until killed. */
async function holdDirectory(dataDir: string): Promise<ChildProcess> {
  const script = [
    `const { openSession } = await import(${JSON.stringify(DIST)});`,
    `const session = await openSession({ kind: "pglite", dataDir: ${JSON.stringify(dataDir)} }, { applicationName: "test holder", lockWaitMs: 0 });`,
    `process.on("SIGTERM", () => session.close().then(() => process.exit(0)));`,
    `process.stdout.write("held\\n");`,
    `setInterval(() => {}, 1000);`,
  ].join("\n");
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("held")) resolve();
    });
    child.on("close", (code) => reject(new Error(`the holder exited with ${code}: ${stderr}`)));
  });
  return child;
}

async function release(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const closed = new Promise((resolve) => child.on("close", resolve));
  child.kill("SIGTERM");
  await closed;
}

interface Case {
  readonly name: string;
  readonly argv: readonly string[];
  /** The directory (relative to the project) the holder keeps open. */
  readonly held: "db" | "source-db";
  /** The exit status and where the holder is named. */
  readonly status: number;
  readonly namedOn: "stderr" | "stdout";
}

const CASES: readonly Case[] = [
  { name: "diff --from ENV", argv: ["--lock-wait", "1", "diff", "--from", "development", "--to", "migrations"], held: "db", status: 4, namedOn: "stderr" },
  { name: "revision --autogenerate --against ENV", argv: ["--lock-wait", "1", "revision", "-m", "next", "--autogenerate", "--against", "development"], held: "db", status: 4, namedOn: "stderr" },
  { name: "lint", argv: ["--lock-wait", "1", "lint"], held: "db", status: 4, namedOn: "stderr" },
  { name: "review --env ENV", argv: ["--lock-wait", "1", "--env", "development", "review", "--base", "HEAD"], held: "db", status: 4, namedOn: "stderr" },
  { name: "baseline", argv: ["--lock-wait", "1", "baseline", "-m", "base", "--force", "--no-stamp"], held: "db", status: 4, namedOn: "stderr" },
  { name: "upgrade's promotion gate (the source held)", argv: ["--lock-wait", "1", "--env", "production", "upgrade"], held: "source-db", status: 4, namedOn: "stderr" },
  { name: "fleet current", argv: ["--lock-wait", "1", "--env", "shards", "current"], held: "db", status: 1, namedOn: "stdout" },
  { name: "check", argv: ["--lock-wait", "1", "--env", "development", "check"], held: "db", status: 4, namedOn: "stderr" },
  { name: "fleet check", argv: ["--lock-wait", "1", "--env", "shards", "check"], held: "db", status: 5, namedOn: "stdout" },
];

describe("--lock-wait, for every command that opens an environment", () => {
  let dir: string;
  let remove: () => Promise<void>;
  let holder: ChildProcess | undefined;

  beforeEach(async () => {
    ({ dir, remove } = await tempDir("athanor-lock-wait-"));
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "schema.sql"), "CREATE TABLE t (id int);\n");
    await writeFile(join(dir, "migrations", `${FIRST}_first.sql`), [`-- athanor:revision ${FIRST}`, "-- athanor:message first", "", "-- athanor:upgrade", "CREATE TABLE t (id int);", "", "-- athanor:downgrade", "DROP TABLE t;", ""].join("\n"));
    await writeFile(
      join(dir, "athanor.config.json"),
      JSON.stringify({
        migrations: "./migrations",
        schema: "./schema.sql",
        environments: {
          development: { url: "pglite://./db" },
          testing: { url: "pglite://./source-db" },
          production: { url: "pglite://./production-db", promoteFrom: "testing" },
          shards: { targets: { one: "pglite://./db" } },
        },
      }),
    );
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=test", "-c", "user.email=test@example.invalid", ...args], { cwd: dir, stdio: "ignore" });
    git("init", "-q");
    git("add", ".");
    git("commit", "-q", "-m", "start");
  });

  afterEach(async () => {
    if (holder !== undefined) await release(holder);
    holder = undefined;
    await remove();
  });

  for (const c of CASES) {
    it(`${c.name}: waits up to --lock-wait saying for whom, then names the holder (exit ${c.status})`, async () => {
      const dataDir = join(dir, c.held);
      holder = await holdDirectory(dataDir);
      const result: CliResult = await spawnCli([...c.argv], { cwd: dir, env: baseEnv() });
      const waiting = `waiting up to 1 s for the PGlite database, open in pid ${holder.pid} on `;
      expect(result.stderr.split(waiting).length - 1, result.stderr).toBe(1);
      expect(result.stderr).toContain("(test holder, since");
      expect(result.status, result.stderr).toBe(c.status);
      const named = c.namedOn === "stderr" ? result.stderr : result.stdout;
      expect(named).toContain(`the lock ${lockFilePath(dataDir)} of the PGlite database ${dataDir} is held by pid ${holder.pid}`);
      expect(named).toContain("gave up after waiting 1 s");
    }, 120_000);
  }

  it("a bad --lock-wait is refused the same way by each of them (exit 2), before any database is opened", async () => {
    for (const c of CASES) {
      const argv = c.argv.map((arg, i) => (c.argv[i - 1] === "--lock-wait" ? "soon" : arg));
      const result = await runCli(argv, { cwd: dir, env: baseEnv() });
      expect(result.status, `${c.name}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toContain('--lock-wait: "soon" is not a duration');
    }
  }, 60_000);

  it("check --all: a held environment is that environment's finding; the others are still checked and reported (exit 5)", async () => {
    holder = await holdDirectory(join(dir, "db"));
    const result = await spawnCli(["--lock-wait", "1", "--json", "check", "--all"], { cwd: dir, env: baseEnv() });
    expect(result.status, result.stderr).toBe(5);
    const report = JSON.parse(result.stdout) as { ok: boolean; environments: { environment: string; findings: { check: string; status: string; code?: string; message: string }[]; targets?: { target: string; findings: { check: string; status: string; message: string }[] }[] }[] };
    expect(report.ok).toBe(false);
    const reachable = (name: string) => report.environments.find((entry) => entry.environment === name)?.findings.find((finding) => finding.check === "reachable");
    expect(reachable("development")).toMatchObject({ status: "error", code: "lock-timeout" });
    expect(reachable("development")?.message).toContain(`the lock ${lockFilePath(join(dir, "db"))} of the PGlite database ${join(dir, "db")} is held by pid ${holder.pid}`);
    // The environments nobody holds are checked all the same (their databases do not exist yet).
    expect(reachable("testing")).toMatchObject({ status: "warning" });
    expect(reachable("production")).toMatchObject({ status: "warning" });
    const shard = report.environments.find((entry) => entry.environment === "shards")?.targets?.find((target) => target.target === "one");
    expect(shard?.findings.find((finding) => finding.check === "reachable")?.message).toContain(`is held by pid ${holder.pid}`);
  }, 120_000);

  it("check --all: an environment and a fleet's target held at once are waited for at once, not one after the other", async () => {
    holder = await holdDirectory(join(dir, "db"));
    // development and the fleet's target `one` both name ./db: with a 60 s wait, only waits that
    // run side by side both begin before the test stops the command.
    const child = spawn(process.execPath, [BIN, "--lock-wait", "60", "check", "--all"], { cwd: dir, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (stderr.split("waiting up to 60 s for the PGlite database").length - 1 < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(stderr.split("waiting up to 60 s for the PGlite database").length - 1, stderr).toBe(2);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await closed).toBe(143);
  }, 120_000);

  it("check --all: two environments on one PGlite directory wait for each other in silence, not as for another process", async () => {
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: "pglite://./db" }, copy: { url: "pglite://./db" } } }));
    expect((await runCli(["upgrade"], { cwd: dir, env: baseEnv() })).status).toBe(0);
    const result = await spawnCli(["--json", "check", "--all"], { cwd: dir, env: baseEnv() });
    expect(result.stderr).not.toContain("waiting up to");
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { environments: { environment: string; findings: { check: string; status: string }[] }[] };
    for (const name of ["development", "copy"]) {
      expect(report.environments.find((entry) => entry.environment === name)?.findings.find((finding) => finding.check === "reachable")?.status).toBe("ok");
    }
  }, 120_000);

  it("status: the promotion gate waits at most the per-environment timeout for its source, and reports the holder as the source's error", async () => {
    holder = await holdDirectory(join(dir, "source-db"));
    const result = await spawnCli(["--json", "status", "--timeout", "1"], { cwd: dir, env: baseEnv() });
    const report = JSON.parse(result.stdout) as { environments: { name: string; promotion?: { allowed: boolean; sourceError: string | null } }[] };
    const production = report.environments.find((entry) => entry.name === "production");
    expect(production?.promotion?.allowed, result.stdout).toBe(false);
    expect(production?.promotion?.sourceError).toContain(`is held by pid ${holder.pid}`);
    expect(production?.promotion?.sourceError).toContain("gave up after waiting 1 s");
  }, 120_000);
});
