/**
 * `standard_conforming_strings = off` (adv11 F1). athanor checks and splits revisions as
 * PostgreSQL reads them with the setting on; with it off the server reads
 * `'a\'; SELECT '` as ONE string, so a COMMIT athanor saw inside a string runs. Before,
 * a database (or role, or URL) with it off committed half of such a revision, said
 * "Nothing was committed", and the next run ran the committed half again. Now the run is
 * refused before anything runs (ConfigError `standard-conforming-strings-off`, exit 2),
 * naming where the setting comes from and the fix; turned on, the same revision runs once.
 *
 * A revision that turns the setting off itself: a revision sent whole is read by the
 * server with the value its round trip began with, and the session is put back after it;
 * a revision driven statement by statement (TypeScript, `transaction false`) is stopped
 * before the server reads a statement of it otherwise than athanor checked it. Before, a
 * TypeScript revision committed half of itself the same way.
 *
 * Offline SQL starts with a check that stops psql (ON_ERROR_STOP) on such a session.
 */
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { cliTargets, withTargetProject, type CliTargetSetup } from "./support/cli-targets.js";
import { queryUrl } from "./support/databases.js";
import { ids, type EngineProject } from "./support/engine-project.js";

const revisionIds = ids(6, "e");

/** The adv11 revision: a COMMIT the server runs when it reads `'a\'` with the setting off; it fails after the COMMIT. */
const SMUGGLED = "INSERT INTO runs VALUES (6);\nSELECT 'a\\'; SELECT '; COMMIT; INSERT INTO runs VALUES (66); SELECT 1/0; --';";

/** Revisions 1..5 insert their number into `runs`; revision 6 is `six`. */
async function writeRevisions(project: EngineProject, six: string | null): Promise<void> {
  for (let k = 1; k <= (six === null ? 5 : 6); k++) {
    const id = revisionIds[k - 1] as string;
    const upgrade = k === 1 ? "CREATE TABLE runs (n int);\nINSERT INTO runs VALUES (1);" : k === 6 ? (six as string) : `INSERT INTO runs VALUES (${k});`;
    await project.write({ id, down: k > 1 ? (revisionIds[k - 2] ?? null) : null, message: `rev ${k}`, upgrade, downgrade: "SELECT 1;" });
  }
}

interface State {
  runs: number[];
  versions: string[];
  history: { revision: string; outcome: string }[];
}

async function state(setup: CliTargetSetup): Promise<State> {
  const [row] = await setup.inspect<{ runs: number[] | null; versions: string[] | null; history: { revision: string; outcome: string }[] | null }>(
    `SELECT (SELECT array_agg(n ORDER BY n) FROM runs) AS runs,
            (SELECT array_agg(revision ORDER BY revision) FROM athanor_version) AS versions,
            (SELECT json_agg(json_build_object('revision', revision, 'outcome', outcome) ORDER BY id) FROM athanor_version_history WHERE revision IS NOT NULL) AS history`,
  );
  return { runs: row?.runs ?? [], versions: row?.versions ?? [], history: row?.history ?? [] };
}

const firstFive = revisionIds.slice(0, 5);
const successes = (revisions: readonly string[]) => revisions.map((revision) => ({ revision, outcome: "success" }));

const postgres = cliTargets.filter((target) => target.name === "PostgreSQL");

