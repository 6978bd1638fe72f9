/**
 * `athanor graph --format mermaid|dot`: the revision graph as text for docs and reviews.
 * Parents point at their children; dependencies are dashed; heads are drawn bold.
 * The renderers are pure.
 */
import type { RevisionGraph } from "../revisions/graph.js";
import { inspectedGraph, type GraphOptions } from "./heads.js";

/** The text formats `graph` writes. */
export type GraphFormat = "mermaid" | "dot";

/** Options of {@link exportGraph}. */
export interface GraphExportOptions extends GraphOptions {
  readonly format: GraphFormat;
}

/** What {@link exportGraph} returns. */
export interface GraphExport {
  readonly format: GraphFormat;
  readonly text: string;
}

function caption(graph: RevisionGraph, id: string): { title: string; message: string } {
  const file = graph.get(id);
  const labels = file.branchLabels.length > 0 ? ` [${file.branchLabels.join(", ")}]` : "";
  return { title: `${id}${labels}`, message: file.message.replace(/\s+/g, " ").trim() };
}

/** Mermaid's entity codes keep quotes, brackets and `#` from ending a label early. */
function mermaidText(text: string): string {
  return text.replace(/#/g, "#35;").replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");
}

/**
 * The graph as a Mermaid flowchart (bases at the top).
 * @example
 * renderMermaid(graph) // "flowchart TD\n  r3f2a9c1d0b7e[\"3f2a9c1d0b7e<br/>add orders\"]\n..."
 */
export function renderMermaid(graph: RevisionGraph): string {
  const order = graph.topologicalOrder();
  const lines = ["flowchart TD"];
  for (const id of order) {
    const { title, message } = caption(graph, id);
    lines.push(`  r${id}["${mermaidText(title)}${message === "" ? "" : `<br/>${mermaidText(message)}`}"]`);
  }
  for (const id of order) {
    for (const parent of graph.parentsOf(id)) lines.push(`  r${parent} --> r${id}`);
    for (const dependency of graph.dependenciesOf(id)) lines.push(`  r${dependency} -.->|depends on| r${id}`);
  }
  const heads = graph.heads();
  if (heads.length > 0) {
    lines.push("  classDef head stroke-width:3px");
    lines.push(`  class ${heads.map((id) => `r${id}`).join(",")} head`);
  }
  return `${lines.join("\n")}\n`;
}

function dotString(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * The graph in Graphviz DOT (`dot -Tsvg`).
 * @example
 * renderDot(graph) // "digraph athanor {\n  rankdir=TB;\n..."
 */
export function renderDot(graph: RevisionGraph): string {
  const order = graph.topologicalOrder();
  const heads = new Set(graph.heads());
  const lines = ["digraph athanor {", "  rankdir=TB;", '  node [shape=box, fontname="monospace"];'];
  for (const id of order) {
    const { title, message } = caption(graph, id);
    const label = message === "" ? dotString(title) : `${dotString(title).slice(0, -1)}\\n${dotString(message).slice(1)}`;
    lines.push(`  "${id}" [label=${label}${heads.has(id) ? ", style=bold" : ""}];`);
  }
  for (const id of order) {
    for (const parent of graph.parentsOf(id)) lines.push(`  "${parent}" -> "${id}";`);
    for (const dependency of graph.dependenciesOf(id)) lines.push(`  "${dependency}" -> "${id}" [style=dashed, label="depends on"];`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/**
 * The revision graph of a migrations directory as Mermaid or DOT text.
 * @example
 * const { text } = await exportGraph({ migrationsDir: "./migrations", format: "mermaid" });
 */
export async function exportGraph(options: GraphExportOptions): Promise<GraphExport> {
  const graph = await inspectedGraph(options);
  return { format: options.format, text: options.format === "dot" ? renderDot(graph) : renderMermaid(graph) };
}
