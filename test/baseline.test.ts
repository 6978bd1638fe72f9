/**
 * `athanor baseline`: on a database built from a fixture schema (test/fixtures/schemas/
 * kitchen-sink/after.sql: two schemas, enums, a sequence, identity columns, checks,
 * unique and foreign keys, indexes, views, a comment), on PostgreSQL and on PGlite:
 *   baseline → one root revision, the environment stamped at it →
 *   `upgrade` of an empty database gives the same schema (compared by introspection) →
 *   its `downgrade base` leaves nothing.
 * Then the refusals (exit 2 and 3, nothing written) and `--force`, `--no-stamp`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { introspectTarget } from "../src/autogenerate/compare.js";
import { canonicalModel, emptyModel, type QualifiedName, type SchemaModel } from "../src/autogenerate/model.js";
import { renderBaselineSql } from "../src/commands/baseline.js";
import { current } from "../src/commands/current.js";
import { loadConfigFile } from "../src/config/load.js";
import { resolveEnvironment } from "../src/config/resolve.js";
import type { DatabaseTarget, ResolvedEnvironment } from "../src/config/types.js";
import { openSession } from "../src/dialects/open.js";
import { loadRevisionGraph } from "../src/revisions/script-directory.js";
import { baseEnv, runCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, tempDir, type TestDatabase } from "./support/databases.js";
import { parseDatabaseUrl } from "../src/config/url.js";

const FIXTURE = readFileSync(fileURLToPath(new URL("./fixtures/schemas/kitchen-sink/after.sql", import.meta.url)), "utf8");
const SCHEMAS = ["public", "app"];
const ATHANOR_TABLES: QualifiedName[] = ["athanor_version", "athanor_version_history", "athanor_version_meta"].map((name) => ({ schema: "public", name }));

/** A project directory whose environments point at the given URLs (schemas public and app). */
async function project(environments: Record<string, Record<string, unknown>>): Promise<{ dir: string; remove(): Promise<void>; env(name: string): Promise<ResolvedEnvironment>; cli(argv: string[]): Promise<CliResult>; files(): string[] }> {
  const { dir, remove } = await tempDir("athanor-baseline-");
  const withSchemas = Object.fromEntries(Object.entries(environments).map(([name, config]) => [name, { schemas: SCHEMAS, ...config }]));
  await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: withSchemas }, null, 2));
  return {
    dir,
    remove,
    env: async (name) => resolveEnvironment(await loadConfigFile(join(dir, "athanor.config.json")), { environment: name, processEnv: baseEnv() }),
    cli: (argv) => runCli(argv, { cwd: dir, env: baseEnv() }),
    files: () => {
      try {
        return readdirSync(join(dir, "migrations")).sort();
      } catch {
        return [];
      }
    },
  };
}

async function model(target: DatabaseTarget): Promise<SchemaModel> {
  return canonicalModel(await introspectTarget(target, SCHEMAS, ATHANOR_TABLES));
}

interface EngineCase {
  readonly name: "postgres" | "pglite";
  /** A URL of a new database holding `sql` (when given), and how to remove it. */
  database(sql?: string): Promise<{ url: string; drop(): Promise<void> }>;
}

const engines: EngineCase[] = [
  {
    name: "postgres",
    async database(sql) {
      const db: TestDatabase = await createPostgresDatabase("athanor_baseline");
      if (sql !== undefined) {
        const session = await openSession(parseDatabaseUrl(db.url, "/", "test").target);
        try {
          await session.exec(sql);
        } finally {
          await session.close();
        }
      }
      return { url: db.url, drop: () => db.drop() };
    },
  },
  {
    name: "pglite",
    async database(sql) {
      const { dir, remove } = await tempDir("athanor-baseline-pglite-");
      const dataDir = join(dir, "db");
      if (sql !== undefined) {
        const session = await openSession({ kind: "pglite", dataDir });
        try {
          await session.exec(sql);
        } finally {
          await session.close();
        }
      }
      return { url: `pglite://${dataDir}`, drop: remove };
    },
  },
];

