/**
 * adv21faults findings 7 and 8: the library's edges.
 *
 * 7. `upgrade(env, { session })` with the caller's session inside a transaction the caller
 *    opened (`BEGIN; CREATE TABLE caller_t ...`): athanor runs its revisions in it and its
 *    COMMIT commits the caller's uncommitted work too; the caller's ROLLBACK afterwards is a
 *    no-op and `caller_t` stays. The option is documented as "a session the caller owns"
 *    (docs/runtime.md, "Library"); nothing says it must be idle, and nothing refuses it. (When
 *    the version tables do not exist yet, the run fails instead with a bare "current
 *    transaction is aborted, commands ignored until end of transaction block", exit 1.)
 * 8. `downgrade(env, {})` from JavaScript (no `target`) throws a bare TypeError ("Cannot read
 *    properties of undefined (reading 'trim')") with no `code` or `exitStatus`; and
 *    `runMigration(env, { command: "sideways" })` resolves as a run of command "sideways".
 *    README: bad input gets a clear error with the documented exit status (2).
 * On PostgreSQL, through src/index.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downgrade, openSession, runMigration, upgrade, type RunMigrationOptions } from "../src/index.js";
import { createPostgresDatabase, queryUrl, type TestDatabase } from "./support/databases.js";
import { createEngineProject, type EngineProject } from "./support/engine-project.js";

const A = "a21c21a21c21";

describe("adv21faults: the library's caller session and its input (PostgreSQL)", { timeout: 60_000 }, () => {
  let project: EngineProject;
  let db: TestDatabase;
  const env = () => project.env("development", { DATABASE_URL: db.url });

  beforeAll(async () => {
    project = await createEngineProject();
    db = await createPostgresDatabase("athanor_adv21_caller");
    await project.write({ id: A, message: "a", upgrade: "CREATE TABLE a (x int);", downgrade: "DROP TABLE a;" });
    await project.configure({ development: { url: "${DATABASE_URL}" } });
  });
  afterAll(async () => {
    await db?.drop();
    await project?.remove();
  });

  it("finding 7: a caller's session in an open transaction: athanor does not commit the caller's work", async () => {
    const resolved = await env();
    // The version tables exist (a suite that migrated once before); the database is at base.
    await upgrade(resolved);
    await downgrade(resolved, { target: "base" });
    const session = await openSession(resolved.target);
    try {
      await session.exec("BEGIN; CREATE TABLE caller_t (x int)");
      const outcome = await upgrade(resolved, { session }).then(
        () => "ran",
        (error: unknown) => `${(error as { exitStatus?: number }).exitStatus} ${(error as Error).message}`,
      );
      await session.exec("ROLLBACK").catch(() => {});
      const [row] = await queryUrl<{ t: string | null }>(db.url, "SELECT to_regclass('caller_t')::text AS t");
      // Today: outcome "ran" and caller_t committed by athanor's COMMIT.
      expect(row?.t, `outcome ${String(outcome)}: the caller's uncommitted CREATE TABLE was committed`).toBeNull();
    } finally {
      await session.close();
    }
  });

  it("finding 8: downgrade without a target rejects with a code and exit status 2", async () => {
    const error = await downgrade(await env(), {} as unknown as Parameters<typeof downgrade>[1]).then(
      () => null,
      (caught: unknown) => caught as { name?: string; code?: string; exitStatus?: number },
    );
    expect(error?.name).not.toBe("TypeError");
    expect(error).toMatchObject({ exitStatus: 2 });
    expect(typeof error?.code).toBe("string");
  });

  it("finding 8: runMigration with an unknown command rejects with exit status 2", async () => {
    await upgrade(await env());
    const options = { command: "sideways", target: "head" } as unknown as RunMigrationOptions;
    const outcome = await runMigration(await env(), options).then(
      (result) => `resolved as a run of ${result.command}`,
      (error: unknown) => (error as { exitStatus?: number }).exitStatus,
    );
    expect(outcome).toBe(2);
  });
});
