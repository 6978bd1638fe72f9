/**
 * Nothing silent: objects athanor does not compare are named by kind and name in
 * `revision --autogenerate` and `diff` (text and --json), and `diff --strict` exits 5
 * when there are any. On PGlite (the declared schema and the replayed revisions) and on
 * PostgreSQL (an environment's live database).
 */
import { readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, runCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, tempDir, type TestDatabase } from "./support/databases.js";

// Kinds athanor does not compare: a text search configuration (and a comment on it), extended statistics, a schema outside `schemas`.
const SCHEMA = `CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, city text);
CREATE INDEX users_email_idx ON users (email);
COMMENT ON INDEX users_email_idx IS 'login lookups';
CREATE STATISTICS users_stats ON email, city FROM users;
CREATE TEXT SEARCH CONFIGURATION my_english (COPY = english);
COMMENT ON TEXT SEARCH CONFIGURATION my_english IS 'plain';
CREATE SCHEMA audit;
CREATE TABLE audit.log (id bigint);
`;

const EXPECTED = ["comment public.text search configuration public.my_english", "schema audit", "statistics public.users_stats", "text search configuration public.my_english"];

interface Project {
  dir: string;
  remove(): Promise<void>;
  cli(argv: string[]): Promise<CliResult>;
}

async function project(environments: Record<string, unknown>): Promise<Project> {
  const { dir, remove } = await tempDir("athanor-notcompared-");
  await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", schema: "./schema.sql", environments }, null, 2));
  await writeFile(join(dir, "schema.sql"), SCHEMA);
  return { dir, remove, cli: (argv) => runCli(argv, { cwd: dir, env: baseEnv() }) };
}

interface NotComparedJson {
  side: string;
  kind: string;
  schema: string;
  name: string;
}

const named = (objects: readonly NotComparedJson[]): string[] =>
  [...new Set(objects.map((o) => `${o.kind} ${o.schema === "" ? "" : `${o.schema}.`}${o.name}`))].sort();

describe("on PGlite", () => {
  it("revision --autogenerate names what it did not compare, in text and --json; diff --strict exits 5", async () => {
    const p = await project({ development: { url: "pglite://memory" } });
    try {
      const json = await p.cli(["--json", "revision", "-m", "initial", "--autogenerate"]);
      expect(json.status).toBe(0);
      const doc = JSON.parse(json.stdout) as { notCompared: NotComparedJson[]; revision: unknown };
      expect(named(doc.notCompared.filter((o) => o.side === "schema"))).toEqual(EXPECTED);
      expect(doc.revision).not.toBeNull();
      for (const text of EXPECTED) expect(json.stderr).toContain(text);

      const text = await p.cli(["revision", "-m", "again", "--autogenerate"]);
      expect(text.status).toBe(0);
      // The revision does not write what athanor does not compare, so only the declared side holds these.
      expect(text.stderr).toContain(
        "warning: not compared (athanor's schema model does not describe them; write their SQL by hand, see the README's table of object kinds): comment public.text search configuration public.my_english (schema), schema audit (schema), statistics public.users_stats (schema), text search configuration public.my_english (schema)",
      );
      expect(text.stdout).toContain("no changes detected");
      expect(readdirSync(join(p.dir, "migrations"))).toHaveLength(1);

      const diff = await p.cli(["diff", "--from", "migrations", "--to", "schema"]);
      expect(diff.status).toBe(0);
      expect(diff.stdout).toContain("no differences");
      expect(diff.stderr).toContain("text search configuration public.my_english (schema)");
      const strict = await p.cli(["diff", "--from", "migrations", "--to", "schema", "--strict"]);
      expect(strict.status).toBe(5);
      expect(strict.stderr).toContain("error: not compared");
      const strictJson = await p.cli(["--json", "diff", "--from", "migrations", "--to", "schema", "--strict"]);
      expect(strictJson.status).toBe(5);
      const diffDoc = JSON.parse(strictJson.stdout) as { changes: unknown[]; notCompared: NotComparedJson[]; strict: boolean };
      expect(diffDoc.changes).toEqual([]);
      expect(diffDoc.strict).toBe(true);
      expect(named(diffDoc.notCompared)).toEqual(EXPECTED);
    } finally {
      await p.remove();
    }
  }, 240_000);
});

describe("on PostgreSQL", () => {
  let db: TestDatabase;
  let p: Project;

  beforeAll(async () => {
    db = await createPostgresDatabase("athanor_notcompared");
    p = await project({ live: { url: db.url } });
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(SCHEMA);
    } finally {
      await client.end();
    }
  }, 30_000);

  afterAll(async () => {
    await Promise.all([db?.drop(), p?.remove()]);
  });

  it("diff against a live database lists its objects per side; --strict exits 5, without it 0", async () => {
    const json = await p.cli(["--json", "diff", "--from", "live", "--to", "schema"]);
    expect(json.status).toBe(0);
    const doc = JSON.parse(json.stdout) as { changes: unknown[]; notCompared: NotComparedJson[] };
    expect(doc.changes).toEqual([]);
    expect(named(doc.notCompared.filter((o) => o.side === "live"))).toEqual(EXPECTED);
    expect(named(doc.notCompared.filter((o) => o.side === "schema"))).toEqual(EXPECTED);
    const strict = await p.cli(["diff", "--from", "live", "--to", "schema", "--strict"]);
    expect(strict.status).toBe(5);
    expect(strict.stderr).toContain("statistics public.users_stats");
  }, 240_000);
});
