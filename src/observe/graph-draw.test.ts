import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RevisionGraph } from "../revisions/graph.js";
import { revision, rid } from "../revisions/fixtures.js";
import { drawGraph, drawOrder, type DrawNode } from "./graph-draw.js";

/** A node from a short name: `n("b", ["a"])` → id `bbbbbbbbbbbb`, parent `aaaaaaaaaaaa`. */
function n(name: string, parents: readonly string[] = []): DrawNode {
  return { id: rid(name), parents: parents.map(rid), message: name };
}

describe("drawGraph", () => {
  it("matches the committed drawing of two branches and a merge, with environment marks", () => {
    const file = (id: string, parents: string[], message: string) => revision(id, parents, { message });
    const graph = RevisionGraph.build([
      file("1a2b3c4d5e6f", [], "create users"),
      file("2b3c4d5e6f70", ["1a2b3c4d5e6f"], "add email to users"),
      file("3c4d5e6f7081", ["2b3c4d5e6f70"], "create orders"),
      file("4d5e6f708192", ["3c4d5e6f7081"], "index orders by customer"),
      file("5e6f708192a3", ["2b3c4d5e6f70"], "create invoices"),
      file("6f708192a3b4", ["4d5e6f708192", "5e6f708192a3"], "merge orders and invoices"),
      file("708192a3b4c5", ["6f708192a3b4"], "add audit log"),
    ]);
    const marks = new Map<string, string[]>([
      ["708192a3b4c5", ["development"]],
      ["6f708192a3b4", ["production", "testing"]],
      ["5e6f708192a3", ["staging"]],
    ]);
    const lines = drawGraph(
      graph.revisions().map((r) => ({ id: r.id, parents: r.parents, message: r.message })),
      { marks },
    );
    const expected = readFileSync(new URL("../../test/fixtures/graph/two-branches-merge.txt", import.meta.url), "utf8");
    expect(`${lines.join("\n")}\n`).toBe(expected);
  });

  it.each<[string, DrawNode[], string]>([
    ["a straight line", [n("a"), n("b", ["a"]), n("c", ["b"])], "* c\n* b\n* a"],
    ["two unmerged heads", [n("a"), n("b", ["a"]), n("x", ["b"]), n("y", ["b"])], "* y\n| * x\n|/\n* b\n* a"],
    ["three heads on one parent", [n("a"), n("x", ["a"]), n("y", ["a"]), n("z", ["a"])], "* z\n| * y\n| | * x\n|/ /\n|/\n* a"],
    ["a merge of three parents", [n("a"), n("x", ["a"]), n("y", ["a"]), n("z", ["a"]), n("m", ["x", "y", "z"])], "*-.   m\n|\\ \\\n* | | x\n| * | y\n| | * z\n|/ /\n|/\n* a"],
    [
      "a merge beside another branch",
      [n("a"), n("b", ["a"]), n("c", ["b"]), n("d", ["b"]), n("m", ["c", "d"]), n("o", ["a"])],
      "* o\n| *   m\n| |\\\n| * | c\n| | * d\n| |/\n| * b\n|/\n* a",
    ],
    ["nested merges", [n("a"), n("b", ["a"]), n("c", ["a"]), n("d", ["a"]), n("m", ["b", "c"]), n("p", ["m", "d"])], "*   p\n|\\\n* |   m\n|\\ \\\n* | | b\n| * | c\n| | * d\n|/ /\n|/\n* a"],
    ["two roots, kept apart", [n("a"), n("f"), n("b", ["a"]), n("g", ["f"])], "* g\n* f\n\n* b\n* a"],
    ["parents outside the drawn range are ignored", [n("b", ["a"]), n("c", ["b"])], "* c\n* b"],
  ])("draws %s", (_name, nodes, expected) => {
    // `* aaaaaaaaaaaa a` reads as `* a`.
    const short = drawGraph(nodes).map((line) => line.replace(/ (\w)\1{11} \1$/, (_all, name: string) => ` ${name}`));
    expect(short.join("\n")).toBe(expected);
  });

  it("pads a merge's line to the width of the lanes it opens, like git", () => {
    const lines = drawGraph([n("a"), n("b", ["a"]), n("c", ["a"]), n("m", ["b", "c"])]);
    expect(lines[0]).toBe(`*   ${rid("m")} m`);
    expect(lines[1]).toBe("|\\");
  });

  it("colours edges, ids and marks through the paint functions", () => {
    const lines = drawGraph([n("a"), n("b", ["a"])], {
      marks: new Map([[rid("b"), ["production"]]]),
      paint: { edge: (t) => `<${t}>`, id: (t) => `[${t}]`, marks: (t) => `{${t}}` },
    });
    expect(lines[0]).toBe(`<*> [${rid("b")}] {(production)} b`);
  });

  it("draws nothing for no revisions", () => {
    expect(drawGraph([])).toEqual([]);
  });
});

describe("drawOrder", () => {
  it("puts every revision after its children and keeps branches together", () => {
    const nodes = [n("a"), n("b", ["a"]), n("c1", ["b"]), n("d1", ["b"]), n("c2", ["c1"]), n("d2", ["d1"]), n("m", ["c2", "d2"])];
    expect(drawOrder(nodes).map((node) => node.message)).toEqual(["m", "c2", "c1", "d2", "d1", "b", "a"]);
  });

  it("shows the newest head first", () => {
    expect(drawOrder([n("a"), n("x", ["a"]), n("y", ["a"])]).map((node) => node.message)).toEqual(["y", "x", "a"]);
  });

  it("draws 5,000 revisions in well under a second", () => {
    const nodes: DrawNode[] = [];
    for (let i = 0; i < 5_000; i += 1) {
      const id = i.toString(16).padStart(12, "0");
      const parents = i === 0 ? [] : i % 100 === 50 ? [(i - 1).toString(16).padStart(12, "0"), (i - 7).toString(16).padStart(12, "0")] : [(i - 1).toString(16).padStart(12, "0")];
      nodes.push({ id, parents });
    }
    const started = performance.now();
    const lines = drawGraph(nodes);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(lines.filter((line) => line.includes("*")).length).toBe(5_000);
  });
});
