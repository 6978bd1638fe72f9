import { describe, expect, it } from "vitest";
import { RevisionError } from "../errors.js";
import { revision, rid } from "../revisions/fixtures.js";
import { RevisionGraph } from "../revisions/graph.js";
import { classifyState, currentHeads, planDowngrade, planUpgrade, type DatabaseState } from "./plan.js";
import type { Plan } from "./types.js";

/**
 *   a ─ b ─ c ─ e ─ f     (e merges c and d)
 *       └ d ┘
 *   a ─ 6 ─ 7             (label "feature" on 6)
 *   8 ─ 9                 (second root; 9 depends on c)
 */
const graph = RevisionGraph.build([
  revision("a"),
  revision("b", ["a"]),
  revision("c", ["b"]),
  revision("d", ["b"]),
  revision("e", ["c", "d"]),
  revision("f", ["e"]),
  revision("6", ["a"], { branchLabels: ["feature"] }),
  revision("7", ["6"]),
  revision("8"),
  revision("9", ["8"], { dependsOn: [rid("c")] }),
]);
const linear = RevisionGraph.build([revision("a"), revision("b", ["a"]), revision("c", ["b"])]);

/**
 *   a ─ b ─ c        (label "left" on c)
 *       └ d          (label "right" on d)
 *   e ─ f            (second root, label "other" on e)
 */
const forked = RevisionGraph.build([
  revision("a"),
  revision("b", ["a"]),
  revision("c", ["b"], { branchLabels: ["left"] }),
  revision("d", ["b"], { branchLabels: ["right"] }),
  revision("e", [], { branchLabels: ["other"] }),
  revision("f", ["e"]),
]);

const set = (names: string): Set<string> => new Set(names === "" ? [] : names.split(" ").map((name) => (name.length === 12 ? name : rid(name))));
const names = (plan: Plan): string => plan.steps.map((step) => step.revision.message.replace("revision ", "")).join(" ");

describe("currentHeads", () => {
  const cases: [string, string, string[]][] = [
    ["nothing applied", "", []],
    ["a chain", "a b c", [rid("c")]],
    ["two branches", "a b c 6", [rid("6"), rid("c")]],
    ["a dependency target stays a head", "a b c 8 9", [rid("c"), rid("9")]],
    ["a gap (stamped) still ends at the top", "a c", [rid("a"), rid("c")]],
    ["unknown ids come last, sorted", "a fedcfedcfedc 123412341234", [rid("a"), "123412341234", "fedcfedcfedc"]],
  ];
  it.each(cases)("%s", (_name, applied, expected) => {
    expect(currentHeads(graph, set(applied))).toEqual(expected);
  });
});

