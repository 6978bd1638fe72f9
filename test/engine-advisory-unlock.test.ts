/**
 * A revision that could release the run lock (src/run/lock.ts `holdRunLock`) is refused
 * before anything runs, as `DISCARD ALL` is (src/run/transaction-check.ts):
 * `pg_advisory_unlock_all()`, and `pg_advisory_unlock(key)` with one key (an expression
 * cannot be told from the run lock's key before it runs), also inside a `DO` block and as
 * a TypeScript revision sends it. Before, they ran: the migration session went on without
 * its run lock, and a runner started after a crash did not wait for the dead runner's
 * statement. The forms that cannot release it run: two keys, a shared release, a
 * transaction-level lock. On PostgreSQL and on a PGlite directory.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { cliTargets, withTargetProject } from "./support/cli-targets.js";
import { ids, sqlRevisionText, type EngineProject } from "./support/engine-project.js";
import { runLockKey } from "../src/run/lock.js";

const revisionIds = ids(3, "d");
const RUN_KEY = runLockKey({ schema: "public", table: "athanor_version" }).toString();

async function writeChain(project: EngineProject, second: string): Promise<void> {
  const upgrades = ["CREATE TABLE t_1 (x text);", `CREATE TABLE t_2 (x text);\n${second}`, "CREATE TABLE t_3 (x text);"];
  for (const [k, upgrade] of upgrades.entries()) {
    const id = revisionIds[k] as string;
    await project.writeFile(`${id}_r${k + 1}.sql`, sqlRevisionText({ id, down: k > 0 ? (revisionIds[k - 1] ?? null) : null, message: `r${k + 1}`, upgrade, downgrade: `DROP TABLE t_${k + 1};` }));
  }
}

async function tablesOf(setup: { inspect<Row>(sql: string): Promise<Row[]> }): Promise<string[]> {
  const [state] = await setup.inspect<{ tables: string[] | null }>("SELECT array_agg(table_name::text ORDER BY table_name::text) AS tables FROM information_schema.tables WHERE table_name ~ '^t_[0-9]+$'");
  return state?.tables ?? [];
}

for (const target of cliTargets) {
  describe(`a revision that would release the run lock (${target.name})`, () => {
    it("pg_advisory_unlock_all(), a one-key pg_advisory_unlock (the run key or any other), in a DO block too: refused before anything runs, exit 2", () =>
      withTargetProject(target, async (project, setup) => {
        for (const [statement, shown] of [
          ["SELECT pg_advisory_unlock_all();", "SELECT pg_advisory_unlock_all()"],
          [`SELECT pg_advisory_unlock(${RUN_KEY});`, `SELECT pg_advisory_unlock(${RUN_KEY})`],
          ["SELECT x FROM (SELECT pg_advisory_unlock(hashtext('jobs')::bigint) AS x) AS s;", "SELECT x FROM (SELECT pg_advisory_unlock(hashtext('jobs')::bigint) AS x) AS s"],
          ["DO $$ BEGIN PERFORM pg_advisory_unlock_all(); END $$;", "DO $$ BEGIN PERFORM pg_advisory_unlock_all(); END $$"],
          ["DO $$ BEGIN PERFORM pg_advisory_unlock(abs(42)); END $$;", "DO $$ BEGIN PERFORM pg_advisory_unlock(abs(42)); END $$"],
          // The function's name spelled with a Unicode escape (U&"...\005F..." is `_`): no word a text search finds (adv13 F3).
          ['SELECT U&"pg_advisory\\005Funlock_all"();', 'SELECT U&"pg_advisory\\005Funlock_all"()'],
        ] as const) {
          await writeChain(project, statement);
          const result = await runCli(["upgrade", "--json"], { cwd: project.dir, env: setup.env });
          expect(result.status, result.stderr).toBe(2);
          expect(result.stderr).toContain(`${revisionIds[1]}_r2.sql:7 (upgrade) has \`${shown}\`, which would release the run lock`);
          expect(result.stderr).toContain("Nothing was run.");
          expect(result.stderr).toContain("pg_advisory_xact_lock");
          expect((JSON.parse(result.stdout) as { error: { code: string } }).error.code).toBe("advisory-unlock");
          expect(await tablesOf(setup)).toEqual([]);
        }
      }), 120_000);

    it("sent by a TypeScript revision: refused before it is sent, with the same code", () =>
      withTargetProject(target, async (project, setup) => {
        await writeChain(project, "SELECT 1;");
        const id = revisionIds[1] as string;
        await project.removeFile(`${id}_r2.sql`);
        await project.writeFile(
          `${id}_r2.ts`,
          `import { defineMigration } from "athanor";\nexport default defineMigration({ revision: "${id}", down: "${revisionIds[0]}", message: "r2", async upgrade({ sql }) { await sql.unsafe("CREATE TABLE t_2 (x text)"); await sql.unsafe("SELECT pg_advisory_unlock_all()"); } });\n`,
        );
        const result = await runCli(["upgrade", "--json"], { cwd: project.dir, env: setup.env });
        expect(result.status, result.stderr).toBe(2);
        expect(result.stderr).toContain("has `SELECT pg_advisory_unlock_all()`, which would release the run lock");
        expect((JSON.parse(result.stdout) as { error: { code: string } }).error.code).toBe("advisory-unlock");
        // Transactional: the revision rolled back with the refusal; the one before it stands.
        expect(await tablesOf(setup)).toEqual(["t_1"]);
      }), 120_000);

    it("two keys, a shared release (even of the run key) and a transaction-level lock run, and the run lock is still held after them", () =>
      withTargetProject(target, async (project, setup) => {
        // On PostgreSQL the migration session holds the run lock (PGlite takes none: nothing to check there).
        const stillHeld =
          target.name === "PostgreSQL"
            ? `\nDO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted AND mode = 'ExclusiveLock' AND objsubid = 1 AND classid::bigint = (${RUN_KEY}::bigint >> 32) & 4294967295 AND objid::bigint = ${RUN_KEY}::bigint & 4294967295) THEN RAISE EXCEPTION 'the run lock is gone'; END IF; END $$;`
            : "";
        await writeChain(project, `SELECT pg_advisory_lock(1, 2);\nSELECT pg_advisory_unlock(1, 2);\nSELECT pg_advisory_xact_lock(7);\nSELECT pg_advisory_unlock_shared(${RUN_KEY});${stillHeld}`);
        const result = await runCli(["upgrade"], { cwd: project.dir, env: setup.env });
        expect(result.status, result.stderr).toBe(0);
        expect(await tablesOf(setup)).toEqual(["t_1", "t_2", "t_3"]);
      }), 120_000);
  });
}
