/**
 * Issue #8, hostile and broken input, through the CLI (in-process): configs with wrong
 * types, unknown keys, `${VAR}` loops and bombs; revision files with duplicate ids,
 * missing parents, cycles, binary garbage, 50 MB, non-UTF-8 text, a header that lies;
 * `.env` files with odd quoting. Each broken input exits 2 with a message naming the
 * problem and no stack trace; each odd-but-valid `.env` form gives the right value (a
 * real connection proves the password). (The property tests of the expander and the
 * header parser live next to them: src/config/expand.test.ts, src/revisions/header.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { baseEnv, runCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, serverUrl, tempDir, type TestDatabase } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";
import { hasStack } from "./support/faults.js";

const A = "aa0000000001";
const B = "aa0000000002";
const C = "aa0000000003";

let root: { dir: string; remove(): Promise<void> };
let counter = 0;
const figures = { brokenInputs: 0, oddButValid: 0 };

/** A fresh project directory with these files (paths relative to it). */
async function projectWith(files: Record<string, string | Buffer>): Promise<string> {
  const dir = join(root.dir, `p${++counter}`);
  await mkdir(join(dir, "migrations"), { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(dir, name, ".."), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

const jsonConfig = (config: unknown) => JSON.stringify(config);
const okConfig = jsonConfig({ migrations: "./migrations", environments: { development: { url: "postgresql://app:pw@127.0.0.1:1/app" } } });
const revision = (id: string, down: string | null, upgrade = "SELECT 1;") => sqlRevisionText({ id, down, message: `rev ${id}`, upgrade, downgrade: "SELECT 1;" });

/** Runs the CLI and checks the contract of a usage/config error: exit 2, `error: <message>`, a hint, no stack. */
async function expectUsageError(dir: string, argv: string[], message: RegExp, env: Record<string, string | undefined> = baseEnv()): Promise<CliResult> {
  const result = await runCli(argv, { cwd: dir, env });
  expect(result.status, `${argv.join(" ")}\n${result.stdout}\n${result.stderr}`).toBe(2);
  expect(result.stderr).toMatch(/^error: /m);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).toMatch(/^\s+hint: \S/m);
  expect(result.stderr).not.toContain("internal error");
  expect(hasStack(result.stderr)).toBe(false);
  // A hostile file must not flood the terminal.
  expect(result.stderr.length).toBeLessThan(4_000);
  figures.brokenInputs++;
  return result;
}

beforeAll(async () => {
  root = await tempDir("athanor-faults-input-");
});
afterAll(async () => {
  await root.remove();
  console.log(`[faults-input] ${figures.brokenInputs} broken inputs refused with exit 2, ${figures.oddButValid} odd-but-valid inputs read right`);
});

describe("broken configs", () => {
  it.each([
    ["a url of the wrong type", { environments: { development: { url: 42 } } }, /environments\.development\.url must be a string, not number 42/],
    ["echo as a string", { environments: { development: { url: "postgresql://db.example/app", echo: "yes" } } }, /environments\.development\.echo must be true or false, not the string "yes"/],
    ["pool as a number", { environments: { development: { url: "postgresql://db.example/app", pool: 5 } } }, /environments\.development\.pool must be "none" or \{ max: <positive integer> \}, not number 5/],
    ["backup keep negative", { environments: { production: { url: "postgresql://db.example/app", backup: { dir: "b", keep: -1 } } } }, /environments\.production\.backup\.keep must be a positive integer, not number -1/],
    ["environments as an array", { environments: [] }, /environments must be an object, not an array/],
    ["no environments", { migrations: "./migrations" }, /environments is missing/],
    ["an unknown environment key", { environments: { development: { url: "postgresql://db.example/app", protectd: true } } }, /environments\.development\.protectd is not a known setting[\s\S]*Did you mean "protected"\?/],
    ["an unknown top-level key", { migration: "./m", environments: { development: { url: "postgresql://db.example/app" } } }, /migration is not a known setting[\s\S]*Did you mean "migrations"\?/],
    ["lockTimeout that is no duration", { environments: { development: { url: "postgresql://db.example/app", lockTimeout: "soon" } } }, /lockTimeout in athanor\.config\.json: "soon" is not a duration/],
    ["a defaultEnvironment that does not exist", { defaultEnvironment: "prod", environments: { production: { url: "postgresql://db.example/app" } } }, /defaultEnvironment names "prod", which is not an environment/],
    ["an environment name with a space", { environments: { "my env": { url: "postgresql://db.example/app" } } }, /environments\.my env is not a valid environment name/],
  ])("%s", async (_name, config, message) => {
    const dir = await projectWith({ "athanor.config.json": jsonConfig(config) });
    await expectUsageError(dir, ["env"], message);
  });

  it("JSON that does not parse, a module that throws, a default export that is not an object", async () => {
    await expectUsageError(await projectWith({ "athanor.config.json": '{"environments": {"development": {"url": "x",}}}' }), ["env"], /athanor\.config\.json is not valid JSON/);
    await expectUsageError(await projectWith({ "athanor.config.mjs": 'throw new Error("boom at import");' }), ["env"], /athanor\.config\.mjs could not be loaded: boom at import/);
    await expectUsageError(await projectWith({ "athanor.config.mjs": "export default 42;" }), ["env"], /the default export must be an object, not number 42/);
    await expectUsageError(await projectWith({ "athanor.config.json": randomBytes(4096) }), ["env"], /athanor\.config\.json is not valid JSON/);
  });

  it("${VAR} loops, bombs and malformed references in .env files", async () => {
    const config = jsonConfig({ environments: { development: { url: "postgresql://app:${DB_PASSWORD}@127.0.0.1:1/app" } } });
    await expectUsageError(await projectWith({ "athanor.config.json": config, ".env": "DB_PASSWORD=${P1}\nP1=${P2}\nP2=${DB_PASSWORD}\n" }), ["env"], /variables refer to each other in a loop: DB_PASSWORD -> P1 -> P2 -> DB_PASSWORD/);
    const bomb = Array.from({ length: 20 }, (_, i) => `L${i}=\${L${i + 1}}\${L${i + 1}}`).join("\n");
    await expectUsageError(await projectWith({ "athanor.config.json": config, ".env": `DB_PASSWORD=\${L0}\n${bomb}\nL20=lol\n` }), ["env"], /expands more than 10000 variable references/);
    const chain = Array.from({ length: 5000 }, (_, i) => `V${i}=\${V${i + 1}}`).join("\n");
    await expectUsageError(await projectWith({ "athanor.config.json": config, ".env": `DB_PASSWORD=\${V0}\n${chain}\nV5000=x\n` }), ["env"], /references nest more than 32 levels deep/);
    await expectUsageError(await projectWith({ "athanor.config.json": config, ".env": "DB_PASSWORD=${unclosed\n" }), ["env"], /unclosed "\$\{"/);
    await expectUsageError(await projectWith({ "athanor.config.json": config }), ["env"], /variable DB_PASSWORD is not set \(environment "development", used by environments\.development\.url in athanor\.config\.json\)/);
  });
});

describe("broken revision files", () => {
  it.each([
    ["duplicate ids", { "migrations/one.sql": revision(A, null), "migrations/two.sql": revision(A, null) }, /revision aa0000000001 is defined twice: in one\.sql and in two\.sql/],
    ["a missing parent", { "migrations/a.sql": revision(A, null), "migrations/b.sql": revision(B, C) }, /b\.sql: parent revision aa0000000003 of aa0000000002 does not exist/],
    ["a cycle", { "migrations/a.sql": revision(A, C), "migrations/b.sql": revision(B, A), "migrations/c.sql": revision(C, B) }, /cycle[\s\S]*a\.sql|a\.sql[\s\S]*cycle/],
    ["a revision that names itself", { "migrations/a.sql": revision(A, A) }, /a\.sql:2: revision aa0000000001 names itself as its parent/],
    ["no header at all", { "migrations/a.sql": "CREATE TABLE t ();\n" }, /a\.sql:1: SQL before the `-- athanor:upgrade` marker|a\.sql: the revision has no id/],
  ])("%s", async (_name, files, message) => {
    const dir = await projectWith({ "athanor.config.json": okConfig, ...files });
    await expectUsageError(dir, ["heads"], message);
  });

  it("binary garbage, a 50 MB file, non-UTF-8 text", async () => {
    const garbage = Buffer.concat([randomBytes(8192), Buffer.from([0])]);
    await expectUsageError(await projectWith({ "athanor.config.json": okConfig, "migrations/a.sql": revision(A, null), "migrations/blob.sql": garbage }), ["heads"], /blob\.sql: holds NUL bytes: it looks like a binary file, not a revision/);
    const huge = Buffer.alloc(50 * 1024 * 1024, "-- padding line\n");
    huge.write(revision(A, null));
    await expectUsageError(await projectWith({ "athanor.config.json": okConfig, "migrations/huge.sql": huge }), ["heads"], /huge\.sql: is 50\.0 MB; revision files are limited to 10 MB/);
    const latin1 = Buffer.from(`-- athanor:revision ${A}\n-- athanor:message caf\xe9 cr\xe8me\n-- athanor:upgrade\nSELECT 1;\n`, "latin1");
    await expectUsageError(await projectWith({ "athanor.config.json": okConfig, "migrations/latin1.sql": latin1 }), ["heads"], /latin1\.sql: is not valid UTF-8 text/);
  });

  describe("against a database", () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createPostgresDatabase("athanor_fault_input");
    });
    afterAll(() => db.drop());

    it("a header that lies: the module's revision is not the one its text declares; nothing runs", async () => {
      const lying = `const migration = {
  revision: "${B}",
  down: "${A}",
  message: "looks like ${B}",
  async upgrade({ sql }) { await sql\`CREATE TABLE lied (id int)\`; },
};
migration.revision = "bb0000000009";
export default migration;
`;
      const dir = await projectWith({
        "athanor.config.json": jsonConfig({ environments: { development: { url: "${DATABASE_URL}" } } }),
        "migrations/a.sql": revision(A, null, "CREATE TABLE first_one (id int);"),
        "migrations/b.mjs": lying,
      });
      await expectUsageError(dir, ["upgrade"], /b\.mjs: the module's revision \(bb0000000009\) is not the aa0000000002 read from its text/, baseEnv({ DATABASE_URL: db.url }));
      // Every body is loaded before the first change: not even the honest revision ran.
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        expect((await client.query("SELECT to_regclass('first_one') AS a, to_regclass('lied') AS b")).rows).toEqual([{ a: null, b: null }]);
      } finally {
        await client.end();
      }
    });
  });
});