describe("planUpgrade", () => {
  const cases: { name: string; g?: RevisionGraph; applied: string; target: string; expected: string }[] = [
    { name: "from nothing to head", g: linear, applied: "", target: "head", expected: "a b c" },
    { name: "the rest of a chain", g: linear, applied: "a", target: "head", expected: "b c" },
    { name: "up to date", g: linear, applied: "a b c", target: "head", expected: "" },
    { name: "to an intermediate revision", g: linear, applied: "", target: "bb", expected: "a b" },
    { name: "relative +1", g: linear, applied: "a", target: "+1", expected: "b" },
    { name: "every branch, parents first", applied: "", target: "heads", expected: "8 a 6 7 b c 9 d e f" },
    { name: "a merge pulls both parents", applied: "a b c", target: "e", expected: "d e" },
    { name: "a dependency is applied first", applied: "", target: "9", expected: "8 a b c 9" },
    { name: "a label's branch", applied: "a", target: "feature@head", expected: "6 7" },
    { name: "a gap is filled", applied: "a c", target: "c", expected: "b" },
    { name: "unknown applied ids are ignored", g: linear, applied: "a fedcfedcfedc", target: "c", expected: "b c" },
    { name: "label@+1 from where the branch stands", g: forked, applied: "a b e", target: "right@+1", expected: "d" },
    { name: "label@+2 from nothing applied", g: forked, applied: "", target: "other@+2", expected: "e f" },
    { name: "rev@head", g: forked, applied: "a", target: "dd@head", expected: "b d" },
  ];
  it.each(cases)("$name", ({ g, applied, target, expected }) => {
    const plan = planUpgrade(g ?? graph, set(applied), target);
    expect(plan.direction).toBe("up");
    expect(plan.target).toBe(target);
    expect(names(plan)).toBe(expected);
    expect(plan.steps.every((step) => step.direction === "up")).toBe(true);
  });

  const errors: { name: string; g?: RevisionGraph; applied: string; target: string; code: string; message: RegExp }[] = [
    { name: "a target below the current head", g: linear, applied: "a b c", target: "a", code: "target-below-current", message: /below the current revision \(cccccccccccc\)/ },
    { name: "relative -1", g: linear, applied: "a b c", target: "-1", code: "target-below-current", message: /cannot upgrade to `-1`/ },
    { name: "base", g: linear, applied: "a", target: "base", code: "target-below-current", message: /below every revision/ },
    { name: "head with two heads", applied: "", target: "head", code: "multiple-heads", message: /3 heads/ },
    { name: "+0 on an empty database", g: linear, applied: "", target: "+0", code: "invalid-target", message: /a step of 0 goes nowhere/ },
    { name: "label@-1 (it counts down)", g: forked, applied: "a b c", target: "left@-1", code: "wrong-direction", message: /cannot upgrade to `left@-1`: it counts down the branch/ },
    { name: "label@base", g: forked, applied: "e", target: "other@base", code: "target-below-current", message: /below every revision/ },
  ];
  it.each(errors)("rejects $name", ({ g, applied, target, code, message }) => {
    let error: unknown;
    try {
      planUpgrade(g ?? graph, set(applied), target);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RevisionError);
    expect((error as RevisionError).code).toBe(code);
    expect((error as RevisionError).message).toMatch(message);
  });

  it("says to use downgrade", () => {
    expect(() => planUpgrade(linear, set("a b c"), "a")).toThrow(expect.objectContaining({ hint: "to go back to it, run `athanor downgrade a`" }));
  });

  it("does not hint at `downgrade +0` for `upgrade +0`", () => {
    expect(() => planUpgrade(linear, set(""), "+0")).toThrow(expect.objectContaining({ hint: expect.stringMatching(/^`\+1` applies the next revision and `head` all of them/) }));
  });
});

