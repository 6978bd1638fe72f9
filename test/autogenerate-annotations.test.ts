/**
 * Comments on every kind athanor models, and grants and default privileges when the config
 * asks for them (`autogenerate: { privileges: true }`), through the CLI: the declared schema
 * → `revision --autogenerate` (which replays the revision and its downgrade on the shadow and
 * refuses one that does not round-trip) → nothing left to compare → a change of comments,
 * grants and rebuilt objects → `upgrade` on PostgreSQL equals the declared schema
 * (`diff --strict`) → `downgrade base` empties it. Without the setting, grants are listed as
 * not compared and no revision writes them.
 */
import { readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, runCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, queryUrl, serverUrl, tempDir, type TestDatabase } from "./support/databases.js";

// Roles are the cluster's, not the schema's: the PostgreSQL server must have them (the shadow PGlite gets them made).
const ROLES = ["athanor_reader", "athanor_writer"];

const SCHEMA = `CREATE SCHEMA app;
COMMENT ON SCHEMA app IS 'the application';
CREATE EXTENSION citext WITH SCHEMA public;
COMMENT ON EXTENSION citext IS 'emails compare without case';
CREATE TYPE mood AS ENUM ('ok', 'sad');
COMMENT ON TYPE mood IS 'feelings';
CREATE DOMAIN positive AS int CONSTRAINT positive_check CHECK (VALUE > 0);
COMMENT ON DOMAIN positive IS 'above zero';
COMMENT ON CONSTRAINT positive_check ON DOMAIN positive IS 'strictly';
CREATE TYPE pair AS (a int, b int);
COMMENT ON COLUMN pair.a IS 'first';
CREATE SEQUENCE tickets;
COMMENT ON SEQUENCE tickets IS 'ticket numbers';
CREATE TABLE users (id serial PRIMARY KEY, email citext NOT NULL, mood mood, score positive, CONSTRAINT users_email_key UNIQUE (email));
COMMENT ON CONSTRAINT users_email_key ON users IS 'one account per address';
CREATE INDEX users_mood_idx ON users (mood);
COMMENT ON INDEX users_mood_idx IS 'by mood';
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
COMMENT ON FUNCTION touch() IS 'keeps rows fresh';
CREATE PROCEDURE noop(n int) LANGUAGE sql AS $$ SELECT 1 $$;
COMMENT ON PROCEDURE noop(int) IS 'does nothing';
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
COMMENT ON TRIGGER users_touch ON users IS 'on every update';
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON users USING (true);
COMMENT ON POLICY own ON users IS 'everyone';
CREATE VIEW active AS SELECT id, email FROM users;
COMMENT ON COLUMN active.email IS 'login';
CREATE RULE active_keep AS ON DELETE TO active DO INSTEAD NOTHING;
COMMENT ON RULE active_keep ON active IS 'no deletes';
CREATE MATERIALIZED VIEW moods AS SELECT mood, count(*) AS n FROM users GROUP BY mood;
CREATE INDEX moods_mood ON moods (mood);
COMMENT ON INDEX moods_mood IS 'by mood';
CREATE OPERATOR === (FUNCTION = int4eq, LEFTARG = int, RIGHTARG = int);
COMMENT ON OPERATOR === (int, int) IS 'same';
GRANT USAGE ON SCHEMA app TO athanor_reader;
GRANT SELECT ON users TO athanor_reader;
GRANT SELECT (email), UPDATE (email) ON users TO athanor_writer;
GRANT USAGE, SELECT ON SEQUENCE tickets TO athanor_writer;
GRANT SELECT ON active TO athanor_reader WITH GRANT OPTION;
REVOKE EXECUTE ON FUNCTION touch() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION touch() TO athanor_writer;
GRANT EXECUTE ON PROCEDURE noop(int) TO athanor_writer;
REVOKE USAGE ON DOMAIN positive FROM PUBLIC;
GRANT USAGE ON TYPE mood TO athanor_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO athanor_reader;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
-- Made after the default privileges: the table gets athanor_reader's SELECT, the function no EXECUTE for PUBLIC.
CREATE TABLE app.events (id bigint PRIMARY KEY);
CREATE FUNCTION app.answer() RETURNS int LANGUAGE sql AS 'SELECT 42';
`;

