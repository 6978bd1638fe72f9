/**
 * The migration engine through its library functions, on PostgreSQL and PGlite: linear
 * and branched graphs, merges, downgrade to base and back, failures (state afterwards,
 * the error's revision, file, statement and line), TypeScript revisions, checksums and
 * repair, stamp, single-transaction plans, dry runs, status entries and check.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { current } from "../src/commands/current.js";
import { downgrade } from "../src/commands/downgrade.js";
import { repair } from "../src/commands/repair.js";
import { stamp } from "../src/commands/stamp.js";
import { getStatus } from "../src/commands/status-entry.js";
import { upgrade } from "../src/commands/upgrade.js";
import { checkEnvironment } from "../src/commands/check.js";
import { loadConfigFile } from "../src/config/load.js";
import type { MigrationEvent } from "../src/run/events.js";
import { join } from "node:path";
import {
  createEngineProject,
  historyRows,
  ids,
  pgliteEngine,
  postgresEngine,
  tablesIn,
  versionRows,
  type Engine,
  type EngineDatabase,
  type EngineProject,
} from "./support/engine-project.js";
import { caught } from "./support/caught.js";

const [A, B, C] = ids(3) as [string, string, string];

for (const engine of [postgresEngine(), pgliteEngine()] as Engine[]) {
  describe(`engine on ${engine.dialect}`, () => {
    let project: EngineProject;
    let db: EngineDatabase;
    const session = () => (db.session === undefined ? {} : { session: db.session });

    beforeAll(async () => {
      project = await createEngineProject();
    });
    afterAll(async () => {
      await project.remove();
      await engine.close();
    });

    async function setUp(files: Parameters<EngineProject["write"]>[0][], extra: Record<string, unknown> = {}) {
      db = await engine.database();
      for (const name of await import("node:fs/promises").then((fs) => fs.readdir(project.migrationsDir))) await project.removeFile(name);
      for (const file of files) await project.write(file);
      await project.configure({ development: { ...db.envConfig, ...extra } });
      return project.env("development");
    }
    afterEach(async () => {
      await db?.drop();
    });

    it("applies a linear graph, reverts it to base and applies it again, keeping version and history rows", async () => {
      const env = await setUp([
        { id: A, message: "create t1", upgrade: "CREATE TABLE t1 (id int);", downgrade: "DROP TABLE t1;" },
        { id: B, down: A, message: "create t2", upgrade: "CREATE TABLE t2 (id int);\nINSERT INTO t2 VALUES (1);", downgrade: "DROP TABLE t2;" },
        { id: C, down: B, message: "create t3", upgrade: "CREATE TABLE t3 (id int);", downgrade: "DROP TABLE t3;" },
      ]);
      const events: MigrationEvent[] = [];
      const result = await upgrade(env, { ...session(), events: (event) => events.push(event) });
      expect(result.completed).toEqual([A, B, C]);
      expect(result.before).toEqual([]);
      expect(result.current).toEqual([C]);
      expect(await tablesIn(db)).toEqual(["athanor_version", "athanor_version_history", "athanor_version_meta", "t1", "t2", "t3"]);
      expect((await versionRows(db)).map((row) => [row.revision, row.state])).toEqual([
        [A, "applied"],
        [B, "applied"],
        [C, "applied"],
      ]);
      expect(events.map((event) => event.type)).toEqual([
        "command-start",
        "lock-acquired",
        "plan",
        "revision-start",
        "revision-end",
        "revision-start",
        "revision-end",
        "revision-start",
        "revision-end",
        "command-end",
      ]);
      const end = events.find((event) => event.type === "revision-end");
      expect(end).toMatchObject({ environment: "development", revision: A, file: expect.stringContaining(".sql"), direction: "up", outcome: "success" });
      expect((await current(env, session())).current).toEqual([C]);

      const one = await downgrade(env, { ...session(), target: "-1" });
      expect(one.completed).toEqual([C]);
      expect(one.current).toEqual([B]);
      const all = await downgrade(env, { ...session(), target: "base" });
      expect(all.completed).toEqual([B, A]);
      expect(all.current).toEqual([]);
      expect(await tablesIn(db)).toEqual(["athanor_version", "athanor_version_history", "athanor_version_meta"]);
      expect((await current(env, session())).current).toEqual([]);

      const again = await upgrade(env, { ...session(), target: "+2" });
      expect(again.completed).toEqual([A, B]);
      const rest = await upgrade(env, session());
      expect(rest.completed).toEqual([C]);
      const none = await upgrade(env, session());
      expect(none.completed).toEqual([]);
      const history = await historyRows(db);
      expect(history.map((row) => `${row.direction} ${row.revision} ${row.outcome}`)).toEqual([
        `up ${A} success`,
        `up ${B} success`,
        `up ${C} success`,
        `down ${C} success`,
        `down ${B} success`,
        `down ${A} success`,
        `up ${A} success`,
        `up ${B} success`,
        `up ${C} success`,
      ]);
      expect(history.every((row) => row.environment === "development")).toBe(true);
    });

    it("follows branches and merges: label@head, heads, merge, downgrade to one branch", async () => {
      const [R, F, G, M] = ids(4, "b") as [string, string, string, string];
      const env = await setUp([
        { id: R, message: "root", upgrade: "CREATE TABLE r (id int);", downgrade: "DROP TABLE r;" },
        { id: F, down: R, message: "feature", branchLabels: ["feature"], upgrade: "CREATE TABLE f (id int);", downgrade: "DROP TABLE f;" },
        { id: G, down: R, message: "other", upgrade: "CREATE TABLE g (id int);", downgrade: "DROP TABLE g;" },
      ]);
      expect((await upgrade(env, { ...session(), target: "feature@head" })).completed).toEqual([R, F]);
      const ambiguous = await caught(upgrade(env, session()));
      expect(ambiguous.code).toBe("multiple-heads");
      expect(ambiguous.exitStatus).toBe(2);
      const heads = await upgrade(env, { ...session(), target: "heads" });
      expect(heads.completed).toEqual([G]);
      expect([...heads.current].sort()).toEqual([F, G].sort());

      await project.write({ id: M, down: [F, G], message: "merge", upgrade: "SELECT 1;", downgrade: "SELECT 1;" });
      const merged = await upgrade(env, session());
      expect(merged.completed).toEqual([M]);
      expect(merged.current).toEqual([M]);
      const back = await downgrade(env, { ...session(), target: F });
      expect(back.completed).toEqual([M]);
      expect([...back.current].sort()).toEqual([F, G].sort());
      const status = await getStatus(env, session());
      expect(status).toMatchObject({ name: "development", reachable: true, heads: [M], pending: 1, state: "behind", problems: [] });
    });

    it("a failing revision rolls back alone and the error names the revision, the file, the statement and its line", async () => {
      const env = await setUp([
        { id: A, message: "ok", upgrade: "CREATE TABLE t1 (id int);", downgrade: "DROP TABLE t1;" },
        {
          id: B,
          down: A,
          message: "broken",
          file: "0002_broken.sql",
          upgrade: "CREATE TABLE t2 (id int);\nINSERT INTO t2 VALUES (1);\n\nINSERT INTO t2\n  SELECT id FROM missing_table;\nCREATE TABLE t2b (id int);",
          downgrade: "DROP TABLE t2;",
        },
        { id: C, down: B, message: "never", upgrade: "CREATE TABLE t3 (id int);" },
      ]);
      const events: MigrationEvent[] = [];
      const error = await caught(upgrade(env, { ...session(), events: (event) => events.push(event) }));
      expect(error.exitStatus).toBe(1);
      expect(error.code).toBe("migration-failed");
      // Header: 3 lines, blank, marker = 5; the section starts on line 6; the failing statement on line 9.
      expect(error.message).toContain(`revision ${B} (broken)`);
      expect(error.message).toContain("0002_broken.sql:9");
      expect(error.message).toContain('relation "missing_table" does not exist');
      expect(error.message).toContain("INSERT INTO t2 SELECT id FROM missing_table");
      expect(error.details).toMatchObject({ revision: B, file: "0002_broken.sql", line: 9, sqlstate: "42P01" });
      expect(error.hint).toContain("rolled back");
      expect((await versionRows(db)).map((row) => row.revision)).toEqual([A]);
      expect(await tablesIn(db)).not.toContain("t2");
      expect(await tablesIn(db)).not.toContain("t3");
      const history = await historyRows(db);
      expect(history.map((row) => `${row.direction} ${row.revision} ${row.outcome}`)).toEqual([`up ${A} success`, `up ${B} failed`]);
      expect(history[1]?.error).toContain("missing_table");
      expect(events.filter((event) => event.type === "revision-end").map((event) => (event as { outcome: string }).outcome)).toEqual(["success", "failed"]);
      expect(events.at(-1)).toMatchObject({ type: "command-end", outcome: "failed", completed: 1, error: { code: "migration-failed" } });
    });

    it("names the failing statement when the server gives no position (a runtime error)", async () => {
      const env = await setUp([
        { id: A, message: "divide", file: "0001_divide.sql", upgrade: "CREATE TABLE t1 (v int);\nINSERT INTO t1 VALUES (1);\nINSERT INTO t1 VALUES (1 / 0);\nINSERT INTO t1 VALUES (3);" },
      ]);
      const error = await caught(upgrade(env, session()));
      expect(error.message).toContain("0001_divide.sql:7");
      expect(error.message).toContain("division by zero");
      expect(error.details).toMatchObject({ line: 7, statement: "INSERT INTO t1 VALUES (1 / 0)" });
      expect(await tablesIn(db)).not.toContain("t1");
    });

    it("names the failing statement among several on one line (by the server's position, not the line)", async () => {
      const env = await setUp([{ id: A, message: "one line", file: "0001_one_line.sql", upgrade: "CREATE TABLE t1 (v int); INSERT INTO t1 VALUES (1); SELECT nosuchcol FROM t1;" }]);
      const error = await caught(upgrade(env, session()));
      expect(error.message).toContain("0001_one_line.sql:5");
      expect(error.details).toMatchObject({ line: 5, statement: "SELECT nosuchcol FROM t1" });
      expect(await tablesIn(db)).not.toContain("t1");
    });

    it("a statement left incomplete at the end of a revision in a shared round trip is blamed on that revision, not the first of the round trip", async () => {
      const env = await setUp([
        { id: A, message: "one", file: "0001_one.sql", upgrade: "CREATE TABLE t1 (v int);" },
        { id: B, down: A, message: "two", file: "0002_two.sql", upgrade: "INSERT INTO t1 VALUES (2);" },
        { id: C, down: B, message: "three", file: "0003_three.sql", upgrade: "CREATE TABLE t3 (v int" },
      ]);
      const error = await caught(upgrade(env, session()));
      expect(error.message).toContain(`revision ${C} (three) failed to upgrade at 0003_three.sql:6`);
      expect(error.details).toMatchObject({ revision: C, file: "0003_three.sql", line: 6, statement: "CREATE TABLE t3 (v int" });
      const history = await historyRows(db);
      expect(history.filter((row) => row.outcome === "failed").map((row) => row.revision)).toEqual([C]);
      expect(await tablesIn(db)).not.toContain("t3");
    });

    it("a deferred constraint that fails at COMMIT is named as such, not as a failure to record the revision", async () => {
      const env = await setUp([
        {
          id: A,
          message: "deferred",
          file: "0001_deferred.sql",
          upgrade: "CREATE TABLE p (id int PRIMARY KEY);\nCREATE TABLE c (pid int REFERENCES p DEFERRABLE INITIALLY DEFERRED);\nINSERT INTO c VALUES (1);",
        },
      ]);
      const error = await caught(upgrade(env, session()));
      expect(error.message).toContain("its changes break a deferred constraint, checked at COMMIT (");
      expect(error.message).toContain("violates foreign key constraint");
      expect(error.message).not.toContain("recording it failed");
      expect(await tablesIn(db)).not.toContain("c");
    });

    it("quick revisions share round trips; a failure inside a batch keeps exactly the revisions before it", async () => {
      const revisions = ids(12, "d");
      const failing = revisions[8] as string;
      const env = await setUp(
        revisions.map((id, i) => ({
          id,
          down: i === 0 ? null : (revisions[i - 1] as string),
          message: `step ${i + 1}`,
          file: `${String(i + 1).padStart(4, "0")}_step.sql`,
          upgrade: id === failing ? `CREATE TABLE t_${i} (v int);\nINSERT INTO t_${i} VALUES (1 / 0);` : `CREATE TABLE t_${i} (v int);`,
          downgrade: `DROP TABLE t_${i};`,
        })),
      );
      const events: MigrationEvent[] = [];
      const error = await caught(upgrade(env, { ...session(), events: (event) => events.push(event) }));
      expect(error.details).toMatchObject({ revision: failing, file: "0009_step.sql", line: 7, statement: "INSERT INTO t_8 VALUES (1 / 0)" });
      expect((await versionRows(db)).map((row) => row.revision)).toEqual(revisions.slice(0, 8));
      expect(await tablesIn(db)).not.toContain("t_8");
      const ends = events.filter((event) => event.type === "revision-end") as Extract<MigrationEvent, { type: "revision-end" }>[];
      expect(ends.map((event) => [event.revision, event.outcome])).toEqual([...revisions.slice(0, 8).map((id) => [id, "success"]), [failing, "failed"]]);
      expect(ends.every((event) => event.durationMs !== null && event.durationMs >= 0)).toBe(true);
      const starts = events.filter((event) => event.type === "revision-start").map((event) => (event as { index: number }).index);
      expect(starts).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect((await historyRows(db)).map((row) => row.outcome)).toEqual([...revisions.slice(0, 8).map(() => "success"), "failed"]);

      await project.write({ id: failing, down: revisions[7] as string, message: "step 9", file: "0009_step.sql", upgrade: "CREATE TABLE t_8 (v int);", downgrade: "DROP TABLE t_8;" });
      expect((await upgrade(env, session())).completed).toEqual(revisions.slice(8));
      expect((await downgrade(env, { ...session(), target: "base" })).completed).toEqual([...revisions].reverse());
      expect(await tablesIn(db)).toEqual(["athanor_version", "athanor_version_history", "athanor_version_meta"]);
    });

    it("--single-transaction rolls back the whole plan when one revision fails", async () => {
      const env = await setUp([
        { id: A, upgrade: "CREATE TABLE t1 (id int);" },
        { id: B, down: A, upgrade: "CREATE TABLE t2 (id int);" },
        { id: C, down: B, upgrade: "SELECT * FROM nowhere;" },
      ]);
      const error = await caught(upgrade(env, { ...session(), singleTransaction: true }));
      expect(error.details).toMatchObject({ revision: C });
      expect(error.hint).toContain("nothing was applied");
      expect(await versionRows(db)).toEqual([]);
      expect(await tablesIn(db)).not.toContain("t1");
      await project.write({ id: C, down: B, upgrade: "CREATE TABLE t3 (id int);" });
      const ok = await upgrade(env, { ...session(), singleTransaction: true });
      expect(ok.completed).toEqual([A, B, C]);
      expect((await versionRows(db)).length).toBe(3);
    });

    it("runs TypeScript revisions with bound parameters and sql.unsafe, inside their transaction", async () => {
      const env = await setUp([{ id: A, message: "base", upgrade: "CREATE TABLE notes (v text);", downgrade: "DROP TABLE notes;" }]);
      await project.writeFile(
        "0002_ts.ts",
        [
          'import { defineMigration } from "athanor";',
          "export default defineMigration({",
          `  revision: "${B}",`,
          `  down: "${A}",`,
          '  message: "typescript",',
          "  async upgrade({ sql, environment }) {",
          "    await sql`INSERT INTO notes (v) VALUES (${\"it's \" + environment})`;",
          '    await sql.unsafe("CREATE INDEX notes_v ON notes (v)");',
          "    const rows = await sql`SELECT count(*)::int AS n FROM notes WHERE v LIKE ${'it%'}`;",
          "    if (rows[0]?.n !== 1) throw new Error('expected one row');",
          "  },",
          "  async downgrade({ sql }) {",
          "    await sql`DROP INDEX notes_v`;",
          "    await sql`DELETE FROM notes`;",
          "  },",
          "});",
          "",
        ].join("\n"),
      );
      const result = await upgrade(env, session());
      expect(result.completed).toEqual([A, B]);
      expect(await db.query("SELECT v FROM notes")).toEqual([{ v: "it's development" }]);
      await downgrade(env, { ...session(), target: "-1" });
      expect(await db.query("SELECT v FROM notes")).toEqual([]);
      await project.writeFile(
        "0002_ts.ts",
        `import { defineMigration } from "athanor";\nexport default defineMigration({ revision: "${B}", down: "${A}", message: "typescript", async upgrade({ sql }) { await sql\`INSERT INTO notes (v) VALUES ('x')\`; await sql\`SELECT * FROM nope\`; } });\n`,
      );
      const error = await caught(upgrade(env, session()));
      expect(error.message).toContain(`revision ${B}`);
      expect(error.message).toContain("0002_ts.ts");
      expect(error.details).toMatchObject({ statement: "SELECT * FROM nope" });
      expect(await db.query("SELECT v FROM notes")).toEqual([]);
    });

    it("an edited applied revision blocks upgrade and downgrade (exit 5) until repair", async () => {
      const env = await setUp([
        { id: A, message: "one", file: "0001_one.sql", upgrade: "CREATE TABLE t1 (id int);", downgrade: "DROP TABLE t1;" },
        { id: B, down: A, message: "two", file: "0002_two.sql", upgrade: "CREATE TABLE t2 (id int);", downgrade: "DROP TABLE t2;" },
      ]);
      await upgrade(env, { ...session(), target: A });
      await project.write({ id: A, message: "one", file: "0001_one.sql", upgrade: "CREATE TABLE t1 (id bigint);", downgrade: "DROP TABLE t1;" });
      const blocked = await caught(upgrade(env, session()));
      expect(blocked.exitStatus).toBe(5);
      expect(blocked.code).toBe("checksum-mismatch");
      expect(blocked.message).toContain("0001_one.sql");
      expect(blocked.hint).toContain("athanor repair");
      expect((await caught(downgrade(env, { ...session(), target: "base" }))).exitStatus).toBe(5);
      const status = await getStatus(env, session());
      expect(status.problems.map((problem) => problem.code)).toEqual(["checksum-mismatch"]);
      expect(status.state).toBe("behind");

      const repaired = await repair(env, session());
      expect(repaired.repaired.map((item) => [item.revision, item.file])).toEqual([[A, "0001_one.sql"]]);
      expect((await historyRows(db)).at(-1)).toMatchObject({ direction: "repair", revision: A, outcome: "success" });
      expect((await upgrade(env, session())).completed).toEqual([B]);
      expect((await getStatus(env, session())).state).toBe("up-to-date");
    });

    it("checksums are compared where they matter: a run with steps, a protected environment, status and check — not a no-op run on an unprotected one", async () => {
      const files = [
        { id: A, message: "one", file: "0001_one.sql", upgrade: "CREATE TABLE t1 (id int);", downgrade: "DROP TABLE t1;" },
        { id: B, down: A, message: "two", file: "0002_two.sql", upgrade: "CREATE TABLE t2 (id int);", downgrade: "DROP TABLE t2;" },
      ];
      const env = await setUp(files);
      await upgrade(env, session());
      await project.write({ ...files[0], upgrade: "CREATE TABLE t1 (id bigint);" } as (typeof files)[0]);

      // Nothing to run, nothing protected: the run changes nothing, so it does not read every applied file.
      const noop = await upgrade(env, session());
      expect(noop.completed).toEqual([]);
      expect(noop.current).toEqual([B]);
      expect((await upgrade(env, { ...session(), dryRun: true })).plan).toEqual([]);
      // Where something is reported or would run, the edit is found.
      expect((await getStatus(env, session())).problems.map((problem) => problem.code)).toEqual(["checksum-mismatch"]);
      expect((await caught(downgrade(env, { ...session(), target: A }))).code).toBe("checksum-mismatch");
      expect((await caught(downgrade(env, { ...session(), dryRun: true, target: A }))).code).toBe("checksum-mismatch");
      if (engine.dialect === "postgres") {
        const report = await checkEnvironment(await loadConfigFile(join(project.dir, "athanor.config.json")), "development", { processEnv: {} });
        expect(report.findings.map((finding) => `${finding.check}:${finding.status}`)).toContain("checksums:error");
      }
      // A protected environment compares them on every run, even one with nothing to do.
      await project.configure({ development: { ...db.envConfig, protected: true } });
      const guarded = await project.env("development");
      expect(guarded.protected).toBe(true);
      const blocked = await caught(upgrade(guarded, { ...session(), yes: true, noBackup: true }));
      expect(blocked.exitStatus).toBe(5);
      expect(blocked.code).toBe("checksum-mismatch");
      expect(blocked.message).toContain("0001_one.sql");
    });

    it("stamp records revisions without running them, acknowledges edits, and stamps back to base", async () => {
      const env = await setUp([
        { id: A, upgrade: "CREATE TABLE t1 (id int);", downgrade: "DROP TABLE t1;" },
        { id: B, down: A, upgrade: "CREATE TABLE t2 (id int);", downgrade: "DROP TABLE t2;" },
        { id: C, down: B, upgrade: "CREATE TABLE t3 (id int);", downgrade: "DROP TABLE t3;" },
      ]);
      const stamped = await stamp(env, { ...session(), target: B });
      expect(stamped.recorded).toEqual([A, B]);
      expect(stamped.current).toEqual([B]);
      expect(await tablesIn(db)).toEqual(["athanor_version", "athanor_version_history", "athanor_version_meta"]);
      expect((await upgrade(env, session())).completed).toEqual([C]);
      const down = await stamp(env, { ...session(), target: A });
      expect(down.removed).toEqual([C, B]);
      expect(down.current).toEqual([A]);
      const base = await stamp(env, { ...session(), target: "base" });
      expect(base.current).toEqual([]);
      expect(await versionRows(db)).toEqual([]);
      expect((await historyRows(db)).filter((row) => row.direction === "stamp").length).toBe(3);
    });

    it("a dry run reads and plans but creates nothing; a read-only command creates nothing", async () => {
      const env = await setUp([
        { id: A, upgrade: "CREATE TABLE t1 (id int);" },
        { id: B, down: A, upgrade: "CREATE TABLE t2 (id int);" },
      ]);
      const dry = await upgrade(env, { ...session(), dryRun: true });
      expect(dry.mode).toBe("dry-run");
      expect(dry.plan.map((step) => step.revision)).toEqual([A, B]);
      expect(dry.completed).toEqual([]);
      expect(dry.current).toEqual([B]);
      expect((await current(env, session())).current).toEqual([]);
      expect(await getStatus(env, session())).toMatchObject({ reachable: true, current: [], heads: [B], pending: 2, state: "behind", problems: [] });
      expect(await tablesIn(db)).toEqual([]);
      // An online run's plan list is built when first read, once, and is in its JSON.
      const ran = await upgrade(env, session());
      expect(ran.plan.map((step) => step.revision)).toEqual([A, B]);
      expect(ran.plan).toBe(ran.plan);
      expect((JSON.parse(JSON.stringify(ran)) as { plan: unknown }).plan).toEqual(ran.plan);
    });

    it("emits a statement event per statement with echo, with file lines", async () => {
      const env = await setUp([{ id: A, file: "0001_echo.sql", upgrade: "CREATE TABLE t1 (id int);\n\nINSERT INTO t1\nVALUES (1);" }], { echo: true });
      const events: MigrationEvent[] = [];
      await upgrade(env, { ...session(), events: (event) => events.push(event) });
      const statements = events.filter((event) => event.type === "statement");
      expect(statements.map((event) => [event.sql, event.line])).toEqual([
        ["CREATE TABLE t1 (id int)", 5],
        ["INSERT INTO t1\nVALUES (1)", 7],
      ]);
    });

    it("status reports a database ahead of the files, and check lists the findings", async () => {
      const env = await setUp([{ id: A, upgrade: "CREATE TABLE t1 (id int);" }]);
      await upgrade(env, session());
      await db.query(`INSERT INTO "${db.schema}".athanor_version (revision, checksum, applied_by) VALUES ('ffffffffffff', 'x', 'someone')`);
      const status = await getStatus(env, session());
      expect(status.state).toBe("ahead");
      expect(status.problems.map((problem) => problem.code)).toEqual(["unknown-applied-revision"]);
      expect((await caught(upgrade(env, session()))).code).toBe("unknown-applied-revision");
      if (engine.dialect === "postgres") {
        const report = await checkEnvironment(await loadConfigFile(join(project.dir, "athanor.config.json")), "development", { processEnv: {} });
        expect(report.ok).toBe(false);
        expect(report.findings.map((finding) => `${finding.check}:${finding.status}`)).toEqual(expect.arrayContaining(["revisions:ok", "applied-revisions:error", "state:ok"]));
      }
    });
  });
}

describe("status of an unreachable environment", () => {
  it("is an entry with state unreachable, not an error", async () => {
    const project = await createEngineProject();
    try {
      await project.write({ id: A, upgrade: "SELECT 1;" });
      await project.configure({ production: { url: "postgresql://app:Secr3t-Value@127.0.0.1:1/prod" } });
      const env = await project.env("production");
      const status = await getStatus(env, { timeoutMs: 3_000 });
      expect(status).toMatchObject({ name: "production", url: "postgresql://app:***@127.0.0.1:1/prod", reachable: false, current: [], heads: [A], state: "unreachable" });
      expect(status.problems[0]?.code).toBe("unreachable");
      expect(JSON.stringify(status)).not.toContain("Secr3t-Value");
    } finally {
      await project.remove();
    }
  });
});

