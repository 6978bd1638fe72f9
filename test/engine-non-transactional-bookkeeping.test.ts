/**
 * A `transaction false` revision leaves the truth in the database whatever ends it
 * (trust7a, finding 4): its `started` mark (version row and a `started` history row) is
 * committed before its first statement, and its completion or failure is written with
 * settings athanor controls, not those the revision left on the session (read-only
 * transactions, another role). A killed connection leaves the `started` row; the next run
 * refuses to run the revision again (exit 5, `athanor resolve`), so its first statements
 * ran once. Through the CLI, on PostgreSQL and on a PGlite directory (the killed
 * connection on PostgreSQL only: PGlite has no server backend to kill).
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { cliTargets, withTargetProject, type CliTargetSetup } from "./support/cli-targets.js";
import { queryUrl } from "./support/databases.js";
import { ids, type EngineProject } from "./support/engine-project.js";

interface HistoryRow {
  direction: string;
  revision: string;
  outcome: string;
  db_user: string;
}

async function history(setup: CliTargetSetup): Promise<HistoryRow[]> {
  return setup.inspect<HistoryRow>("SELECT direction, revision, outcome, db_user FROM athanor_version_history ORDER BY id");
}

async function versionState(setup: CliTargetSetup, revision: string): Promise<string | null> {
  const rows = await setup.inspect<{ state: string }>(`SELECT state FROM athanor_version WHERE revision = '${revision}'`);
  return rows[0]?.state ?? null;
}

/** A revision whose first statement counts its runs, then `rest`. */
async function writeCounting(project: EngineProject, id: string, down: string, rest: string): Promise<void> {
  await project.write({ id, down, message: "non-transactional", transactional: false, upgrade: `INSERT INTO runs VALUES (1);\n${rest}`, downgrade: "SELECT 1;" });
}

