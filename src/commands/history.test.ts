import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevisionError } from "../errors.js";
import { history } from "./history.js";
import { writeInspectFixture } from "./inspect.fixture.js";

let migrationsDir: string;
let root: string;
let ids: Record<string, string>;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "athanor-history-"));
  migrationsDir = join(root, "migrations");
  ids = await writeInspectFixture(migrationsDir);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const names = (revisions: readonly { id: string }[]): string => revisions.map((revision) => Object.entries(ids).find(([, id]) => id === revision.id)?.[0]).join(" ");

describe("history", () => {
  it("lists every revision, newest first", async () => {
    const result = await history({ migrationsDir });
    expect(result.range).toBeNull();
    expect(names(result.revisions)).toBe("f6 e5 d4 82 c3 b2 71 a1");
  });

  const ranges: [string, string][] = [
    [":", "f6 e5 d4 82 c3 b2 71 a1"],
    ["base:heads", "f6 e5 d4 82 c3 b2 71 a1"],
    ["b2:e5", "e5 d4 c3 b2"],
    ["c3:", "f6 e5 82 c3"],
    [":c3", "c3 b2 a1"],
    ["feature:feature@head", "82 71"],
    ["a1:a1", "a1"],
    ["f6-1:", "f6 e5"],
    [":base", ""],
    ["feature@-1:", "82 71"],
    ["71:7171@head", "82 71"],
    ["feature@base:feature", "71 a1"],
    [":feature@base", ""],
  ];
  it.each(ranges)("-r %s", async (range, expected) => {
    expect(names((await history({ migrationsDir, range })).revisions)).toBe(expected);
  });

  it("gives the details of each revision", async () => {
    const [merge] = (await history({ migrationsDir, range: "e5:e5" })).revisions;
    expect(merge).toMatchObject({ id: ids["e5"], parents: [ids["c3"], ids["d4"]], children: [ids["f6"]], isMerge: true, message: "merge orders and invoices", format: "sql" });
    expect(merge?.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  const errors: [string, string, RegExp][] = [
    ["no colon", "a1", /is not a range/],
    ["two colons", "a1:b2:c3", /is not a range/],
    ["current", "current:", /needs a database/],
    ["relative to the database", "-2:", /counts from the database's current revision/],
    ["an unknown revision", "ffff:", /no revision ffff/],
    ["a reversed range", "e5:c3", /`e5:c3` is reversed: e5 \(e5e5e5e5e5e5\) is not below c3/],
    ["a range down to base", "f6:base", /is reversed/],
    ["ends on different branches", "d4:c3", /is not an ancestor of c3: they are on different branches/],
  ];
  it.each(errors)("rejects %s", async (_name, range, message) => {
    await expect(history({ migrationsDir, range })).rejects.toThrow(RevisionError);
    await expect(history({ migrationsDir, range })).rejects.toThrow(message);
  });
});
