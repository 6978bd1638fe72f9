/**
 * `current` and a run with nothing to do read the version table's summary (its ids and
 * the unfinished rows), not every row: what they report must still come from the rows.
 * Through the CLI on PostgreSQL and on a PGlite directory: the heads' applied time and
 * user (`current --verbose`), an unfinished head, an applied revision no file defines,
 * an edited applied file once the plan has steps; and through the library, the caller's
 * own guards still see every row with its checksum.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { baseEnv, runCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, queryUrl, type TestDatabase } from "./support/databases.js";
import { createEngineProject, type EngineProject } from "./support/engine-project.js";
import { openSession } from "../src/dialects/open.js";
import { loadConfigFile } from "../src/config/load.js";
import { resolveEnvironment } from "../src/config/resolve.js";
import { runMigration, type MigrationHookContext } from "../src/run/migrate.js";

const A = "5a5a5a5a5a5a";
const B = "5b5b5b5b5b5b";
const C = "5c5c5c5c5c5c";
const GONE = "5d5d5d5d5d5d";

function table(id: string) {
  return { upgrade: `CREATE TABLE s_${id} (id int);`, downgrade: `DROP TABLE s_${id};` };
}

interface Target {
  readonly name: string;
  setUp(project: EngineProject): Promise<Record<string, string | undefined>>;
  /** Runs SQL on the environment's database between two CLI runs. */
  sql<Row extends Record<string, unknown>>(project: EngineProject, text: string): Promise<Row[]>;
  tearDown(): Promise<void>;
}

function postgresTarget(): Target {
  let db: TestDatabase | undefined;
  return {
    name: "PostgreSQL",
    async setUp(project) {
      db = await createPostgresDatabase("athanor_summary");
      await project.configure({ development: { url: "${DATABASE_URL}" } });
      return baseEnv({ DATABASE_URL: db.url });
    },
    sql: (_project, text) => queryUrl((db as TestDatabase).url, text),
    tearDown: async () => db?.drop(),
  };
}

function pgliteTarget(): Target {
  return {
    name: "PGlite directory",
    async setUp(project) {
      await project.configure({ development: { url: "pglite://./.athanor/dev" } });
      return baseEnv();
    },
    async sql<Row extends Record<string, unknown>>(project: EngineProject, text: string) {
      const session = await openSession({ kind: "pglite", dataDir: join(project.dir, ".athanor", "dev") });
      try {
        return (await session.query<Row>(text)).rows;
      } finally {
        await session.close();
      }
    },
    async tearDown() {},
  };
}

