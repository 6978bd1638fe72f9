/**
 * `revision --autogenerate` and `diff` through the CLI (in-process): a declared schema.sql
 * turned into a first revision, applied on PGlite, then "no changes detected"; `--against`
 * a PostgreSQL environment; `diff` between two PostgreSQL databases (one column, one
 * index, one enum value apart) and between the declared schema and an environment.
 */
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, runCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, tempDir, queryUrl, type TestDatabase } from "./support/databases.js";

const SCHEMA = `CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE users (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL,
  feeling mood
);
`;


async function project(config: Record<string, unknown>): Promise<{ dir: string; remove(): Promise<void>; cli(argv: string[]): Promise<CliResult>; files(): string[] }> {
  const { dir, remove } = await tempDir("athanor-autogen-");
  await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", ...config }, null, 2));
  await writeFile(join(dir, "schema.sql"), SCHEMA);
  return {
    dir,
    remove,
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

describe("revision --autogenerate", () => {
  it("writes a revision from the declared schema, which applies, and then detects no changes", async () => {
    const p = await project({ schema: "./schema.sql", environments: { development: { url: "pglite://./.data/local" } } });
    try {
      const first = await p.cli(["revision", "-m", "initial", "--autogenerate"]);
      expect(first.stderr).toBe("");
      expect(first.status).toBe(0);
      expect(first.stdout).toMatch(/^\+ create enum public\.mood/m);
      expect(first.stdout).toMatch(/^\+ create table public\.users/m);
      expect(first.stdout).toContain("created revision");
      const files = p.files();
      expect(files).toHaveLength(1);
      const text = readFileSync(join(p.dir, "migrations", files[0] ?? ""), "utf8");
      expect(text).toContain("CREATE TABLE");
      expect(text).toContain("DROP TABLE");

      const up = await p.cli(["upgrade", "head"]);
      expect(up.stderr).not.toMatch(/error/i);
      expect(up.status).toBe(0);

      const second = await p.cli(["revision", "-m", "again", "--autogenerate"]);
      expect(second.status).toBe(0);
      expect(second.stdout).toContain("no changes detected");
      expect(p.files()).toHaveLength(1);

      // The live database matches too, and a new column shows up as one change.
      const live = await p.cli(["revision", "-m", "live", "--autogenerate", "--against", "development"]);
      expect(live.status).toBe(0);
      expect(live.stdout).toContain("no changes detected");
      await writeFile(join(p.dir, "schema.sql"), `${SCHEMA}ALTER TABLE users ADD COLUMN name text;\n`);
      const diffed = await p.cli(["diff", "--from", "migrations", "--to", "schema"]);
      expect(diffed.status).toBe(5);
      expect(diffed.stdout).toContain("migrations → schema: 1 difference");
      expect(diffed.stdout).toMatch(/\+ add column public\.users\.name/);
    } finally {
      await p.remove();
    }
  }, 900_000);

  it("replays hand-written revisions unaffected by the declared schema's session settings (one shadow serves both)", async () => {
    const p = await project({ schema: "./schema.sql", environments: { development: { url: "pglite://memory" } } });
    try {
      // As pg_dump writes it: an empty search path and unchecked function bodies, for the rest of the session.
      await writeFile(join(p.dir, "schema.sql"), "SELECT pg_catalog.set_config('search_path', '', false);\nSET check_function_bodies = false;\nCREATE TABLE public.t (id int);\nCREATE TABLE public.u (id int);\n");
      await mkdir(join(p.dir, "migrations"));
      await writeFile(join(p.dir, "migrations", "c2a7a6ae1b24_t.sql"), "-- athanor:revision c2a7a6ae1b24\n-- athanor:message t\n\n-- athanor:upgrade\nCREATE TABLE t (id int);\n\n-- athanor:downgrade\nDROP TABLE t;\n");
      const result = await p.cli(["revision", "-m", "u", "--autogenerate"]);
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^\+ create table public\.u$/m);
      expect(result.stdout).not.toContain("public.t");
    } finally {
      await p.remove();
    }
  }, 120_000);

  it("refuses without a declared schema (exit 2) and with TypeScript revisions unless --against", async () => {
    const p = await project({ environments: { development: { url: "pglite://memory" } } });
    try {
      const none = await p.cli(["revision", "-m", "x", "--autogenerate"]);
      expect(none.status).toBe(2);
      expect(none.stderr).toContain("schema");
      expect(p.files()).toEqual([]);
    } finally {
      await p.remove();
    }
    const q = await project({ schema: "./schema.sql", environments: { development: { url: "pglite://memory" } } });
    try {
      await mkdir(join(q.dir, "migrations"));
      expect((await q.cli(["revision", "-m", "ts one", "--ts"])).status).toBe(0);
      const refused = await q.cli(["revision", "-m", "x", "--autogenerate"]);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain("TypeScript");
      expect(refused.stderr).toContain("--against");
      expect(q.files()).toHaveLength(1);
    } finally {
      await q.remove();
    }
  }, 300_000);
});

describe("on PostgreSQL", () => {
  let a: TestDatabase;
  let b: TestDatabase;
  let p: Awaited<ReturnType<typeof project>>;

  beforeAll(async () => {
    [a, b] = await Promise.all([createPostgresDatabase("athanor_autogen"), createPostgresDatabase("athanor_autogen")]);
    p = await project({ schema: "./schema.sql", environments: { a: { url: a.url }, b: { url: b.url } } });
    await queryUrl(a.url, SCHEMA);
    await queryUrl(b.url, `CREATE TYPE mood AS ENUM ('happy', 'sad', 'meh');
CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL, feeling mood, nickname text);
CREATE INDEX users_email_idx ON users (email);`);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([a?.drop(), b?.drop(), p?.remove()]);
  });

  it("diff between two databases names exactly the column, the index and the enum value (exit 5)", async () => {
    const human = await p.cli(["diff", "--from", "a", "--to", "b"]);
    expect(human.status, human.stderr).toBe(5);
    expect(human.stdout).toContain("a → b: 3 differences");
    const json = await p.cli(["--json", "diff", "--from", "a", "--to", "b"]);
    expect(json.status).toBe(5);
    const doc = JSON.parse(json.stdout) as { from: string; to: string; changes: { kind: string; summary: string; destructive: boolean }[]; notCompared: unknown[] };
    expect(doc.from).toBe("a");
    expect(doc.to).toBe("b");
    expect(doc.changes.map((c) => c.kind).sort()).toEqual(["add-column", "add-enum-values", "create-index"]);
    const summaries = doc.changes.map((c) => c.summary).join("\n");
    expect(summaries).toContain("public.users.nickname");
    expect(summaries).toContain("users_email_idx");
    expect(summaries).toContain("meh");
    expect(human.stdout).toContain(summaries.split("\n")[0] ?? "?");
    expect(doc.changes.every((c) => !c.destructive)).toBe(true);
    const sql = await p.cli(["diff", "--from", "a", "--to", "b", "--sql"]);
    expect(sql.status).toBe(5);
    expect(sql.stdout).toContain("ALTER TYPE");
    expect(sql.stdout).toContain("nickname");
    // Read only: a is unchanged.
    expect((await p.cli(["diff", "--from", "schema", "--to", "a"])).status).toBe(0);
  }, 300_000);

  it("diff --from schema --to ENV is exit 0 when equal; --against ENV writes the difference", async () => {
    const equal = await p.cli(["diff", "--from", "schema", "--to", "a"]);
    expect(equal.stdout).toContain("schema → a: no differences");
    expect(equal.status).toBe(0);
    const gen = await p.cli(["revision", "-m", "towards declared", "--autogenerate", "--against", "b"]);
    expect(gen.status).toBe(0);
    expect(gen.stdout).toMatch(/^- drop column public\.users\.nickname.*\[destructive/m);
    expect(gen.stdout).toMatch(/^- drop index/m);
    expect(gen.stdout).toContain("created revision");
    expect(p.files()).toHaveLength(1);
    // No version tables were created by any of this.
    const client = new pg.Client({ connectionString: a.url });
    await client.connect();
    try {
      const tables = await client.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_tables WHERE tablename LIKE 'athanor%'");
      expect(tables.rows[0]?.n).toBe("0");
    } finally {
      await client.end();
    }
  }, 300_000);
});