for (const target of postgres) {
  describe(`a migration session with standard_conforming_strings off (${target.name})`, () => {
    const databaseOf = (setup: CliTargetSetup) => new URL(setup.env["DATABASE_URL"] as string).pathname.slice(1);
    // How the setting gets off, how the test turns it on again, and what the hint must name.
    const sources = [
      {
        name: "the database's default (ALTER DATABASE ... SET)",
        off: (db: string) => `ALTER DATABASE "${db}" SET standard_conforming_strings = off`,
        on: (db: string) => `ALTER DATABASE "${db}" RESET standard_conforming_strings`,
        fix: (db: string) => `ALTER DATABASE "${db}" SET standard_conforming_strings = on`,
      },
      {
        name: "the role's default in the database (ALTER ROLE ... IN DATABASE ... SET)",
        off: (db: string) => `ALTER ROLE CURRENT_USER IN DATABASE "${db}" SET standard_conforming_strings = off`,
        on: (db: string) => `ALTER ROLE CURRENT_USER IN DATABASE "${db}" RESET standard_conforming_strings`,
        fix: (db: string) => `IN DATABASE "${db}" SET standard_conforming_strings = on`,
      },
      { name: "the URL's options (-c standard_conforming_strings=off)", off: null, on: null, fix: () => "remove `-c standard_conforming_strings=off` from the URL's `options`" },
    ] as const;

    for (const source of sources) {
      it(`from ${source.name}: refused before anything runs, nothing recorded, exit 2; turned on, the revision runs once`, () =>
        withTargetProject(target, async (project, setup) => {
          await writeRevisions(project, null);
          const first = await runCli(["upgrade"], { cwd: project.dir, env: setup.env });
          expect(first.status, first.stderr).toBe(0);
          const db = databaseOf(setup);
          const url = setup.env["DATABASE_URL"] as string;
          let env = setup.env;
          if (source.off !== null) await queryUrl(url, source.off(db));
          else {
            // %20, not URLSearchParams' `+`: libpq's URL parser decodes no `+`.
            env = { ...setup.env, DATABASE_URL: `${url}${url.includes("?") ? "&" : "?"}options=-c%20standard_conforming_strings%3Doff` };
          }
          await writeRevisions(project, SMUGGLED);

          const refused = await runCli(["upgrade"], { cwd: project.dir, env });
          expect(refused.status, refused.stderr).toBe(2);
          expect(refused.stderr).toContain("standard_conforming_strings = off");
          expect(refused.stderr).toContain("Nothing was run, nothing was recorded, and the lock was released");
          expect(refused.stderr).toContain(source.fix(db));
          expect(refused.stderr).not.toMatch(/at .*\.(js|ts):\d+/);
          // Nothing of revision 6, no row of it anywhere, and the lock is free: the next run takes it at once.
          expect(await state(setup)).toEqual({ runs: [1, 2, 3, 4, 5], versions: firstFive, history: successes(firstFive) });
          const locks = await queryUrl<{ n: number }>(url, "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
          expect(locks[0]?.n).toBe(0);
          const again = await runCli(["upgrade", "--lock-wait", "0"], { cwd: project.dir, env });
          expect(again.status, again.stderr).toBe(2);
          expect(again.stderr).toContain("standard_conforming_strings = off");

          // With the setting on, the server reads the revision as athanor does: two SELECTs, applied once.
          if (source.on !== null) await queryUrl(url, source.on(db));
          const applied = await runCli(["upgrade"], { cwd: project.dir, env: setup.env });
          expect(applied.status, applied.stderr).toBe(0);
          expect(await state(setup)).toEqual({ runs: [1, 2, 3, 4, 5, 6], versions: revisionIds, history: successes(revisionIds) });
        }), 120_000);
    }

    it("offline SQL (--sql): psql stops at the script's first statement, before anything runs; with the setting on, it applies the revision once", () =>
      withTargetProject(target, async (project, setup) => {
        await writeRevisions(project, null);
        expect((await runCli(["upgrade"], { cwd: project.dir, env: setup.env })).status).toBe(0);
        await writeRevisions(project, SMUGGLED);
        const offline = await runCli(["upgrade", "--sql", `${revisionIds[4]}:head`], { cwd: project.dir, env: setup.env });
        expect(offline.status, offline.stderr).toBe(0);
        const file = join(project.dir, "upgrade.sql");
        await writeFile(file, offline.stdout);
        const url = setup.env["DATABASE_URL"] as string;
        await queryUrl(url, `ALTER DATABASE "${databaseOf(setup)}" SET standard_conforming_strings = off`);
        const psql = () => spawnSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", file, url], { encoding: "utf8" });
        const stopped = psql();
        expect(stopped.status).toBe(3);
        expect(stopped.stderr).toContain("standard_conforming_strings is off on this session");
        expect(await state(setup)).toEqual({ runs: [1, 2, 3, 4, 5], versions: firstFive, history: successes(firstFive) });
        await queryUrl(url, `ALTER DATABASE "${databaseOf(setup)}" RESET standard_conforming_strings`);
        const ran = psql();
        expect(ran.status, ran.stderr).toBe(0);
        const after = await state(setup);
        expect([after.runs, after.versions]).toEqual([[1, 2, 3, 4, 5, 6], revisionIds]);
      }), 120_000);

    it("a run with nothing to do is not refused (the check is made only when something will run)", () =>
      withTargetProject(target, async (project, setup) => {
        await writeRevisions(project, null);
        expect((await runCli(["upgrade"], { cwd: project.dir, env: setup.env })).status).toBe(0);
        await queryUrl(setup.env["DATABASE_URL"] as string, `ALTER DATABASE "${databaseOf(setup)}" SET standard_conforming_strings = off`);
        const result = await runCli(["upgrade"], { cwd: project.dir, env: setup.env });
        expect(result.status, result.stderr).toBe(0);
      }), 120_000);
  });
}

// PostgreSQL only: the server reports the setting after every round trip that changed it (PGlite's driver is not told).
for (const target of postgres) {
  describe(`a setting changed where athanor cannot see it (${target.name})`, () => {
    it("a function an earlier revision calls turns it off: the next round trip is refused before it is sent", () =>
      withTargetProject(target, async (project, setup) => {
        await writeRevisions(project, null);
        const [five, six, seven, eight] = [revisionIds[4], ...ids(3, "f")] as [string, string, string, string];
        // 6's text holds `set_config` (it gets the restore); 7's text holds none of the session words: no restore after it.
        await project.write({ id: six, down: five, message: "rev 6", upgrade: "CREATE FUNCTION legacy_strings() RETURNS text LANGUAGE sql AS $$ SELECT set_config('standard_conforming_strings', 'off', false) $$;" });
        expect((await runCli(["upgrade"], { cwd: project.dir, env: setup.env })).status).toBe(0);
        await project.write({ id: seven, down: six, message: "rev 7", upgrade: "SELECT legacy_strings();\nINSERT INTO runs VALUES (7);" });
        await project.write({ id: eight, down: seven, message: "rev 8", upgrade: SMUGGLED.replace("(6)", "(8)") });
        // 7 travels alone (a run's first round trip), 8 in the next one.
        const result = await runCli(["upgrade"], { cwd: project.dir, env: setup.env });
        expect(result.status, result.stderr).toBe(2);
        expect(result.stderr).toContain(`Revision ${eight} did not run; the revisions before it in this run stay committed.`);
        const after = await state(setup);
        expect(after.runs).toEqual([1, 2, 3, 4, 5, 7]);
        expect(after.versions).toEqual([...revisionIds.slice(0, 5), six, seven]);
      }), 120_000);
  });
}

/** A TypeScript revision 6 that turns the setting off, then sends the adv11 statement. */
const tsRevision = (id: string, down: string) =>
  `import { defineMigration } from "athanor";
export default defineMigration({
  revision: "${id}",
  down: "${down}",
  message: "rev 6",
  async upgrade({ sql }) {
    await sql.unsafe("INSERT INTO runs VALUES (6)");
    await sql.unsafe("SET standard_conforming_strings = off");
    await sql.unsafe(${JSON.stringify("SELECT 'a\\'; SELECT '; COMMIT; INSERT INTO runs VALUES (66); --'")});
  },
});
`;

for (const target of cliTargets) {
  describe(`a revision that turns standard_conforming_strings off (${target.name})`, () => {
    it("TypeScript: stopped before its next statement, rolled back entirely, exit 2", () =>
      withTargetProject(target, async (project, setup) => {
        await writeRevisions(project, null);
        const [six, five] = [revisionIds[5] as string, revisionIds[4] as string];
        await writeFile(join(project.migrationsDir, `${six}_r6.ts`), tsRevision(six, five));
        const result = await runCli(["upgrade"], { cwd: project.dir, env: setup.env });
        expect(result.status, result.stderr).toBe(2);
        expect(result.stderr).toContain(`standard_conforming_strings was turned off on the migration session (by revision ${six}`);
        expect(result.stderr).toContain(`Revision ${six} was rolled back entirely`);
        const after = await state(setup);
        expect(after.runs).toEqual([1, 2, 3, 4, 5]);
        expect(after.versions).toEqual(firstFive);
        expect(after.history).toEqual([...successes(firstFive), { revision: six, outcome: "failed" }]);
      }), 120_000);

    it("TypeScript with --single-transaction: the plan's transaction rolled back, nothing committed, exit 2", () =>
      withTargetProject(target, async (project, setup) => {
        await writeRevisions(project, null);
        const [six, five] = [revisionIds[5] as string, revisionIds[4] as string];
        await writeFile(join(project.migrationsDir, `${six}_r6.ts`), tsRevision(six, five));
        const result = await runCli(["upgrade", "--single-transaction"], { cwd: project.dir, env: setup.env });
        expect(result.status, result.stderr).toBe(2);
        expect(result.stderr).toContain("The plan's transaction was rolled back: nothing of this run was committed.");
        // Even revision 1's table is gone with the plan's transaction.
        const [after] = await setup.inspect<{ runs: string | null; history: { revision: string; outcome: string }[] | null }>(
          "SELECT to_regclass('runs')::text AS runs, (SELECT json_agg(json_build_object('revision', revision, 'outcome', outcome) ORDER BY id) FROM athanor_version_history WHERE revision IS NOT NULL) AS history",
        );
        expect(after).toEqual({ runs: null, history: [{ revision: six, outcome: "failed" }] });
      }), 120_000);

    it("`transaction false`: stopped before its next statement, recorded as started, exit 2", () =>
      withTargetProject(target, async (project, setup) => {
        await writeRevisions(project, null);
        const [six, five] = [revisionIds[5] as string, revisionIds[4] as string];
        // As athanor reads it: one statement of two strings. With the setting off the server would run the INSERT between them.
        const upgrade = "SET standard_conforming_strings = off;\nSELECT 'a\\', '; INSERT INTO runs VALUES (66); --';";
        await project.write({ id: six, down: five, message: "rev 6", upgrade, transactional: false });
        const result = await runCli(["upgrade"], { cwd: project.dir, env: setup.env });
        expect(result.status, result.stderr).toBe(2);
        expect(result.stderr).toContain(`Revision ${six} is non-transactional: what it ran before stays, and it is recorded as started`);
        const after = await state(setup);
        expect(after.runs).toEqual([1, 2, 3, 4, 5]);
        expect(after.history).toEqual([...successes(firstFive), { revision: six, outcome: "started" }, { revision: six, outcome: "failed" }]);
      }), 120_000);

    it("SQL sent whole: read as athanor reads it, the next revision starts with the setting on again", () =>
      withTargetProject(target, async (project, setup) => {
        await writeRevisions(project, null);
        // Applied first, so that 6 travels alone and 7 in the next round trip.
        expect((await runCli(["upgrade"], { cwd: project.dir, env: setup.env })).status).toBe(0);
        const [six, five] = [revisionIds[5] as string, revisionIds[4] as string];
        await project.write({ id: six, down: five, message: "rev 6", upgrade: "SET standard_conforming_strings = off;\nINSERT INTO runs VALUES (6);" });
        const seven = ids(1, "f")[0] as string;
        await project.write({ id: seven, down: six, message: "rev 7", upgrade: "SELECT 'a\\', '; INSERT INTO runs VALUES (66); --';\nINSERT INTO runs VALUES (7);" });
        const result = await runCli(["upgrade"], { cwd: project.dir, env: setup.env });
        expect(result.status, result.stderr).toBe(0);
        const after = await state(setup);
        expect(after.runs).toEqual([1, 2, 3, 4, 5, 6, 7]);
        expect(after.versions).toEqual([...revisionIds, seven]);
      }), 120_000);
  });
}
