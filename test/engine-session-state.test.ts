/**
 * Each revision starts from athanor's session state, and athanor's bookkeeping is written
 * with athanor's settings, whatever a revision set on the migration session (trust9):
 * `SET ROLE`, `SET search_path`, `SET statement_timeout`/`lock_timeout`,
 * `set_config(..., false)`, `SET default_transaction_read_only`. Before, such a setting
 * outlived the revision's COMMIT: its own version and history rows were written as the
 * other role (or failed: that role may not write them), and the NEXT revision of the same
 * run ran with it (objects owned by the other role, in another schema, under other
 * timeouts), so one run of four revisions and four runs of one ended up different.
 *
 * The revision that changes the state is SQL (sent in a script together with the next
 * one: the first revision travels alone, the next round trip carries two), TypeScript, or
 * `transaction false`; each is applied in one run and in one run per revision, through the
 * CLI, on PostgreSQL and on a PGlite directory (the first two kinds also with
 * --single-transaction). The revision's own statements still run with what it set. A
 * lowered statement_timeout no longer cancels the next revision (PostgreSQL: PGlite
 * does not enforce it).
 */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { cliTargets, withTargetProject, type CliTargetSetup } from "./support/cli-targets.js";
import { queryUrl } from "./support/databases.js";
import { createEngineProject, ids, postgresEngine, type EngineProject } from "./support/engine-project.js";
import { upgrade } from "../src/commands/upgrade.js";
import { openSession } from "../src/dialects/open.js";

interface Probe {
  label: string;
  who: string;
  search_path: string;
  statement_timeout: string;
  lock_timeout: string;
  read_only: string;
  custom: string;
}

/** What a revision sees of its session, as one row of `probe`. */
const probe = (label: string) =>
  `INSERT INTO public.probe SELECT '${label}', current_user, current_setting('search_path'), current_setting('statement_timeout'), current_setting('lock_timeout'), current_setting('transaction_read_only'), coalesce(current_setting('t9.custom', true), '')`;

/**
 * The statements of the revision that changes its session (the SQL one changes its
 * session user, the others their role); the last one makes later transactions read-only.
 */
const changes = (kind: Kind, role: string) => [
  kind === "SQL" ? `SET SESSION AUTHORIZATION ${role}` : `SET ROLE ${role}`,
  "SET search_path = elsewhere, public",
  "SET statement_timeout = '7s'",
  "SET lock_timeout = '3s'",
  "SELECT set_config('t9.custom', 'leaked', false)",
  // Unqualified: in the first schema of the search path, owned by the role.
  "CREATE TABLE made_by_b (x int)",
  probe("b"),
  "SET default_transaction_read_only = on",
];

type Kind = "SQL" | "TypeScript" | "transaction false";

async function writeRevisions(project: EngineProject, kind: Kind, role: string, revisions: readonly string[]): Promise<void> {
  const [a, b, c, d] = revisions as [string, string, string, string];
  await project.write({
    id: a,
    message: "probe",
    upgrade: [
      "CREATE TABLE public.probe (label text, who text, search_path text, statement_timeout text, lock_timeout text, read_only text, custom text);",
      "CREATE SCHEMA elsewhere;",
      `CREATE ROLE ${role};`,
      // The role may create tables and fill the probe, never write athanor's tables.
      `GRANT ALL ON SCHEMA public, elsewhere TO ${role};`,
      `GRANT ALL ON public.probe TO ${role};`,
      `${probe("a")};`,
    ].join("\n"),
  });
  if (kind === "TypeScript") {
    const calls = changes(kind, role)
      .map((statement) => `    await sql.unsafe(${JSON.stringify(statement)});`)
      .join("\n");
    await project.writeFile(
      `${b}_changes.ts`,
      `import { defineMigration } from "athanor";\nexport default defineMigration({\n  revision: "${b}",\n  down: "${a}",\n  message: "changes its session",\n  async upgrade({ sql }) {\n${calls}\n  },\n});\n`,
    );
  } else {
    await project.write({ id: b, down: a, message: "changes its session", upgrade: changes(kind, role).map((s) => `${s};`).join("\n"), ...(kind === "transaction false" ? { transactional: false } : {}) });
  }
  await project.write({ id: c, down: b, message: "after it", upgrade: `${probe("c")};\nCREATE TABLE made_by_c (x int);` });
  await project.write({ id: d, down: c, message: "and after that", upgrade: `${probe("d")};` });
}

