import { describe, expect, it } from "vitest";
import { RevisionError } from "../errors.js";
import { revision, rid } from "./fixtures.js";
import { RevisionGraph } from "./graph.js";
import { describeTarget, parseTarget, resolveRevision, resolveTarget, type ParsedTarget, type ResolvedTarget } from "./targets.js";

/** A linear chain a → b → c → d, label "core" on a. */
const linear = RevisionGraph.build([revision("a", [], { branchLabels: ["core"] }), revision("b", ["a"]), revision("c", ["b"]), revision("d", ["c"])]);

/**
 *   a ─ b ─ c ─ e        (e merges c and d)
 *       └ d ┘
 *   a ─ g ─ h            (label "feature" on g, "release-2" on h)
 */
const branched = RevisionGraph.build([
  revision("a"),
  revision("b", ["a"]),
  revision("c", ["b"]),
  revision("d", ["b"]),
  revision("e", ["c", "d"]),
  revision("g", ["a"], { branchLabels: ["feature"] }),
  revision("h", ["g"], { branchLabels: ["release-2"] }),
]);

const at = (...names: string[]): ResolvedTarget => ({ kind: "revisions", ids: names.map(rid) });
const base: ResolvedTarget = { kind: "base" };

describe("parseTarget", () => {
  const cases: [string, ParsedTarget][] = [
    ["head", { kind: "head" }],
    ["HEAD", { kind: "head" }],
    ["heads", { kind: "heads" }],
    ["base", { kind: "base" }],
    [" ae10 ", { kind: "revision", ref: "ae10" }],
    ["feature", { kind: "revision", ref: "feature" }],
    ["feature@head", { kind: "label-head", label: "feature" }],
    ["+2", { kind: "relative", from: null, steps: 2 }],
    ["-1", { kind: "relative", from: null, steps: -1 }],
    ["ae10+2", { kind: "relative", from: { kind: "revision", ref: "ae10" }, steps: 2 }],
    ["ae10-3", { kind: "relative", from: { kind: "revision", ref: "ae10" }, steps: -3 }],
    ["head-1", { kind: "relative", from: { kind: "head" }, steps: -1 }],
    ["feature@head-1", { kind: "relative", from: { kind: "label-head", label: "feature" }, steps: -1 }],
    ["feature-x-1", { kind: "relative", from: { kind: "revision", ref: "feature-x" }, steps: -1 }],
  ];
  it.each(cases)("%s", (text, expected) => {
    expect(parseTarget(text)).toEqual(expected);
  });

  it.each(["", "  ", "heads+1", "base-1", "a b", "@head", "head@head", "x!"])("rejects %j", (text) => {
    expect(() => parseTarget(text)).toThrow(RevisionError);
  });

  it("round-trips through describeTarget", () => {
    for (const [text] of cases) expect(describeTarget(parseTarget(text))).toBe(text.trim().replace("HEAD", "head"));
  });
});

