import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProblemError } from "../errors.js";
import { revision } from "../revisions/fixtures.js";
import { RevisionGraph } from "../revisions/graph.js";
import { assertSingleHead, heads } from "./heads.js";
import { writeInspectFixture } from "./inspect.fixture.js";

let dir: string;
let ids: Record<string, string>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "athanor-heads-"));
  ids = await writeInspectFixture(join(dir, "migrations"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("heads", () => {
  it("lists the heads of a directory with their summaries", async () => {
    const result = await heads({ migrationsDir: join(dir, "migrations") });
    expect(result.heads.map((head) => head.id)).toEqual([ids["82"], ids["f6"]]);
    expect(result.heads[0]).toEqual({
      id: ids["82"],
      parents: [ids["71"]],
      message: "backfill search",
      branchLabels: [],
      dependsOn: [ids["c3"]],
      file: `${ids["82"]}_82.ts`,
      format: "ts",
      transactional: false,
      isHead: true,
      isBase: false,
      isBranchPoint: false,
      isMerge: false,
    });
  });

  const cases: [string, RevisionGraph, number][] = [
    ["no revisions", RevisionGraph.build([]), 0],
    ["one chain", RevisionGraph.build([revision("a"), revision("b", ["a"])]), 1],
    ["two branches", RevisionGraph.build([revision("a"), revision("b", ["a"]), revision("c", ["a"])]), 2],
  ];
  it.each(cases)("%s: %i head(s); --check fails only above one", async (_name, graph, count) => {
    const result = await heads({ migrationsDir: "/unused", graph });
    expect(result.heads).toHaveLength(count);
    if (count <= 1) expect(() => assertSingleHead(result)).not.toThrow();
    else {
      expect(() => assertSingleHead(result)).toThrow(ProblemError);
      try {
        assertSingleHead(result);
      } catch (error) {
        expect((error as ProblemError).exitStatus).toBe(5);
        expect((error as ProblemError).code).toBe("multiple-heads");
        expect((error as ProblemError).hint).toMatch(/athanor merge -m "merge heads" heads/);
      }
    }
  });
});
