/**
 * The environment identity belongs to the database, not to one version table (trust7a,
 * finding 2): a configuration that reaches production's database with another
 * `versionTable` or `schema` finds no record beside its own tables, and must still be
 * refused (exit 3, nothing created). Through the CLI, on PostgreSQL and on a PGlite
 * directory. A database that records the environment itself elsewhere (another schema
 * of it) is its own, and the refusal's hint records a deliberate share.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { cliTargets, withTargetProject } from "./support/cli-targets.js";
import { ids } from "./support/engine-project.js";

/** Runs statements one at a time (PGlite's query takes one statement). */
async function runEach(inspect: (sql: string) => Promise<unknown[]>, sql: string): Promise<void> {
  for (const statement of sql.split(/;\s*/).filter((s) => s.trim() !== "")) await inspect(statement);
}

for (const target of cliTargets) {
  describe(`identity of the whole database (${target.name})`, () => {
    const url = target.name === "PGlite" ? "pglite://./.athanor/dev" : "${DATABASE_URL}";
    const environments = {
      production: { url, protected: true },
      development: { url, versionTable: { table: "dev_version" } },
      scoped: { url, schema: "sandbox" },
      sibling: { url, versionTable: { schema: "extra", table: "athanor_version" } },
    };

    it("a development config with another versionTable or schema is refused on production's database; nothing is created", () =>
      withTargetProject(target, async (project, setup) => {
        const cli = (...argv: string[]) => runCli(argv, { cwd: project.dir, env: setup.env });
        const [a] = ids(1, "d") as [string];
        await project.write({ id: a, message: "one", upgrade: "CREATE TABLE IF NOT EXISTS one (x int);", downgrade: "DROP TABLE one;" });
        await project.configure(environments);
        const prod = await cli("--env", "production", "upgrade", "--yes");
        expect(prod.status, prod.stderr).toBe(0);
        // The schema-scoped environment's schema exists: only the identity stops it.
        await setup.inspect("CREATE SCHEMA sandbox");

        for (const name of ["development", "scoped"]) {
          const refused = await cli("--env", name, "--json", "upgrade");
          expect(refused.status, refused.stderr).toBe(3);
          const error = (JSON.parse(refused.stdout) as { error: { code: string; message: string; hint: string; details: Record<string, unknown> } }).error;
          expect(error.code).toBe("environment-mismatch");
          expect(error.message).toContain(`belongs to environment "production" (recorded in public.athanor_version_meta`);
          expect(error.message).toContain(`this run reached it through environment "${name}"`);
          expect(error.details["recordedIn"]).toBe("public.athanor_version_meta");
          expect(error.hint).toContain("--env production");
        }
        // stamp and downgrade go through the same check.
        expect((await cli("--env", "development", "stamp", "head")).status).toBe(3);
        expect((await cli("--env", "development", "downgrade", "base")).status).toBe(3);
        const made = await setup.inspect<{ name: string }>(
          "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables WHERE table_name LIKE '%athanor%' OR table_name LIKE 'dev\\_%' ORDER BY 1",
        );
        expect(made.map((row) => row.name)).toEqual(["public.athanor_version", "public.athanor_version_history", "public.athanor_version_meta"]);
      }), 120_000);

    it("a database with no identity, or one recording this environment elsewhere, lets it run; the hint's statements record a deliberate share", () =>
      withTargetProject(target, async (project, setup) => {
        const cli = (...argv: string[]) => runCli(argv, { cwd: project.dir, env: setup.env });
        const [a] = ids(1, "e") as [string];
        await project.write({ id: a, message: "one", upgrade: "CREATE TABLE IF NOT EXISTS one (x int);", downgrade: "SELECT 1;" });
        await project.configure(environments);
        // Nothing recorded anywhere: two unprotected environments share the database freely.
        expect((await cli("--env", "development", "upgrade")).status).toBe(0);
        expect((await cli("--env", "production", "upgrade", "--yes")).status).toBe(0);
        // Production has recorded itself now; development's own tables record nothing.
        const refused = await cli("--env", "development", "--json", "downgrade", "base");
        expect(refused.status, refused.stderr).toBe(3);
        const hint = (JSON.parse(refused.stdout) as { error: { hint: string } }).error.hint;
        // The hint's statements, run as given, record development beside its own table.
        const statements = hint.slice(hint.indexOf("CREATE TABLE IF NOT EXISTS"));
        await runEach(setup.inspect, statements);
        const allowed = await cli("--env", "development", "downgrade", "base");
        expect(allowed.status, allowed.stderr).toBe(0);
        // A version table in another schema of a database that records "sibling" elsewhere is sibling's too.
        await runEach(setup.inspect, "CREATE SCHEMA extra_rec; CREATE TABLE extra_rec.athanor_version_meta (key text PRIMARY KEY, value text NOT NULL, updated_at timestamptz NOT NULL DEFAULT clock_timestamp()); INSERT INTO extra_rec.athanor_version_meta VALUES ('environment', 'sibling')");
        const sibling = await cli("--env", "sibling", "upgrade");
        expect(sibling.status, sibling.stderr).toBe(0);
      }), 120_000);

    // The identity records and the version tables' state are read while the plan's files
    // are checked (src/run/migrate.ts); what they say is still decided after the check.
    it("a revision the plan's check refuses is reported before the identity refusal, and neither run creates anything", () =>
      withTargetProject(target, async (project, setup) => {
        const cli = (...argv: string[]) => runCli(argv, { cwd: project.dir, env: setup.env });
        const [a, b] = ids(2, "f") as [string, string];
        await project.write({ id: a, message: "one", upgrade: "CREATE TABLE IF NOT EXISTS one (x int);", downgrade: "DROP TABLE one;" });
        await project.configure(environments);
        expect((await cli("--env", "production", "upgrade", "--yes")).status).toBe(0);
        await project.write({ id: b, down: a, message: "two", upgrade: "CREATE TABLE two (x int);\nCOMMIT;", downgrade: "DROP TABLE two;" });
        const checked = await cli("--env", "development", "--json", "upgrade");
        expect(checked.status, checked.stderr).toBe(2);
        expect((JSON.parse(checked.stdout) as { error: { code: string } }).error.code).toBe("transaction-control");
        await project.write({ id: b, down: a, message: "two", upgrade: "CREATE TABLE two (x int);", downgrade: "DROP TABLE two;" });
        const refused = await cli("--env", "development", "--json", "upgrade");
        expect(refused.status, refused.stderr).toBe(3);
        expect((JSON.parse(refused.stdout) as { error: { code: string } }).error.code).toBe("environment-mismatch");
        const made = await setup.inspect<{ name: string }>(
          "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables WHERE table_name LIKE '%athanor%' OR table_name LIKE 'dev\\_%' OR table_name = 'two' ORDER BY 1",
        );
        expect(made.map((row) => row.name)).toEqual(["public.athanor_version", "public.athanor_version_history", "public.athanor_version_meta"]);
      }), 120_000);
  });
}
