/** Declared-schema loading and revision replay on the shadow PGlite (one instance for the whole file). */
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import type { Session } from "../dialects/types.js";
import { loadDeclaredModel } from "./compare.js";
import { readDeclaredSchema } from "./declared.js";
import { listUnmodelledObjects } from "./introspect.js";
import { DeclaredSchemaError, ShadowReplayError } from "./errors.js";
import { emptyModel } from "./model.js";
import { extensionsCreatedBy, openShadowSession, replayRevisions, resetShadow } from "./shadow.js";
import { defaultShadowCacheDir, startShadowPglite } from "./shadow-pglite.js";

let session: Session;
let dir: string;

beforeAll(async () => {
  [session, dir] = await Promise.all([openShadowSession(), mkdtemp(join(tmpdir(), "athanor-shadow-"))]);
});
afterAll(async () => {
  await session?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await resetShadow(session);
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, text);
  return path;
}

/** The DeclaredSchemaError a promise rejects with. */
async function declaredError(promise: Promise<unknown>): Promise<DeclaredSchemaError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof DeclaredSchemaError)) throw new Error(`expected a DeclaredSchemaError, got ${String(error)}`);
  return error;
}

describe("loadDeclaredModel", () => {
  test("a .sql file", async () => {
    const path = await file("one.sql", "CREATE TABLE a (id int PRIMARY KEY);\nCREATE TABLE b (id int);\n");
    const model = await loadDeclaredModel([path], ["public"], { session });
    expect(model.tables.map((t) => t.name)).toEqual(["a", "b"]);
  });

  test("a folder of .sql files, in name order", async () => {
    await file("folder/20_tables.sql", "CREATE TABLE t (m app.mood);");
    await file("folder/10_types.sql", "CREATE SCHEMA app; CREATE TYPE app.mood AS ENUM ('a');");
    await file("folder/README.md", "not SQL");
    const model = await loadDeclaredModel([join(dir, "folder")], ["public", "app"], { session });
    expect(model.tables[0]?.columns[0]?.type).toBe("app.mood");
    expect(model.schemas).toEqual(["app", "public"]);
  });

  test("TypeScript and JavaScript modules: default export, `schema` export, a function", async () => {
    const ts = await file("schema.ts", 'const table: string = "t_ts";\nexport default `CREATE TABLE ${table} (id int);`;\n');
    const mjs = await file("schema.mjs", 'export const schema = "CREATE TABLE t_mjs (id int);";\n');
    const fn = await file("schema-fn.mts", 'export default async (): Promise<string> => "CREATE TABLE t_fn (id int);";\n');
    const model = await loadDeclaredModel([ts, mjs, fn], ["public"], { session });
    expect(model.tables.map((t) => t.name)).toEqual(["t_fn", "t_mjs", "t_ts"]);
  });

  test("a failing statement names the file and line (error with a position)", async () => {
    const path = await file("broken.sql", "CREATE TABLE a (id int);\n\n-- a comment\nCREATE TABLE b (\n  id int,\n  x nosuchtype\n);\n");
    const error = await declaredError(loadDeclaredModel([path], ["public"], { session }));
    expect(error.exitStatus).toBe(2);
    expect(error.code).toBe("declared-schema-failed");
    expect(error.message).toBe(`the declared schema fails at ${path}:6: type "nosuchtype" does not exist`);
    expect(error.location).toEqual({ file: path, line: 6 });
    expect(error.details).toMatchObject({ file: path, line: 6, sqlstate: "42704" });
    expect(error.hint).toMatch(/PGlite/);
  });

  test("a failing statement names the file and line (error without a position)", async () => {
    const first = await file("dup/a.sql", "CREATE TABLE a (id int);\n");
    const second = await file("dup/b.sql", "CREATE TABLE ok (id int);\nCREATE INDEX i ON ok (id);\n\nCREATE TABLE a (id int);\n");
    const error = await declaredError(loadDeclaredModel([first, second], ["public"], { session }));
    expect(error.message).toBe(`the declared schema fails at ${second}:4: relation "a" already exists`);
  });

  test("a script with its own transaction is located too, and leaves the session usable", async () => {
    const path = await file("tx.sql", "BEGIN;\nCREATE TABLE a (id int);\nCREATE TABLE a (id int);\nCOMMIT;\n");
    const error = await declaredError(loadDeclaredModel([path], ["public"], { session }));
    expect(error.message).toBe(`the declared schema fails at ${path}:3: relation "a" already exists`);
    await session.exec("SELECT 1");
  });

  test("a module's failing statement is located in its SQL text", async () => {
    const path = await file("bad.ts", 'export default "CREATE TABLE a (id int);\\nSELECT nope FROM a;";\n');
    const error = await declaredError(loadDeclaredModel([path], ["public"], { session }));
    expect(error.message).toBe(`the declared schema fails at ${path} (line 2 of its SQL text): column "nope" does not exist`);
  });

  test("missing, empty, unknown and invalid sources are configuration errors", async () => {
    expect((await declaredError(readDeclaredSchema([join(dir, "nope.sql")]))).code).toBe("schema-not-found");
    expect((await declaredError(readDeclaredSchema([]))).code).toBe("schema-not-configured");
    await mkdir(join(dir, "empty"), { recursive: true });
    expect((await declaredError(readDeclaredSchema([join(dir, "empty")]))).code).toBe("schema-folder-empty");
    expect((await declaredError(readDeclaredSchema([await file("schema.txt", "x")]))).code).toBe("schema-unknown-kind");
    expect((await declaredError(readDeclaredSchema([await file("number.mjs", "export default 42;")]))).code).toBe("schema-module-invalid");
    expect((await declaredError(readDeclaredSchema([await file("throws.mjs", "throw new Error('boom');")]))).message).toMatch(/failed to load: boom/);
  });
});

