/**
 * `DEALLOCATE ALL` in a revision (SQL, `transaction false`, or a TypeScript revision's
 * `sql.unsafe`) drops the statement athanor prepared on the migration session to record
 * each revision, which no rollback brings back. It is not refused (trust9): that revision
 * and every later one of the run, in the same round trip or the next, are recorded by
 * INSERTs instead, on PostgreSQL and on a PGlite directory (before, the revision was
 * refused, exit 2, at every run until the file changed). `DEALLOCATE` of a statement of the
 * revision's own, by name, runs too. `DISCARD ALL` (only possible in a `transaction false`
 * revision) is still refused (`discard-all`): it releases the run lock; so is `RESET ALL`
 * in a transactional SQL revision (`reset-all`), which resets the start time its record
 * reads ("invalid input syntax for type double precision"). In a `transaction false`
 * revision `RESET ALL` runs: its record is timed by athanor, and the session's settings
 * are put back after it as after any revision.
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

/** The revisions recorded as applied, each with one success row in the history. */
async function recorded(setup: { inspect<Row>(sql: string): Promise<Row[]> }): Promise<string[]> {
  const rows = await setup.inspect<{ revision: string }>("SELECT v.revision FROM athanor_version v WHERE v.state = 'applied' AND (SELECT count(*) FROM athanor_version_history h WHERE h.revision = v.revision AND h.direction = 'up' AND h.outcome = 'success') = 1 ORDER BY 1");
  return rows.map((row) => row.revision);
}

for (const target of cliTargets) {
  describe(`DEALLOCATE in a revision (${target.name})`, () => {
    for (const transactional of [true, false]) {
      it(`DEALLOCATE ALL in ${transactional ? "a transactional" : "a transaction false"} SQL revision: runs, and it and the revisions after it are recorded`, () =>
        withTargetProject(target, async (project, setup) => {
          await writeChain(project, "DEALLOCATE ALL;", transactional);
          const result = await runCli(["upgrade"], { cwd: project.dir, env: setup.env });
          expect(result.status, result.stderr).toBe(0);
          expect(await tablesOf(setup)).toEqual(["t_1", "t_2", "t_3"]);
          expect(await recorded(setup)).toEqual(revisionIds);
          const down = await runCli(["downgrade", "base"], { cwd: project.dir, env: setup.env });
          expect(down.status, down.stderr).toBe(0);
          expect(await tablesOf(setup)).toEqual([]);
        }), 120_000);
    }

    it("DEALLOCATE ALL sent by a TypeScript revision: runs, and the SQL revision after it is recorded", () =>
      withTargetProject(target, async (project, setup) => {
        await writeChain(project, "SELECT 1;");
        const id = revisionIds[1] as string;
        await project.removeFile(`${id}_r2.sql`);
        await project.writeFile(
          `${id}_r2.ts`,
          `import { defineMigration } from "athanor";\nexport default defineMigration({ revision: "${id}", down: "${revisionIds[0]}", message: "r2", async upgrade({ sql }) { await sql.unsafe("CREATE TABLE t_2 (x text)"); await sql.unsafe("DEALLOCATE ALL"); } });\n`,
        );
        const result = await runCli(["upgrade"], { cwd: project.dir, env: setup.env });
        expect(result.status, result.stderr).toBe(0);
        expect(await tablesOf(setup)).toEqual(["t_1", "t_2", "t_3"]);
        expect(await recorded(setup)).toEqual(revisionIds);
      }), 120_000);

    it("DISCARD ALL in a transaction false revision, RESET ALL in a transactional one: refused before anything runs", () =>
      withTargetProject(target, async (project, setup) => {
        for (const [statement, code, transactional] of [
          ["DISCARD ALL;", "discard-all", false],
          ["RESET ALL;", "reset-all", true],
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

    it("RESET ALL in a transaction false revision: runs, every revision recorded", () =>
      withTargetProject(target, async (project, setup) => {
        await writeChain(project, "RESET ALL;", false);
        const result = await runCli(["upgrade"], { cwd: project.dir, env: setup.env });
        expect(result.status, result.stderr).toBe(0);
        expect(await recorded(setup)).toEqual(revisionIds);
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
