/**
 * adv21faults finding 6: `athanor --env <fleet> stamp REV --json` names every target that
 * succeeded after the stamp's revision target: `{"target":"base","status":"ok","environment":
 * "shards",...}` for both f1 and f2. The stamp result's own `target` field (the revision
 * target, already the document's `to`) is spread over the fleet target's name, so the JSON
 * no longer says which database each entry is about. docs/fleets.md: "`targets` entries each
 * carry a `target` field ... The revision target (`head`, `-1`) is `to`."
 * Through the CLI on PostgreSQL, one target unreachable (a closed loopback port).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, runCli } from "./support/cli.js";
import { createPostgresDatabase, type TestDatabase } from "./support/databases.js";
import { createEngineProject, type EngineProject } from "./support/engine-project.js";
import { freePort } from "./support/faults.js";

const A = "a21f21a21f21";

describe("adv21faults: fleet stamp --json names each target (PostgreSQL)", { timeout: 120_000 }, () => {
  let project: EngineProject;
  let one: TestDatabase;
  let two: TestDatabase;

  beforeAll(async () => {
    project = await createEngineProject();
    one = await createPostgresDatabase("athanor_adv21_fleet");
    two = await createPostgresDatabase("athanor_adv21_fleet");
    await project.write({ id: A, message: "a", upgrade: "CREATE TABLE a (x int);", downgrade: "DROP TABLE a;" });
    const closed = `postgresql://nobody:pw@127.0.0.1:${await freePort()}/nothing`;
    await project.configure({ shards: { targets: { f1: one.url, f2: two.url, gone: closed }, onFailure: "continue" } });
  });
  afterAll(async () => {
    await one?.drop();
    await two?.drop();
    await project?.remove();
  });

  it("each entry's target is the fleet target's name; the revision target is `to`", async () => {
    const result = await runCli(["--env", "shards", "stamp", "head", "--json"], { cwd: project.dir, env: baseEnv() });
    expect(result.status, result.stderr).toBe(1);
    const document = JSON.parse(result.stdout) as { to: string; targets: { target: string; status: string }[] };
    expect(document.to).toBe("head");
    expect(document.targets.map((entry) => [entry.target, entry.status])).toEqual([
      ["f1", "ok"],
      ["f2", "ok"],
      ["gone", "failed"],
    ]);
  });
});
