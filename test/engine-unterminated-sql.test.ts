/**
 * A revision whose SQL ends inside a block comment, a string, a quoted identifier or a
 * dollar quote is refused before anything runs (RevisionError `unterminated-sql`, exit 2),
 * on PostgreSQL and on a PGlite directory. Without the check, revisions 2 and 3 below share
 * a round trip: 2's open comment swallows its own bookkeeping, its COMMIT and 3's BEGIN up
 * to where 3 closes it, so 2 and 3 commit as one transaction, 2 unrecorded — a revision
 * applied with no version row.
 */
import { describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCli } from "./support/cli.js";
import { cliTargets, withTargetProject } from "./support/cli-targets.js";
import { ids, sqlRevisionText } from "./support/engine-project.js";

const revisionIds = ids(3, "c");

for (const target of cliTargets) {
  describe(`a revision that ends inside a comment or a quote (${target.name})`, () => {
    for (const [open, ending, next] of [
      ["block comment", "/* TODO: an index", "*/ CREATE TABLE t_3 (x text);"],
      ["quoted string", "INSERT INTO t_2 VALUES ('not closed", "'); CREATE TABLE t_3 (x text);"],
      ["dollar-quoted string", "DO $body$ BEGIN NULL; END", "$body$; CREATE TABLE t_3 (x text);"],
    ] as const) {
      it(`ends inside a ${open}: refused before anything runs, nothing recorded`, () =>
        withTargetProject(target, async (project, setup) => {
          const upgrades = ["CREATE TABLE t_1 (x text);", `CREATE TABLE t_2 (x text);\n${ending}`, next];
          for (const [k, upgrade] of upgrades.entries()) {
            const id = revisionIds[k] as string;
            await writeFile(
              join(project.migrationsDir, `${id}_r${k + 1}.sql`),
              sqlRevisionText({ id, down: k > 0 ? (revisionIds[k - 1] ?? null) : null, message: `r${k + 1}`, upgrade, downgrade: `DROP TABLE t_${k + 1};` }),
            );
          }
          const result = await runCli(["upgrade"], { cwd: project.dir, env: setup.env });
          expect(result.status, result.stderr).toBe(2);
          expect(result.stderr).toContain(`revision ${revisionIds[1]} (r2) cannot run: its upgrade section`);
          expect(result.stderr).toContain(`ends inside a ${open}`);
          expect(result.stderr).toContain("Nothing was run.");
          expect(result.stderr).not.toMatch(/at .*\.(js|ts):\d+/);
          const [state] = await setup.inspect<{ tables: string[] | null; versions: string | null }>(
            `SELECT (SELECT array_agg(table_name::text ORDER BY table_name::text) FROM information_schema.tables WHERE table_name ~ '^t_[0-9]+$') AS tables,
                    to_regclass('athanor_version')::text AS versions`,
          );
          expect(state?.tables ?? []).toEqual([]);
          if (state?.versions !== null && state?.versions !== undefined) {
            const rows = await setup.inspect<{ n: number }>("SELECT count(*)::int AS n FROM athanor_version");
            expect(rows[0]?.n).toBe(0);
          }
        }), 120_000);
    }
  });
}
