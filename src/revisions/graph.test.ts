import { describe, expect, it } from "vitest";
import { RevisionError } from "../errors.js";
import { revision, rid } from "./fixtures.js";
import { RevisionGraph } from "./graph.js";
import type { RevisionFile } from "./types.js";

/**
 *   a ─ b ─ c ─ e ─ f        (b branches to c and d, e merges them)
 *   │     └ d ┘
 *   └ g ─ h                   (label "feature" on g)
 *   x ─ y                     (y depends on c; label "other" on x)
 */
const files: RevisionFile[] = [
  revision("f", ["e"]),
  revision("e", ["c", "d"]),
  revision("d", ["b"]),
  revision("c", ["b"]),
  revision("b", ["a"]),
  revision("a", [], { branchLabels: ["core"] }),
  revision("g", ["a"], { branchLabels: ["feature"] }),
  revision("h", ["g"]),
  revision("x", [], { branchLabels: ["other"] }),
  revision("y", ["x"], { dependsOn: [rid("c")] }),
];
const graph = RevisionGraph.build(files);
const ids = (names: string): string[] => (names === "" ? [] : names.split(" ").map(rid));

function caught(run: () => unknown): RevisionError {
  try {
    run();
  } catch (error) {
    if (error instanceof RevisionError) return error;
    throw error;
  }
  throw new Error("expected a RevisionError");
}

describe("RevisionGraph queries", () => {
  const cases: { name: string; actual: () => unknown; expected: unknown }[] = [
    { name: "heads", actual: () => graph.heads().sort(), expected: ids("f h y").sort() },
    { name: "bases", actual: () => graph.bases().sort(), expected: ids("a x").sort() },
    { name: "branch points", actual: () => graph.branchPoints().sort(), expected: ids("a b").sort() },
    { name: "merge points", actual: () => graph.mergePoints(), expected: ids("e") },
    { name: "parents of a merge", actual: () => graph.parentsOf(rid("e")), expected: ids("c d") },
    { name: "children of a branch point", actual: () => graph.childrenOf(rid("b")).sort(), expected: ids("c d").sort() },
    { name: "dependencies", actual: () => graph.dependenciesOf(rid("y")), expected: ids("c") },
    { name: "dependents", actual: () => graph.dependentsOf(rid("c")), expected: ids("y") },
    { name: "ancestors of a merge", actual: () => [...graph.ancestors(rid("e"))].sort(), expected: ids("a b c d").sort() },
    { name: "ancestors, inclusive", actual: () => [...graph.ancestors(rid("e"), { inclusive: true })].sort(), expected: ids("a b c d e").sort() },
    { name: "ancestors follow dependencies", actual: () => [...graph.ancestors(rid("y"))].sort(), expected: ids("a b c x").sort() },
    { name: "ancestors through parents only", actual: () => [...graph.ancestors(rid("y"), { dependencies: false })], expected: ids("x") },
    { name: "descendants through children only", actual: () => [...graph.descendants(rid("c"), { dependencies: false })].sort(), expected: ids("e f").sort() },
    { name: "ancestors not applied, in topological order", actual: () => graph.ancestorsNotIn([rid("e"), rid("y")], new Set([rid("a"), rid("c"), rid("zzz")])), expected: graph.topologicalOrder().filter((id) => graph.ancestors([rid("e"), rid("y")], { inclusive: true }).has(id) && id !== rid("a") && id !== rid("c")) },
    { name: "ancestors of several", actual: () => [...graph.ancestors([rid("h"), rid("d")])].sort(), expected: ids("a b g").sort() },
    { name: "ancestors of a root", actual: () => [...graph.ancestors(rid("a"))], expected: [] },
    { name: "descendants follow dependents", actual: () => [...graph.descendants(rid("c"))].sort(), expected: ids("e f y").sort() },
    { name: "descendants, inclusive", actual: () => [...graph.descendants(rid("g"), { inclusive: true })].sort(), expected: ids("g h").sort() },
    { name: "descendants of a head", actual: () => [...graph.descendants(rid("f"))], expected: [] },
    { name: "heads above a branch point", actual: () => graph.headsAbove(rid("a")).sort(), expected: ids("f h").sort() },
    { name: "heads above a head", actual: () => graph.headsAbove(rid("h")), expected: ids("h") },
    { name: "heads above ignore dependents", actual: () => graph.headsAbove(rid("c")), expected: ids("f") },
    { name: "label", actual: () => graph.byLabel("feature"), expected: rid("g") },
    { name: "labels", actual: () => graph.branchLabels(), expected: ["core", "feature", "other"] },
    { name: "unique prefix", actual: () => graph.resolvePrefix("ee"), expected: rid("e") },
    { name: "prefix, case-insensitive", actual: () => graph.resolvePrefix("EEE"), expected: rid("e") },
    { name: "full id", actual: () => graph.resolvePrefix(rid("d")), expected: rid("d") },
    { name: "size", actual: () => graph.size, expected: 10 },
    { name: "get", actual: () => graph.get(rid("b")).relativePath, expected: `${rid("b")}_b.sql` },
    { name: "find a missing id", actual: () => graph.find(rid("0")), expected: undefined },
  ];
  it.each(cases)("$name", ({ actual, expected }) => {
    expect(actual()).toEqual(expected);
  });

  it("orders parents and dependencies before children, deterministically", () => {
    const order = graph.topologicalOrder();
    expect(order).toHaveLength(10);
    for (const file of files) {
      for (const before of [...file.parents, ...graph.dependenciesOf(file.id)]) {
        expect(order.indexOf(before)).toBeLessThan(order.indexOf(file.id));
      }
    }
    const shuffled = RevisionGraph.build([...files].reverse());
    expect(shuffled.topologicalOrder()).toEqual(order);
    expect(order).toEqual(ids("a b c d e f g h x y"));
    expect(graph.sortTopologically([rid("y"), rid("a"), rid("e")])).toEqual(ids("a e y"));
  });

  it("resolves branch labels in depends-on", () => {
    const labelled = RevisionGraph.build([revision("a", [], { branchLabels: ["accounts"] }), revision("b", [], { dependsOn: ["accounts"] })]);
    expect(labelled.dependenciesOf(rid("b"))).toEqual(ids("a"));
  });

  it("builds an empty graph", () => {
    const empty = RevisionGraph.build([]);
    expect(empty.heads()).toEqual([]);
    expect(empty.topologicalOrder()).toEqual([]);
    expect(() => empty.resolvePrefix("a")).toThrow(/no revision a/);
  });
});

