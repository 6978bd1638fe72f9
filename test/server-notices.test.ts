/**
 * The server's notices while revisions run (NoticeResponse: `relation "t" already exists,
 * skipping`, `RAISE WARNING`, `drop cascades to ...`): a `notice` event of the revision that
 * sent them, just before its `revision-end`, in the order the server sent them, whether the
 * revision shares a round trip with others, runs statement by statement (non-transactional,
 * TypeScript) or fails; athanor's own statements' notices (its version tables' `CREATE TABLE
 * IF NOT EXISTS` on a database that has them) are not the user's and are not told. The CLI
 * prints them under the revision's line, without a secret. On PostgreSQL and on PGlite.
 */
import { afterAll, describe, expect, it } from "vitest";
import { upgrade } from "../src/commands/upgrade.js";
import type { Session } from "../src/dialects/types.js";
import type { MigrationEvent } from "../src/run/events.js";
import { baseEnv, runCli } from "./support/cli.js";
import type { ResolvedEnvironment } from "../src/config/types.js";
import { createEngineProject, ids, pgliteEngine, postgresEngine, withEngineProject, type Engine, type EngineProject } from "./support/engine-project.js";

/** What the run told, in order: `start <id>`, `notice <id> <SEVERITY>: <text>`, `end <id> <outcome>`. */
function told(events: readonly MigrationEvent[]): string[] {
  return events.flatMap((event) => {
    if (event.type === "revision-start") return [`start ${event.revision}`];
    if (event.type === "notice") return [`notice ${event.revision} ${event.severity}: ${event.message}${event.hint === undefined ? "" : ` (hint: ${event.hint})`}`];
    if (event.type === "revision-end") return [`end ${event.revision} ${event.outcome}${event.noticesOmitted === undefined ? "" : ` (${event.noticesOmitted} omitted)`}`];
    return [];
  });
}

const revisionIds = ids(6, "e");
const [R1, R2, R3, R4, R5, R6] = revisionIds as [string, string, string, string, string, string];

async function run(project: EngineProject, session: (env: ResolvedEnvironment) => Promise<Session>): Promise<{ events: MigrationEvent[]; error: unknown }> {
  const env = await project.env("test");
  const events: MigrationEvent[] = [];
  try {
    await upgrade(env, { session: await session(env), events: (event) => events.push(event) });
    return { events, error: null };
  } catch (error) {
    return { events, error };
  }
}