for (const target of cliTargets) {
  describe(`non-transactional bookkeeping under faults (${target.name})`, () => {
    const cli = (project: EngineProject, setup: CliTargetSetup, ...argv: string[]) => runCli(argv, { cwd: project.dir, env: setup.env });
    const runs = async (setup: CliTargetSetup) => Number((await setup.inspect<{ n: string }>("SELECT count(*) AS n FROM runs"))[0]?.n);

    it("a failure after the session went read-only: started and failed rows, and the next run refuses instead of running it again", () =>
      withTargetProject(target, async (project, setup) => {
        const [a, b] = ids(2, "a") as [string, string];
        await project.write({ id: a, message: "runs", upgrade: "CREATE TABLE runs (n int);" });
        await project.write({ id: b, down: a, message: "read-only then fails", transactional: false, upgrade: "INSERT INTO runs VALUES (1);\nSET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;\nSELECT 1/0;" });
        const first = await cli(project, setup, "upgrade");
        expect(first.status, first.stderr).toBe(1);
        expect(await history(setup)).toMatchObject([
          { direction: "up", revision: a, outcome: "success" },
          { direction: "up", revision: b, outcome: "started" },
          { direction: "up", revision: b, outcome: "failed" },
        ]);
        const again = await cli(project, setup, "upgrade");
        expect(again.status, again.stderr).toBe(5);
        expect(again.stderr).toContain(`athanor resolve ${b}`);
        expect(await runs(setup)).toBe(1);
        const log = await cli(project, setup, "log", "--json");
        // `log` shows the started row (its order against the failed row follows their start times, which may tie).
        expect((JSON.parse(log.stdout) as { entries: { outcome: string }[] }).entries.map((e) => e.outcome).sort()).toEqual(["failed", "started", "success"]);
      }), 120_000);

    it("a revision that sets default_transaction_read_only and succeeds is recorded as applied", () =>
      withTargetProject(target, async (project, setup) => {
        const [a, b] = ids(2, "b") as [string, string];
        await project.write({ id: a, message: "runs", upgrade: "CREATE TABLE runs (n int);" });
        await writeCounting(project, b, a, "SET default_transaction_read_only = on;\nSELECT 1;");
        const result = await cli(project, setup, "upgrade");
        expect(result.status, result.stderr).toBe(0);
        expect(await versionState(setup, b)).toBe("applied");
        expect((await history(setup)).map((row) => row.outcome)).toEqual(["success", "started", "success"]);
      }), 120_000);

    it("after SET SESSION AUTHORIZATION to a role that cannot write the version table, the end is still recorded, as athanor's role", () =>
      withTargetProject(target, async (project, setup) => {
        const role = `t7a_nowrite_${randomBytes(4).toString("hex")}`;
        const [a, b, c] = ids(3, "c") as [string, string, string];
        await project.write({ id: a, message: "runs", upgrade: `CREATE TABLE runs (n int);\nCREATE ROLE ${role};\nGRANT INSERT ON runs TO ${role};` });
        await writeCounting(project, b, a, `SET SESSION AUTHORIZATION ${role};\nSELECT 1;`);
        await writeCounting(project, c, b, `SET ROLE ${role};\nSELECT 1/0;`);
        try {
          const result = await cli(project, setup, "upgrade");
          expect(result.status, result.stderr).toBe(1);
          expect(await versionState(setup, b)).toBe("applied");
          expect(await versionState(setup, c)).toBe("started");
          const rows = await history(setup);
          expect(rows.map((row) => `${row.revision}:${row.outcome}`)).toEqual([`${a}:success`, `${b}:started`, `${b}:success`, `${c}:started`, `${c}:failed`]);
          expect(new Set(rows.map((row) => row.db_user)).has(role)).toBe(false);
          expect((await cli(project, setup, "upgrade")).status).toBe(5);
          expect(await runs(setup)).toBe(2);
        } finally {
          if (target.name === "PostgreSQL") await queryUrl(setup.env["DATABASE_URL"] as string, `DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => {});
        }
      }), 120_000);

    it("a history table made before the started outcome existed is widened, and the revision is recorded", () =>
      withTargetProject(target, async (project, setup) => {
        const [a, b] = ids(2, "e") as [string, string];
        // The tables as earlier athanor versions made them (outcome: success or failed only).
        for (const statement of [
          "CREATE TABLE athanor_version (revision text PRIMARY KEY, checksum text NOT NULL, state text NOT NULL DEFAULT 'applied' CHECK (state IN ('applied', 'started')), applied_at timestamptz NOT NULL DEFAULT clock_timestamp(), applied_by text NOT NULL DEFAULT current_user, duration_ms integer)",
          "CREATE TABLE athanor_version_history (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, environment text NOT NULL, direction text NOT NULL CHECK (direction IN ('up', 'down', 'stamp', 'resolve', 'repair')), revision text, db_user text NOT NULL DEFAULT current_user, os_user text, host text, tool_version text NOT NULL, started_at timestamptz NOT NULL DEFAULT clock_timestamp(), duration_ms integer, outcome text NOT NULL CHECK (outcome IN ('success', 'failed')), error text, note text)",
          "CREATE TABLE athanor_version_meta (key text PRIMARY KEY, value text NOT NULL, updated_at timestamptz NOT NULL DEFAULT clock_timestamp())",
        ]) {
          await setup.inspect(statement);
        }
        await project.write({ id: a, message: "runs", upgrade: "CREATE TABLE runs (n int);" });
        await writeCounting(project, b, a, "SELECT 1;");
        const result = await cli(project, setup, "upgrade");
        expect(result.status, result.stderr).toBe(0);
        expect((await history(setup)).map((row) => row.outcome)).toEqual(["success", "started", "success"]);
      }), 120_000);

    if (target.name === "PostgreSQL") {
      it("pg_terminate_backend of the revision's backend while it sleeps leaves the started rows, and the next run refuses", () =>
        withTargetProject(target, async (project, setup) => {
          const [a, b] = ids(2, "d") as [string, string];
          await project.write({ id: a, message: "runs", upgrade: "CREATE TABLE runs (n int);" });
          await writeCounting(project, b, a, "SELECT pg_sleep(30);");
          const url = setup.env["DATABASE_URL"] as string;
          const running = cli(project, setup, "upgrade");
          let killed = 0;
          for (let i = 0; i < 300 && killed === 0; i++) {
            const rows = await queryUrl<{ t: boolean }>(url, "SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep(30)%' AND pid <> pg_backend_pid()");
            killed = rows.length;
            if (killed === 0) await new Promise((resolve) => setTimeout(resolve, 100));
          }
          expect(killed).toBe(1);
          const result = await running;
          expect(result.status, result.stderr).toBe(1);
          expect(result.stderr).toContain("connection to the server was lost");
          expect(await versionState(setup, b)).toBe("started");
          expect((await history(setup)).map((row) => `${row.revision}:${row.outcome}`)).toEqual([`${a}:success`, `${b}:started`]);
          const again = await cli(project, setup, "upgrade");
          expect(again.status, again.stderr).toBe(5);
          expect(await runs(setup)).toBe(1);
        }), 120_000);
    }
  });
}