describe.each(engines)("baseline on $name", (engine) => {
  let source: { url: string; drop(): Promise<void> };
  let fresh: { url: string; drop(): Promise<void> };
  let p: Awaited<ReturnType<typeof project>>;

  beforeAll(async () => {
    [source, fresh] = await Promise.all([engine.database(FIXTURE), engine.database()]);
    p = await project({ live: { url: source.url }, fresh: { url: fresh.url } });
  });

  afterAll(async () => {
    await p?.remove();
    await Promise.all([source?.drop(), fresh?.drop()]);
  });

  it("writes a root revision from the live schema and stamps the environment at it", async () => {
    const result = await p.cli(["--env", "live", "baseline", "-m", "baseline"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const files = p.files();
    expect(files).toHaveLength(1);
    const id = (files[0] ?? "").slice(0, 12);
    expect(files[0]).toBe(`${id}_baseline.sql`);
    expect(result.stdout).toContain(`wrote migrations/${id}_baseline.sql: the schema of live (1 schema, 3 tables, 2 views, 2 enums, 1 sequence, 2 indexes)`);
    expect(result.stdout).toContain(`stamped live at ${id}; no migration ran`);

    const graph = await loadRevisionGraph(join(p.dir, "migrations"));
    expect(graph.get(id).parents).toEqual([]);
    const stamped = await current(await p.env("live"));
    expect(stamped.current).toEqual([id]);
    // Nothing left to apply: the database already has the schema.
    const upgrade = await p.cli(["--env", "live", "upgrade", "--dry-run"]);
    expect(upgrade.stdout).toContain("dry run: nothing to upgrade on live");
  });

  it("gives an empty database the same schema, and its downgrade removes it", async () => {
    const up = await p.cli(["--env", "fresh", "upgrade", "head"]);
    expect(up.stderr).toBe("");
    expect(up.status).toBe(0);
    const [expected, actual] = [await model((await p.env("live")).target), await model((await p.env("fresh")).target)];
    expect(actual).toEqual(expected);
    expect(expected.tables.map((t) => `${t.schema}.${t.name}`)).toEqual(["app.invoices", "public.organisations", "public.users"]);

    const down = await p.cli(["--env", "fresh", "downgrade", "base"]);
    expect(down.status).toBe(0);
    const empty = await model((await p.env("fresh")).target);
    expect(empty).toEqual(emptyModel(["public"]));
  });

  it("refuses a second baseline (exit 2) and points at stamp; writes nothing", async () => {
    const before = p.files();
    const result = await p.cli(["--env", "fresh", "baseline", "-m", "again"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/already holds 1 revision \(head [0-9a-f]{12}\): baseline writes the first revision of a project/);
    expect(result.stderr).toMatch(/stamp [0-9a-f]{12}/);
    expect(result.stderr).toContain("--force");
    expect(p.files()).toEqual(before);
  });
});

describe("baseline refusals and options (PostgreSQL)", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  async function setUp(sql: string | undefined, config: Record<string, unknown> = {}) {
    const db = await engines[0]!.database(sql);
    const p = await project({ live: { url: db.url, ...config } });
    cleanup.push(() => db.drop(), () => p.remove());
    return p;
  }

  it("refuses an empty database (exit 2), names what it found, writes nothing", async () => {
    const p = await setUp("CREATE TEXT SEARCH CONFIGURATION public.plain (COPY = simple)");
    const result = await p.cli(["--env", "live", "baseline", "-m", "baseline"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("has no tables, views, types or sequences in public, app (only objects athanor does not model: text search configuration public.plain): there is nothing to baseline");
    expect(result.stderr).toContain("athanor revision -m MSG");
    expect(p.files()).toEqual([]);
  });

  it("creates the extensions first, and lists the objects it leaves out (in the file too)", async () => {
    const p = await setUp(`CREATE EXTENSION citext;
      CREATE TABLE accounts (id int PRIMARY KEY, email citext NOT NULL);
      CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
      CREATE TRIGGER accounts_touch BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION public.touch();
      CREATE STATISTICS accounts_stats ON id, email FROM accounts;`);
    const result = await p.cli(["--env", "live", "baseline", "-m", "initial schema", "--json"]);
    expect(result.status).toBe(0);
    const document = JSON.parse(result.stdout) as { revision: { path: string }; extensions: unknown[]; unmodelled: unknown[]; warnings: string[]; stamped: { current: string[] } };
    expect(document.extensions).toEqual([{ name: "citext", schema: "public" }]);
    // Functions and triggers are modelled (issue 16): they are in the baseline; extended statistics are not.
    expect(document.unmodelled).toEqual([{ kind: "statistics", schema: "public", name: "accounts_stats" }]);
    expect(document.warnings[0]).toContain("statistics public.accounts_stats");
    expect(result.stderr).toContain("warning: not in the baseline");
    const text = readFileSync(document.revision.path, "utf8");
    expect(text).toContain("--   statistics public.accounts_stats");
    expect(text).toContain("CREATE TRIGGER accounts_touch BEFORE UPDATE ON public.accounts");
    expect(text).toContain("CREATE OR REPLACE FUNCTION public.touch()");
    expect(text.indexOf('CREATE EXTENSION IF NOT EXISTS "citext" WITH SCHEMA "public";')).toBeLessThan(text.indexOf('CREATE TABLE "public"."accounts"'));
    expect(text).toContain('DROP EXTENSION IF EXISTS "citext";');
    expect(document.stamped.current).toHaveLength(1);
  });

  it("leaves out the previous tool's version table (an Alembic project) and says so", async () => {
    const p = await setUp(`CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY);
      INSERT INTO alembic_version VALUES ('ae1027a6acf');
      CREATE TABLE app.accounts (id int PRIMARY KEY);`.replace("CREATE TABLE app.", "CREATE SCHEMA app; CREATE TABLE app."));
    const result = await p.cli(["--env", "live", "baseline", "-m", "baseline", "--json"]);
    expect(result.status).toBe(0);
    const document = JSON.parse(result.stdout) as { revision: { path: string }; toolTables: unknown[]; counts: { tables: number } };
    expect(document.toolTables).toEqual([{ schema: "public", name: "alembic_version", tool: "Alembic" }]);
    expect(document.counts.tables).toBe(1);
    expect(result.stderr).toContain("warning: left out of the baseline, as the previous tool's bookkeeping: public.alembic_version (Alembic)");
    const text = readFileSync(document.revision.path, "utf8");
    expect(text).not.toContain('CREATE TABLE "public"."alembic_version"');
    expect(text).toContain("-- Left out, as the previous migration tool's bookkeeping: public.alembic_version (Alembic).");
  });

  it("--no-stamp writes the revision and leaves the environment unstamped", async () => {
    const p = await setUp("CREATE TABLE t (id int PRIMARY KEY)");
    const result = await p.cli(["--env", "live", "baseline", "-m", "baseline", "--no-stamp"]);
    expect(result.status).toBe(0);
    expect(p.files()).toHaveLength(1);
    expect(result.stdout).toContain("live is not stamped (--no-stamp)");
    expect((await current(await p.env("live"))).current).toEqual([]);
  });

  it("on a protected environment without --yes: exit 3, nothing stamped, no file left", async () => {
    const p = await setUp("CREATE TABLE t (id int PRIMARY KEY)", { protected: true });
    const result = await p.cli(["--env", "live", "baseline", "-m", "baseline"]);
    expect(result.status).toBe(3);
    expect(result.stderr).toContain("(the baseline revision was not kept)");
    expect(result.stderr).toContain('athanor --env live baseline -m "baseline" --yes');
    expect(p.files()).toEqual([]);
    expect((await current(await p.env("live"))).current).toEqual([]);
    const confirmed = await p.cli(["--env", "live", "--yes", "baseline", "-m", "baseline"]);
    expect(confirmed.status).toBe(0);
    expect(p.files()).toHaveLength(1);
  });

  it("refuses a database that already records applied revisions unless --force", async () => {
    const p = await setUp("CREATE TABLE t (id int PRIMARY KEY)");
    expect((await p.cli(["--env", "live", "baseline", "-m", "first"])).status).toBe(0);
    const [file] = p.files();
    const { rm } = await import("node:fs/promises");
    await rm(join(p.dir, "migrations", file ?? ""));
    const refused = await p.cli(["--env", "live", "baseline", "-m", "second"]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("already records 1 applied revision");
    const forced = await p.cli(["--env", "live", "baseline", "-m", "second", "--force"]);
    expect(forced.status).toBe(0);
    const [second] = p.files();
    // The stamp dropped the row no file defines: only the new baseline is recorded.
    expect((await current(await p.env("live"))).current).toEqual([(second ?? "").slice(0, 12)]);
  });

  it("--force over an existing history writes a second root (the first step of a squash)", async () => {
    const p = await setUp("CREATE TABLE t (id int PRIMARY KEY)");
    expect((await p.cli(["--env", "live", "baseline", "-m", "first", "--no-stamp"])).status).toBe(0);
    const forced = await p.cli(["--env", "live", "baseline", "-m", "squashed", "--force"]);
    expect(forced.status).toBe(0);
    const graph = await loadRevisionGraph(join(p.dir, "migrations"));
    expect(graph.size).toBe(2);
    expect(graph.heads()).toHaveLength(2);
    for (const id of graph.topologicalOrder()) expect(graph.get(id).parents).toEqual([]);
  });
});

describe("renderBaselineSql", () => {
  const table = (schema: string, name: string): SchemaModel["tables"][number] => ({
    schema,
    name,
    columns: [{ name: "id", type: "integer", notNull: true, default: null, identity: null, generated: null, collation: null, comment: null }],
    primaryKey: null,
    constraints: [],
    foreignKeys: [],
    indexes: [],
    comment: null,
  });

  it("creates schemas, then extensions, then the rest; the downgrade reverses it", () => {
    const live: SchemaModel = { schemas: ["app", "public"], enums: [], sequences: [], tables: [table("app", "t")], views: [] };
    const sql = renderBaselineSql(live, [{ name: "citext", schema: "app" }, { name: "pgcrypto", schema: "extensions" }], ["note"]);
    const up = sql.upgradeSql;
    expect(up.startsWith("-- note\n\n")).toBe(true);
    expect(up.indexOf('CREATE SCHEMA "app"')).toBeLessThan(up.indexOf('CREATE EXTENSION IF NOT EXISTS "citext" WITH SCHEMA "app"'));
    expect(up.indexOf('CREATE EXTENSION IF NOT EXISTS "citext"')).toBeLessThan(up.indexOf('CREATE TABLE "app"."t"'));
    const down = sql.downgradeSql;
    expect(down.indexOf('DROP TABLE "app"."t"')).toBeLessThan(down.indexOf('DROP EXTENSION IF EXISTS "citext"'));
    expect(down.indexOf('DROP EXTENSION IF EXISTS "citext"')).toBeLessThan(down.indexOf('DROP SCHEMA "app"'));
    expect(sql.skippedExtensions).toEqual([{ name: "pgcrypto", schema: "extensions" }]);
    expect(up).not.toContain("pgcrypto");
  });

  it("does not create public", () => {
    const sql = renderBaselineSql({ schemas: ["public"], enums: [], sequences: [], tables: [table("public", "t")], views: [] }, []);
    expect(sql.upgradeSql).not.toContain("CREATE SCHEMA");
    expect(sql.downgradeSql).not.toContain("DROP SCHEMA");
  });
});
