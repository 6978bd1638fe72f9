/**
 * Exactly once, atomic, honest (issue #12), through the CLI on PostgreSQL and on a PGlite
 * directory: a failing revision is never run a second time (its side effects outside the
 * transaction happen once, and it fails in one sleep's time), the failing statement is
 * named from the server's answer, transaction control in a transactional revision is
 * refused before anything runs, and after a failure in a batch the message says which
 * revisions committed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { openSession } from "../src/dialects/open.js";
import { baseEnv, runCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, type TestDatabase } from "./support/databases.js";
import { createEngineProject, ids, type EngineProject } from "./support/engine-project.js";

/** Runs SQL against the database after the CLI is done with it. */
type Inspect = <Row>(sql: string) => Promise<Row[]>;

interface Target {
  readonly name: string;
  setUp(project: EngineProject): Promise<{ env: Record<string, string | undefined>; inspect: Inspect; drop(): Promise<void> }>;
}

const targets: Target[] = [
  {
    name: "PostgreSQL",
    async setUp(project) {
      const db: TestDatabase = await createPostgresDatabase("athanor_once");
      await project.configure({ development: { url: "${DATABASE_URL}" } });
      const { default: pg } = await import("pg");
      return {
        env: baseEnv({ DATABASE_URL: db.url }),
        async inspect<Row>(sql: string) {
          const client = new pg.Client({ connectionString: db.url });
          await client.connect();
          try {
            return (await client.query(sql)).rows as Row[];
          } finally {
            await client.end();
          }
        },
        drop: () => db.drop(),
      };
    },
  },
  {
    name: "PGlite",
    async setUp(project) {
      await project.configure({ development: { url: "pglite://./.athanor/dev" } });
      return {
        env: baseEnv(),
        async inspect<Row>(sql: string) {
          const session = await openSession({ kind: "pglite", dataDir: join(project.dir, ".athanor", "dev") });
          try {
            return (await session.query<Row>(sql)).rows;
          } finally {
            await session.close();
          }
        },
        drop: async () => {},
      };
    },
  },
];

for (const target of targets) {
  describe(`exactly once through the CLI (${target.name})`, () => {
    let project: EngineProject;
    let setup: Awaited<ReturnType<Target["setUp"]>>;
    const cli = (...argv: string[]): Promise<CliResult> => runCli(argv, { cwd: project.dir, env: setup.env });

    beforeAll(async () => {
      project = await createEngineProject();
      setup = await target.setUp(project);
    });
    afterAll(async () => {
      await setup.drop();
      await project.remove();
    });

    it("a failing revision runs once: its sequence moves once, it fails in one sleep's time, and the error names the 1/0 line", async () => {
      const [a, b] = ids(2, "e");
      await project.write({ id: a as string, message: "sequence", file: "0001_sequence.sql", upgrade: "CREATE SEQUENCE s;" });
      await project.write({ id: b as string, down: a, message: "slow failure", file: "0002_slow_failure.sql", upgrade: "SELECT nextval('s');\nSELECT pg_sleep(2);\nSELECT 1/0;" });
      const result = await cli("upgrade");
      expect(result.status, result.stderr).toBe(1);
      // Header lines 1-3, blank line 4, `-- athanor:upgrade` line 5: `SELECT 1/0` is on line 8.
      expect(result.stderr).toContain("0002_slow_failure.sql:8");
      expect(result.stderr).toContain("statement: SELECT 1/0");
      expect(result.stderr).toContain("division by zero");
      expect(result.stderr).toContain(`Committed before it in this run: ${a}`);
      const failed = await setup.inspect<{ duration_ms: number; last_value: string }>(
        `SELECT h.duration_ms, s.last_value FROM athanor_version_history h, s WHERE h.revision = '${b}' AND h.outcome = 'failed'`,
      );
      expect(failed).toHaveLength(1);
      expect(Number(failed[0]?.last_value)).toBe(1);
      // One pg_sleep(2), not two.
      expect(Number(failed[0]?.duration_ms)).toBeGreaterThanOrEqual(1900);
      expect(Number(failed[0]?.duration_ms)).toBeLessThan(4000);
      await project.removeFile("0002_slow_failure.sql");
      await project.removeFile("0001_sequence.sql");
      expect((await cli("stamp", "base", "--purge")).status).toBe(0);
    }, 240_000);

    it("COMMIT inside a transactional revision is refused before anything is created (exit 2, file:line and the fix)", async () => {
      const [a, b] = ids(2, "c");
      await project.write({ id: a as string, message: "before", file: "0001_before.sql", upgrade: "CREATE TABLE t1 (x int);" });
      await project.write({ id: b as string, down: a, message: "commits half", file: "0002_commits_half.sql", upgrade: "CREATE TABLE t2(x int);\nCOMMIT;\nCREATE TABLE t3(x int);\nSELECT 1/0;" });
      const result = await cli("upgrade");
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toContain("0002_commits_half.sql:7");
      expect(result.stderr).toContain("COMMIT");
      expect(result.stderr).toContain("transaction false");
      expect(result.stderr).toContain("Nothing was run");
      const tables = await setup.inspect<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_name IN ('t1', 't2', 't3')");
      expect(tables).toEqual([]);
      // lint says the same, as a danger (exit 3).
      const lint = await cli("lint", b as string);
      expect(lint.status).toBe(3);
      expect(lint.stdout).toContain("transaction-control");
      await project.removeFile("0002_commits_half.sql");
      await project.removeFile("0001_before.sql");
    }, 240_000);

    it("in a batch whose 3rd revision fails, the first two commit, the message says so and names the line, and the 3rd's side effects happen once", async () => {
      const [a, b, c, d] = ids(4, "b");
      await project.write({ id: a as string, message: "side", file: "0001_side.sql", upgrade: "CREATE TABLE side (n int);\nCREATE SEQUENCE s2;" });
      await project.write({ id: b as string, down: a, message: "two", file: "0002_two.sql", upgrade: "INSERT INTO side VALUES (2);\nSELECT nextval('s2');" });
      await project.write({ id: c as string, down: b, message: "three", file: "0003_three.sql", upgrade: "INSERT INTO side VALUES (3);\nSELECT nextval('s2');\nSELECT 1/0;" });
      await project.write({ id: d as string, down: c, message: "four", file: "0004_four.sql", upgrade: "INSERT INTO side VALUES (4);" });
      const result = await cli("upgrade");
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr).toContain("0003_three.sql:8");
      expect(result.stderr).toContain("statement: SELECT 1/0");
      expect(result.stderr).toContain(`Revision ${c} was rolled back entirely. Committed before it in this run: ${a}, ${b}.`);
      const [state] = await setup.inspect<{ versions: string[]; side: number[]; last_value: string }>(
        "SELECT (SELECT array_agg(revision ORDER BY revision) FROM athanor_version) AS versions, (SELECT array_agg(n ORDER BY n) FROM side) AS side, (SELECT last_value FROM s2) AS last_value",
      );
      expect(state?.versions).toEqual([a, b]);
      expect(state?.side.map(Number)).toEqual([2]);
      // b's nextval, then c's once (a sequence is not rolled back).
      expect(Number(state?.last_value)).toBe(2);
    }, 240_000);
  });
}
