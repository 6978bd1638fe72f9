/**
 * Adversarial finding F2 (round 9): with `echo: true`, a statement that succeeds is shown
 * (the echo line on stderr, the `statement` event of `--log-format json`) with its
 * password literals masked, as the same statement failing already was. The real binary,
 * on PostgreSQL and on a PGlite directory; every quoting form PostgreSQL accepts for a
 * password. The literals appear in no byte of stdout or stderr and in no history row.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { baseEnv, spawnCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, serverUrl, tempDir, type TestDatabase } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";

const ID = "e0e0e0e0e001";
const tag = randomBytes(4).toString("hex");
const role = `athanor_echo_${tag}`;
/** One password per quoting form, each unique to this run so a match cannot be a coincidence. */
const secrets = { plain: `PlainPw${tag}`, escape: `EscPw${tag}`, unicode: `UniPw${tag}`, dollar: `DollarPw${tag}`, tagged: `TaggedPw${tag}` };

const revision = sqlRevisionText({
  id: ID,
  message: "a role with a password",
  upgrade: [
    `CREATE ROLE ${role} LOGIN PASSWORD '${secrets.plain}';`,
    `ALTER ROLE ${role} PASSWORD E'${secrets.escape}';`,
    `ALTER ROLE ${role} PASSWORD U&'${secrets.unicode}';`,
    `ALTER ROLE ${role} PASSWORD $$${secrets.dollar}$$;`,
    `ALTER ROLE ${role} WITH PASSWORD $pw$${secrets.tagged}$pw$ VALID UNTIL 'infinity';`,
  ].join("\n"),
  downgrade: `DROP ROLE ${role};`,
});

function expectNoSecret(where: string, text: string): void {
  for (const secret of Object.values(secrets)) expect(text.includes(secret), `${where} holds ${secret}`).toBe(false);
}

interface Target {
  readonly name: string;
  /** The environment's url. */
  url(): string;
  /** The history table's rows as text. */
  history(dir: string): Promise<string>;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

let pgDatabase: TestDatabase | undefined;

const TARGETS: Target[] = [
  {
    name: "PostgreSQL",
    async setup() {
      pgDatabase = await createPostgresDatabase("athanor_echo");
    },
    url: () => (pgDatabase as TestDatabase).url,
    async history() {
      const client = new pg.Client({ connectionString: (pgDatabase as TestDatabase).url });
      await client.connect();
      try {
        return JSON.stringify((await client.query("SELECT * FROM athanor_version_history ORDER BY id")).rows);
      } finally {
        await client.end();
      }
    },
    async teardown() {
      await pgDatabase?.drop();
      const client = new pg.Client({ connectionString: serverUrl() });
      await client.connect();
      await client.query(`DROP ROLE IF EXISTS ${role}`).finally(() => client.end());
    },
  },
  {
    name: "PGlite",
    url: () => "pglite://./.athanor/dev",
    async history(dir) {
      // The binary opens the directory and prints the rows: the same table a user reads.
      const result = await spawnCli(["history", "--json"], { cwd: dir, env: baseEnv() });
      expect(result.status).toBe(0);
      return result.stdout;
    },
  },
];

describe.each(TARGETS)("echo: true masks a successful statement's password literals ($name)", (target) => {
  let project: { dir: string; remove(): Promise<void> };
  const cli = (...argv: string[]): Promise<CliResult> => spawnCli(argv, { cwd: project.dir, env: baseEnv() });

  beforeAll(async () => {
    await target.setup?.();
    project = await tempDir("athanor-echo-");
    await writeFile(join(project.dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: target.url(), echo: true } } }));
    await mkdir(join(project.dir, "migrations"));
    await writeFile(join(project.dir, "migrations", `${ID}_role.sql`), revision);
  });
  afterAll(async () => {
    await target.teardown?.();
    await project.remove();
  });

  it("in the text echo, in the JSON log's statement events, and in the history table", async () => {
    const text = await cli("upgrade");
    expect(text.status, text.stderr).toBe(0);
    // The statements were echoed, masked.
    expect(text.stderr).toContain(`CREATE ROLE ${role} LOGIN PASSWORD '***'`);
    expect(text.stderr).toContain(`ALTER ROLE ${role} WITH PASSWORD '***' VALID UNTIL 'infinity'`);
    expectNoSecret("upgrade stdout", text.stdout);
    expectNoSecret("upgrade stderr", text.stderr);

    const down = await cli("downgrade", "base", "--log-format", "json");
    expect(down.status, down.stderr).toBe(0);

    const json = await cli("upgrade", "--log-format", "json");
    expect(json.status, json.stderr).toBe(0);
    const statements = (json.stdout + json.stderr)
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { event?: string; sql?: string })
      .filter((record) => record.event === "statement")
      .map((record) => record.sql);
    expect(statements).toEqual([
      `CREATE ROLE ${role} LOGIN PASSWORD '***'`,
      `ALTER ROLE ${role} PASSWORD '***'`,
      `ALTER ROLE ${role} PASSWORD '***'`,
      `ALTER ROLE ${role} PASSWORD '***'`,
      `ALTER ROLE ${role} WITH PASSWORD '***' VALID UNTIL 'infinity'`,
    ]);
    expectNoSecret("JSON log stdout", json.stdout);
    expectNoSecret("JSON log stderr", json.stderr);

    expectNoSecret("history table", await target.history(project.dir));
  });
});