// The second version: comments changed and removed, grants taken and given, objects rebuilt
// (the trigger's definition changes, the view gains a column) keep theirs.
const CHANGED = SCHEMA.replace("COMMENT ON TYPE mood IS 'feelings';", "COMMENT ON TYPE mood IS 'moods';")
  .replace("COMMENT ON INDEX users_mood_idx IS 'by mood';\n", "")
  .replace("BEFORE UPDATE ON users FOR EACH ROW", "BEFORE INSERT OR UPDATE ON users FOR EACH ROW")
  .replace("CREATE VIEW active AS SELECT id, email FROM users;", "CREATE VIEW active AS SELECT id, email, mood FROM users;")
  .replace("GRANT SELECT ON users TO athanor_reader;", "GRANT SELECT, INSERT ON users TO athanor_reader;")
  .replace("GRANT USAGE, SELECT ON SEQUENCE tickets TO athanor_writer;", "GRANT USAGE ON SEQUENCE tickets TO athanor_writer;")
  .replace("GRANT SELECT ON active TO athanor_reader WITH GRANT OPTION;", "GRANT SELECT ON active TO athanor_reader;")
  .replace("ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO athanor_reader;", "ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO athanor_writer;");

interface Project {
  dir: string;
  remove(): Promise<void>;
  cli(argv: string[]): Promise<CliResult>;
  schema(sql: string): Promise<void>;
}

async function project(environments: Record<string, unknown>, autogenerate?: unknown): Promise<Project> {
  const { dir, remove } = await tempDir("athanor-annotations-");
  const config = { migrations: "./migrations", schema: "./schema.sql", ...(autogenerate === undefined ? {} : { autogenerate }), environments };
  await writeFile(join(dir, "athanor.config.json"), JSON.stringify(config, null, 2));
  await writeFile(join(dir, "schema.sql"), SCHEMA);
  return {
    dir,
    remove,
    cli: (argv) => runCli(argv, { cwd: dir, env: baseEnv() }),
    schema: (sql) => writeFile(join(dir, "schema.sql"), sql),
  };
}

/** The upgrade section of the revision written with `message`. */
function upgradeOf(dir: string, message: string): string {
  const text = readdirSync(join(dir, "migrations"))
    .map((name) => readFileSync(join(dir, "migrations", name), "utf8"))
    .find((body) => body.includes(`-- athanor:message ${message}\n`));
  if (text === undefined) throw new Error(`no revision "${message}"`);
  return text.slice(text.indexOf("-- athanor:upgrade"), text.indexOf("-- athanor:downgrade"));
}

const schemas = ["public", "app"];

function expectStatements(sql: string, statements: readonly string[]): void {
  for (const statement of statements) expect(sql, statement).toContain(statement);
}