/** The environment's own timeouts, which every revision starts with. */
async function configureTimeouts(project: EngineProject): Promise<void> {
  const path = join(project.dir, "athanor.config.json");
  const config = JSON.parse(await readFile(path, "utf8")) as { environments: { development: Record<string, unknown> } };
  Object.assign(config.environments.development, { lockTimeout: 4000, statementTimeout: 9000 });
  await writeFile(path, JSON.stringify(config, null, 2));
}

const kinds: readonly Kind[] = ["SQL", "TypeScript", "transaction false"];

for (const target of cliTargets) {
  describe(`a revision's session settings stay with it (${target.name})`, () => {
    for (const kind of kinds) {
      // --single-transaction: one transaction around the plan (not possible with a `transaction false` revision).
      for (const runs of kind === "transaction false" ? (["one run", "one run per revision"] as const) : (["one run", "one run per revision", "--single-transaction"] as const)) {
        it(`${kind} revision, ${runs}: its record is athanor's and the next revision starts from athanor's state`, () =>
          withTargetProject(target, async (project, setup) => {
            const role = `t9_other_${randomBytes(4).toString("hex")}`;
            const revisions = ids(4, kind === "SQL" ? "a" : kind === "TypeScript" ? "b" : "c");
            await configureTimeouts(project);
            await writeRevisions(project, kind, role, revisions);
            try {
              for (const argv of runs === "one run" ? [["upgrade"]] : runs === "--single-transaction" ? [["upgrade", runs]] : revisions.map(() => ["upgrade", "+1"])) {
                const result = await runCli(argv, { cwd: project.dir, env: setup.env });
                expect(result.status, result.stderr).toBe(0);
              }
              await expectAthanorsState(setup, role, revisions);
            } finally {
              if (target.name === "PostgreSQL") await queryUrl(setup.env["DATABASE_URL"] as string, `DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => {});
            }
          }), 120_000);
      }
    }
  });
}

// PostgreSQL only: PGlite, single-threaded in this process, never cancels a statement on a timeout.
for (const target of cliTargets.filter((t) => t.name === "PostgreSQL")) {
  describe(`a revision's statement timeout stays with it (${target.name})`, () => {
    it("a revision that ends by lowering statement_timeout: the next one, in the same round trip, runs under athanor's", () =>
      withTargetProject(target, async (project, setup) => {
        const [a, b, c] = ids(3, "d") as [string, string, string];
        await project.write({ id: a, message: "first", upgrade: "CREATE TABLE t_1 (x int);" });
        // 200 ms, not 1 ms: athanor's own statements after it take far less, on any machine.
        await project.write({ id: b, down: a, message: "lowers it", upgrade: "CREATE TABLE t_2 (x int);\nSET statement_timeout = '200ms';" });
        await project.write({ id: c, down: b, message: "slow", upgrade: "SELECT pg_sleep(0.5);\nCREATE TABLE t_3 (x int);" });
        const result = await runCli(["upgrade"], { cwd: project.dir, env: setup.env });
        expect(result.status, result.stderr).toBe(0);
        const rows = await setup.inspect<{ revision: string }>("SELECT revision FROM athanor_version WHERE state = 'applied' ORDER BY 1");
        expect(rows.map((row) => row.revision)).toEqual([a, b, c]);
      }), 120_000);
  });
}

async function expectAthanorsState(setup: CliTargetSetup, role: string, revisions: readonly string[]): Promise<void> {
  const probes = await setup.inspect<Probe>("SELECT * FROM public.probe");
  const byLabel = new Map(probes.map((row) => [row.label, row]));
  const start = byLabel.get("a");
  expect(start).toMatchObject({ statement_timeout: "9s", lock_timeout: "4s", read_only: "off", custom: "" });
  // The revision's own statements ran with what it set.
  expect(byLabel.get("b")).toEqual({ label: "b", who: role, search_path: "elsewhere, public", statement_timeout: "7s", lock_timeout: "3s", read_only: "off", custom: "leaked" });
  // The next revisions, in the same round trip or the next, started where the first did.
  expect(byLabel.get("c")).toEqual({ ...start, label: "c" });
  expect(byLabel.get("d")).toEqual({ ...start, label: "d" });
  const owners = await setup.inspect<{ name: string; schema: string; owner: string }>(
    "SELECT c.relname AS name, n.nspname AS schema, pg_get_userbyid(c.relowner) AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname IN ('made_by_b', 'made_by_c') ORDER BY 1",
  );
  expect(owners).toEqual([
    { name: "made_by_b", schema: "elsewhere", owner: role },
    { name: "made_by_c", schema: "public", owner: start?.who },
  ]);
  const history = await setup.inspect<{ revision: string; outcome: string; db_user: string }>("SELECT revision, outcome, db_user FROM athanor_version_history WHERE outcome = 'success' ORDER BY id");
  expect(history.map((row) => row.revision)).toEqual(revisions);
  expect(new Set(history.map((row) => row.db_user))).toEqual(new Set([start?.who]));
  const applied = await setup.inspect<{ applied_by: string }>("SELECT applied_by FROM athanor_version");
  expect(applied.every((row) => row.applied_by.startsWith(`${start?.who} (`))).toBe(true);
}

/**
 * Temporary objects and LISTEN stay with the revision too (round 11): before, a temporary
 * table a revision created, and a channel it listened on, were there for the next revision
 * of the same run (and not for the same revision run alone).
 */
const sessionObjects = (label: string) =>
  `INSERT INTO public.seen SELECT '${label}', (SELECT count(*)::int FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.pg_my_temp_schema()), (SELECT count(*)::int FROM pg_catalog.pg_listening_channels())`;

for (const target of cliTargets) {
  describe(`a revision's temporary tables and LISTEN stay with it (${target.name})`, () => {
    for (const [kind, runs] of [["SQL", "one run"], ["SQL", "--single-transaction"], ["transaction false", "one run"]] as const) {
      it(`${kind} revision, ${runs}: the next revision finds no temporary table and no channel`, () =>
        withTargetProject(target, async (project, setup) => {
          const [a, b, c] = ids(3, "e") as [string, string, string];
          await project.write({ id: a, message: "the probe", upgrade: "CREATE TABLE public.seen (label text, temporaries int, channels int);" });
          await project.write({
            id: b,
            down: a,
            message: "a scratch table and a channel",
            upgrade: ["CREATE TEMP TABLE scratch AS SELECT 1 AS x;", "LISTEN athanor_round11;", `${sessionObjects("b")};`].join("\n"),
            ...(kind === "transaction false" ? { transactional: false } : {}),
          });
          await project.write({ id: c, down: b, message: "after it", upgrade: `${sessionObjects("c")};` });
          const result = await runCli(runs === "one run" ? ["upgrade"] : ["upgrade", runs], { cwd: project.dir, env: setup.env });
          expect(result.status, result.stderr).toBe(0);
          const rows = await setup.inspect<{ label: string; temporaries: number; channels: number }>("SELECT * FROM public.seen ORDER BY label");
          // The revision's own statements saw its table (a LISTEN takes effect at its transaction's
          // commit); the next revision starts without either.
          expect(rows[0]?.label).toBe("b");
          expect(rows[0]?.temporaries).toBeGreaterThan(0);
          expect(rows[1]).toEqual({ label: "c", temporaries: 0, channels: 0 });
        }), 120_000);
    }
  });
}

describe("a library caller's session keeps what it had before the plan (PostgreSQL)", () => {
  it("its own temporary table and channel stay, and so does the revision's table; the revision's channel is left", async () => {
    const engine = postgresEngine();
    const db = await engine.database();
    const project = await createEngineProject();
    const [a, b] = ids(2, "f") as [string, string];
    await project.write({ id: a, message: "a scratch table and a channel", upgrade: "CREATE TEMP TABLE revision_scratch (x int);\nLISTEN revision_channel;" });
    await project.write({ id: b, down: a, message: "after it", upgrade: "CREATE TABLE after_it (x int);" });
    await project.configure({ test: db.envConfig });
    const env = await project.env("test");
    const session = await openSession(env.target, { writable: true });
    try {
      await session.exec("CREATE TEMP TABLE callers_scratch (x int); LISTEN callers_channel;");
      const result = await upgrade(env, { session });
      expect(result.completed).toEqual([a, b]);
      const temporaries = await session.query<{ relname: string }>("SELECT relname FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.pg_my_temp_schema() AND relkind = 'r' ORDER BY 1");
      expect(temporaries.rows.map((row) => row.relname)).toEqual(["callers_scratch", "revision_scratch"]);
      const channels = await session.query<{ channel: string }>("SELECT c AS channel FROM pg_catalog.pg_listening_channels() AS c ORDER BY 1");
      expect(channels.rows.map((row) => row.channel)).toEqual(["callers_channel"]);
    } finally {
      await session.close();
      await db.drop();
      await project.remove();
    }
  }, 120_000);
});
