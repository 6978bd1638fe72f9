/**
 * Exactly once, atomic, honest (issue #12), through the CLI on PostgreSQL and on a PGlite
 * directory: a failing revision is never run a second time (its side effects outside the
 * transaction happen once, and it fails in one sleep's time), the failing statement is
 * named from the server's answer, transaction control in a transactional revision is
 * refused before anything runs, and after a failure in a batch the message says which
 * revisions committed.
 */
import { describe, expect, it } from "vitest";
import { runCli, type CliResult } from "./support/cli.js";
import { cliTargets, type Inspect } from "./support/cli-targets.js";
import { createEngineProject, ids, type EngineProject } from "./support/engine-project.js";

for (const target of cliTargets) {
  describe(`exactly once through the CLI (${target.name})`, () => {
    /** A fresh project and database for one test, removed afterwards. */
    async function withProject(test: (project: EngineProject, cli: (...argv: string[]) => Promise<CliResult>, inspect: Inspect) => Promise<void>): Promise<void> {
      const project = await createEngineProject();
      const setup = await target.setUp(project);
      try {
        await test(project, (...argv) => runCli(argv, { cwd: project.dir, env: setup.env }), setup.inspect);
      } finally {
        await setup.drop();
        await project.remove();
      }
    }

    it("a failing revision runs once: its sequence moves once, it fails in one sleep's time, and the error names the 1/0 line", () =>
      withProject(async (project, cli, inspect) => {
        const [a, b] = ids(2, "e") as [string, string];
        await project.write({ id: a, message: "sequence", file: "0001_sequence.sql", upgrade: "CREATE SEQUENCE s;" });
        await project.write({ id: b, down: a, message: "slow failure", file: "0002_slow_failure.sql", upgrade: "SELECT nextval('s');\nSELECT pg_sleep(2);\nSELECT 1/0;" });
        const result = await cli("upgrade");
        expect(result.status, result.stderr).toBe(1);
        const failed = await inspect<{ duration_ms: number; last_value: string }>(
          `SELECT h.duration_ms, s.last_value FROM athanor_version_history h, s WHERE h.revision = '${b}' AND h.outcome = 'failed'`,
        );
        expect(failed).toHaveLength(1);
        expect(Number(failed[0]?.last_value)).toBe(1);
        // One pg_sleep(2), not two.
        expect(Number(failed[0]?.duration_ms)).toBeGreaterThanOrEqual(1900);
        expect(Number(failed[0]?.duration_ms)).toBeLessThan(4000);
        // Header lines 1-3, blank line 4, `-- athanor:upgrade` line 5: `SELECT 1/0` is on line 8.
        expect(result.stderr).toContain("0002_slow_failure.sql:8");
        expect(result.stderr).toContain("statement: SELECT 1/0");
        expect(result.stderr).toContain("division by zero");
        expect(result.stderr).toContain(`Revision ${b} was rolled back entirely. Committed before it in this run (flushed to the server's disk): ${a}.`);
      }), 240_000);

    it("COMMIT inside a transactional revision is refused before anything is created (exit 2, file:line and the fix)", () =>
      withProject(async (project, cli, inspect) => {
        const [a, b] = ids(2, "c") as [string, string];
        await project.write({ id: a, message: "before", file: "0001_before.sql", upgrade: "CREATE TABLE t1 (x int);" });
        await project.write({ id: b, down: a, message: "commits half", file: "0002_commits_half.sql", upgrade: "CREATE TABLE t2(x int);\nCOMMIT;\nCREATE TABLE t3(x int);\nSELECT 1/0;" });
        const result = await cli("upgrade");
        const tables = await inspect<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_name IN ('t1', 't2', 't3')");
        expect(tables).toEqual([]);
        expect(result.status, result.stderr).toBe(2);
        expect(result.stderr).toContain("0002_commits_half.sql:7");
        expect(result.stderr).toContain("COMMIT");
        expect(result.stderr).toContain("transaction false");
        expect(result.stderr).toContain("Nothing was run");
        // lint says the same, as a danger (exit 3).
        const lint = await cli("lint", b);
        expect(lint.stdout).toContain("transaction-control");
        expect(lint.status).toBe(3);
      }), 240_000);

    it("in a batch whose 3rd revision fails, the first two commit, the message says so and names the line, and the 3rd's side effects happen once", () =>
      withProject(async (project, cli, inspect) => {
        const [a, b, c, d] = ids(4, "b") as [string, string, string, string];
        await project.write({ id: a, message: "side", file: "0001_side.sql", upgrade: "CREATE TABLE side (n int);\nCREATE SEQUENCE s2;" });
        await project.write({ id: b, down: a, message: "two", file: "0002_two.sql", upgrade: "INSERT INTO side VALUES (2);\nSELECT nextval('s2');" });
        await project.write({ id: c, down: b, message: "three", file: "0003_three.sql", upgrade: "INSERT INTO side VALUES (3);\nSELECT nextval('s2');\nSELECT 1/0;" });
        await project.write({ id: d, down: c, message: "four", file: "0004_four.sql", upgrade: "INSERT INTO side VALUES (4);" });
        const result = await cli("upgrade");
        expect(result.status, result.stderr).toBe(1);
        const [state] = await inspect<{ versions: string[]; side: number[]; last_value: string }>(
          "SELECT (SELECT array_agg(revision ORDER BY revision) FROM athanor_version) AS versions, (SELECT array_agg(n ORDER BY n) FROM side) AS side, (SELECT last_value FROM s2) AS last_value",
        );
        expect(state?.versions).toEqual([a, b]);
        expect(state?.side.map(Number)).toEqual([2]);
        // b's nextval, then c's once (a sequence is not rolled back).
        expect(Number(state?.last_value)).toBe(2);
        expect(result.stderr).toContain("0003_three.sql:8");
        expect(result.stderr).toContain("statement: SELECT 1/0");
        expect(result.stderr).toContain(`Revision ${c} was rolled back entirely. Committed before it in this run (flushed to the server's disk): ${a}, ${b}.`);
      }), 240_000);

    it("a TypeScript revision's sql.unsafe(\"COMMIT\") is refused before it is sent; the revision rolls back", () =>
      withProject(async (project, cli, inspect) => {
        const [a] = ids(1, "d") as [string];
        await project.writeFile(
          "0001_ts.ts",
          `import { defineMigration } from "athanor";\nexport default defineMigration({ revision: "${a}", message: "commits", async upgrade({ sql }) { await sql.unsafe("CREATE TABLE t4 (x int)"); await sql.unsafe("COMMIT"); await sql.unsafe("CREATE TABLE t5 (x int)"); } });\n`,
        );
        const result = await cli("upgrade");
        expect(await inspect("SELECT table_name FROM information_schema.tables WHERE table_name IN ('t4', 't5')")).toEqual([]);
        expect(result.status, result.stderr).toBe(2);
        expect(result.stderr).toContain("0001_ts.ts");
        expect(result.stderr).toContain("`COMMIT`");
        expect(await inspect(`SELECT outcome FROM athanor_version_history WHERE revision = '${a}'`)).toEqual([{ outcome: "failed" }]);
      }), 240_000);
  });
}
