/**
 * A script's trailer (src/dialects/script.ts): one statement after the last part, whose
 * answer `runScript` resolves with. It runs only when every part committed, and when it
 * fails the parts stand: the run must not report committed revisions as failed. On
 * PostgreSQL and on PGlite.
 */
import { afterAll, describe, expect, it } from "vitest";
import { openSession } from "../src/dialects/open.js";
import { ScriptFailure, type ScriptPart, type Session } from "../src/dialects/types.js";
import { createEngineProject, pgliteEngine, postgresEngine, type Engine } from "./support/engine-project.js";

const part = (table: string, body = `CREATE TABLE ${table} (x int);`): ScriptPart => ({ prologue: [], body, epilogue: [] });

for (const engine of [postgresEngine(), pgliteEngine()] as Engine[]) {
  describe(`a script's trailer (${engine.dialect})`, () => {
    afterAll(() => engine.close());

    async function withSession(test: (session: Session, tables: () => Promise<string[]>) => Promise<void>): Promise<void> {
      const db = await engine.database();
      const project = await createEngineProject();
      let own: Session | undefined;
      try {
        await project.configure({ test: db.envConfig });
        own = db.session === undefined ? await openSession((await project.env("test")).target) : undefined;
        const session = (db.session ?? own) as Session;
        const tables = async () => (await db.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'tr_%' ORDER BY 1", [db.schema])).map((row) => row.name);
        await test(session, tables);
      } finally {
        await own?.close();
        await db.drop();
        await project.remove();
      }
    }

    it("answers with the first column of the trailer's row, after every part committed", () =>
      withSession(async (session, tables) => {
        const answer = await session.runScript([part("tr_a", "CREATE TABLE tr_a (x int);\nSELECT 7 AS seven;"), part("tr_b")], { transactionPerPart: true, trailer: "SELECT count(*)::text || ' tables' FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('tr_a', 'tr_b');" });
        expect(answer).toBe("2 tables");
        expect(await tables()).toEqual(["tr_a", "tr_b"]);
      }), 60_000);

    it("answers with the first row's first column of the trailer only: not a row of an earlier statement, null when the trailer has none", () =>
      withSession(async (session) => {
        const several = await session.runScript([part("tr_g", "CREATE TABLE tr_g (x int);\nSELECT 'part row';")], { transactionPerPart: true, trailer: "SELECT x::text FROM generate_series(3, 5) AS x;" });
        expect(several).toBe("3");
        const none = await session.runScript([part("tr_h", "CREATE TABLE tr_h (x int);\nSELECT 'part row';")], { transactionPerPart: true, trailer: "SELECT 'never' WHERE false;" });
        expect(none).toBeNull();
        const nullValue = await session.runScript([part("tr_i")], { transactionPerPart: true, trailer: "SELECT NULL::text, 'second column';" });
        expect(nullValue).toBeNull();
      }), 60_000);

    // On PGlite the session sends what comes before the COPY and fails it there (its in-process exec would wait for the data for ever).
    it("a part that asks for COPY data fails instead of waiting for it, and the session stays usable", () =>
      withSession(async (session, tables) => {
        const failure = await session.runScript([part("tr_j"), part("tr_k", "CREATE TABLE tr_k (x int);\nCOPY tr_k FROM STDIN;")], { transactionPerPart: true }).then(
          () => null,
          (error: unknown) => error,
        );
        expect(failure).toBeInstanceOf(ScriptFailure);
        expect((failure as ScriptFailure).committed).toBe(1);
        await session.rollback();
        expect(await tables()).toEqual(["tr_j"]);
        expect((await session.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
      }), 60_000);

    it("a trailer that fails leaves the committed parts standing and answers null", () =>
      withSession(async (session, tables) => {
        const answer = await session.runScript([part("tr_c"), part("tr_d")], { transactionPerPart: true, trailer: "SELECT 1/0;" });
        expect(answer).toBeNull();
        expect(await tables()).toEqual(["tr_c", "tr_d"]);
      }), 60_000);

    it("a part that fails is still located, and the trailer never runs", () =>
      withSession(async (session, tables) => {
        const failure = await session.runScript([part("tr_e"), part("tr_f", "SELECT 1/0;")], { transactionPerPart: true, trailer: "SELECT 'ran';" }).then(
          () => null,
          (error: unknown) => error,
        );
        expect(failure).toBeInstanceOf(ScriptFailure);
        expect((failure as ScriptFailure).part).toBe(1);
        expect((failure as ScriptFailure).committed).toBe(1);
        await session.rollback();
        expect(await tables()).toEqual(["tr_e"]);
      }), 60_000);
  });
}
