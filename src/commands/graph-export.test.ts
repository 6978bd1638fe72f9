import { describe, expect, it } from "vitest";
import { revision, rid } from "../revisions/fixtures.js";
import { RevisionGraph } from "../revisions/graph.js";
import { exportGraph, renderDot, renderMermaid } from "./graph-export.js";

const graph = RevisionGraph.build([
  revision("a", [], { message: 'create "users" #1', branchLabels: ["core"] }),
  revision("b", ["a"], { message: "add <email>" }),
  revision("c", ["a"], { message: "" }),
  revision("d", ["b", "c"], { message: "merge\nheads", dependsOn: [rid("a")] }),
]);

describe("renderMermaid", () => {
  it("draws nodes, parent edges, dashed dependencies and bold heads", () => {
    expect(renderMermaid(graph)).toBe(`flowchart TD
  raaaaaaaaaaaa["aaaaaaaaaaaa [core]<br/>create #quot;users#quot; #35;1"]
  rbbbbbbbbbbbb["bbbbbbbbbbbb<br/>add #lt;email#gt;"]
  rcccccccccccc["cccccccccccc"]
  rdddddddddddd["dddddddddddd<br/>merge heads"]
  raaaaaaaaaaaa --> rbbbbbbbbbbbb
  raaaaaaaaaaaa --> rcccccccccccc
  rbbbbbbbbbbbb --> rdddddddddddd
  rcccccccccccc --> rdddddddddddd
  raaaaaaaaaaaa -.->|depends on| rdddddddddddd
  classDef head stroke-width:3px
  class rdddddddddddd head
`);
  });

  it("draws an empty graph", () => {
    expect(renderMermaid(RevisionGraph.build([]))).toBe("flowchart TD\n");
  });
});

describe("renderDot", () => {
  it("draws nodes, parent edges, dashed dependencies and bold heads", () => {
    expect(renderDot(graph)).toBe(`digraph athanor {
  rankdir=TB;
  node [shape=box, fontname="monospace"];
  "aaaaaaaaaaaa" [label="aaaaaaaaaaaa [core]\\ncreate \\"users\\" #1"];
  "bbbbbbbbbbbb" [label="bbbbbbbbbbbb\\nadd <email>"];
  "cccccccccccc" [label="cccccccccccc"];
  "dddddddddddd" [label="dddddddddddd\\nmerge heads", style=bold];
  "aaaaaaaaaaaa" -> "bbbbbbbbbbbb";
  "aaaaaaaaaaaa" -> "cccccccccccc";
  "bbbbbbbbbbbb" -> "dddddddddddd";
  "cccccccccccc" -> "dddddddddddd";
  "aaaaaaaaaaaa" -> "dddddddddddd" [style=dashed, label="depends on"];
}
`);
  });
});

describe("exportGraph", () => {
  it.each(["mermaid", "dot"] as const)("%s", async (format) => {
    const result = await exportGraph({ migrationsDir: "/unused", graph, format });
    expect(result.format).toBe(format);
    expect(result.text).toBe(format === "dot" ? renderDot(graph) : renderMermaid(graph));
  });
});
