/**
 * Files athanor reads are told as what they are when they cannot be read (issue: a config
 * in a directory athanor may not search was reported as "does not exist"), and an env
 * file the config names explicitly must exist (a missing one was silently skipped). Only
 * ENOENT says "does not exist". Permission cases run the real binary as an unprivileged
 * user (`npm run build` first); the others run in-process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmod, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv, runCli, spawnCli, unprivileged } from "./support/cli.js";
import { tempDir } from "./support/databases.js";

const R1 = "a7a7a7a7a7a7";

describe("an env file the config names", () => {
  let dir: string;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-envfile-"));
    await mkdir(join(dir, "migrations"));
    await writeFile(
      join(dir, "athanor.config.json"),
      JSON.stringify({
        environments: {
          staging: { url: "${DB_URL}", envFile: ".env.staging" },
          listed: { url: "${DB_URL}", envFile: [".env.shared", ".env.listed"] },
          plain: { url: "${DB_URL:-pglite://memory}" },
        },
      }),
    );
  });
  afterAll(() => remove());

  it("missing: a configuration error naming the file and the environment, though the shell sets the variable", async () => {
    const result = await runCli(["--env", "staging", "env"], { cwd: dir, env: baseEnv({ DB_URL: "pglite://memory" }) });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(`error: the .env file ${join(dir, ".env.staging")} does not exist; environments.staging.envFile in athanor.config.json names it (environment "staging")`);
    expect(result.stderr).toContain("hint: Create it, or fix or remove environments.staging.envFile in athanor.config.json");
  });

  it("one of a list missing: the same error for that one; under --json the error document", async () => {
    await writeFile(join(dir, ".env.shared"), "DB_URL=pglite://memory\n");
    const result = await runCli(["--env", "listed", "env", "--json"], { cwd: dir, env: baseEnv() });
    expect(result.status, result.stderr).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: "missing-env-file", exitStatus: 2, details: { file: join(dir, ".env.listed"), environment: "listed" } } });
  });

  it("present: read, its variables used", async () => {
    await writeFile(join(dir, ".env.staging"), "DB_URL=pglite://memory\n");
    const result = await runCli(["--env", "staging", "env"], { cwd: dir, env: baseEnv() });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain("from DB_URL in .env.staging");
  });

  it("the default .env.<name> may be missing", async () => {
    const result = await runCli(["--env", "plain", "env"], { cwd: dir, env: baseEnv() });
    expect(result.status, result.stderr).toBe(0);
  });

  it("an env file that is there but not a file (a directory), named or default: an error saying so", async () => {
    await mkdir(join(dir, ".env.plain"));
    try {
      const result = await runCli(["--env", "plain", "env"], { cwd: dir, env: baseEnv() });
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toContain(`error: cannot read the .env file ${join(dir, ".env.plain")} (environment "plain"): it is a directory (EISDIR)`);
    } finally {
      await rm(join(dir, ".env.plain"), { recursive: true });
    }
  });
});

describe("a config file that cannot be read", () => {
  let dir: string;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-config-unreadable-"));
  });
  afterAll(() => remove());

  it("--config through a regular file (ENOTDIR): says so, not 'does not exist'", async () => {
    await writeFile(join(dir, "plain-file"), "");
    const result = await runCli(["--config", "plain-file/athanor.config.json", "heads"], { cwd: dir, env: baseEnv() });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(`error: cannot read config file ${join(dir, "plain-file", "athanor.config.json")}: a part of its path is a file, not a directory (ENOTDIR)`);
  });

  it("--config naming a directory: says so and how to name the file, not Node's 'Directory import' (adv15 F15d)", async () => {
    await mkdir(join(dir, "project-dir"));
    const result = await runCli(["--config", "project-dir", "heads"], { cwd: dir, env: baseEnv() });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(`error: ${join(dir, "project-dir")} is a directory, not a config file`);
    expect(result.stderr).toContain(`--config ${join(dir, "project-dir", "athanor.config.ts")}`);
  });

  it("found walking up but a symbolic link loop: says so, not 'no athanor config file'", async () => {
    const project = join(dir, "loop");
    await mkdir(project);
    await symlink(join(project, "athanor.config.json"), join(project, "athanor.config.json"));
    const result = await runCli(["heads"], { cwd: project, env: baseEnv() });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(`error: cannot read config file ${join(project, "athanor.config.json")}: too many levels of symbolic links`);
  });

  it("a symbolic link to nowhere: names where it points", async () => {
    const project = join(dir, "dangling");
    await mkdir(project);
    await symlink(join(project, "gone.json"), join(project, "athanor.config.json"));
    const result = await runCli(["heads"], { cwd: project, env: baseEnv() });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(`error: config file ${join(project, "athanor.config.json")} is a symbolic link to ${join(project, "gone.json")}, which does not exist`);
  });
});

describe("permission denied (the binary as an unprivileged user)", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  const config = JSON.stringify({ environments: { development: { url: "pglite://memory", envFile: ".env.dev" } } });

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-eacces-"));
    await chmod(dir, 0o755);
  });
  afterAll(async () => {
    for (const sub of ["locked-dir", "locked-file", "locked-migrations", "locked-revision", "locked-env"]) await chmod(join(dir, sub), 0o755).catch(() => {});
    await remove();
  });

  /** A project directory (mode 0755) with a config, a migrations directory and the env file it names. */
  async function project(name: string): Promise<string> {
    const path = join(dir, name);
    await mkdir(join(path, "migrations"), { recursive: true });
    await writeFile(join(path, "athanor.config.json"), config);
    await writeFile(join(path, ".env.dev"), "X=1\n");
    await writeFile(join(path, "migrations", `${R1}_one.sql`), `-- athanor:revision ${R1}\n-- athanor:message one\n\n-- athanor:upgrade\nCREATE TABLE one (x int);\n`);
    for (const sub of ["", "migrations"]) await chmod(join(path, sub), 0o755);
    await chmod(join(path, "athanor.config.json"), 0o644);
    await chmod(join(path, ".env.dev"), 0o644);
    await chmod(join(path, "migrations", `${R1}_one.sql`), 0o644);
    return path;
  }

  const run = (argv: string[], cwd: string) => spawnCli(argv, { cwd, env: baseEnv({ HOME: dir }), timeoutMs: 60_000, ...unprivileged() });

  it("a config in a directory that may not be searched: 'permission denied', not 'does not exist'", async () => {
    const path = await project("locked-dir");
    await chmod(path, 0o600);
    const result = await run(["--config", join(path, "athanor.config.json"), "heads"], dir);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(`error: cannot read config file ${join(path, "athanor.config.json")}: permission denied (EACCES)`);
    expect(result.stderr).toContain("hint: Give the user that runs athanor read access to it");
  });

  it("a config file that may not be read, found walking up: 'permission denied'", async () => {
    const path = await project("locked-file");
    await chmod(join(path, "athanor.config.json"), 0o000);
    const result = await run(["heads"], path);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(`error: cannot read config file ${join(path, "athanor.config.json")}: permission denied (EACCES)`);
  });

  it("a migrations directory and a revision that may not be read: 'permission denied' with the fix", async () => {
    const migrations = await project("locked-migrations");
    await chmod(join(migrations, "migrations"), 0o000);
    const dirResult = await run(["heads"], migrations);
    expect(dirResult.status, dirResult.stderr).toBe(2);
    expect(dirResult.stderr).toContain(`error: the migrations directory ${join(migrations, "migrations")} cannot be read: permission denied (EACCES)\n  hint: give the user that runs athanor read access`);

    const revision = await project("locked-revision");
    await chmod(join(revision, "migrations", `${R1}_one.sql`), 0o000);
    const fileResult = await run(["heads"], revision);
    expect(fileResult.status, fileResult.stderr).toBe(2);
    expect(fileResult.stderr).toContain(`${R1}_one.sql: cannot be read: permission denied (EACCES)`);
  });

  it("revision --autogenerate with a migrations directory it may not reach: 'permission denied', not an empty history to start anew", async () => {
    const path = join(dir, "locked-autogenerate");
    await mkdir(join(path, "sub", "migrations"), { recursive: true });
    await writeFile(join(path, "schema.sql"), "CREATE TABLE t (x int);\n");
    await writeFile(join(path, "athanor.config.json"), JSON.stringify({ migrations: "./sub/migrations", schema: "./schema.sql", environments: { development: { url: "pglite://memory" } } }));
    await chmod(path, 0o755);
    await chmod(join(path, "sub"), 0o700);
    const result = await run(["revision", "--autogenerate", "-m", "t"], path);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(`error: the migrations directory ${join(path, "sub", "migrations")} cannot be read: permission denied (EACCES)`);
  });

  it("an env file that may not be read: 'permission denied', naming the environment", async () => {
    const path = await project("locked-env");
    await chmod(join(path, ".env.dev"), 0o000);
    const result = await run(["env"], path);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(`error: cannot read the .env file ${join(path, ".env.dev")} (environment "development"): permission denied (EACCES)`);
  });
});
