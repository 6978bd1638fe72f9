/**
 * adv21sql: an offline script run where it does not belong. The script reads nothing before
 * it changes things: a downgrade script run against a database where its revision was never
 * applied ran the revision's downgrade SQL (dropping a table) and recorded a `down` success
 * for it; run twice, it recorded every downgrade twice, exit 0 both times; an `upgrade --sql
 * A:C` script run on a database at base applied and recorded C's SQL without A. The online
 * run plans from the version rows it reads under the lock and never does any of that.
 * The brief's bar: the script stops before changing anything (or says what it guards), and
 * never records a revision whose SQL should not have run.
 */
import { afterEach, describe, expect, it } from "vitest";
import { queryUrl } from "./support/databases.js";
import { diffProject, psql, sqlRevision, stateOf, type DiffProject } from "./support/offline-diff.js";

let project: DiffProject | undefined;
afterEach(async () => {
  await project?.remove();
  project = undefined;
});

// Idempotent downgrades (IF EXISTS), as many projects write them: only a guard can stop them.
const files = {
  "1.sql": sqlRevision({ id: "9a4d00000001", message: "keep", upgrade: "CREATE TABLE keep (v text);", downgrade: "DROP TABLE IF EXISTS keep;" }),
  "2.sql": sqlRevision({ id: "9a4d00000002", down: "9a4d00000001", message: "two", upgrade: "CREATE TABLE IF NOT EXISTS two (v text);", downgrade: "DROP TABLE IF EXISTS two;" }),
  "3.sql": sqlRevision({ id: "9a4d00000003", down: "9a4d00000002", message: "three", upgrade: "CREATE TABLE IF NOT EXISTS three (v text);", downgrade: "DROP TABLE IF EXISTS three;" }),
};

async function history(url: string): Promise<string[]> {
  return (await queryUrl<{ r: string }>(url, "SELECT direction || ' ' || revision AS r FROM athanor_version_history ORDER BY id")).map((row) => row.r);
}

describe("adv21sql: an offline script run against a database at another revision", () => {
  it("downgrade --sql 2:base on a database at 1: stops before dropping anything or recording a downgrade of 2", async () => {
    project = await diffProject(files);
    const db = await project.database();
    expect((await project.cli(db.url, ["upgrade", "9a4d00000001"])).status).toBe(0);
    await queryUrl(db.url, "INSERT INTO keep VALUES ('precious')");
    const { result, file } = await project.script(db.url, ["downgrade", "--sql", "9a4d00000002:base"]);
    expect(result.status, result.stderr).toBe(0);
    const run = psql(db.url, file);
    expect(run.status, "psql reported success").not.toBe(0);
    expect(await history(db.url)).toEqual(["up 9a4d00000001"]);
    expect(await queryUrl(db.url, "SELECT v FROM keep")).toEqual([{ v: "precious" }]);
  }, 60_000);

  it("the same downgrade script run twice: the second run records nothing", async () => {
    project = await diffProject(files);
    const db = await project.database();
    expect((await project.cli(db.url, ["upgrade"])).status).toBe(0);
    const { file } = await project.script(db.url, ["downgrade", "--sql", "9a4d00000003:base"]);
    expect(psql(db.url, file).status).toBe(0);
    const once = await history(db.url);
    expect(once).toEqual(["up 9a4d00000001", "up 9a4d00000002", "up 9a4d00000003", "down 9a4d00000003", "down 9a4d00000002", "down 9a4d00000001"]);
    const again = psql(db.url, file);
    expect(again.status, "the second run reported success").not.toBe(0);
    expect(await history(db.url)).toEqual(once);
  }, 60_000);

  it("upgrade --sql 1:3 on a database at base: applies nothing, records nothing", async () => {
    project = await diffProject(files);
    const db = await project.database();
    const { result, file } = await project.script(db.url, ["upgrade", "--sql", "9a4d00000001:9a4d00000003"]);
    expect(result.status, result.stderr).toBe(0);
    const run = psql(db.url, file);
    expect(run.status, "psql reported success").not.toBe(0);
    const state = await stateOf(db.url);
    expect(state.versions).toEqual([]);
    expect(state.schema).not.toContain("CREATE TABLE public.two");
  }, 60_000);

  it("the upgrade script after someone ran the online upgrade: stops before its first revision (holds today)", async () => {
    project = await diffProject(files);
    const db = await project.database();
    const { file } = await project.script(db.url, ["upgrade", "--sql"]);
    expect((await project.cli(db.url, ["upgrade"])).status).toBe(0);
    const before = await stateOf(db.url);
    expect(psql(db.url, file).status).not.toBe(0);
    expect(await stateOf(db.url)).toEqual(before);
  }, 60_000);
});

describe("adv21sql: a script run without ON_ERROR_STOP", () => {
  it("does not record a non-transactional revision whose statement failed as applied", async () => {
    project = await diffProject({
      "1.sql": sqlRevision({
        id: "9a4d00000001",
        message: "index",
        transactional: false,
        upgrade: "CREATE INDEX CONCURRENTLY missing_v ON missing (v);",
        downgrade: "DROP INDEX CONCURRENTLY IF EXISTS missing_v;",
      }),
    });
    const db = await project.database();
    const { file } = await project.script(db.url, ["upgrade", "--sql"]);
    // The header asks for -v ON_ERROR_STOP=1; a DBA who forgets it must not get a false record.
    psql(db.url, file, { onErrorStop: false });
    const rows = await queryUrl<{ state: string }>(db.url, "SELECT state FROM athanor_version WHERE revision = '9a4d00000001'");
    expect(rows.map((row) => row.state)).not.toContain("applied");
  }, 60_000);
});
