/**
 * A SQL revision with `DEALLOCATE ALL` is refused before anything runs (RevisionError
 * `deallocate`, exit 2), transactional or not, on PostgreSQL and on a PGlite directory: it would
 * drop the statement athanor prepares to record each revision on the migration session,
 * which no rollback brings back, so that revision and every later one in the run could
 * not be recorded ("prepared statement does not exist") — at every run, until the file
 * changed. `DEALLOCATE` of a statement of the revision's own, by name, stays allowed.
 * `DISCARD ALL` (only possible in a `transaction false` revision) is refused the same way
 * (`discard-all`): it deallocates too, and releases the run lock; so is `RESET ALL`
 * (`reset-all`), which reset athanor's settings (each record's start time: "invalid input
 * syntax for type double precision"; the timeouts of later revisions); so is any of them
 * sent by a TypeScript revision's `sql.unsafe`.
 */
import { describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCli } from "./support/cli.js";
import { cliTargets, withTargetProject } from "./support/cli-targets.js";
import { ids, sqlRevisionText, type EngineProject } from "./support/engine-project.js";

const revisionIds = ids(3, "e");

async function writeChain(project: EngineProject, second: string, transactional = true): Promise<void> {
  const upgrades = ["CREATE TABLE t_1 (x text);", `CREATE TABLE t_2 (x text);\n${second}`, "CREATE TABLE t_3 (x text);"];
  for (const [k, upgrade] of upgrades.entries()) {
    const id = revisionIds[k] as string;
    await writeFile(
      join(project.migrationsDir, `${id}_r${k + 1}.sql`),
      sqlRevisionText({ id, down: k > 0 ? (revisionIds[k - 1] ?? null) : null, message: `r${k + 1}`, upgrade, downgrade: `DROP TABLE t_${k + 1};`, ...(k === 1 && !transactional ? { transactional: false } : {}) }),
    );
  }
}

async function tablesOf(setup: { inspect<Row>(sql: string): Promise<Row[]> }): Promise<string[]> {
  const [state] = await setup.inspect<{ tables: string[] | null }>(
    "SELECT array_agg(table_name::text ORDER BY table_name::text) AS tables FROM information_schema.tables WHERE table_name ~ '^t_[0-9]+$'",
  );
  return state?.tables ?? [];
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

    it("DEALLOCATE ALL or DISCARD ALL in a transaction false revision, RESET ALL in any: refused before anything runs", () =>
      withTargetProject(target, async (project, setup) => {
        for (const [statement, code, transactional] of [
          ["DEALLOCATE ALL;", "deallocate", false],
          ["DISCARD ALL;", "discard-all", false],
          ["RESET ALL;", "reset-all", true],
          ["RESET ALL;", "reset-all", false],
        ] as const) {
          await writeChain(project, statement, transactional);
          const result = await runCli(["upgrade", "--json"], { cwd: project.dir, env: setup.env });
          expect(result.status, result.stderr).toBe(2);
          expect(result.stderr).toContain(`has \`${statement.slice(0, -1)}\``);
          expect(result.stderr).toContain("Nothing was run.");
          expect((JSON.parse(result.stdout) as { error: { code: string } }).error.code).toBe(code);
          expect(await tablesOf(setup)).toEqual([]);
        }
      }), 120_000);

    it("DISCARD ALL sent by a TypeScript revision (transaction false): refused before it is sent, the revisions before it recorded", () =>
      withTargetProject(target, async (project, setup) => {
        await writeChain(project, "SELECT 1;");
        const id = revisionIds[2] as string;
        await writeFile(join(project.migrationsDir, `${id}_r3.sql`), "");
        await writeFile(
          join(project.migrationsDir, `${id}_r3.ts`),
          `import { defineMigration } from "athanor";\nexport default defineMigration({ revision: "${id}", down: "${revisionIds[1]}", message: "r3", transaction: false, async upgrade({ sql }) { await sql.unsafe("DISCARD ALL"); } });\n`,
        );
        await import("node:fs/promises").then((fs) => fs.rm(join(project.migrationsDir, `${id}_r3.sql`)));
        const result = await runCli(["upgrade"], { cwd: project.dir, env: setup.env });
        expect(result.status, result.stderr).toBe(2);
        expect(result.stderr).toContain("has `DISCARD ALL`");
        expect(result.stderr).toContain("It was not sent;");
        const rows = await setup.inspect<{ revision: string; state: string }>("SELECT revision, state FROM athanor_version ORDER BY revision");
        // Non-transactional: recorded as started before it ran, as any such revision.
        expect(rows.map((row) => [row.revision, row.state])).toEqual([
          [revisionIds[0], "applied"],
          [revisionIds[1], "applied"],
          [revisionIds[2], "started"],
        ]);
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
