/**
 * The failing revision of a round trip is found from the server's error position
 * (src/dialects/script.ts). PostgreSQL counts it in characters of the database encoding:
 * one per code point athanor sends, except in a `SQL_ASCII` database, which counts
 * bytes. With non-ASCII text early in a round trip, reading bytes as characters moved
 * the error into a later revision (blamed, given the `failed` history row, the earlier
 * one listed as not run). On a SQL_ASCII and a UTF8 PostgreSQL database, and on PGlite.
 */
import { afterAll, describe, expect, it } from "vitest";
import { openSession } from "../src/dialects/open.js";
import { ScriptFailure, type ScriptPart, type Session } from "../src/dialects/types.js";
import { baseEnv, runCli } from "./support/cli.js";
import { createPostgresDatabase, queryUrl, serverUrl, type TestDatabase } from "./support/databases.js";
import { createEngineProject, ids, pgliteEngine, type Engine } from "./support/engine-project.js";

/** 600 two-byte characters: 600 more bytes than characters, far more than the parts after it hold. */
const ACCENTS = "é".repeat(600);

/** 300 characters outside the BMP: one code point, two UTF-16 units and four UTF-8 bytes each. */
const ASTRAL = "\u{1F600}".repeat(300);

const part = (body: string): ScriptPart => ({ prologue: [], body, epilogue: [] });

/** A fresh database in `encoding` on the test server (template0: the only template that takes any encoding). */
async function encodedDatabase(encoding: "SQL_ASCII" | "UTF8"): Promise<TestDatabase> {
  const db = await createPostgresDatabase("athanor_enc");
  await queryUrl(serverUrl(), `DROP DATABASE "${db.name}"`);
  await queryUrl(serverUrl(), `CREATE DATABASE "${db.name}" ENCODING '${encoding}' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`);
  return db;
}

interface Target {
  readonly name: string;
  open(): Promise<{ session: Session; close(): Promise<void> }>;
}

const pglite: Engine = pgliteEngine();

const targets: readonly Target[] = [
  ...(["SQL_ASCII", "UTF8"] as const).map(
    (encoding): Target => ({
      name: `PostgreSQL, ${encoding} database`,
      async open() {
        const db = await encodedDatabase(encoding);
        const project = await createEngineProject();
        await project.configure({ test: { url: db.url } });
        const session = await openSession((await project.env("test")).target);
        return {
          session,
          async close() {
            await session.close();
            await db.drop();
            await project.remove();
          },
        };
      },
    }),
  ),
  {
    name: "PGlite",
    async open() {
      const db = await pglite.database();
      return { session: db.session as Session, close: () => db.drop() };
    },
  },
];

async function failureOf(session: Session, parts: readonly ScriptPart[]): Promise<ScriptFailure> {
  const outcome = await session.runScript(parts, { transactionPerPart: true }).then(
    () => null,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(ScriptFailure);
  // The failing part's transaction is left aborted, as the executor finds it.
  await session.rollback();
  return outcome as ScriptFailure;
}

describe("the failing part of a round trip, after non-ASCII text", () => {
  afterAll(() => pglite.close());

  for (const target of targets) {
    it(`a syntax error is placed in its own part (${target.name})`, async () => {
      const { session, close } = await target.open();
      try {
        const failure = await failureOf(session, [part(`CREATE TABLE enc_a (x text); -- ${ACCENTS}`), part("SELECT 1;\nSELEC 1;"), part("CREATE TABLE enc_c (x int);"), part("CREATE TABLE enc_d (x int);")]);
        expect({ part: failure.part, committed: failure.committed, stage: failure.stage, bodyOffset: failure.bodyOffset }).toEqual({ part: 1, committed: 0, stage: "body", bodyOffset: "SELECT 1;\n".length });
      } finally {
        await close();
      }
    }, 60_000);

    it(`after characters of two UTF-16 units, a syntax error is placed in its own part, at its offset in code points (${target.name})`, async () => {
      const { session, close } = await target.open();
      try {
        const before = `SELECT '${ASTRAL}';\n`;
        const failure = await failureOf(session, [part(`CREATE TABLE enc_i (x text); -- ${ASTRAL}`), part(`${before}SELEC 1;`), part(`CREATE TABLE enc_j (x text); -- ${ASTRAL}`)]);
        expect({ part: failure.part, committed: failure.committed, stage: failure.stage, bodyOffset: failure.bodyOffset }).toEqual({ part: 1, committed: 0, stage: "body", bodyOffset: [...before].length });
      } finally {
        await close();
      }
    }, 60_000);

    it(`a run-time error with a position is placed in its own part, after the parts that committed (${target.name})`, async () => {
      const { session, close } = await target.open();
      try {
        const failure = await failureOf(session, [part(`CREATE TABLE enc_e (x text); INSERT INTO enc_e VALUES ('${ACCENTS}');`), part("SELECT nosuchcol FROM enc_e;"), part("CREATE TABLE enc_g (x int);"), part("CREATE TABLE enc_h (x int);")]);
        expect({ part: failure.part, committed: failure.committed, bodyOffset: failure.bodyOffset }).toEqual({ part: 1, committed: 1, bodyOffset: "SELECT ".length });
      } finally {
        await close();
      }
    }, 60_000);
  }
});

describe("the CLI blames the revision that failed, on a SQL_ASCII database", () => {
  it("names it and its statement, records it as failed, and lists the rest of its round trip as not run", async () => {
    const db = await encodedDatabase("SQL_ASCII");
    const project = await createEngineProject();
    try {
      await project.configure({ development: { url: "${DATABASE_URL}" } });
      const revisionIds = ids(7, "e");
      // Round trips of 1, 2, then 4 revisions: 4..7 travel together, 4 with the accents, 5 with the error.
      const upgrades: Record<number, string> = { 4: `CREATE TABLE t4 (x int); -- ${ACCENTS}`, 5: "CREATE TABLE t5 (x int);\nSELEC 1;" };
      for (let k = 1; k <= 7; k++) {
        await project.write({ id: revisionIds[k - 1] as string, down: revisionIds[k - 2] ?? null, message: `r${k}`, upgrade: upgrades[k] ?? `CREATE TABLE t${k} (x int);`, file: `${revisionIds[k - 1]}_r${k}.sql` });
      }
      const result = await runCli(["upgrade"], { cwd: project.dir, env: baseEnv({ DATABASE_URL: db.url }) });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`revision ${revisionIds[4]} (r5) failed to upgrade at ${revisionIds[4]}_r5.sql:7: syntax error at or near "SELEC"`);
      expect(result.stderr).not.toContain(`revision ${revisionIds[6]} (r7) failed`);
      expect(result.stderr).toContain("  statement: SELEC 1;\n");
      expect(result.stderr).toContain(`Committed before it in this run (flushed to the server's disk): ${revisionIds.slice(0, 3).join(", ")}. Not run (the server rejected the round trip before running them): ${revisionIds[3]}. Fix ${revisionIds[4]}_r5.sql:7`);
      const history = await queryUrl<{ revision: string; outcome: string }>(db.url, "SELECT revision, outcome FROM athanor_version_history WHERE outcome = 'failed'");
      expect(history).toEqual([{ revision: revisionIds[4], outcome: "failed" }]);
    } finally {
      await db.drop();
      await project.remove();
    }
  }, 60_000);
});