describe(".env files with odd quoting", () => {
  let db: TestDatabase;
  let role: string;
  // `#` (a comment marker), `$` (expansion), `@` and `:` (URL syntax), a space and a quote of the other kind.
  const PASSWORD = `p#ss$w@rd: it's`;

  beforeAll(async () => {
    db = await createPostgresDatabase("athanor_fault_dotenv");
    role = `athanor_dotenv_${randomBytes(3).toString("hex")}`;
    const admin = new pg.Client({ connectionString: serverUrl() });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE "${role}" LOGIN PASSWORD '${PASSWORD.replace(/'/g, "''")}'`);
      await admin.query(`GRANT CONNECT ON DATABASE "${db.name}" TO "${role}"`);
    } finally {
      await admin.end();
    }
  });
  afterAll(async () => {
    await db.drop();
    const admin = new pg.Client({ connectionString: serverUrl() });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS "${role}"`).finally(() => admin.end());
  });

  const config = () => {
    const server = new URL(serverUrl());
    return jsonConfig({ environments: { development: { url: `postgresql://${role}:\${DB_PASSWORD}@${server.hostname}:${server.port}/${db.name}` } } });
  };

  it.each([
    ["an export prefix, double quotes, # inside them and a trailing comment", `export DB_PASSWORD="${PASSWORD}"   # the app's password\n`],
    ["a multiline value before it, and CRLF line endings", `NOTE="first line\r\nsecond line # not a comment"\r\nexport   DB_PASSWORD="${PASSWORD}"\r\n`],
    // python-dotenv and docker compose: a "#" starts a comment only after whitespace (Node's dotenv would cut it).
    ["unquoted, with a # that follows no whitespace", `DB_PASSWORD=${PASSWORD}\n`],
    ["a later definition overriding an earlier one", `DB_PASSWORD=wrong\nDB_PASSWORD="${PASSWORD}"\n`],
  ])("%s: the password arrives intact (a real connection)", async (_name, dotenv) => {
    const dir = await projectWith({ "athanor.config.json": config(), ".env": dotenv });
    const result = await runCli(["current"], { cwd: dir, env: baseEnv() });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).not.toContain("p#ss");
    figures.oddButValid++;
  });

  it.each([
    ["an unbalanced double quote", `DB_PASSWORD="${PASSWORD}\n`, 1, '"'],
    ["an unbalanced single quote after an export prefix", `OTHER=1\nexport DB_PASSWORD='abc\n`, 2, "'"],
    ["text after the closing quote", `DB_PASSWORD="abc"def\n`, 1, '"'],
  ])("%s is refused naming the file, the variable and the line", async (_name, dotenv, line, quote) => {
    const dir = await projectWith({ "athanor.config.json": config(), ".env": dotenv });
    const result = await expectUsageError(dir, ["current"], new RegExp(`DB_PASSWORD in \\.env \\(line ${line}\\): (the value opens a ${quote} quote that is never closed|text follows the closing ${quote} quote)`));
    expect(result.stderr).not.toContain("p#ss");
  });

  it("an unbalanced quote in another variable swallows the next line, as python-dotenv reads it", async () => {
    // APP_GREETING's quote closes on the next line, before "p#ss...": python-dotenv skips both lines, so DB_PASSWORD is unset.
    const dir = await projectWith({ "athanor.config.json": config(), ".env": `APP_GREETING="hello\nDB_PASSWORD="${PASSWORD}"\n` });
    const result = await expectUsageError(dir, ["current"], /variable DB_PASSWORD is not set/);
    expect(result.stderr).not.toContain("p#ss");
  });
  it("an unbalanced quote in a variable athanor does not use is no concern of athanor's", async () => {
    const dir = await projectWith({ "athanor.config.json": config(), ".env": `DB_PASSWORD="${PASSWORD}"\nAPP_GREETING="hello\n` });
    const result = await runCli(["current"], { cwd: dir, env: baseEnv() });
    expect(result.status, result.stderr).toBe(0);
    figures.oddButValid++;
  });
});

afterAll(async () => {
  await rm(root.dir, { recursive: true, force: true });
});