describe("planDowngrade", () => {
  const all = "a b c d e f 6 7 8 9";
  const cases: { name: string; g?: RevisionGraph; applied: string; target: string; expected: string }[] = [
    { name: "base reverts everything, children first", g: linear, applied: "a b c", target: "base", expected: "c b a" },
    { name: "relative -1", g: linear, applied: "a b c", target: "-1", expected: "c" },
    { name: "to a revision", g: linear, applied: "a b c", target: "a", expected: "c b" },
    { name: "to the current head", g: linear, applied: "a b c", target: "head", expected: "" },
    { name: "base with nothing applied", g: linear, applied: "", target: "base", expected: "" },
    { name: "base over every branch", applied: all, target: "base", expected: "f e d 9 c b 7 6 a 8" },
    { name: "dependents are reverted with their dependency", applied: all, target: "b", expected: "f e d 9 c" },
    { name: "unrelated branches stay (Alembic)", applied: all, target: "e", expected: "f" },
    { name: "below a branch point reverts both branches", applied: "a b c d 6", target: "a", expected: "d c b 6" },
    { name: "a label's revision", applied: "a 6 7", target: "feature", expected: "7" },
    { name: "label@-1 reverts that branch only", g: forked, applied: "a b c d e f", target: "left@-1", expected: "c" },
    { name: "a plain revision reverts both branches above it", g: forked, applied: "a b c d e f", target: "b", expected: "d c" },
    { name: "label@-2 below the branch point takes what stands on it", g: forked, applied: "a b c d e f", target: "left@-2", expected: "d c b" },
    { name: "label@base reverts that root's line only", g: forked, applied: "a b c d e f", target: "other@base", expected: "f e" },
    { name: "label@base of a branch reverts from its root", g: forked, applied: "a b c d e f", target: "right@base", expected: "d c b a" },
    { name: "label@-N past the root is the branch's base", g: forked, applied: "a b c e f", target: "other@-2", expected: "f e" },
    { name: "rev@base", g: forked, applied: "a b c e f", target: "ffff@base", expected: "f e" },
  ];
  it.each(cases)("$name", ({ g, applied, target, expected }) => {
    const plan = planDowngrade(g ?? graph, set(applied), target);
    expect(plan.direction).toBe("down");
    expect(names(plan)).toBe(expected);
    expect(plan.steps.every((step) => step.direction === "down")).toBe(true);
  });

  const errors: { name: string; g?: RevisionGraph; applied: string; target: string; code: string; message: RegExp }[] = [
    { name: "a target that is not applied", g: linear, applied: "a", target: "c", code: "target-not-applied", message: /cannot downgrade to `c` \(cccccccccccc\): it is not applied/ },
    { name: "relative +1", g: linear, applied: "a", target: "+1", code: "target-not-applied", message: /not applied/ },
    { name: "unknown applied revisions", g: linear, applied: "a fedcfedcfedc", target: "base", code: "unknown-applied-revision", message: /fedcfedcfedc/ },
    { name: "-1 with two current heads", applied: "a b c 6", target: "-1", code: "multiple-heads", message: /2 current heads/ },
    { name: "label@+1 (it counts up)", g: forked, applied: "a b", target: "left@+1", code: "wrong-direction", message: /cannot downgrade to `left@\+1`: it counts up the branch/ },
  ];
  it.each(errors)("rejects $name", ({ g, applied, target, code, message }) => {
    let error: unknown;
    try {
      planDowngrade(g ?? graph, set(applied), target);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RevisionError);
    expect((error as RevisionError).code).toBe(code);
    expect((error as RevisionError).message).toMatch(message);
    expect((error as RevisionError).hint).toBeTruthy();
  });
});

describe("classifyState", () => {
  const cases: [string, RevisionGraph, string, DatabaseState, number][] = [
    ["empty directory, empty database", RevisionGraph.build([]), "", "up-to-date", 0],
    ["everything applied", linear, "a b c", "up-to-date", 0],
    ["nothing applied", linear, "", "behind", 3],
    ["a gap", linear, "a c", "behind", 1],
    ["one branch missing", graph, "a b c d e f 8 9", "behind", 2],
    ["unknown applied revision", linear, "a b c fedcfedcfedc", "ahead", 0],
    ["unknown and pending", linear, "a fedcfedcfedc", "diverged", 2],
  ];
  it.each(cases)("%s", (_name, g, applied, state, pending) => {
    const report = classifyState(g, set(applied));
    expect(report.state).toBe(state);
    expect(report.pending).toHaveLength(pending);
  });

  it("reports the facts", () => {
    expect(classifyState(linear, set("a fedcfedcfedc"))).toEqual({
      state: "diverged",
      pending: [rid("b"), rid("c")],
      unknown: ["fedcfedcfedc"],
      current: [rid("a"), "fedcfedcfedc"],
      heads: [rid("c")],
    });
  });
});

describe("planning at scale", () => {
  it("plans 10,000 revisions linearly", () => {
    const files = Array.from({ length: 10_000 }, (_, i) => ({
      ...revision("a"),
      id: i.toString(16).padStart(12, "0"),
      parents: i === 0 ? [] : [(i - 1).toString(16).padStart(12, "0")],
    }));
    const big = RevisionGraph.build(files);
    const applied = new Set(files.slice(0, 5_000).map((file) => file.id));
    const up = planUpgrade(big, applied, "head");
    expect(up.steps).toHaveLength(5_000);
    expect(up.steps[0]?.revision.id).toBe((5_000).toString(16).padStart(12, "0"));
    const down = planDowngrade(big, applied, "base");
    expect(down.steps).toHaveLength(5_000);
    expect(down.steps[0]?.revision.id).toBe((4_999).toString(16).padStart(12, "0"));
  });
});