for (const engine of [postgresEngine(), pgliteEngine()] as Engine[]) {
  describe(`the server's notices while revisions run (${engine.dialect})`, () => {
    afterAll(() => engine.close());

    it("come as notice events of the revision that sent them, before its end, alone or sharing a round trip; athanor's own are not told", async () => {
      await withEngineProject(engine, async (project, _db, session) => {
        // Round trips [1] [2 3]: 1 alone, then 2 and 3 together (3 sends none).
        await project.write({ id: R1, message: "r1", upgrade: "CREATE TABLE t1 (x int);\nCREATE TABLE IF NOT EXISTS t1 (x int);" });
        await project.write({ id: R2, down: R1, message: "r2", upgrade: "DROP TABLE IF EXISTS nowhere;\nDO $$ BEGIN RAISE WARNING 'careful: %', 42 USING HINT = 'look here'; END $$;\nCREATE TABLE t2 (x int);" });
        await project.write({ id: R3, down: R2, message: "r3", upgrade: "CREATE TABLE t3 (x int);" });
        const first = await run(project, session);
        expect(first.error).toBeNull();
        expect(told(first.events)).toEqual([
          `start ${R1}`,
          `notice ${R1} NOTICE: relation "t1" already exists, skipping`,
          `end ${R1} success`,
          `start ${R2}`,
          `notice ${R2} NOTICE: table "nowhere" does not exist, skipping`,
          `notice ${R2} WARNING: careful: 42 (hint: look here)`,
          `end ${R2} success`,
          `start ${R3}`,
          `end ${R3} success`,
        ]);
        const warning = first.events.find((event) => event.type === "notice" && event.severity === "WARNING");
        expect(warning).toMatchObject({ type: "notice", revision: R2, file: expect.stringContaining(R2), code: "01000" });

        // A second run on the same database: the version tables exist (their CREATE TABLE IF NOT
        // EXISTS sends "already exists, skipping"), and those notices are athanor's, not R4's.
        await project.write({ id: R4, down: R3, message: "r4", upgrade: "CREATE TABLE t4 (x int);" });
        const second = await run(project, session);
        expect(second.error).toBeNull();
        expect(told(second.events)).toEqual([`start ${R4}`, `end ${R4} success`]);
      });
    }, 120_000);

    it("a failing revision's notices come before its failed end; statement by statement and TypeScript revisions' too; past 100 they are counted", async () => {
      await withEngineProject(engine, async (project, _db, session) => {
        await project.write({ id: R1, message: "r1", upgrade: "DO $$ BEGIN FOR i IN 1..150 LOOP RAISE NOTICE 'n%', i; END LOOP; END $$;\nCREATE TABLE t1 (x int);" });
        await project.write({ id: R2, down: R1, message: "r2", transactional: false, upgrade: "DROP TABLE IF EXISTS nowhere;\nCREATE TABLE t2 (x int);" });
        await project.writeFile(
          `${R3}_r3.ts`,
          `import { defineMigration } from "athanor";\nexport default defineMigration({ revision: "${R3}", down: "${R2}", message: "r3", async upgrade({ sql }) { await sql.unsafe("DROP TABLE IF EXISTS elsewhere"); } });\n`,
        );
        await project.write({ id: R5, down: R3, message: "r5", upgrade: "DO $$ BEGIN RAISE NOTICE 'about to fail'; END $$;\nSELECT 1/0;" });
        await project.write({ id: R6, down: R5, message: "r6", upgrade: "CREATE TABLE t6 (x int);" });
        const result = await run(project, session);
        expect(result.error).toMatchObject({ message: expect.stringMatching(/division by zero/) });
        expect(told(result.events)).toEqual([
          `start ${R1}`,
          ...Array.from({ length: 100 }, (_, i) => `notice ${R1} NOTICE: n${i + 1}`),
          `end ${R1} success (50 omitted)`,
          `start ${R2}`,
          `notice ${R2} NOTICE: table "nowhere" does not exist, skipping`,
          `end ${R2} success`,
          `start ${R3}`,
          `notice ${R3} NOTICE: table "elsewhere" does not exist, skipping`,
          `end ${R3} success`,
          `start ${R5}`,
          `notice ${R5} NOTICE: about to fail`,
          `end ${R5} failed`,
        ]);
      });
    }, 120_000);

    it("a deferred trigger's notice, sent with a revision's COMMIT, is that revision's: in a round trip, and for a TypeScript revision", async () => {
      await withEngineProject(engine, async (project, _db, session) => {
        const trigger = [
          "CREATE TABLE deferred_t (x int);",
          "CREATE FUNCTION deferred_notice() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'checked %', NEW.x; RETURN NULL; END $$;",
          "CREATE CONSTRAINT TRIGGER deferred_check AFTER INSERT ON deferred_t DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION deferred_notice();",
        ].join("\n");
        await project.write({ id: R1, message: "r1", upgrade: trigger });
        // Round trips [1] [2 3]: 2's notice comes with its own COMMIT, before 3 starts.
        await project.write({ id: R2, down: R1, message: "r2", upgrade: "INSERT INTO deferred_t VALUES (2);" });
        await project.write({ id: R3, down: R2, message: "r3", upgrade: "CREATE TABLE t3 (x int);" });
        await project.writeFile(
          `${R4}_r4.ts`,
          `import { defineMigration } from "athanor";\nexport default defineMigration({ revision: "${R4}", down: "${R3}", message: "r4", async upgrade({ sql }) { await sql.unsafe("INSERT INTO deferred_t VALUES (4)"); } });\n`,
        );
        const result = await run(project, session);
        expect(result.error).toBeNull();
        expect(told(result.events)).toEqual([
          `start ${R1}`,
          `end ${R1} success`,
          `start ${R2}`,
          `notice ${R2} NOTICE: checked 2`,
          `end ${R2} success`,
          `start ${R3}`,
          `end ${R3} success`,
          `start ${R4}`,
          `notice ${R4} NOTICE: checked 4`,
          `end ${R4} success`,
        ]);
      });
    }, 120_000);
  });
}

describe("the CLI prints the server's notices under the revision's line (PostgreSQL)", () => {
  const engine = postgresEngine();
  afterAll(() => engine.close());

  it("indented under the line, WARNING with its hint; none with --quiet; no password, even one a revision raises", async () => {
    const project = await createEngineProject();
    const db = await engine.database();
    try {
      const url = new URL(db.envConfig.url as string);
      const password = decodeURIComponent(url.password);
      expect(password.length).toBeGreaterThan(3);
      await project.configure({ test: { url: "${DATABASE_URL}" } });
      await project.write({ id: R1, message: "r1", upgrade: `CREATE TABLE t1 (x int);\nCREATE TABLE IF NOT EXISTS t1 (x int);\nDO $$ BEGIN RAISE WARNING 'the password is %', '${password}' USING HINT = 'rotate it'; END $$;` });
      await project.write({ id: R2, down: R1, message: "r2", upgrade: "CREATE TABLE t2 (x int);" });
      const env = baseEnv({ DATABASE_URL: url.toString() });
      const result = await runCli(["upgrade", "head"], { cwd: project.dir, env });
      expect(result.status, result.stderr).toBe(0);
      const lines = result.stdout.split("\n");
      const at = lines.findIndex((line) => line.startsWith(`upgrade ${R1} r1 (`));
      expect(lines.slice(at + 1, at + 4)).toEqual([`    NOTICE: relation "t1" already exists, skipping`, expect.stringMatching(/^ {4}WARNING: the password is \S+$/), "      HINT: rotate it"]);
      expect(lines[at + 4]).toMatch(new RegExp(`^upgrade ${R2} r2 \\(`));
      expect(result.stdout + result.stderr).not.toContain(password);

      await project.write({ id: R3, down: R2, message: "r3", upgrade: "DROP TABLE IF EXISTS nowhere;" });
      const quiet = await runCli(["--quiet", "upgrade", "head"], { cwd: project.dir, env });
      expect(quiet.status, quiet.stderr).toBe(0);
      expect(quiet.stdout + quiet.stderr).not.toContain("nowhere");
    } finally {
      await db.drop();
      await project.remove();
    }
  }, 120_000);
});