describe("resolveTarget", () => {
  const cases: { name: string; graph: RevisionGraph; target: string; current?: string[]; expected: ResolvedTarget }[] = [
    { name: "head of a chain", graph: linear, target: "head", expected: at("d") },
    { name: "heads of a branched graph", graph: branched, target: "heads", expected: at("e", "h") },
    { name: "base", graph: linear, target: "base", expected: base },
    { name: "full id", graph: linear, target: rid("b"), expected: at("b") },
    { name: "unique prefix", graph: linear, target: "cc", expected: at("c") },
    { name: "bare label", graph: branched, target: "feature", expected: at("g") },
    { name: "label that looks relative", graph: branched, target: "release-2", expected: at("h") },
    { name: "label@head", graph: branched, target: "feature@head", expected: at("h") },
    { name: "+1 from nothing applied", graph: linear, target: "+1", current: [], expected: at("a") },
    { name: "+2 from the current head", graph: linear, target: "+2", current: [rid("a")], expected: at("c") },
    { name: "-1 from the current head", graph: linear, target: "-1", current: [rid("d")], expected: at("c") },
    { name: "-1 from the root is base", graph: linear, target: "-1", current: [rid("a")], expected: base },
    { name: "+0 stays", graph: linear, target: "+0", current: [rid("b")], expected: at("b") },
    { name: "REV+N", graph: linear, target: "aa+3", expected: at("d") },
    { name: "REV-N", graph: linear, target: "dddd-2", expected: at("b") },
    { name: "label+N", graph: linear, target: "core+1", expected: at("b") },
    { name: "head-1", graph: linear, target: "head-1", expected: at("c") },
    { name: "REV-N down to base", graph: linear, target: "b-2", expected: base },
    { name: "label@head-1", graph: branched, target: "feature@head-1", expected: at("g") },
    { name: "up through a merge", graph: branched, target: "c+1", expected: at("e") },
    { name: "head of an empty graph", graph: RevisionGraph.build([]), target: "head", expected: { kind: "revisions", ids: [] } },
  ];
  it.each(cases)("$name ($target)", ({ graph, target, current, expected }) => {
    expect(resolveTarget(graph, target, current ?? [])).toEqual(expected);
  });

  const errors: { name: string; graph: RevisionGraph; target: string; current?: string[]; code: string; message: RegExp }[] = [
    { name: "head with two heads", graph: branched, target: "head", code: "multiple-heads", message: /target `head` is ambiguous: there are 2 heads \(eeeeeeeeeeee, hhhhhhhhhhhh\)/ },
    { name: "label@head above a branch point", graph: RevisionGraph.build([revision("a", [], { branchLabels: ["x"] }), revision("b", ["a"]), revision("c", ["a"])]), target: "x@head", code: "multiple-heads", message: /`x@head` is ambiguous/ },
    { name: "relative with two current heads", graph: branched, target: "+1", current: [rid("e"), rid("h")], code: "multiple-heads", message: /the database has 2 current heads/ },
    { name: "relative from an unknown current head", graph: linear, target: "-1", current: [rid("f")], code: "unknown-revision", message: /not in the migrations directory/ },
    { name: "past the head", graph: linear, target: "+5", current: [rid("b")], code: "relative-out-of-range", message: /only 2 revisions above bbbbbbbbbbbb/ },
    { name: "below base", graph: linear, target: "b-3", code: "relative-out-of-range", message: /goes below base \(only 1 revision below bbbbbbbbbbbb\)/ },
    { name: "-1 with nothing applied", graph: linear, target: "-1", current: [], code: "relative-out-of-range", message: /nothing is applied/ },
    { name: "up from a branch point", graph: branched, target: "b+1", code: "ambiguous-revision", message: /bbbbbbbbbbbb is followed by 2 revisions/ },
    { name: "down from a merge", graph: branched, target: "e-1", code: "ambiguous-revision", message: /is a merge of cccccccccccc, dddddddddddd/ },
    { name: "from base with two roots", graph: RevisionGraph.build([revision("a"), revision("b")]), target: "+1", current: [], code: "ambiguous-revision", message: /base is followed by 2 revisions/ },
    { name: "unknown id", graph: linear, target: "ff", code: "unknown-revision", message: /no revision ff/ },
    { name: "unknown label", graph: linear, target: "billing", code: "unknown-revision", message: /neither a revision nor a branch label/ },
    { name: "unknown label@head", graph: linear, target: "billing@head", code: "unknown-branch-label", message: /billing/ },
    { name: "ambiguous prefix", graph: RevisionGraph.build([revision("ab1"), revision("ab2")]), target: "ab", code: "ambiguous-revision", message: /matches 2 revisions/ },
  ];
  it.each(errors)("$name ($target)", ({ graph, target, current, code, message }) => {
    let error: unknown;
    try {
      resolveTarget(graph, target, current ?? []);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RevisionError);
    expect((error as RevisionError).code).toBe(code);
    expect((error as RevisionError).message).toMatch(message);
    expect((error as RevisionError).hint).toBeTruthy();
  });

  it("hints at merging when head is ambiguous", () => {
    try {
      resolveTarget(branched, "head", []);
    } catch (error) {
      expect((error as RevisionError).hint).toMatch(/athanor merge -m "merge heads" heads/);
      expect((error as RevisionError).details).toEqual({ heads: [rid("e"), rid("h")] });
    }
  });
});

describe("resolveRevision", () => {
  it.each([
    ["head", rid("d")],
    ["core", rid("a")],
    ["c-1", rid("b")],
  ])("%s", (target, expected) => {
    expect(resolveRevision(linear, target)).toBe(expected);
  });

  it("rejects targets that are not one revision", () => {
    expect(() => resolveRevision(linear, "base")).toThrow(/names no revision/);
    expect(() => resolveRevision(branched, "heads")).toThrow(/there are 2 heads/);
    expect(() => resolveRevision(RevisionGraph.build([]), "heads")).toThrow(/no revisions yet/);
  });
});
