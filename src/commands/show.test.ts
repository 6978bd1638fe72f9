import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevisionError } from "../errors.js";
import { writeInspectFixture } from "./inspect.fixture.js";
import { show } from "./show.js";

let migrationsDir: string;
let root: string;
let ids: Record<string, string>;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "athanor-show-"));
  migrationsDir = join(root, "migrations");
  ids = await writeInspectFixture(migrationsDir);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("show", () => {
  const cases: [string, string[]][] = [
    ["c3c3", ["c3"]],
    ["feature", ["71"]],
    ["feature@head", ["82"]],
    ["f6-1", ["e5"]],
    ["heads", ["82", "f6"]],
  ];
  it.each(cases)("%s", async (revision, expected) => {
    const result = await show({ migrationsDir, revision });
    expect(result.revisions.map((shown) => shown.id)).toEqual(expected.map((name) => ids[name]));
  });

  it("shows an SQL revision with its sections and file lines", async () => {
    const [shown] = (await show({ migrationsDir, revision: ids["b2"] as string })).revisions;
    expect(shown).toMatchObject({
      id: ids["b2"],
      parents: [ids["a1"]],
      children: [ids["c3"], ids["d4"]],
      dependents: [],
      isBranchPoint: true,
      path: join(migrationsDir, `${ids["b2"]}_b2.sql`),
      sql: { upgrade: { sql: "SELECT 'b2';\n\n", line: 7 }, downgrade: { sql: "SELECT 'undo b2';\n", line: 10 } },
    });
  });

  it("shows a TypeScript revision without running it", async () => {
    const [shown] = (await show({ migrationsDir, revision: "8282" })).revisions;
    expect(shown).toMatchObject({ format: "ts", sql: null, transactional: false, dependsOn: [ids["c3"]] });
  });

  it.each([
    ["head", /there are 2 heads/],
    ["base", /names no revision/],
    ["nope", /neither a revision nor a branch label/],
  ])("rejects %s", async (revision, message) => {
    await expect(show({ migrationsDir, revision })).rejects.toThrow(RevisionError);
    await expect(show({ migrationsDir, revision })).rejects.toThrow(message);
  });
});
