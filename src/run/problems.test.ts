import { describe, expect, it } from "vitest";
import { ProblemError } from "../errors.js";
import { RevisionGraph } from "../revisions/graph.js";
import { revision, rid } from "../revisions/fixtures.js";
import { assertRunnable, findStateProblems } from "./problems.js";
import { appliedStateOf, type AppliedRevision } from "./version-table.js";

const graph = RevisionGraph.build([revision("a"), revision("b", ["a"], { checksum: "1".repeat(64) }), revision("c", ["b"])]);

function row(name: string, extra: Partial<AppliedRevision> = {}): AppliedRevision {
  const id = name.length === 12 ? name : rid(name);
  return { revision: id, checksum: graph.find(id)?.checksum ?? "x", state: "applied", appliedAt: "2026-01-01T00:00:00+00:00", appliedBy: "app (me)", durationMs: 1, ...extra };
}

describe("findStateProblems", () => {
  it("finds nothing in rows that match their files", () => {
    expect(findStateProblems(graph, appliedStateOf([row("a"), row("b")]))).toEqual([]);
  });

  it.each([
    ["an edited file", [row("a"), row("b", { checksum: "2".repeat(64) })], "checksum-mismatch", rid("b")],
    ["an unfinished non-transactional revision", [row("a"), row("b", { state: "started" })], "unfinished-revision", rid("b")],
    ["a row no file defines", [row("a"), row("f".repeat(12))], "unknown-applied-revision", "f".repeat(12)],
  ] as const)("reports %s", (_name, rows, code, revisionId) => {
    const problems = findStateProblems(graph, appliedStateOf(rows));
    expect(problems.map((problem) => [problem.code, problem.revision])).toEqual([[code, revisionId]]);
    expect(problems[0]?.hint.length).toBeGreaterThan(10);
  });

  it("an unfinished row is not also a checksum mismatch", () => {
    const problems = findStateProblems(graph, appliedStateOf([row("b", { state: "started", checksum: "9" })]));
    expect(problems.map((problem) => problem.code)).toEqual(["unfinished-revision"]);
  });
});

describe("assertRunnable", () => {
  it("passes a clean state", () => {
    expect(() => assertRunnable(graph, appliedStateOf([row("a")]))).not.toThrow();
  });

  it("throws one ProblemError (exit 5) naming every file and the fix", () => {
    const rows = [row("a", { checksum: "3" }), row("b", { checksum: "4" })];
    let error: unknown;
    try {
      assertRunnable(graph, appliedStateOf(rows));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProblemError);
    const problem = error as ProblemError;
    expect(problem.exitStatus).toBe(5);
    expect(problem.code).toBe("checksum-mismatch");
    expect(problem.message).toContain(`${rid("a")}_a.sql`);
    expect(problem.message).toContain(`${rid("b")}_b.sql`);
    expect(problem.hint).toContain("athanor repair");
    expect(problem.details["problems"]).toHaveLength(2);
  });

  it("mixed problems get a combined code and every hint", () => {
    expect(() => assertRunnable(graph, appliedStateOf([row("a", { checksum: "3" }), row("b", { state: "started" })]))).toThrow(/block this run/);
  });
});
