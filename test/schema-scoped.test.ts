/**
 * Schema-scoped environments (`schema: "tenant_a"`, docs/replicas.md): two environments on
 * one database, each in its own schema with its own version tables and its own lock; the
 * revisions' unqualified DDL lands in the environment's schema; a missing schema is a
 * clear error; the offline script sets search_path. On PostgreSQL and on a PGlite directory.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import pg from "pg";
import { PGlite } from "@electric-sql/pglite";
import { acquireLock } from "../src/run/lock.js";
import { baseEnv, runCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, type TestDatabase } from "./support/databases.js";
import { createEngineProject, type EngineProject } from "./support/engine-project.js";

const A = "a1a1a1a1a1a1";
const B = "b2b2b2b2b2b2";

interface Flavour {
  readonly name: string;
  setUp(project: EngineProject): Promise<{ url: string; query: (sql: string) => Promise<Record<string, unknown>[]>; done: () => Promise<void> }>;
}

const flavours: Flavour[] = [
  {
    name: "PostgreSQL",
    async setUp() {
      const db: TestDatabase = await createPostgresDatabase("athanor_schema");
      const query = async (sql: string) => {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          return (await client.query<Record<string, unknown>>(sql)).rows;
        } finally {
          await client.end();
        }
      };
      return { url: db.url, query, done: () => db.drop() };
    },
  },
  {
    name: "PGlite",
    async setUp(project) {
      const dir = join(project.dir, "db");
      // Reads open the directory only while no CLI run has it open.
      const query = async (sql: string) => {
        const db = new PGlite(dir);
        try {
          return (await db.query<Record<string, unknown>>(sql)).rows;
        } finally {
          await db.close();
        }
      };
      return { url: `pglite://${dir}`, query, done: async () => {} };
    },
  },
];

describe.each(flavours)("schema-scoped environments ($name)", (flavour) => {
  let project: EngineProject;
  let database: Awaited<ReturnType<Flavour["setUp"]>>;
  const cli = (...argv: string[]): Promise<CliResult> => runCli(argv, { cwd: project.dir, env: baseEnv({ DB_URL: database.url }) });

  beforeAll(async () => {
    project = await createEngineProject();
    database = await flavour.setUp(project);
    await project.write({ id: A, message: "orders", upgrade: "CREATE TABLE orders (id int);\nINSERT INTO orders VALUES ((current_schema() = 'tenant_a')::int);", downgrade: "DROP TABLE orders;" });
    await project.write({ id: B, down: A, message: "items", upgrade: "CREATE TABLE items (order_id int);", downgrade: "DROP TABLE items;" });
    await project.configure({
      tenant_a: { url: "${DB_URL}", schema: "tenant_a" },
      tenant_b: { url: "${DB_URL}", schema: "tenant_b" },
      nowhere: { url: "${DB_URL}", schema: "no_such_schema" },
    });
  }, 60_000);
  afterAll(async () => {
    await database?.done();
    await project?.remove();
  });

  it("refuses a schema that does not exist, naming it and how to create it (exit 2)", async () => {
    const result = await cli("--env", "nowhere", "upgrade", "head");
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('schema "no_such_schema" does not exist');
    expect(result.stderr).toContain('CREATE SCHEMA "no_such_schema"');
  });

  it("runs each environment's revisions in its own schema, with its own version tables", async () => {
    // The schemas exist first (athanor never creates a tenant's schema itself).
    await database.query("CREATE SCHEMA tenant_a");
    await database.query("CREATE SCHEMA tenant_b");
    expect((await cli("--env", "tenant_a", "upgrade", "head")).status).toBe(0);
    expect((await cli("--env", "tenant_b", "upgrade", A)).status).toBe(0);

    const tables = await database.query("SELECT table_schema || '.' || table_name AS name FROM information_schema.tables WHERE table_schema IN ('public', 'tenant_a', 'tenant_b') AND table_name !~ '^athanor_version_' ORDER BY 1");
    expect(tables.map((row) => row["name"])).toEqual(["tenant_a.athanor_version", "tenant_a.items", "tenant_a.orders", "tenant_b.athanor_version", "tenant_b.orders"]);
    // current_schema() inside the revision was the environment's schema.
    expect(await database.query("SELECT (SELECT id FROM tenant_a.orders) AS a, (SELECT id FROM tenant_b.orders) AS b")).toEqual([{ a: 1, b: 0 }]);
    if (flavour.name === "PGlite") return; // each CLI run opens the directory again (2 s): reads are covered on PostgreSQL

    const a = JSON.parse((await cli("--env", "tenant_a", "current", "--json")).stdout) as { current: string[] };
    const b = JSON.parse((await cli("--env", "tenant_b", "current", "--json")).stdout) as { current: string[] };
    expect(a.current).toEqual([B]);
    expect(b.current).toEqual([A]);
    const status = await cli("--env", "tenant_b", "status", "--json");
    // Every environment of the project: the two tenants each with its own state, and the missing schema said.
    const entries = (JSON.parse(status.stdout) as { environments: { name: string; state: string; current: string[]; problems: { message: string }[] }[] }).environments;
    expect(entries.map((entry) => [entry.name, entry.state, entry.current])).toEqual([["tenant_a", "up-to-date", [B]], ["tenant_b", "behind", [A]], ["nowhere", "unreachable", []]]);
    expect(entries[2]?.problems[0]?.message).toContain('schema "no_such_schema" does not exist');
  });

  it("writes SET search_path at the top of the offline script", async () => {
    const offline = await cli("--env", "tenant_b", "upgrade", "--sql", `${A}:${B}`);
    expect(offline.status).toBe(0);
    const lines = offline.stdout.split("\n");
    expect(lines.indexOf('SET search_path TO "tenant_b";')).toBeGreaterThan(0);
    expect(lines.indexOf('SET search_path TO "tenant_b";')).toBeLessThan(lines.indexOf("BEGIN;"));
  });

  // Per-schema locks exist only where locks are advisory (PostgreSQL): PGlite has one lock
  // file per data directory, so the test is not registered there at all (not skipped).
  const onPostgres = flavour.name === "PostgreSQL" ? it : (): void => undefined;
  onPostgres("takes a lock per schema: a runner on tenant_a does not hold up tenant_b", async () => {
    const a = await project.env("tenant_a", { PATH: process.env["PATH"], DB_URL: database.url });
    const b = await project.env("tenant_b", { PATH: process.env["PATH"], DB_URL: database.url });
    const release = await acquireLock({ target: a.target, versionTable: a.versionTable, waitMs: 1_000, applicationName: "athanor upgrade (tenant_a elsewhere)" });
    try {
      expect(b.versionTable.schema).toBe("tenant_b");
      const other = await cli("--env", "tenant_b", "--lock-wait", "1", "upgrade", "head");
      expect(other.stderr).toBe("");
      expect(other.status).toBe(0);
      const blocked = await cli("--env", "tenant_a", "--lock-wait", "1", "downgrade", A);
      expect(blocked.status).toBe(4);
    } finally {
      await release();
    }
    expect(await database.query("SELECT count(*)::int AS n FROM tenant_b.items")).toEqual([{ n: 0 }]);
  });
});
