/**
 * The foundation commands driven as a user drives them: init, env, check, shell-init,
 * help and errors, against PGlite and a real PostgreSQL server. No secret in any output.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv, runCli, spawnCli } from "./support/cli.js";
import { createPostgresDatabase, serverUrl, tempDir, type TestDatabase } from "./support/databases.js";

const PASSWORD = "Pr0d-S3cret@:/#%$x";

describe("init, env, check", () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, remove } = await tempDir());
  });
  afterAll(() => remove());

  it("init scaffolds a project whose development environment is PGlite", async () => {
    const result = await runCli(["init"], { cwd: dir });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("created athanor.config.ts");
    const config = await readFile(join(dir, "athanor.config.ts"), "utf8");
    expect(config).toContain("pglite://./.athanor/dev");
    for (const name of [".env.example", ".env.test.example", ".env.production.example"]) await expect(readFile(join(dir, name), "utf8")).resolves.toBeTruthy();
    const again = await runCli(["init"], { cwd: dir });
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
  });

  it("init in a project with its own .gitignore adds the lines athanor's files need and keeps the rest (adv15 F13)", async () => {
    const project = await tempDir();
    try {
      await writeFile(join(project.dir, ".gitignore"), "node_modules\n/.athanor\nsecret.txt");
      const result = await runCli(["init"], { cwd: project.dir });
      expect(result.status).toBe(0);
      expect(result.stdout).toContain("added   .env .env.local .env.*.local .env.test .env.production backups/ to .gitignore (exists)");
      const text = await readFile(join(project.dir, ".gitignore"), "utf8");
      expect(text).toBe("node_modules\n/.athanor\nsecret.txt\n\n# athanor: local databases, caches, secrets and backups\n.env\n.env.local\n.env.*.local\n.env.test\n.env.production\nbackups/\n");
      await rm(join(project.dir, "athanor.config.ts"));
      const again = await runCli(["init", "--json"], { cwd: project.dir });
      expect((JSON.parse(again.stdout) as { gitignoreAdded: string[] }).gitignoreAdded).toEqual([]);
      expect(await readFile(join(project.dir, ".gitignore"), "utf8")).toBe(text);
    } finally {
      await project.remove();
    }
  });

  it("env shows schema, replicaLag and the shadow server's URL, redacted", async () => {
    const project = await tempDir();
    try {
      const shadowPassword = "Sh4dow-S3cret@:/#";
      const config = {
        environments: {
          tenant: {
            url: "postgresql://app@127.0.0.1:5432/app",
            schema: "tenant_a",
            replicaLag: { max: "10s" },
            shadowUrl: `postgresql://app:${encodeURIComponent(shadowPassword)}@127.0.0.1:5432/postgres`,
          },
        },
      };
      await writeFile(join(project.dir, "athanor.config.json"), JSON.stringify(config));
      const json = await runCli(["--env", "tenant", "env", "--json"], { cwd: project.dir, env: baseEnv() });
      expect(json.status, json.stderr).toBe(0);
      const values = Object.fromEntries((JSON.parse(json.stdout) as { values: { key: string; value: unknown }[] }).values.map((v) => [v.key, v.value]));
      expect(values).toMatchObject({ schema: "tenant_a", replicaLag: "max 10000ms, wait 600000ms", shadowUrl: "postgresql://app:***@127.0.0.1:5432/postgres", versionTable: "tenant_a.athanor_version" });
      const text = await runCli(["--env", "tenant", "env"], { cwd: project.dir, env: baseEnv() });
      expect(text.stdout).toMatch(/schema\s+tenant_a/);
      for (const output of [json.stdout, json.stderr, text.stdout, text.stderr]) {
        expect(output).not.toContain(shadowPassword);
        expect(output).not.toContain(encodeURIComponent(shadowPassword));
      }
    } finally {
      await project.remove();
    }
  });

  it("env shows the redacted production URL with every value's source", async () => {
    await writeFile(join(dir, ".env.production"), `ENVIRONMENT=production\nDB_HOST=127.0.0.1\nDB_PORT=5432\nDB_NAME=mestocker_prod\nDB_PASSWORD=${PASSWORD}\n`);
    const text = await runCli(["--env", "production", "env"], { cwd: dir });
    expect(text.status).toBe(0);
    expect(text.stdout).toContain("postgresql://app:***@127.0.0.1:5432/mestocker_prod");
    expect(text.stdout).toContain("DB_PASSWORD in .env.production");
    const json = await runCli(["--env", "prod", "env", "--json"], { cwd: dir });
    const document = JSON.parse(json.stdout) as { environment: string; url: string; values: { key: string; sources: string[] }[] };
    expect(document.environment).toBe("production");
    expect(document.url).toBe("postgresql://app:***@127.0.0.1:5432/mestocker_prod");
    expect(document.values.find((v) => v.key === "url")?.sources).toContain("DB_PASSWORD in .env.production");
    for (const output of [text.stdout, text.stderr, json.stdout, json.stderr]) {
      expect(output).not.toContain(PASSWORD);
      expect(output).not.toContain(encodeURIComponent(PASSWORD));
    }
  });

  it("check warns about a secret-holding .env file readable by others", async () => {
    await chmod(join(dir, ".env.production"), 0o644);
    const result = await runCli(["--env", "production", "check", "--json"], { cwd: dir });
    const document = JSON.parse(result.stdout) as { environments: { findings: { check: string; status: string; fix?: string }[] }[] };
    const finding = document.environments[0]?.findings.find((f) => f.check === "env-file-permissions");
    expect(finding?.status).toBe("warning");
    expect(finding?.fix).toMatch(/chmod 600/);
    await chmod(join(dir, ".env.production"), 0o600);
    const after = await runCli(["--env", "production", "check", "--json"], { cwd: dir });
    expect(after.stdout).not.toContain("env-file-permissions");
    expect(after.stdout + after.stderr).not.toContain(PASSWORD);
  });

  it("check connects to the PGlite development database", async () => {
    await writeFile(join(dir, "athanor.config.ts"), `export default { environments: { development: { url: "pglite://memory" } } };`);
    const result = await runCli(["check"], { cwd: dir });
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/ok {3}reachable: connected to pglite:\/\/memory \(PostgreSQL 1[0-9]/);
    expect(result.status).toBe(0);
  });
});

describe("check --all on a real PostgreSQL server", () => {
  let db: TestDatabase;
  let dir: string;
  let remove: () => Promise<void>;
  beforeAll(async () => {
    db = await createPostgresDatabase();
    ({ dir, remove } = await tempDir());
    const server = new URL(serverUrl());
    await mkdir(join(dir, "migrations"));
    await writeFile(
      join(dir, "athanor.config.ts"),
      `import { defineConfig } from "athanor";
export default defineConfig({
  environments: {
    testing: { url: "postgresql://\${PGUSER}:\${DB_PASSWORD}@127.0.0.1:\${PGPORT}/${db.name}" },
    production: { url: "postgresql://app:\${DB_PASSWORD}@127.0.0.1:1/prod" },
  },
});
`,
    );
    process.env["ATHANOR_TEST_PGPORT"] = server.port;
  });
  afterAll(async () => {
    await remove();
    await db.drop();
  });

  const env = () => {
    const server = new URL(serverUrl());
    return baseEnv({ PGUSER: decodeURIComponent(server.username), DB_PASSWORD: decodeURIComponent(server.password), PGPORT: server.port });
  };

  it("reports the working and the unreachable environment, names the fix, exits 5", async () => {
    const result = await runCli(["check", "--all"], { cwd: dir, env: env() });
    expect(result.status).toBe(5);
    expect(result.stdout).toMatch(/testing[\s\S]*ok {3}reachable: connected to postgresql:\/\/[^:]+:\*\*\*@127\.0\.0\.1/);
    expect(result.stdout).toMatch(/production[\s\S]*FAIL reachable: cannot connect to 127\.0\.0\.1:1\/prod/);
    expect(result.stdout).toMatch(/fix: Nothing accepts connections at 127\.0\.0\.1:1/);
    expect(result.stdout + result.stderr).not.toContain(`:${decodeURIComponent(new URL(serverUrl()).password)}@`);
  });

  it("reports a wrong password without printing it", async () => {
    const wrong = "Wr0ng-P@ss:w/rd#%";
    const result = await runCli(["--env", "testing", "check", "--json"], { cwd: dir, env: { ...env(), DB_PASSWORD: wrong } });
    expect(result.status).toBe(5);
    const document = JSON.parse(result.stdout) as { ok: boolean; environments: { findings: { check: string; fix?: string }[] }[] };
    expect(document.ok).toBe(false);
    expect(document.environments[0]?.findings.find((f) => f.check === "reachable")?.fix).toMatch(/refused the password/);
    for (const form of [wrong, encodeURIComponent(wrong)]) expect(result.stdout + result.stderr).not.toContain(form);
  });

  it("exits 0 for the working environment alone", async () => {
    const result = await runCli(["--env", "testing", "check"], { cwd: dir, env: env() });
    expect(result.stdout).toContain("reachable: connected");
    expect(result.status).toBe(0);
  });
});

describe("usage errors and shell helpers", () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, remove } = await tempDir());
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: "pglite://memory" }, testing: { url: "pglite://memory" }, production: { url: "pglite://memory" } } }));
  });
  afterAll(() => remove());

  it.each([
    [["--bogus"], /unknown option '--bogus'/],
    [["--env", "staging", "env"], /unknown environment "staging".*development, testing, production/],
    [["nonsense"], /unknown command 'nonsense'/],
  ])("exits 2 on %j with a clear message and no stack", async (argv, message) => {
    const result = await runCli(argv, { cwd: dir });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("exits 2 when there is no config file", async () => {
    const empty = await tempDir();
    const result = await runCli(["env"], { cwd: empty.dir });
    await empty.remove();
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/no athanor config file.*\n  hint: Run `athanor init`/);
  });

  it("prints help and the version with exit 0 (real binary)", async () => {
    const help = await spawnCli(["--help"], { cwd: dir });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: athanor/);
    const version = await spawnCli(["--version"], { cwd: dir });
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("shell-init defines athanor-<env>, the short aliases, athanor-check, athanor-status and athanor-help that work in bash", async () => {
    const script = await runCli(["shell-init", "bash"], { cwd: dir });
    expect(script.status).toBe(0);
    for (const fn of ["athanor-development", "athanor-testing", "athanor-production", "athanor-dev", "athanor-test", "athanor-prod", "athanor-check", "athanor-status", "athanor-help"]) {
      expect(script.stdout).toContain(`${fn}()`);
    }
    const output = execFileSync("bash", ["-c", `eval "$1"; cd /; athanor-help; athanor-prod env --json`, "bash", script.stdout], { encoding: "utf8", env: baseEnv() as NodeJS.ProcessEnv });
    expect(output).toContain("athanor-prod <command>");
    expect(output).toContain('"environment": "production"');
    const fish = await runCli(["shell-init", "fish"], { cwd: dir });
    expect(fish.stdout).toContain("function athanor-prod;");
    const bad = await runCli(["shell-init", "tcsh"], { cwd: dir });
    expect(bad.status).toBe(2);
  });
});