describe("RevisionGraph errors", () => {
  const errors: { name: string; run: () => unknown; code: string; message: RegExp; details?: Record<string, unknown> }[] = [
    {
      name: "duplicate id names both files",
      run: () => RevisionGraph.build([revision("a"), { ...revision("a"), relativePath: "copy.sql" }]),
      code: "duplicate-revision",
      message: /revision aaaaaaaaaaaa is defined twice: in aaaaaaaaaaaa_a\.sql and in copy\.sql/,
    },
    {
      name: "missing parent names the file and the id",
      run: () => RevisionGraph.build([revision("a"), revision("b", ["c"])]),
      code: "missing-parent",
      message: /^bbbbbbbbbbbb_b\.sql: parent revision cccccccccccc of bbbbbbbbbbbb does not exist/,
      details: { missing: rid("c"), file: "bbbbbbbbbbbb_b.sql" },
    },
    {
      name: "missing dependency",
      run: () => RevisionGraph.build([revision("a", [], { dependsOn: [rid("d")] })]),
      code: "missing-dependency",
      message: /^aaaaaaaaaaaa_a\.sql: revision aaaaaaaaaaaa depends on dddddddddddd, which does not exist/,
    },
    {
      name: "unknown label in depends-on",
      run: () => RevisionGraph.build([revision("a", [], { branchLabels: ["core"] }), revision("b", ["a"], { dependsOn: ["billing"] })]),
      code: "unknown-branch-label",
      message: /depends on branch label `billing`, which no revision carries/,
    },
    {
      name: "duplicate label",
      run: () => RevisionGraph.build([revision("a", [], { branchLabels: ["core"] }), revision("b", ["a"], { branchLabels: ["core"] })]),
      code: "duplicate-branch-label",
      message: /branch label `core` is used by two revisions/,
    },
    {
      name: "a cycle through parents names its files",
      run: () => RevisionGraph.build([revision("r"), revision("a", ["c"]), revision("b", ["a"]), revision("c", ["b"]), revision("d", ["c"])]),
      code: "revision-cycle",
      message: /cycle: (?:aaaaaaaaaaaa \(aaaaaaaaaaaa_a\.sql\) → bbbbbbbbbbbb \(bbbbbbbbbbbb_b\.sql\) → cccccccccccc \(cccccccccccc_c\.sql\) → aaaaaaaaaaaa|bbbbbbbbbbbb .* → cccccccccccc .* → aaaaaaaaaaaa .* → bbbbbbbbbbbb|cccccccccccc .* → aaaaaaaaaaaa .* → bbbbbbbbbbbb .* → cccccccccccc)/,
    },
    {
      name: "a cycle through a dependency",
      run: () => RevisionGraph.build([revision("a", [], { dependsOn: [rid("b")] }), revision("b", ["a"])]),
      code: "revision-cycle",
      message: /cycle: .*aaaaaaaaaaaa.*bbbbbbbbbbbb|cycle: .*bbbbbbbbbbbb.*aaaaaaaaaaaa/,
    },
    { name: "an unknown id", run: () => graph.get(rid("0")), code: "unknown-revision", message: /no revision 000000000000/ },
    { name: "an unknown prefix", run: () => graph.resolvePrefix("0"), code: "unknown-revision", message: /no revision 0/ },
    { name: "a prefix that is not hex", run: () => graph.resolvePrefix("zz"), code: "unknown-revision", message: /not a revision id/ },
    { name: "an unknown label", run: () => graph.byLabel("nope"), code: "unknown-branch-label", message: /no revision carries the branch label `nope`/ },
  ];
  it.each(errors)("$name", ({ run, code, message, details }) => {
    const error = caught(run);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.hint).toBeTruthy();
    if (details !== undefined) expect(error.details).toMatchObject(details);
  });

  it("lists the candidates of an ambiguous prefix", () => {
    const ambiguous = RevisionGraph.build([revision("ab12"), revision("ab34"), revision("cd")]);
    const error = caught(() => ambiguous.resolvePrefix("ab"));
    expect(error.code).toBe("ambiguous-revision");
    expect(error.message).toBe("`ab` matches 2 revisions: ab12ab12ab12, ab34ab34ab34");
    expect(error.details["candidates"]).toEqual([rid("ab12"), rid("ab34")]);
  });
});

describe("RevisionGraph at scale", () => {
  function chain(n: number): RevisionFile[] {
    const list: RevisionFile[] = [];
    for (let i = 0; i < n; i += 1) {
      const id = i.toString(16).padStart(12, "0");
      list.push({ ...revision("a"), id, parents: i === 0 ? [] : [(i - 1).toString(16).padStart(12, "0")] });
    }
    return list;
  }

  it("builds and walks a 10,000-revision chain without quadratic work", () => {
    const big = RevisionGraph.build(chain(10_000).reverse());
    expect(big.heads()).toEqual([(9999).toString(16).padStart(12, "0")]);
    expect(big.ancestors(big.heads()).size).toBe(9999);
    expect(big.descendants("000000000000").size).toBe(9999);
    expect(big.resolvePrefix("00000000270f")).toBe("00000000270f");
  });

  it("builds a wide graph of 10,000 roots", () => {
    const wide = chain(10_000).map((file) => ({ ...file, parents: [] }));
    const built = RevisionGraph.build(wide);
    expect(built.heads()).toHaveLength(10_000);
    expect(built.topologicalOrder()[0]).toBe("000000000000");
  });
});
