/**
 * adv21faults finding 3: a `transaction false` revision that fails after some of its
 * statements ran (an SQL upgrade, a TypeScript `downgrade` that throws after its `DROP
 * TABLE`) is told in a hint that contradicts itself: "the statements ... before the failing
 * one stay done, and it stays recorded as started. Nothing was committed in this run."
 * Those statements ran outside a transaction: they were committed in this run (the table
 * is gone). The sentence is keptSentence's, written for revisions rolled back whole.
 * Through the CLI, on PostgreSQL and on a PGlite directory.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { cliTargets, withTargetProject } from "./support/cli-targets.js";

const A = "a21b21c21d21";

for (const target of cliTargets) {
  describe(`adv21faults: a failed non-transactional revision's hint (${target.name})`, () => {
    it("a TypeScript downgrade that throws after its DROP TABLE: the hint does not say nothing was committed", () =>
      withTargetProject(target, async (project, setup) => {
        const cli = (...argv: string[]) => runCli(argv, { cwd: project.dir, env: setup.env });
        await project.writeFile(
          `${A}_ts.ts`,
          [
            `// athanor:revision ${A}`,
            "// athanor:message ts nontx",
            "// athanor:transaction false",
            "export default {",
            "  async upgrade({ sql }: any) { await sql`CREATE TABLE td (x int)`; },",
            '  async downgrade({ sql }: any) { await sql`DROP TABLE td`; throw new Error("boom after drop"); },',
            "};",
            "",
          ].join("\n"),
        );
        expect((await cli("upgrade")).status).toBe(0);
        const failed = await cli("downgrade", "base", "--json");
        expect(failed.status, failed.stderr).toBe(1);
        // The DROP TABLE ran outside a transaction and is committed.
        expect(await setup.inspect<{ t: string | null }>("SELECT to_regclass('td')::text AS t")).toEqual([{ t: null }]);
        const hint = (JSON.parse(failed.stdout) as { error: { hint: string } }).error.hint;
        expect(hint).toContain("stay done");
        expect(hint).not.toContain("Nothing was committed in this run");
      }), 120_000);

    it("an SQL upgrade whose second statement fails: the hint does not say nothing was committed", () =>
      withTargetProject(target, async (project, setup) => {
        const cli = (...argv: string[]) => runCli(argv, { cwd: project.dir, env: setup.env });
        await project.write({ id: A, message: "half", transactional: false, upgrade: "CREATE TABLE t1 (x int);\nSELECT 1/0;", downgrade: "DROP TABLE t1;" });
        const failed = await cli("upgrade", "--json");
        expect(failed.status, failed.stderr).toBe(1);
        expect(await setup.inspect<{ t: string | null }>("SELECT to_regclass('t1')::text AS t")).toEqual([{ t: "t1" }]);
        const hint = (JSON.parse(failed.stdout) as { error: { hint: string } }).error.hint;
        expect(hint).toContain("stay done");
        expect(hint).not.toContain("Nothing was committed in this run");
      }), 120_000);
  });
}
