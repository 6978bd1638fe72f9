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

/**
 * Alembic's `tests/test_revision.py` branch fixture (`somelongername` is 5, `someothername` 0):
 *   a ─ b ─ 5 ─ c        (label "abranch" on a)
 *   d ─ e ─ 0 ─ f        (label "ebranch" on e)
 */
const alembic = RevisionGraph.build([
  revision("a", [], { branchLabels: ["abranch"] }),
  revision("b", ["a"]),
  revision("5", ["b"]),
  revision("c", ["5"]),
  revision("d"),
  revision("e", ["d"], { branchLabels: ["ebranch"] }),
  revision("0", ["e"]),
  revision("f", ["0"]),
]);

const at = (...names: string[]): ResolvedTarget => ({ kind: "revisions", ids: names.map(rid) });
const along = (target: ResolvedTarget, name: string): ResolvedTarget => ({ ...target, along: rid(name) });
const base: ResolvedTarget = { kind: "base" };

describe("parseTarget", () => {
  const cases: [string, ParsedTarget][] = [
    ["head", { kind: "head" }],
    ["HEAD", { kind: "head" }],
    ["heads", { kind: "heads" }],
    ["base", { kind: "base" }],
    [" ae10 ", { kind: "revision", ref: "ae10" }],
    ["feature", { kind: "revision", ref: "feature" }],
    ["feature@head", { kind: "branch-head", branch: "feature" }],
    ["+2", { kind: "relative", from: null, steps: 2 }],
    ["-1", { kind: "relative", from: null, steps: -1 }],
    ["ae10+2", { kind: "relative", from: { kind: "revision", ref: "ae10" }, steps: 2 }],
    ["ae10-3", { kind: "relative", from: { kind: "revision", ref: "ae10" }, steps: -3 }],
    ["head-1", { kind: "relative", from: { kind: "head" }, steps: -1 }],
    ["feature@head-1", { kind: "relative", from: { kind: "branch-head", branch: "feature" }, steps: -1 }],
    ["feature-x-1", { kind: "relative", from: { kind: "revision", ref: "feature-x" }, steps: -1 }],
    ["ae10@head", { kind: "branch-head", branch: "ae10" }],
    ["feature@base", { kind: "branch-base", branch: "feature" }],
    ["ae10@base", { kind: "branch-base", branch: "ae10" }],
    ["feature@+2", { kind: "branch-relative", branch: "feature", steps: 2 }],
    ["feature@-1", { kind: "branch-relative", branch: "feature", steps: -1 }],
  ];
  it.each(cases)("%s", (text, expected) => {
    expect(parseTarget(text)).toEqual(expected);
  });

  it.each(["", "  ", "heads+1", "base-1", "a b", "@head", "head@head", "x!", "+0", "-0", "@base", "x@", "x@heads", "x@1", "x@+", "a b@-1"])("rejects %j", (text) => {
    expect(() => parseTarget(text)).toThrow(RevisionError);
  });

  it("round-trips through describeTarget", () => {
    for (const [text] of cases) expect(describeTarget(parseTarget(text))).toBe(text.trim().replace("HEAD", "head"));
  });
});

describe("resolveTarget", () => {
  const cases: { name: string; graph: RevisionGraph; target: string; current?: string[] | null; expected: ResolvedTarget }[] = [
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
    { name: "REV+N", graph: linear, target: "aa+3", expected: at("d") },
    { name: "REV-N", graph: linear, target: "dddd-2", expected: at("b") },
    { name: "label+N", graph: linear, target: "core+1", expected: at("b") },
    { name: "head-1", graph: linear, target: "head-1", expected: at("c") },
    { name: "REV-N down to base", graph: linear, target: "b-2", expected: base },
    { name: "label@head-1", graph: branched, target: "feature@head-1", expected: at("g") },
    { name: "up through a merge", graph: branched, target: "c+1", expected: at("e") },
    { name: "head of an empty graph", graph: RevisionGraph.build([]), target: "head", expected: { kind: "revisions", ids: [] } },
    // Alembic: test_get_current_named_rev, test_branch_at_syntax, test_branch_w_up_relative, test_branch_w_down_relative.
    { name: "label@head", graph: alembic, target: "ebranch@head", expected: at("f") },
    { name: "rev@head", graph: alembic, target: "eeee@head", expected: at("f") },
    { name: "rev@head below the label", graph: alembic, target: "dd@head", expected: at("f") },
    { name: "label@base", graph: alembic, target: "abranch@base", expected: along(base, "a") },
    { name: "rev@base", graph: alembic, target: "0000@base", expected: along(base, "0") },
    { name: "label@+2 from nothing applied walks up the branch from its base", graph: alembic, target: "ebranch@+2", current: [], expected: at("e") },
    { name: "label@+1 from where the database stands on the branch", graph: alembic, target: "ebranch@+1", current: [rid("c"), rid("e")], expected: along(at("0"), "e") },
    { name: "label@+1 with only the other branch applied", graph: alembic, target: "ebranch@+1", current: [rid("c")], expected: at("d") },
    { name: "label@-2 from the branch's applied head", graph: alembic, target: "ebranch@-2", current: [rid("c"), rid("f")], expected: along(at("e"), "f") },
    { name: "label@-1 below the label", graph: alembic, target: "abranch@-1", current: [rid("b"), rid("f")], expected: along(at("a"), "b") },
    { name: "label@-N down to base", graph: alembic, target: "abranch@-2", current: [rid("b")], expected: along(base, "b") },
    { name: "label@-1 without a database counts from the branch's head", graph: alembic, target: "ebranch@-1", current: null, expected: along(at("0"), "f") },
    { name: "label@+1 without a database counts from base", graph: alembic, target: "ebranch@+1", current: null, expected: at("d") },
    {
      name: "label@-1 at a merge follows the branch's parent",
      graph: RevisionGraph.build([revision("a"), revision("b", ["a"], { branchLabels: ["x"] }), revision("c", ["a"]), revision("d", ["b", "c"])]),
      target: "x@-1",
      current: [rid("d")],
      expected: along(at("b"), "d"),
    },
  ];
  it.each(cases)("$name ($target)", ({ graph, target, current, expected }) => {
    expect(resolveTarget(graph, target, current === undefined ? [] : current)).toEqual(expected);
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
    { name: "+0 (it goes nowhere)", graph: linear, target: "+0", current: [rid("b")], code: "invalid-target", message: /a step of 0 goes nowhere/ },
    { name: "label@-1 with nothing of the branch applied", graph: alembic, target: "ebranch@-1", current: [rid("c")], code: "relative-out-of-range", message: /nothing of branch `ebranch` is applied/ },
    { name: "label@+N past the branch's head", graph: alembic, target: "ebranch@+5", current: [], code: "relative-out-of-range", message: /only 4 revisions above base/ },
    { name: "unknown label@base", graph: alembic, target: "xbranch@base", code: "unknown-branch-label", message: /xbranch/ },
    { name: "rev@head above a branch point", graph: branched, target: "aa@head", code: "multiple-heads", message: /`aa@head` is ambiguous/ },
    {
      name: "label@-1 with two sub-branches applied",
      graph: RevisionGraph.build([revision("a", [], { branchLabels: ["x"] }), revision("b", ["a"]), revision("c", ["a"])]),
      target: "x@-1",
      current: [rid("b"), rid("c")],
      code: "multiple-heads",
      message: /2 revisions applied on that branch/,
    },
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
