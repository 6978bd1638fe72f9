/**
 * A transactional SQL revision with `DEALLOCATE ALL` is refused before anything runs
 * (RevisionError `deallocate`, exit 2), on PostgreSQL and on a PGlite directory: it would
 * drop the statement athanor prepares to record each revision on the migration session,
 * which no rollback brings back, so that revision and every later one in the run could
 * not be recorded ("prepared statement does not exist") — at every run, until the file
 * changed. `DEALLOCATE` of a statement of the revision's own, by name, stays allowed.
 */
import { describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCli } from "./support/cli.js";
import { cliTargets, withTargetProject } from "./support/cli-targets.js";
import { ids, sqlRevisionText, type EngineProject } from "./support/engine-project.js";

const revisionIds = ids(3, "e");

async function writeChain(project: EngineProject, second: string): Promise<void> {
  const upgrades = ["CREATE TABLE t_1 (x text);", `CREATE TABLE t_2 (x text);\n${second}`, "CREATE TABLE t_3 (x text);"];
  for (const [k, upgrade] of upgrades.entries()) {
    const id = revisionIds[k] as string;
    await writeFile(
      join(project.migrationsDir, `${id}_r${k + 1}.sql`),
      sqlRevisionText({ id, down: k > 0 ? (revisionIds[k - 1] ?? null) : null, message: `r${k + 1}`, upgrade, downgrade: `DROP TABLE t_${k + 1};` }),
    );
  }
}

for (const target of cliTargets) {
  describe(`DEALLOCATE in a revision (${target.name})`, () => {
    it("DEALLOCATE ALL: refused before anything runs, naming the file and line", () =>
      withTargetProject(target, async (project, setup) => {
        await writeChain(project, "DEALLOCATE ALL;");
        const result = await runCli(["upgrade"], { cwd: project.dir, env: setup.env });
        expect(result.status, result.stderr).toBe(2);
        expect(result.stderr).toContain(`revision ${revisionIds[1]} (r2) cannot run: `);
        expect(result.stderr).toContain("has `DEALLOCATE ALL`");
        expect(result.stderr).toContain("Nothing was run.");
        const [state] = await setup.inspect<{ tables: string[] | null }>(
          "SELECT array_agg(table_name::text ORDER BY table_name::text) AS tables FROM information_schema.tables WHERE table_name ~ '^t_[0-9]+$'",
        );
        expect(state?.tables ?? []).toEqual([]);
      }), 120_000);

    it("DEALLOCATE of the revision's own statement by name: runs, every revision recorded", () =>
      withTargetProject(target, async (project, setup) => {
        await writeChain(project, "PREPARE mine AS SELECT 1;\nDEALLOCATE mine;");
        const result = await runCli(["upgrade"], { cwd: project.dir, env: setup.env });
        expect(result.status, result.stderr).toBe(0);
        const rows = await setup.inspect<{ n: number }>("SELECT count(*)::int AS n FROM athanor_version");
        expect(rows[0]?.n).toBe(3);
      }), 120_000);
  });
}
