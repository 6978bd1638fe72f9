/**
 * The durations of revisions that share a round trip (issue #15, deliverable 4: no extra
 * query per revision or round trip). They come back in the round trip itself, as the
 * answer of its last statement: the engine sends nothing between two round trips of
 * revisions, and each revision-end event still carries the duration the server measured
 * (what its history row says). On PostgreSQL and on PGlite.
 *
 * The session the run gets is a real one, passed through a wrapper that writes down
 * what the engine sends on it (nothing is faked: every call goes to the database).
 */
import { afterAll, describe, expect, it } from "vitest";
import { upgrade } from "../src/commands/upgrade.js";
import { openSession } from "../src/dialects/open.js";
import type { Session } from "../src/dialects/types.js";
import type { MigrationEvent } from "../src/run/events.js";
import { createEngineProject, ids, pgliteEngine, postgresEngine, type Engine } from "./support/engine-project.js";

/** What the engine did on the session, in order: `script:<parts>` for a round trip of revisions, `query`/`exec` otherwise. */
function recording(session: Session, calls: string[]): Session {
  return {
    ...session,
    query: (sql, params) => {
      calls.push(`query ${sql.slice(0, 60)}`);
      return session.query(sql, params);
    },
    exec: (sql) => {
      calls.push(`exec ${sql.slice(0, 60)}`);
      return session.exec(sql);
    },
    runScript: (parts, options) => {
      calls.push(`script:${parts.length}`);
      return session.runScript(parts, options);
    },
    transaction: (work, options) => session.transaction(work, options),
    rollback: () => session.rollback(),
    close: () => session.close(),
  };
}

const COUNT = 7;
const revisionIds = ids(COUNT, "d");
/** Revision 3 sleeps 80 ms; it shares the round trip [2 3] (round trips carry 1, 2, then 4). */
const SLOW = 3;

for (const engine of [postgresEngine(), pgliteEngine()] as Engine[]) {
  describe(`durations of a round trip's revisions (${engine.dialect})`, () => {
    afterAll(() => engine.close());

    it("come back with the round trip: no query between round trips, and each event has its history row's duration", async () => {
      const project = await createEngineProject();
      const db = await engine.database();
      let own: Session | undefined;
      try {
        for (let k = 1; k <= COUNT; k++) {
          await project.write({
            id: revisionIds[k - 1] as string,
            down: k > 1 ? (revisionIds[k - 2] ?? null) : null,
            message: `r${k}`,
            upgrade: `${k === SLOW ? "SELECT pg_sleep(0.08);\n" : ""}CREATE TABLE t_${k} (x text);`,
            downgrade: `DROP TABLE t_${k};`,
          });
        }
        await project.configure({ test: db.envConfig });
        const env = await project.env("test");
        own = db.session === undefined ? await openSession(env.target, { writable: true }) : undefined;
        const calls: string[] = [];
        const events: MigrationEvent[] = [];
        const result = await upgrade(env, { session: recording((db.session ?? own) as Session, calls), events: (event) => events.push(event) });
        expect(result.completed).toEqual(revisionIds);

        // From the statements prepared for the bookkeeping (after the version tables were
        // created, by a script of their own) to the last round trip, nothing else was sent.
        const prepared = calls.findIndex((call) => call.startsWith("exec PREPARE"));
        const last = calls.lastIndexOf("script:4");
        expect(prepared).toBeGreaterThan(-1);
        expect(calls.slice(prepared + 1, last + 1)).toEqual(["script:1", "script:2", "script:4"]);

        const history = await db.query<{ revision: string; duration_ms: number }>(`SELECT revision, duration_ms FROM "${db.schema}".athanor_version_history WHERE outcome = 'success' ORDER BY id`);
        const recorded = new Map(history.map((row) => [row.revision, Number(row.duration_ms)]));
        const ends = events.flatMap((event) => (event.type === "revision-end" ? [event] : []));
        expect(ends.map((event) => event.revision)).toEqual(revisionIds);
        for (const event of ends.slice(1)) expect(event.durationMs, event.revision).toBe(recorded.get(event.revision));
        expect(recorded.get(revisionIds[SLOW - 1] as string)).toBeGreaterThanOrEqual(75);
      } finally {
        await own?.close();
        await db.drop();
        await project.remove();
      }
    }, 120_000);
  });
}