describe("comments and privileges on PGlite", () => {
  it("are written, round-trip on the shadow, and a second run finds nothing; a change keeps rebuilt objects' comments and grants", async () => {
    const p = await project({ development: { url: "pglite://memory", schemas } }, { privileges: true });
    try {
      const first = await p.cli(["revision", "-m", "initial", "--autogenerate"]);
      expect(first.stderr).toBe("");
      expect(first.status).toBe(0);
      expectStatements(upgradeOf(p.dir, "initial"), [
        "COMMENT ON SCHEMA \"app\" IS 'the application';",
        "COMMENT ON EXTENSION \"citext\" IS 'emails compare without case';",
        "COMMENT ON CONSTRAINT \"positive_check\" ON DOMAIN \"public\".\"positive\" IS 'strictly';",
        "COMMENT ON COLUMN \"public\".\"pair\".\"a\" IS 'first';",
        "COMMENT ON PROCEDURE \"public\".\"noop\"(IN n integer) IS 'does nothing';",
        "COMMENT ON TRIGGER \"users_touch\" ON \"public\".\"users\" IS 'on every update';",
        "COMMENT ON RULE \"active_keep\" ON \"public\".\"active\" IS 'no deletes';",
        "COMMENT ON OPERATOR \"public\".=== (integer, integer) IS 'same';",
        "GRANT SELECT (\"email\") ON TABLE \"public\".\"users\" TO athanor_writer;",
        "GRANT SELECT ON TABLE \"public\".\"active\" TO athanor_reader WITH GRANT OPTION;",
        "REVOKE USAGE ON DOMAIN \"public\".\"positive\" FROM PUBLIC;",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA \"app\" GRANT SELECT ON TABLES TO athanor_reader;",
        "ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;",
        "REVOKE EXECUTE ON FUNCTION \"app\".\"answer\"() FROM PUBLIC;",
        "GRANT SELECT ON TABLE \"app\".\"events\" TO athanor_reader;",
      ]);

      const again = await p.cli(["revision", "-m", "again", "--autogenerate"]);
      expect(again.stdout).toContain("no changes detected");
      const strict = await p.cli(["diff", "--from", "migrations", "--to", "schema", "--strict"]);
      expect(strict.stderr).toBe("");
      expect(strict.status).toBe(0);

      await p.schema(CHANGED);
      const change = await p.cli(["revision", "-m", "change", "--autogenerate"]);
      expect(change.stderr).toBe("");
      expect(change.status).toBe(0);
      expectStatements(upgradeOf(p.dir, "change"), [
        "COMMENT ON TYPE \"public\".\"mood\" IS 'moods';",
        "COMMENT ON INDEX \"public\".\"users_mood_idx\" IS NULL;",
        // Rebuilt: the comments go before the drop and come back after the creation.
        "COMMENT ON TRIGGER \"users_touch\" ON \"public\".\"users\" IS 'on every update';",
        "COMMENT ON COLUMN \"public\".\"active\".\"email\" IS 'login';",
        "COMMENT ON RULE \"active_keep\" ON \"public\".\"active\" IS 'no deletes';",
        "GRANT SELECT ON TABLE \"public\".\"active\" TO athanor_reader;",
        "GRANT INSERT ON TABLE \"public\".\"users\" TO athanor_reader;",
        "REVOKE SELECT ON SEQUENCE \"public\".\"tickets\" FROM athanor_writer;",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA \"app\" REVOKE SELECT ON TABLES FROM athanor_reader;",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA \"app\" GRANT SELECT ON TABLES TO athanor_writer;",
      ]);
      expect((await p.cli(["revision", "-m", "again", "--autogenerate"])).stdout).toContain("no changes detected");
    } finally {
      await p.remove();
    }
  }, 300_000);

  it("without autogenerate.privileges, grants are counted as not compared and no revision writes them", async () => {
    const p = await project({ development: { url: "pglite://memory", schemas } });
    try {
      const result = await p.cli(["revision", "-m", "initial", "--autogenerate"]);
      expect(result.status).toBe(0);
      expect(result.stderr).toMatch(/warning: grants on \d+ objects and 2 default privileges entries not compared: set autogenerate: \{ privileges: true \} in the config to compare them/);
      const initial = upgradeOf(p.dir, "initial");
      expect(initial).toContain("COMMENT ON TRIGGER");
      expect(initial).not.toMatch(/\bGRANT\b|\bREVOKE\b|DEFAULT PRIVILEGES/);
      expect((await p.cli(["diff", "--from", "migrations", "--to", "schema", "--strict"])).status).toBe(5);
    } finally {
      await p.remove();
    }
  }, 300_000);

  it("a real schema's grant: pagila's GRANT ALL ON SCHEMA public TO PUBLIC is written, and nothing is left", async () => {
    const p = await project({ development: { url: "pglite://memory" } }, { privileges: true });
    try {
      await p.schema(readFileSync(new URL("./fixtures/real-schemas/pagila/pagila-schema.sql", import.meta.url), "utf8"));
      const result = await p.cli(["revision", "-m", "initial", "--autogenerate"]);
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      // initdb gives PUBLIC USAGE already: CREATE is what pagila adds.
      const upgrade = upgradeOf(p.dir, "initial");
      expect(upgrade).toContain(`GRANT CREATE ON SCHEMA "public" TO PUBLIC;`);
      expect(upgrade).not.toContain(`GRANT USAGE ON SCHEMA "public"`);
      expect((await p.cli(["diff", "--from", "migrations", "--to", "schema", "--strict"])).status).toBe(0);
    } finally {
      await p.remove();
    }
  }, 300_000);

  it("a malformed autogenerate setting is refused with the key and the fix", async () => {
    const bad = await project({ development: { url: "pglite://memory" } }, { privileges: "yes" });
    const typo = await project({ development: { url: "pglite://memory" } }, { privilege: true });
    try {
      const result = await bad.cli(["diff", "--from", "migrations", "--to", "schema"]);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('autogenerate.privileges must be true or false, not the string "yes"');
      const misspelt = await typo.cli(["diff", "--from", "migrations", "--to", "schema"]);
      expect(misspelt.status).toBe(2);
      expect(misspelt.stderr).toContain("autogenerate.privilege is not a known setting");
      expect(misspelt.stderr).toContain('Did you mean "privileges"?');
    } finally {
      await Promise.all([bad.remove(), typo.remove()]);
    }
  });
});

