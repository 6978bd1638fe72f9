/**
 * The engine's commands driven through the CLI's `main(argv, io)` as a user types them:
 * every target form, the text and JSON outputs, exit statuses (1 failed revision, 2 bad
 * target or flags, 5 edited revision), offline SQL and dry runs; on PostgreSQL, and once
 * on a PGlite directory (with its lock file).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { baseEnv, runCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, type TestDatabase } from "./support/databases.js";
import { createEngineProject, type EngineProject } from "./support/engine-project.js";

const X1 = "1a1a1a1a1a1a";
const X2 = "2b2b2b2b2b2b";
const X3 = "3c3c3c3c3c3c";
const F1 = "4d4d4d4d4d4d";
const F2 = "5e5e5e5e5e5e";
const M1 = "6f6f6f6f6f6f";

function table(id: string) {
  return { upgrade: `CREATE TABLE t_${id} (id int);`, downgrade: `DROP TABLE t_${id};` };
}

describe("engine commands through the CLI (PostgreSQL)", () => {
  let project: EngineProject;
  let db: TestDatabase;
  let env: Record<string, string | undefined>;
  const cli = (...argv: string[]): Promise<CliResult> => runCli(argv, { cwd: project.dir, env });
  const currentIds = async (): Promise<string[]> => {
    const result = await cli("current", "--json");
    expect(result.status).toBe(0);
    const document = JSON.parse(result.stdout) as { environment: string; current: string[] };
    expect(document.environment).toBe("development");
    return document.current;
  };

  beforeAll(async () => {
    project = await createEngineProject();
    db = await createPostgresDatabase("athanor_cli");
    env = baseEnv({ DATABASE_URL: db.url });
    await project.write({ id: X1, message: "first", file: "0001_first.sql", ...table(X1) });
    await project.write({ id: X2, down: X1, message: "second", file: "0002_second.sql", ...table(X2) });
    await project.write({ id: X3, down: X2, message: "third", file: "0003_third.sql", ...table(X3) });
    await project.write({ id: F1, down: X3, message: "feature one", file: "0004_feature_one.sql", branchLabels: ["feature"], ...table(F1) });
    await project.write({ id: F2, down: F1, message: "feature two", file: "0005_feature_two.sql", ...table(F2) });
    await project.write({ id: M1, down: X3, message: "main line", file: "0006_main.sql", ...table(M1) });
    await project.configure({ development: { url: "${DATABASE_URL}" } });
  });
  afterAll(async () => {
    await db.drop();
    await project.remove();
  });

  it("walks every target form: prefix, +N, rev+N, -N, label@head, head (ambiguous), heads, an id, base", async () => {
    const first = await cli("upgrade", "1a1a");
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^upgrade ${X1} first \\(\\d+ ms\\)$`, "m"));
    expect(first.stdout).toContain(`upgraded development to ${X1}: 1 revision in`);
    expect(await currentIds()).toEqual([X1]);

    expect((await cli("upgrade", "+1")).status).toBe(0);
    expect(await currentIds()).toEqual([X2]);
    expect((await cli("upgrade", "2b2b+1")).status).toBe(0);
    expect(await currentIds()).toEqual([X3]);
    const down = await cli("downgrade", "-2");
    expect(down.status).toBe(0);
    expect(down.stdout).toContain(`downgrade ${X3} third`);
    expect(down.stdout).toContain(`downgrade ${X2} second`);
    expect(await currentIds()).toEqual([X1]);

    expect((await cli("upgrade", "feature@head")).status).toBe(0);
    expect(await currentIds()).toEqual([F2]);
    const ambiguous = await cli("upgrade");
    expect(ambiguous.status).toBe(2);
    expect(ambiguous.stderr).toContain("error:");
    expect(ambiguous.stderr).toContain("hint:");
    const heads = await cli("upgrade", "heads");
    expect(heads.status).toBe(0);
    expect(heads.stdout).toContain(`upgrade ${M1} main line`);
    expect(await currentIds()).toEqual([F2, M1]);
    const text = await cli("current");
    expect(text.stdout).toContain(`${F2} (head) feature two`);
    expect(text.stdout).toContain(`${M1} (head) main line`);

    const back = await cli("downgrade", X3);
    expect(back.status).toBe(0);
    expect(await currentIds()).toEqual([X3]);
    expect((await cli("downgrade", "base")).status).toBe(0);
    expect(await currentIds()).toEqual([]);
    expect((await cli("upgrade", "zzzz")).status).toBe(2);
    expect((await cli("upgrade", "ffff")).status).toBe(2);
  });

  it("--dry-run shows the plan and changes nothing; --sql prints a script without connecting", async () => {
    const dry = await cli("upgrade", "feature@head", "--dry-run");
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain("dry run: 5 revisions to upgrade on development");
    expect(dry.stdout).toContain(`upgrade ${F2} feature two  0005_feature_two.sql`);
    expect(dry.stdout).toContain("nothing was changed");
    expect(await currentIds()).toEqual([]);

    const offline = await runCli(["upgrade", "--sql", `${X1}:${X3}`], { cwd: project.dir, env: baseEnv({ DATABASE_URL: "postgresql://nobody:pw@127.0.0.1:1/none" }) });
    expect(offline.status).toBe(0);
    expect(offline.stdout).toContain("CREATE TABLE IF NOT EXISTS");
    expect(offline.stdout).not.toContain(`-- upgrade ${X1}`);
    // Each revision's transaction starts with its guard (src/run/offline-guards.ts), then its SQL.
    expect(offline.stdout).toMatch(new RegExp(`-- upgrade ${X2} second \\(0002_second\\.sql\\)\\nBEGIN;\\nDO \\$\\$ BEGIN IF EXISTS [^\\n]* END \\$\\$;\\nCREATE TABLE t_${X2} \\(id int\\);`));
    expect(offline.stdout).toContain(`-- upgrade ${X3}`);
    expect(offline.stderr).toBe("");
    const needsRange = await cli("downgrade", "--sql", "base");
    expect(needsRange.status).toBe(2);
    expect(needsRange.stderr).toContain("FROM:TO");
  });

  it("--json prints one document; a failing revision exits 1 naming file, line and statement", async () => {
    const json = await cli("--json", "upgrade", X2);
    expect(json.status).toBe(0);
    const document = JSON.parse(json.stdout) as { completed: string[]; current: string[]; plan: { revision: string; file: string }[] };
    expect(document.completed).toEqual([X1, X2]);
    expect(document.current).toEqual([X2]);
    expect(document.plan[0]).toMatchObject({ revision: X1, file: "0001_first.sql", direction: "up", transactional: true });
    expect(json.stderr).toContain(`upgrade ${X1} first`);

    await project.write({ id: X3, down: X2, message: "third", file: "0003_third.sql", upgrade: "CREATE TABLE t_ok (id int);\nALTER TABLE t_missing ADD COLUMN x int;", downgrade: "SELECT 1;" });
    const failed = await cli("upgrade", X3);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain(`error: revision ${X3} (third) failed to upgrade at 0003_third.sql:7: relation "t_missing" does not exist`);
    expect(failed.stderr).toContain("statement: ALTER TABLE t_missing ADD COLUMN x int");
    expect(failed.stderr).toContain("hint:");
    expect(await currentIds()).toEqual([X2]);
    await project.write({ id: X3, down: X2, message: "third", file: "0003_third.sql", ...table(X3) });
  });

  it("an edited applied revision exits 5 until repair; resolve needs one outcome", async () => {
    await project.write({ id: X1, message: "first", file: "0001_first.sql", upgrade: `CREATE TABLE t_${X1} (id int); -- edited`, downgrade: `DROP TABLE t_${X1};` });
    const blocked = await cli("upgrade", X3);
    expect(blocked.status).toBe(5);
    expect(blocked.stderr).toContain("0001_first.sql");
    expect(blocked.stderr).toContain("athanor repair");
    const repaired = await cli("repair");
    expect(repaired.status).toBe(0);
    expect(repaired.stdout).toContain(`repaired ${X1} 0001_first.sql`);
    expect((await cli("upgrade", X3)).status).toBe(0);
    expect(await currentIds()).toEqual([X3]);
    expect((await cli("resolve", X3)).status).toBe(2);
    expect((await cli("resolve", X3, "--applied", "--rolled-back")).status).toBe(2);
    const notUnfinished = await cli("resolve", X3, "--applied");
    expect(notUnfinished.status).toBe(2);
    expect(notUnfinished.stderr).toContain("not an unfinished revision");
    const stamped = await cli("stamp", "base");
    expect(stamped.status).toBe(0);
    expect(stamped.stdout).toContain("stamped development at base");
    expect(await currentIds()).toEqual([]);
    const json = await cli("--json", "stamp", X2);
    expect(JSON.parse(json.stdout)).toMatchObject({ environment: "development", target: X2, before: [], current: [X2], recorded: [X1, X2], removed: [] });
  });
});

describe("engine commands through the CLI (PGlite directory)", () => {
  it("upgrades a PGlite database on disk, holding a lock file beside it only while running", async () => {
    const project = await createEngineProject();
    try {
      await project.write({ id: X1, message: "first", ...table(X1) });
      await project.write({ id: X2, down: X1, message: "second", ...table(X2) });
      await project.configure({ development: { url: "pglite://./.athanor/dev" } });
      const env = baseEnv();
      expect(existsSync(join(project.dir, ".athanor", "dev"))).toBe(false);
      const current0 = await runCli(["current", "--json"], { cwd: project.dir, env });
      expect(JSON.parse(current0.stdout)).toEqual({ environment: "development", current: [] });
      expect(existsSync(join(project.dir, ".athanor", "dev"))).toBe(false);
      const up = await runCli(["upgrade"], { cwd: project.dir, env });
      expect(up.stderr).toBe("");
      expect(up.status).toBe(0);
      expect(up.stdout).toContain(`upgraded development to ${X2}: 2 revisions`);
      expect(existsSync(join(project.dir, ".athanor", "dev.lock"))).toBe(false);
      const after = await runCli(["current", "--json"], { cwd: project.dir, env });
      expect(JSON.parse(after.stdout)).toEqual({ environment: "development", current: [X2] });
    } finally {
      await project.remove();
    }
  });
});
