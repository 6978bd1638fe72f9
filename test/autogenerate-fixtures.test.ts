/**
 * Acceptance suite of autogenerate (test/fixtures/schemas/<case>/{before,after}.sql), run
 * on a real PostgreSQL database and on PGlite:
 *   apply before.sql → diff against after.sql's model (loaded into the shadow PGlite) →
 *   apply the generated upgrade → the second diff is empty → apply the generated
 *   downgrade → the introspected model equals the original.
 * A case may hold `renames.json` (the diff's `renames` option) and `operations.txt` (the
 * expected operation summaries, one per line).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openSession } from "../src/dialects/open.js";
import type { Session } from "../src/dialects/types.js";
import { autogenerateRevisionSql, diffSchemas, loadDeclaredModel } from "../src/autogenerate/compare.js";
import type { Renames } from "../src/autogenerate/diff.js";
import { introspect } from "../src/autogenerate/introspect.js";
import { canonicalModel } from "../src/autogenerate/model.js";
import { openShadowSession, resetShadow } from "../src/autogenerate/shadow.js";
import { splitStatements } from "../src/sql/lexer.js";
import { createPostgresDatabase } from "./support/databases.js";
import type { TestDatabase } from "./support/databases.js";
import { parseDatabaseUrl } from "../src/config/url.js";

const fixtures = fileURLToPath(new URL("./fixtures/schemas/", import.meta.url));
const cases = readdirSync(fixtures, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();
const schemas = ["public", "app"];

let shadow: Session;
let pglite: Session;
let postgres: Session;
let database: TestDatabase;

beforeAll(async () => {
  // The contrib extensions the fixtures use are loaded into both PGlite databases (PGlite loads them at start only).
  const extensions = ["ltree", "pgcrypto"];
  [shadow, pglite, database] = await Promise.all([openShadowSession({ extensions }), openShadowSession({ extensions }), createPostgresDatabase("athanor_autogen")]);
  postgres = await openSession(parseDatabaseUrl(database.url, "/", "test").target);
});

afterAll(async () => {
  await Promise.all([shadow?.close(), pglite?.close(), postgres?.close()]);
  await database?.drop();
});

async function apply(session: Session, sql: string, what: string): Promise<void> {
  try {
    await session.exec(sql);
  } catch (error) {
    throw new Error(`${what} failed: ${error instanceof Error ? error.message : String(error)}\n--- SQL ---\n${sql}`);
  }
}

describe.each([
  ["postgres", () => postgres],
  ["pglite", () => pglite],
] as const)("fixtures on %s", (_engine, target) => {
  test.each(cases)("%s", async (name) => {
    const dir = join(fixtures, name);
    const session = target();
    const renames = existsSync(join(dir, "renames.json")) ? (JSON.parse(readFileSync(join(dir, "renames.json"), "utf8")) as Renames) : undefined;

    await resetShadow(session);
    await apply(session, readFileSync(join(dir, "before.sql"), "utf8"), "before.sql");
    const before = await introspect(session, { schemas });

    await resetShadow(shadow);
    const declared = await loadDeclaredModel([join(dir, "after.sql")], schemas, { session: shadow });

    const revision = autogenerateRevisionSql(declared, before, renames ? { renames } : {});
    expect(revision.empty).toBe(false);
    const expected = join(dir, "operations.txt");
    if (existsSync(expected))
      expect(revision.operations.map((c) => c.summary)).toEqual(
        readFileSync(expected, "utf8")
          .split("\n")
          .filter((line) => line.trim() !== ""),
      );

    // A revision that uses an enum value it adds is written `transaction false`: its statements run one by one.
    if (!revision.transactional)
      for (const statement of splitStatements(revision.upgradeSql)) await apply(session, statement.sql, "upgrade statement");
    else await apply(session, revision.upgradeSql, "upgrade");
    const upgraded = await introspect(session, { schemas });
    expect(diffSchemas(upgraded, declared).map((c) => c.summary)).toEqual([]);
    expect(canonicalModel(upgraded)).toEqual(canonicalModel(declared));

    await apply(session, revision.downgradeSql, "downgrade");
    const downgraded = await introspect(session, { schemas });
    expect(canonicalModel(downgraded)).toEqual(canonicalModel(before));
    expect(diffSchemas(downgraded, before)).toEqual([]);
  });
});