for (const target of [postgresTarget(), pgliteTarget()]) {
  describe(`the version table's summary (${target.name})`, () => {
    let project: EngineProject;
    let env: Record<string, string | undefined>;
    const cli = (...argv: string[]): Promise<CliResult> => runCli(argv, { cwd: project.dir, env });

    beforeAll(async () => {
      project = await createEngineProject();
      await project.write({ id: A, message: "first", file: "0001_first.sql", ...table(A) });
      await project.write({ id: B, down: A, message: "second", file: "0002_second.sql", ...table(B) });
      env = await target.setUp(project);
      const up = await cli("upgrade", B);
      expect(up.stderr).toBe("");
      expect(up.status).toBe(0);
    });
    afterAll(async () => {
      await target.tearDown();
      await project.remove();
    });

    it("`current --verbose` prints the head's applied time and user from its row", async () => {
      const [row] = await target.sql<{ at: string; by: string }>(project, `SELECT to_json(applied_at)#>>'{}' AS at, applied_by AS by FROM athanor_version WHERE revision = '${B}'`);
      expect(row?.at).toMatch(/^\d{4}-/);
      const shown = await cli("--verbose", "current");
      expect(shown.status).toBe(0);
      expect(shown.stdout).toContain(`${B} (head) second`);
      expect(shown.stdout).toContain(`0002_second.sql, applied ${row?.at} by ${row?.by}`);
    });

    it("an unfinished head is marked, and a run with nothing to do refuses it (exit 5)", async () => {
      // An applied row turned `started` with no history row of its own: a downgrade that
      // began under an athanor older than the `started` history rows (when is not known).
      await target.sql(project, `UPDATE athanor_version SET state = 'started' WHERE revision = '${B}'`);
      try {
        expect((await cli("current")).stdout).toContain(`${B} (head, unfinished: its downgrade started and never finished) second`);
        const blocked = await cli("upgrade", B);
        expect(blocked.status).toBe(5);
        expect(blocked.stderr).toContain(`revision ${B} (0002_second.sql) is non-transactional; its downgrade started and never finished`);
      } finally {
        await target.sql(project, `UPDATE athanor_version SET state = 'applied' WHERE revision = '${B}'`);
      }
    });

    it("an applied revision no file defines stops a run with nothing to do (exit 5)", async () => {
      await target.sql(project, `INSERT INTO athanor_version (revision, checksum) VALUES ('${GONE}', 'x')`);
      try {
        const blocked = await cli("upgrade", B);
        expect(blocked.status).toBe(5);
        expect(blocked.stderr).toContain(`revision ${GONE} is recorded as applied in the database, but no file in the migrations directory defines it`);
      } finally {
        await target.sql(project, `DELETE FROM athanor_version WHERE revision = '${GONE}'`);
      }
      expect((await cli("upgrade", B)).status).toBe(0);
    });

    it("an edited applied file passes a run with nothing to do, and stops one with steps (exit 5)", async () => {
      await project.write({ id: A, message: "first", file: "0001_first.sql", upgrade: `CREATE TABLE s_${A} (id bigint);`, downgrade: `DROP TABLE s_${A};` });
      await project.write({ id: C, down: B, message: "third", file: "0003_third.sql", ...table(C) });
      try {
        expect((await cli("upgrade", B)).status).toBe(0);
        const blocked = await cli("upgrade");
        expect(blocked.status).toBe(5);
        expect(blocked.stderr).toContain("0001_first.sql (revision 5a5a5a5a5a5a) changed after it was applied");
        expect((await target.sql<{ n: number }>(project, `SELECT count(*)::int AS n FROM athanor_version WHERE revision = '${C}'`))[0]?.n).toBe(0);
      } finally {
        await project.write({ id: A, message: "first", file: "0001_first.sql", ...table(A) });
      }
    });

    it("the caller's own guards see every row with its checksum on a run with nothing to do", async () => {
      const environment = await resolveEnvironment(await loadConfigFile(join(project.dir, "athanor.config.json")), { environment: "development", processEnv: env });
      const seen: { revision: string; checksum: string }[][] = [];
      const guard = (context: MigrationHookContext): void => {
        seen.push(context.state.rows.map((row) => ({ revision: row.revision, checksum: row.checksum })));
      };
      const result = await runMigration(environment, { command: "upgrade", target: B, beforeExecute: [guard], guardrails: false });
      expect(result.completed).toEqual([]);
      expect(seen).toHaveLength(1);
      expect(seen[0]?.map((row) => row.revision)).toEqual([A, B]);
      for (const row of seen[0] ?? []) expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
    });

    it("`current --verbose` prints a head applied before the last few rows from its own row", async () => {
      const branch = ["5e5e5e5e5e01", "5e5e5e5e5e02", "5e5e5e5e5e03", "5e5e5e5e5e04", "5e5e5e5e5e05"];
      let down = A;
      for (const [i, id] of branch.entries()) {
        await project.write({ id, down, message: `branch ${i + 1}`, file: `1${i}_branch.sql`, ...table(id) });
        down = id;
      }
      expect((await cli("upgrade", C)).status).toBe(0);
      expect((await cli("upgrade", down)).status).toBe(0);
      // C is a head, applied before the branch's five rows.
      const [row] = await target.sql<{ at: string; by: string }>(project, `SELECT to_json(applied_at)#>>'{}' AS at, applied_by AS by FROM athanor_version WHERE revision = '${C}'`);
      const shown = await cli("--verbose", "current");
      expect(shown.status).toBe(0);
      expect(shown.stdout).toContain(`${C} (head) third`);
      expect(shown.stdout).toContain(`0003_third.sql, applied ${row?.at} by ${row?.by}`);
      expect(shown.stdout).toContain(`${down} (head) branch 5`);
    });
  });
}
