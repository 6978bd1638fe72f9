/**
 * Real schemas (test/fixtures/real-schemas/<name>/, each with its licence and source): pagila,
 * and danbooru's Rails `db/structure.sql` (65 tables, functions, an operator, an unlogged
 * table with storage parameters, serial columns with bigint sequences, statistics targets).
 * For each: the declared
 * schema → `revision --autogenerate` into an empty folder (the command replays it on the
 * shadow PGlite and refuses a revision that does not round-trip) → `upgrade` on a real
 * PostgreSQL → `pg_dump --schema-only` equals that of a database loaded directly from the
 * declared schema (normalised for ordering) → a second autogenerate writes nothing →
 * `downgrade base` leaves an empty schema.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { introspectTarget } from "../src/autogenerate/compare.js";
import { emptyModel } from "../src/autogenerate/model.js";
import { sequencePositions } from "../src/autogenerate/shadow.js";
import { startShadowServer, type ShadowServer } from "../src/autogenerate/shadow-server.js";
import type { Session } from "../src/dialects/types.js";
import { parseDatabaseUrl } from "../src/config/url.js";
import { baseEnv, runCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, serverUrl, tempDir, queryUrl, type TestDatabase } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";

const fixture = (path: string): string => fileURLToPath(new URL(`./fixtures/real-schemas/${path}`, import.meta.url));
const run = promisify(execFile);

/** pg_dump from ATHANOR_PG_BINDIR, PATH, or the Debian location of the server's major version. */
function pgDumpPath(): string {
  const dir = process.env["ATHANOR_PG_BINDIR"];
  if (dir) return join(dir, "pg_dump");
  for (const candidate of (process.env["PATH"] ?? "").split(":").map((d) => join(d, "pg_dump"))) if (existsSync(candidate)) return candidate;
  return "/usr/lib/postgresql/15/bin/pg_dump";
}

