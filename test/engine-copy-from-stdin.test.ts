/**
 * A revision with `COPY ... FROM STDIN` (a pg_dump data section pasted into a revision) is
 * refused before anything runs (RevisionError `copy-from-stdin`, exit 2), on PostgreSQL and
 * on a PGlite directory. athanor sends no COPY data: PostgreSQL would fail the revision,
 * and PGlite's in-process exec waited for the data for ever, inside WebAssembly, with the
 * event loop stopped (signals ignored, the lock never released). The words in a comment
 * or a string, and `COPY ... TO STDOUT`, are not refused.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { spawnCli } from "./support/cli.js";
import { cliTargets, withTargetProject } from "./support/cli-targets.js";
import { ids, sqlRevisionText } from "./support/engine-project.js";

const revisionIds = ids(3, "e");

for (const target of cliTargets) {
  describe(`a revision with COPY FROM STDIN (${target.name})`, () => {
    async function write(dir: string, upgrades: readonly string[]): Promise<void> {
      for (const [k, upgrade] of upgrades.entries()) {
        const id = revisionIds[k] as string;
        await writeFile(join(dir, `${id}_r${k + 1}.sql`), sqlRevisionText({ id, down: k > 0 ? (revisionIds[k - 1] ?? null) : null, message: `r${k + 1}`, upgrade, downgrade: `DROP TABLE t_${k + 1};` }));
      }
    }

    it("is refused before anything runs, naming the file and line; nothing recorded (the real binary, which never hangs)", () =>
      withTargetProject(target, async (project, setup) => {
        await write(project.migrationsDir, ["CREATE TABLE t_1 (x int);", "CREATE TABLE t_2 (x int);\n\nCOPY public.t_2 (x) FROM stdin;\n1\n2\n\\.\n", "CREATE TABLE t_3 (x int);"]);
        const result = await spawnCli(["upgrade"], { cwd: project.dir, env: setup.env, timeoutMs: 60_000 });
        expect(result.status, result.stderr).toBe(2);
        expect(result.stderr).toMatch(new RegExp(`revision ${revisionIds[1]} \\(r2\\) cannot run: ${revisionIds[1]}_r2\\.sql:8 \\(upgrade\\) has \`COPY public\\.t_2 \\(x\\) FROM stdin;\``));
        expect(result.stderr).toContain("Nothing was run.");
        expect(result.stderr).toContain("INSERT");
        expect(result.stderr).not.toMatch(/at .*\.(js|ts|cjs):\d+/);
        const [state] = await setup.inspect<{ tables: string[] | null }>(
          "SELECT (SELECT array_agg(table_name::text ORDER BY table_name::text) FROM information_schema.tables WHERE table_name ~ '^t_[0-9]+$') AS tables",
        );
        expect(state?.tables ?? []).toEqual([]);
      }), 120_000);

    it("the words in a comment or a string, and COPY TO STDOUT, run", () =>
      withTargetProject(target, async (project, setup) => {
        await write(project.migrationsDir, [
          "CREATE TABLE t_1 (x text);\n-- COPY t_1 FROM STDIN;\nINSERT INTO t_1 VALUES ('COPY t_1 FROM STDIN;');",
          "CREATE TABLE t_2 (x int);\nCOPY t_1 TO STDOUT;\nCOPY (SELECT x FROM t_1) TO STDOUT;",
        ]);
        const result = await spawnCli(["upgrade"], { cwd: project.dir, env: setup.env, timeoutMs: 60_000 });
        expect(result.status, result.stderr).toBe(0);
        const rows = await setup.inspect<{ x: string }>("SELECT x FROM t_1");
        expect(rows).toEqual([{ x: "COPY t_1 FROM STDIN;" }]);
      }), 120_000);
  });
}
