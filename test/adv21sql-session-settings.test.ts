/**
 * adv21sql: a revision's session-level settings end with it online (docs/runtime.md, "Each
 * revision starts from athanor's session state": "What a revision sets at session level
 * (`SET ROLE`, ..., `SET search_path`, a timeout ...) is in effect for its own statements and
 * ends with it, and athanor's bookkeeping is always written with athanor's settings"), and
 * README says of `--sql`: "The script does what the online run does". The offline script
 * had no restore: a revision's `SET search_path` put the next revision's table in another
 * schema, and its `SET ROLE` made the script write the version row as that role (permission
 * denied: psql stopped, nothing of the revision applied, where the online run succeeded).
 */
import { afterEach, describe, expect, it } from "vitest";
import { queryUrl, serverUrl } from "./support/databases.js";
import { diffProject, psql, sqlRevision, stateOf, type DiffProject } from "./support/offline-diff.js";

let project: DiffProject | undefined;
afterEach(async () => {
  await project?.remove();
  project = undefined;
});

const after = sqlRevision({ id: "5e5500000002", down: "5e5500000001", message: "after", upgrade: "CREATE TABLE after_it (v text);", downgrade: "DROP TABLE after_it;" });
const nonTransactionalAfter = sqlRevision({
  id: "5e5500000003",
  down: "5e5500000002",
  message: "concurrently",
  transactional: false,
  upgrade: "CREATE INDEX CONCURRENTLY after_it_v ON after_it (v);\nCREATE TABLE after_index (v text);",
  downgrade: "DROP TABLE after_index;\nDROP INDEX CONCURRENTLY after_it_v;",
});

async function differential(first: string): Promise<void> {
  project = await diffProject({ "1.sql": first, "2.sql": after, "3.sql": nonTransactionalAfter });
  const online = await project.database();
  const offline = await project.database();
  const ran = await project.cli(online.url, ["upgrade"]);
  expect(ran.status, ran.stderr).toBe(0);
  const { result, file } = await project.script(offline.url, ["upgrade", "--sql"]);
  expect(result.status, result.stderr).toBe(0);
  const run = psql(offline.url, file);
  expect(run.stderr).not.toContain("ERROR");
  expect(run.status).toBe(0);
  expect(await stateOf(offline.url)).toEqual(await stateOf(online.url));
}

describe("adv21sql: a revision's session settings end with it in the offline script too", () => {
  it("SET search_path in a revision: the next revisions' tables land where the online run puts them", () =>
    differential(
      sqlRevision({
        id: "5e5500000001",
        message: "own schema",
        upgrade: "CREATE SCHEMA own;\nSET search_path TO own, public;\nCREATE TABLE in_own (v text);",
        downgrade: "DROP TABLE own.in_own;\nDROP SCHEMA own;",
      }),
    ), 60_000);

  it("SET ROLE in a revision: the script records it as the online run does (not as the role, which may not write the version table)", async () => {
    // A role without rights on athanor's tables, as an application role is (roles are server-wide).
    await queryUrl(serverUrl(), "DO $$ BEGIN CREATE ROLE adv21sql_app NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    await differential(
      sqlRevision({
        id: "5e5500000001",
        message: "as the app",
        upgrade: "GRANT CREATE ON SCHEMA public TO adv21sql_app;\nSET ROLE adv21sql_app;\nCREATE TABLE owned_by_app (v text);",
        downgrade: "DROP TABLE owned_by_app;\nREVOKE CREATE ON SCHEMA public FROM adv21sql_app;",
      }),
    );
  }, 60_000);

  it("SET statement_timeout in a revision does not reach the next revision", async () => {
    // The next revision sleeps past the first one's timeout: online it runs; offline it must too.
    project = await diffProject({
      "1.sql": sqlRevision({ id: "5e5500000001", message: "short timeout", upgrade: "SET statement_timeout = '50ms';\nCREATE TABLE quick (v text);", downgrade: "DROP TABLE quick;" }),
      "2.sql": sqlRevision({ id: "5e5500000002", down: "5e5500000001", message: "slow", upgrade: "SELECT pg_sleep(0.3);\nCREATE TABLE after_it (v text);", downgrade: "DROP TABLE after_it;" }),
    });
    const online = await project.database();
    const offline = await project.database();
    const ran = await project.cli(online.url, ["upgrade"]);
    expect(ran.status, ran.stderr).toBe(0);
    const { file } = await project.script(offline.url, ["upgrade", "--sql"]);
    const run = psql(offline.url, file);
    expect(run.stderr).not.toContain("canceling statement due to statement timeout");
    expect(await stateOf(offline.url)).toEqual(await stateOf(online.url));
  }, 60_000);

  it("SET standard_conforming_strings = off in a revision: the next revision is read as athanor checked it (on), as online", async () => {
    // Online: the setting ends with revision 1, revision 2 is read with it on (a syntax error,
    // rolled back). Offline it outlived revision 1, and the server read revision 2 as one
    // string: applied and recorded, a text athanor never checked as the server read it.
    project = await diffProject({
      "1.sql": sqlRevision({ id: "5e5500000001", message: "off", upgrade: "CREATE TABLE t (v text);\nSET standard_conforming_strings = off;", downgrade: "DROP TABLE t;" }),
      "2.sql": sqlRevision({ id: "5e5500000002", down: "5e5500000001", message: "reads differently", upgrade: "INSERT INTO t VALUES ('a\\'); INSERT INTO t VALUES (''smuggled''); --');", downgrade: "DELETE FROM t;" }),
    });
    const online = await project.database();
    const offline = await project.database();
    const ran = await project.cli(online.url, ["upgrade"]);
    expect(ran.status).toBe(1);
    const { result, file } = await project.script(offline.url, ["upgrade", "--sql"]);
    if (result.status === 0) psql(offline.url, file);
    expect((await stateOf(offline.url)).versions).toEqual((await stateOf(online.url)).versions);
  }, 60_000);
});