/** `pg_dump --schema-only` of a database (athanor's tables left out), as a sorted list of statements without comments and settings. */
async function schemaDump(db: TestDatabase): Promise<string[]> {
  const url = new URL(db.url);
  const password = decodeURIComponent(url.password);
  url.password = "";
  // The password goes through the environment, never the command line.
  const { stdout } = await run(pgDumpPath(), ["--schema-only", "--no-owner", "--no-privileges", "--exclude-table=public.athanor_version*", "--dbname", url.toString()], {
    env: { ...process.env, PGPASSWORD: password },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout
    .split(/;\n/)
    .map((statement) =>
      statement
        .split("\n")
        .filter((line) => !line.startsWith("--") && line.trim() !== "")
        .join("\n")
        .trim(),
    )
    .filter((statement) => statement !== "" && !/^(SET|SELECT pg_catalog\.set_config)\b/.test(statement) && !/^\\(un)?restrict\b/.test(statement))
    .sort();
}

/** The shadow databases (`athanor_shadow_*`) on the test server. */
async function shadowDatabases(): Promise<string[]> {
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    return (await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'athanor\\_shadow\\_%'")).rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

/** The test server as a `shadowUrl` target. */
function shadowTarget(): ShadowServer {
  const { target } = parseDatabaseUrl(serverUrl(), "/", "test");
  if (target.kind !== "postgres") throw new Error("DATABASE_URL is not a PostgreSQL URL");
  return target;
}

/** The URL of another database of the test server. */
function databaseUrl(name: string): string {
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

async function currentDatabase(session: Session): Promise<string> {
  return ((await session.query<{ name: string }>("SELECT current_database() AS name")).rows[0] as { name: string }).name;
}


/**
 * One real schema, end to end. `sql` is the declared schema as written into the project;
 * the reference database loads the same text directly.
 */
function realSchema(name: string, sql: () => string, options: { shadowUrl?: () => string } = {}): void {
  const title = options.shadowUrl ? `${name} (shadowUrl: a shadow database on the server)` : name;
  describe(title, () => {
    let target: TestDatabase;
    let reference: TestDatabase;
    let dir: string;
    let remove: () => Promise<void>;
    const cli = (argv: string[]): Promise<CliResult> => runCli(argv, { cwd: dir, env: baseEnv() });
    const files = (): string[] => (existsSync(join(dir, "migrations")) ? readdirSync(join(dir, "migrations")) : []);

    beforeAll(async () => {
      [target, reference] = await Promise.all([createPostgresDatabase(`athanor_${name}`), createPostgresDatabase(`athanor_${name}_ref`)]);
      ({ dir, remove } = await tempDir(`athanor-${name}-`));
      await writeFile(join(dir, "schema.sql"), sql());
      const live = options.shadowUrl ? { url: target.url, shadowUrl: options.shadowUrl() } : { url: target.url };
      await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", schema: "./schema.sql", environments: { live } }, null, 2));
      await queryUrl(reference.url, sql());
    }, 300_000);

    afterAll(async () => {
      await Promise.all([target?.drop(), reference?.drop(), remove?.()]);
    });

    it(`autogenerates a revision that rebuilds ${name} exactly on PostgreSQL, then nothing, and downgrades to an empty schema`, async () => {
      const first = await cli(["--env", "live", "--json", "revision", "-m", name, "--autogenerate"]);
      expect(first.stderr.replace(/^warning: .*\n/gm, "")).toBe("");
      expect(first.status).toBe(0);
      const generated = JSON.parse(first.stdout) as { revision: { path: string } | null; notCompared: { kind: string; name: string }[] };
      expect(generated.revision).not.toBeNull();
      // Grants are not compared by default (pagila grants on schema public); everything else is.
      expect(generated.notCompared.filter((o) => o.kind !== "grant")).toEqual([]);
      expect(files()).toHaveLength(1);

      const up = await cli(["--env", "live", "upgrade", "head"]);
      expect(up.stderr).not.toMatch(/error/i);
      expect(up.status).toBe(0);
      const [built, loaded] = await Promise.all([schemaDump(target), schemaDump(reference)]);
      expect(built).toEqual(loaded);

      const second = await cli(["--env", "live", "revision", "-m", "again", "--autogenerate"]);
      expect(second.status).toBe(0);
      expect(second.stdout).toContain("no changes detected");
      expect(files()).toHaveLength(1);

      const down = await cli(["--env", "live", "downgrade", "base"]);
      expect(down.status).toBe(0);
      const model = await introspectTarget(
        parseDatabaseUrl(target.url, "/", "test").target,
        ["public"],
        ["athanor_version", "athanor_version_history", "athanor_version_meta"].map((name) => ({ schema: "public", name })),
      );
      expect(model).toEqual(emptyModel(["public"]));
      // Every shadow database made on the server was dropped again.
      expect(await shadowDatabases()).toEqual([]);
    }, 900_000);
  });
}

realSchema("pagila", () => readFileSync(fixture("pagila/pagila-schema.sql"), "utf8"));

// PGlite (the default shadow) does not ship pgstattuple, which danbooru creates and no object of its schema uses:
// with the PGlite shadow that line is left out (the shadowUrl test runs the file unchanged).
realSchema("danbooru", () => readFileSync(fixture("danbooru/structure.sql"), "utf8").replace(/^(CREATE EXTENSION IF NOT EXISTS pgstattuple|COMMENT ON EXTENSION pgstattuple)\b.*$/gm, ""));

// With a shadow on the real server (shadowUrl), the file runs unchanged, pgstattuple included.
realSchema("danbooru", () => readFileSync(fixture("danbooru/structure.sql"), "utf8"), { shadowUrl: serverUrl });

describe("shadowUrl", () => {
  let dir: string;
  let remove: () => Promise<void>;
  const role = `athanor_noshadow_${process.pid}`;
  const password = "shadow-secret-pw-1";

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-shadowurl-"));
    await queryUrl(serverUrl(), `DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} LOGIN NOCREATEDB PASSWORD '${password}'`);
    await writeFile(join(dir, "schema.sql"), "CREATE TABLE t (id int);\n");
  });

  afterAll(async () => {
    await queryUrl(serverUrl(), `DROP ROLE IF EXISTS ${role}`);
    await remove?.();
  });

  it("refuses a role that may not create the shadow database, naming CREATEDB, without the password", async () => {
    const url = new URL(serverUrl());
    url.username = role;
    url.password = password;
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ schema: "./schema.sql", environments: { dev: { url: "pglite://memory", shadowUrl: url.toString() } } }));
    const result = await runCli(["--env", "dev", "diff", "--from", "migrations", "--to", "schema"], { cwd: dir, env: baseEnv() });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/cannot create the shadow database athanor_shadow_[0-9a-f]+ on the shadow server \(shadowUrl\)/);
    expect(result.stderr).toContain("CREATEDB");
    expect(result.stdout + result.stderr).not.toContain(password);
  });

  it("a failing revision's and a failing declared schema's hints name the shadow server they ran on, not PGlite, without the password (adv9 F4)", async () => {
    const url = new URL(serverUrl());
    const project = await tempDir("athanor-shadowurl-fails-");
    try {
      await mkdir(join(project.dir, "migrations"));
      await writeFile(join(project.dir, "migrations", "f00000000001_bad.sql"), sqlRevisionText({ id: "f00000000001", message: "bad", upgrade: "CREATE TABLE t (id int);\nSELECT 1/0;" }));
      await writeFile(join(project.dir, "schema.sql"), "CREATE TABLE t (id int);\nSELECT 1/0;\n");
      await writeFile(join(project.dir, "athanor.config.json"), JSON.stringify({ schema: "./schema.sql", environments: { dev: { url: "pglite://memory", shadowUrl: url.toString() } } }));
      const server = `${decodeURIComponent(url.username)}@${url.hostname}:${url.port}${url.pathname}`;
      for (const [from, to, says] of [
        ["migrations", "schema", "Each revision's upgrade is replayed in order on an empty database (athanor_shadow_"],
        ["schema", "migrations", "The declared schema is loaded, file by file in order, into an empty database (athanor_shadow_"],
      ] as const) {
        const result = await runCli(["--env", "dev", "diff", "--from", from, "--to", to], { cwd: project.dir, env: baseEnv() });
        expect(result.status, result.stderr).toBe(2);
        expect(result.stderr).toContain("division by zero");
        expect(result.stderr).toContain(says);
        expect(result.stderr).toContain(`on the shadow server of shadowUrl, ${server}, with that role's rights`);
        expect(result.stderr).not.toContain("PGlite");
        expect(result.stdout + result.stderr).not.toContain(decodeURIComponent(url.password));
      }
    } finally {
      await project.remove();
    }
  });

  // Here rather than in a file of their own: the tests above count the shadow databases on
  // the server, and the files of the suite run at the same time.
  it("reports a shadow database it cannot drop, naming it, and drops it when it can", async () => {
    const shadow = await startShadowServer(shadowTarget());
    const name = await currentDatabase(shadow);
    expect(name).toMatch(/^athanor_shadow_[0-9a-f]+$/);
    // Someone else connected to it: DROP DATABASE refuses ("is being accessed by other users").
    const other = new pg.Client({ connectionString: databaseUrl(name) });
    await other.connect();
    try {
      await expect(shadow.close()).rejects.toThrow(new RegExp(`cannot drop the shadow database ${name} on the shadow server \\(shadowUrl\\)`));
    } finally {
      await other.end();
    }
    expect(await shadowDatabases()).toEqual([name]);
    await queryUrl(serverUrl(), `DROP DATABASE "${name}"`);

    const again = await startShadowServer(shadowTarget());
    expect(await shadowDatabases()).toEqual([await currentDatabase(again)]);
    await again.close();
    expect(await shadowDatabases()).toEqual([]);
  }, 60_000);

  it("reads where each sequence of a shadow database stands, a position set back with setval(..., false) included", async () => {
    const [fresh, moved] = await Promise.all([startShadowServer(shadowTarget()), startShadowServer(shadowTarget())]);
    try {
      await Promise.all([fresh.exec("CREATE SEQUENCE s; CREATE TABLE t (id serial)"), moved.exec("CREATE SEQUENCE s; CREATE TABLE t (id serial); SELECT setval('s', 100, false)")]);
      expect(await sequencePositions(fresh)).toBe("public.s 1 false\npublic.t_id_seq 1 false");
      expect(await sequencePositions(moved)).toBe("public.s 100 false\npublic.t_id_seq 1 false");
      await moved.exec("SELECT nextval('t_id_seq')");
      expect(await sequencePositions(moved)).toBe("public.s 100 false\npublic.t_id_seq 1 true");
    } finally {
      await Promise.all([fresh.close(), moved.close()]);
    }
  }, 60_000);

  it("is refused when it is not a PostgreSQL URL", async () => {
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ schema: "./schema.sql", environments: { dev: { url: "pglite://memory", shadowUrl: "pglite://memory" } } }));
    const result = await runCli(["--env", "dev", "diff", "--from", "migrations", "--to", "schema"], { cwd: dir, env: baseEnv() });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("environments.dev.shadowUrl");
  });
});
