/**
 * Connection secrets a revision's SQL holds — a URL's user-info password, `sslpassword=`,
 * a foreign server's `OPTIONS (password ...)` — reach no output: not the `echo: true`
 * line of a statement that succeeds, not the JSON log, not the message or `--json` of a
 * statement that fails, not the history table. The real binary (`npm run build` first),
 * on PostgreSQL and on a PGlite directory.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv, spawnCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, queryUrl, tempDir, type TestDatabase } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";

const tag = randomBytes(4).toString("hex");
/** One secret per form, unique to this run so a match cannot be a coincidence. */
const secrets = { url: `UrlPw${tag}`, ssl: `SslPw${tag}`, failUrl: `FailUrlPw${tag}`, fdw: `FdwPw${tag}` };

/** Succeeds on both engines: literals, echoed. */
const echoed = sqlRevisionText({
  id: "c0c0c0c0c001",
  message: "connection strings as data",
  upgrade: `SELECT 'postgresql://app:${secrets.url}@db.internal:5432/prod' AS url, 'host=db sslpassword=${secrets.ssl}' AS conninfo;`,
});
/** Fails on both engines (no dblink, no postgres_fdw server): the statement is shown in the failure. */
const failing = sqlRevisionText({
  id: "c0c0c0c0c002",
  down: "c0c0c0c0c001",
  message: "a link",
  upgrade: `SELECT dblink_connect('postgresql://app:${secrets.failUrl}@db.internal/prod');\nCREATE USER MAPPING FOR CURRENT_USER SERVER athanor_no_such_server OPTIONS (user 'u', password '${secrets.fdw}');`,
});

function expectNoSecret(where: string, text: string): void {
  for (const secret of Object.values(secrets)) expect(text.includes(secret), `${where} holds ${secret}`).toBe(false);
}

let pgDatabase: TestDatabase | undefined;

const TARGETS = [
  {
    name: "PostgreSQL",
    async setup(): Promise<void> {
      pgDatabase = await createPostgresDatabase("athanor_maskconn");
    },
    url: (): string => (pgDatabase as TestDatabase).url,
    history: async (): Promise<string> => JSON.stringify(await queryUrl((pgDatabase as TestDatabase).url, "SELECT * FROM athanor_version_history ORDER BY id")),
    async teardown(): Promise<void> {
      await pgDatabase?.drop();
    },
  },
  {
    name: "PGlite",
    async setup(): Promise<void> {},
    url: (): string => "pglite://./.athanor/dev",
    history: async (dir: string): Promise<string> => {
      const result = await spawnCli(["history", "--json"], { cwd: dir, env: baseEnv() });
      expect(result.status, result.stderr).toBe(0);
      return result.stdout;
    },
    async teardown(): Promise<void> {},
  },
];

describe.each(TARGETS)("connection secrets in a revision's SQL ($name)", (target) => {
  let project: { dir: string; remove(): Promise<void> };
  const cli = (...argv: string[]): Promise<CliResult> => spawnCli(argv, { cwd: project.dir, env: baseEnv() });

  beforeAll(async () => {
    await target.setup();
    project = await tempDir("athanor-maskconn-");
    await writeFile(join(project.dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: target.url(), echo: true } } }));
    await mkdir(join(project.dir, "migrations"));
    await writeFile(join(project.dir, "migrations", "c0c0c0c0c001_echoed.sql"), echoed);
    await writeFile(join(project.dir, "migrations", "c0c0c0c0c002_failing.sql"), failing);
  });
  afterAll(async () => {
    await target.teardown();
    await project.remove();
  });

  it("are masked in the echo, the failure message, --json, the JSON log and the history table", async () => {
    const text = await cli("upgrade");
    expect(text.status, text.stderr).toBe(1);
    expect(text.stderr).toContain(`'postgresql://app:***@db.internal:5432/prod' AS url, 'host=db sslpassword=***' AS conninfo`);
    expect(text.stderr).toContain("dblink_connect('postgresql://app:***@db.internal/prod')");
    expectNoSecret("upgrade stdout", text.stdout);
    expectNoSecret("upgrade stderr", text.stderr);

    const json = await cli("upgrade", "--json", "--log-format", "json");
    expect(json.status, json.stderr).toBe(1);
    expect(json.stdout).toContain("postgresql://app:***@db.internal/prod");
    expectNoSecret("--json stdout", json.stdout);
    expectNoSecret("--json stderr", json.stderr);

    // The first statement out of the way, the user mapping's password fails on its own.
    await writeFile(join(project.dir, "migrations", "c0c0c0c0c002_failing.sql"), failing.replace(/SELECT dblink_connect\([^;]*;\n/, ""));
    const fdw = await cli("upgrade", "--json", "--log-format", "json");
    expect(fdw.status, fdw.stderr).toBe(1);
    expect(fdw.stdout).toContain("OPTIONS (user 'u', password '***')");
    expectNoSecret("user mapping stdout", fdw.stdout);
    expectNoSecret("user mapping stderr", fdw.stderr);

    expectNoSecret("history table", await target.history(project.dir));
  });
});