describe("comments and privileges on PostgreSQL", () => {
  let db: TestDatabase;
  let p: Project;

  beforeAll(async () => {
    for (const role of ROLES)
      await queryUrl(serverUrl(), `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role} NOLOGIN; END IF; END $$`);
    db = await createPostgresDatabase("athanor_annotations");
    p = await project({ development: { url: "pglite://memory", schemas }, live: { url: db.url, schemas } }, { privileges: true });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([db?.drop(), p?.remove()]);
  });

  it("upgrade gives the declared schema exactly (diff --strict), through a change; downgrade base empties it", async () => {
    const initial = await p.cli(["revision", "-m", "initial", "--autogenerate"]);
    expect(initial.stderr).toBe("");
    expect(initial.status).toBe(0);
    await p.schema(CHANGED);
    expect((await p.cli(["revision", "-m", "change", "--autogenerate"])).status).toBe(0);
    const up = await p.cli(["upgrade", "--env", "live", "head"]);
    expect(up.stderr).toBe("");
    expect(up.status).toBe(0);
    const strict = await p.cli(["--json", "diff", "--from", "live", "--to", "schema", "--strict"]);
    expect(strict.stderr).toBe("");
    expect(strict.status).toBe(0);
    expect(JSON.parse(strict.stdout)).toMatchObject({ changes: [], notCompared: [] });
    const grants = await queryUrl<{ acl: string }>(db.url, "SELECT relacl::text AS acl FROM pg_class WHERE relname = 'users'");
    expect(grants[0]?.acl).toContain("athanor_reader=ar/");

    // The first revision's state, back from the second one's downgrade.
    await p.schema(SCHEMA);
    const down = await p.cli(["downgrade", "--env", "live", "-1"]);
    expect(down.status).toBe(0);
    const back = await p.cli(["diff", "--from", "live", "--to", "schema", "--strict"]);
    expect(back.stderr).toBe("");
    expect(back.status).toBe(0);

    expect((await p.cli(["downgrade", "--env", "live", "base"])).status).toBe(0);
    const left = await queryUrl<{ n: number }>(
      db.url,
      "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'app') AND c.relname NOT LIKE 'athanor%')::int + (SELECT count(*) FROM pg_default_acl)::int AS n",
    );
    expect(left).toEqual([{ n: 0 }]);
  }, 300_000);
});
