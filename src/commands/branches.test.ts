import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevisionGraph } from "../revisions/graph.js";
import { branches } from "./branches.js";
import { writeInspectFixture } from "./inspect.fixture.js";

let dir: string;
let ids: Record<string, string>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "athanor-branches-"));
  ids = await writeInspectFixture(join(dir, "migrations"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("branches", () => {
  it("lists each branch point with its children and the heads they lead to", async () => {
    const result = await branches({ migrationsDir: join(dir, "migrations") });
    expect(result.branchPoints.map((point) => [point.revision.id, point.children.map((child) => child.id), point.heads])).toEqual([
      [ids["a1"], [ids["71"], ids["b2"]], [ids["82"], ids["f6"]]],
      [ids["b2"], [ids["c3"], ids["d4"]], [ids["f6"]]],
    ]);
    expect(result.branchPoints[0]?.revision.isBranchPoint).toBe(true);
  });

  it("is empty for a graph without branches", async () => {
    expect(await branches({ migrationsDir: "/unused", graph: RevisionGraph.build([]) })).toEqual({ branchPoints: [] });
  });
});
