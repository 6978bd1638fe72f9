import { describe, expect, it } from "vitest";
import { RevisionGraph } from "../revisions/graph.js";
import { revision, rid } from "../revisions/fixtures.js";
import { stampedSet } from "./stamp.js";

// a ← b ← c (main), b ← f1 ← f2 (feature)
const graph = RevisionGraph.build([revision("a"), revision("b", ["a"]), revision("c", ["b"]), revision("f1", ["b"]), revision("f2", ["f1"])]);
const set = (...names: string[]) => new Set(names.map(rid));

describe("stampedSet", () => {
  it.each([
    ["head of one branch from nothing", [], rid("c"), ["a", "b", "c"]],
    ["down the current branch", ["a", "b", "c"], rid("b"), ["a", "b"]],
    ["the other branch, keeping this one", ["a", "b", "c"], "f2", ["a", "b", "c", "f1", "f2"]],
    ["heads", [], "heads", ["a", "b", "c", "f1", "f2"]],
    ["base", ["a", "b"], "base", []],
  ] as const)("%s", (_name, applied, target, expected) => {
    const result = stampedSet(graph, set(...applied), target.length === 12 || target === "heads" || target === "base" ? target : rid(target));
    expect([...result].sort()).toEqual(expected.map(rid).sort());
  });

  it("drops ids no file defines", () => {
    expect([...stampedSet(graph, new Set([rid("a"), "ffffffffffff"]), rid("a"))]).toEqual([rid("a")]);
  });

  it("several targets stamp several branches; base among them empties first", () => {
    expect([...stampedSet(graph, new Set(), [rid("c"), "f1"])].sort()).toEqual(["a", "b", "c", "f1"].map(rid).sort());
    expect([...stampedSet(graph, set("a", "b", "c"), ["base", "f2"])].sort()).toEqual(["a", "b", "f1", "f2"].map(rid).sort());
  });

  it("branch@base removes that branch only, keeping what another branch stands on", () => {
    // two roots: a ← b (main) and x ← y (labelled billing)
    const roots = RevisionGraph.build([revision("a"), revision("b", ["a"]), revision("x", [], { branchLabels: ["billing"] }), revision("y", ["x"])]);
    expect([...stampedSet(roots, set("a", "b", "x", "y"), "billing@base")].sort()).toEqual(["a", "b"].map(rid).sort());
    // on one root: removing feature's line keeps a and b, which main still stands on
    expect([...stampedSet(graph, set("a", "b", "c", "f1", "f2"), `${rid("f2")}@base`)].sort()).toEqual(["a", "b", "c"].map(rid).sort());
  });

  it("refuses two targets on one line of descent", () => {
    expect(() => stampedSet(graph, new Set(), [rid("b"), rid("c")])).toThrow(/same line of descent/);
  });
});
