/**
 * `stamp` with several targets and `--purge` (Alembic's semantics) through the CLI: the
 * rows become the targets' branches; `--purge` empties the version table first, rows no
 * file defines included; both leave one history row.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, runCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, type TestDatabase } from "./support/databases.js";
import { createEngineProject, type EngineProject } from "./support/engine-project.js";

const A = "a1a1a1a1a1a1";
const B = "b2b2b2b2b2b2";
const F1 = "f1f1f1f1f1f1";
const F2 = "f2f2f2f2f2f2";

describe("stamp with several targets and --purge (PostgreSQL)", () => {
  let project: EngineProject;
  let db: TestDatabase;
  const cli = (...argv: string[]): Promise<CliResult> => runCli(argv, { cwd: project.dir, env: baseEnv({ DATABASE_URL: db.url }) });
  const rows = async (sql: string): Promise<Record<string, unknown>[]> => {
    const { default: pg } = await import("pg");
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query(sql)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    project = await createEngineProject();
    db = await createPostgresDatabase("athanor_stamp");
    // a ← b (main); a ← f1 ← f2 (feature)
    await project.write({ id: A, message: "a", upgrade: "CREATE TABLE a (x int);" });
    await project.write({ id: B, down: A, message: "b", upgrade: "CREATE TABLE b (x int);" });
    await project.write({ id: F1, down: A, message: "f1", upgrade: "CREATE TABLE f1 (x int);" });
    await project.write({ id: F2, down: F1, message: "f2", upgrade: "CREATE TABLE f2 (x int);" });
    await project.configure({ development: { url: "${DATABASE_URL}" } });
  });
  afterAll(async () => {
    await db.drop();
    await project.remove();
  });

  it("stamps one revision per branch, runs nothing, and --purge starts from an empty table", async () => {
    const both = await cli("stamp", B, F1);
    expect(both.status, both.stderr).toBe(0);
    expect((await rows("SELECT revision FROM athanor_version ORDER BY revision")).map((r) => r["revision"])).toEqual([A, B, F1]);
    expect(await rows("SELECT table_name FROM information_schema.tables WHERE table_name IN ('a', 'b', 'f1', 'f2')")).toEqual([]);

    // A row no file defines, and a branch stamped too far: --purge drops both.
    await rows(`INSERT INTO athanor_version (revision, checksum) VALUES ('ffffffffffff', 'x')`);
    const purged = await cli("stamp", F2, "--purge");
    expect(purged.status, purged.stderr).toBe(0);
    expect((await rows("SELECT revision FROM athanor_version ORDER BY revision")).map((r) => r["revision"])).toEqual([A, F1, F2]);
    const history = await rows("SELECT direction, note FROM athanor_version_history ORDER BY id");
    expect(history).toEqual([
      { direction: "stamp", note: expect.stringContaining(`stamp ${B} ${F1}: 3 recorded`) },
      { direction: "stamp", note: expect.stringContaining(`stamp ${F2} --purge`) },
    ]);

    const overlap = await cli("stamp", A, B);
    expect(overlap.status).toBe(2);
    expect(overlap.stderr).toContain("same line of descent");
  });
});