describe("openShadowSession", () => {
  test("caches a pristine data directory and starts from it; a broken cache is replaced", async () => {
    const cacheDir = join(dir, "cache");
    // Without the template shipped in the package (another PGlite build than it was made with).
    const first = await startShadowPglite([], cacheDir, null);
    await first.close();
    const [template] = await readdir(cacheDir);
    expect(template).toMatch(/^pglite-template-[\w.]+-\d+\.tar$/);
    const fromTemplate = await startShadowPglite([], cacheDir, null);
    await fromTemplate.exec("CREATE TABLE t (id int)");
    expect(await fromTemplate.serverVersion()).toBeGreaterThanOrEqual(180000);
    await fromTemplate.close();
    await writeFile(join(cacheDir, template as string), "not a tar");
    const recovered = await startShadowPglite([], cacheDir, null);
    expect((await recovered.query<{ n: number }>("SELECT 1 AS n")).rows).toEqual([{ n: 1 }]);
    await recovered.close();
    expect((await stat(join(cacheDir, template as string))).size).toBeGreaterThan(1_000_000);
    // Two PGlite initdbs (about 8 s of CPU each) and three starts: over a minute on a busy 2-core machine.
  }, 180_000);

  test("starts from the template shipped in the package: no initdb, nothing written to the cache", async () => {
    const cacheDir = join(dir, "cache-shipped");
    const shadow = await openShadowSession({ cacheDir, extensions: ["citext"] });
    await shadow.exec("CREATE EXTENSION citext; CREATE TABLE t (name citext)");
    expect((await shadow.query<{ n: number }>("SELECT count(*)::int AS n FROM t")).rows).toEqual([{ n: 0 }]);
    await shadow.close();
    expect(await readdir(cacheDir).catch(() => [])).toEqual([]);
  });

  test("has a lock table for reverting 1,000 tables in one transaction (the autogenerate bench's downgrade)", async () => {
    const shadow = await openShadowSession({ cacheDir: join(dir, "cache-locks") });
    try {
      const count = 1_000;
      const tables = Array.from({ length: count }, (_, i) => i);
      await shadow.exec(tables.map((i) => `CREATE TABLE t${i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, parent_id bigint REFERENCES t${i === 0 ? 0 : i - 1} (id) ON DELETE CASCADE, name text NOT NULL, status text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'done')), payload jsonb); CREATE INDEX t${i}_name_idx ON t${i} (name);`).join("\n"));
      // The rendered downgrade's shape: the foreign keys first, then indexes and tables, all in one
      // transaction. With the default lock table (64 per transaction) this fails: "out of shared memory".
      const drops = [...tables.map((i) => `ALTER TABLE t${i} DROP CONSTRAINT t${i}_parent_id_fkey;`), ...tables.reverse().map((i) => `DROP INDEX t${i}_name_idx; DROP TABLE t${i};`)];
      await shadow.transaction(() => shadow.exec(drops.join("\n")));
      expect((await shadow.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")).rows).toEqual([{ n: 0 }]);
    } finally {
      await shadow.close();
    }
  }, 180_000);

  test("the cache directory follows ATHANOR_CACHE_DIR, then XDG_CACHE_HOME", () => {
    expect(defaultShadowCacheDir({ ATHANOR_CACHE_DIR: "/c" })).toBe("/c");
    expect(defaultShadowCacheDir({ ATHANOR_CACHE_DIR: "off" })).toBeNull();
    expect(defaultShadowCacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/athanor");
  });
});

describe("listUnmodelledObjects", () => {
  test("grants are not listed when they are compared", async () => {
    await session.exec("CREATE TABLE g (id int); GRANT SELECT ON g TO PUBLIC; ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC;");
    try {
      expect(await listUnmodelledObjects(session, ["public"])).toEqual([
        { kind: "default privileges", schema: "", name: "postgres on tables" },
        { kind: "grant", schema: "public", name: "g" },
      ]);
      expect(await listUnmodelledObjects(session, ["public"], [], { privileges: true })).toEqual([]);
    } finally {
      await session.exec("ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM PUBLIC; DROP TABLE g;");
    }
  });

  test("names what the model leaves out; functions, triggers, materialized views, partitions, domains, policies, rules, range types, operators are modelled", async () => {
    await session.exec(`
      CREATE TABLE t (id int, v int);
      CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
      CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();
      CREATE MATERIALIZED VIEW mv AS SELECT id FROM t;
      CREATE TABLE events (at date) PARTITION BY RANGE (at);
      CREATE DOMAIN positive AS int CHECK (VALUE > 0);
      CREATE TYPE pair AS (a int, b int);
      ALTER TABLE t ENABLE ROW LEVEL SECURITY;
      CREATE POLICY mine ON t USING (v > 0);
      CREATE INDEX t_v ON t (v);
      COMMENT ON INDEX t_v IS 'lookups';
      CREATE RULE t_keep AS ON DELETE TO t DO INSTEAD NOTHING;
      CREATE TYPE floatrange AS RANGE (SUBTYPE = float8);
      CREATE OPERATOR === (FUNCTION = int4eq, LEFTARG = int, RIGHTARG = int);
      COMMENT ON FUNCTION touch() IS 'keeps rows fresh';
      COMMENT ON TRIGGER t_touch ON t IS 'on every update';
      CREATE STATISTICS t_stats ON id, v FROM t;
      CREATE TEXT SEARCH CONFIGURATION plain (COPY = simple);
      COMMENT ON TEXT SEARCH CONFIGURATION plain IS 'not modelled';
      GRANT SELECT ON t TO PUBLIC;
      CREATE SCHEMA elsewhere;`);
    // Comments on modelled objects are compared (COMMENTS_SQL); one on an object athanor does not model is listed.
    expect(await listUnmodelledObjects(session, ["public"])).toEqual([
      { kind: "comment", schema: "public", name: "text search configuration public.plain" },
      { kind: "grant", schema: "public", name: "t" },
      { kind: "schema", schema: "", name: "elsewhere" },
      { kind: "statistics", schema: "public", name: "t_stats" },
      { kind: "text search configuration", schema: "public", name: "plain" },
    ]);
  });
});

describe("extensions", () => {
  test("CREATE EXTENSION statements are found", () => {
    expect(extensionsCreatedBy(["create extension if not exists citext;\nCREATE EXTENSION \"uuid-ossp\" WITH SCHEMA public;", "-- CREATE EXTENSION nope\nSELECT 1"])).toEqual(["citext", "uuid-ossp"]);
  });

  test("a contrib extension the declared schema creates is loaded into the shadow", async () => {
    const path = await file("ext.sql", "CREATE EXTENSION IF NOT EXISTS citext;\nCREATE TABLE people (email citext PRIMARY KEY);\n");
    const model = await loadDeclaredModel([path], ["public"]);
    expect(model.tables[0]?.columns[0]?.type).toBe("public.citext");
  });

  test("an extension PGlite lacks gets a hint that says so", async () => {
    const path = await file("postgis.sql", "CREATE EXTENSION postgis;\n");
    const error = await declaredError(loadDeclaredModel([path], ["public"], { session }));
    expect(error.message).toBe(`the declared schema fails at ${path}:1: extension "postgis" is not available`);
    expect(error.hint).toMatch(/does not ship that extension; it ships these contrib ones: .*citext/);
  });
});

describe("replayRevisions", () => {
  test("applies the upgrades in order and returns the schema they make", async () => {
    const model = await replayRevisions(
      [
        { id: "aaaaaaaaaaaa", sql: "CREATE TABLE t (id int);", startLine: 6, file: "migrations/a.sql" },
        { id: "bbbbbbbbbbbb", sql: "ALTER TABLE t ADD COLUMN name text NOT NULL DEFAULT '';\nCREATE INDEX t_name ON t (name);", startLine: 6, file: "migrations/b.sql" },
      ],
      { session, schemas: ["public"] },
    );
    expect(model.tables[0]?.columns.map((c) => c.name)).toEqual(["id", "name"]);
    expect(model.tables[0]?.indexes.map((i) => i.name)).toEqual(["t_name"]);
  });

  test("a failing revision is named with its file and line", async () => {
    const error = await replayRevisions(
      [
        { id: "aaaaaaaaaaaa", sql: "CREATE TABLE t (id int);", startLine: 6, file: "migrations/a.sql" },
        { id: "bbbbbbbbbbbb", sql: "ALTER TABLE t ADD COLUMN name text;\n\nALTER TABLE t ADD COLUMN name text;", startLine: 7, file: "migrations/b.sql" },
      ],
      { session },
    ).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ShadowReplayError);
    const replay = error as ShadowReplayError;
    expect(replay.message).toBe('revision bbbbbbbbbbbb (migrations/b.sql:9) fails on the shadow database: column "name" of relation "t" already exists');
    expect(replay.revision).toBe("bbbbbbbbbbbb");
    expect(replay.exitStatus).toBe(2);
    expect(replay.details).toMatchObject({ revision: "bbbbbbbbbbbb", file: "migrations/b.sql", line: 9, sqlstate: "42701" });
  });

  test("nothing to replay is an empty schema", async () => {
    const model = await replayRevisions([], { session, schemas: ["public"] });
    expect(model).toEqual(emptyModel(["public"]));
  });
});
