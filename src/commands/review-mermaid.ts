/**
 * The part of the revision graph a pull request touches, as Mermaid: the revisions the
 * branch adds or edits, their parents, and every head (so a second head shows), drawn by
 * `graph --format mermaid`'s renderer with the changed revisions highlighted. A project
 * with thousands of revisions still gets a small drawing. Pure.
 */
import { RevisionGraph } from "../revisions/graph.js";
import { renderMermaid } from "./graph-export.js";

/**
 * Draws the changed revisions, their parents and the heads.
 * @example
 * renderReviewMermaid(graph, new Set(["3f2a9c1d0b7e"])) // "flowchart TD\n  r...\n  class r3f2a9c1d0b7e changed\n"
 */
export function renderReviewMermaid(graph: RevisionGraph, changed: ReadonlySet<string>): string {
  const shown = new Set<string>([...changed].filter((id) => graph.has(id)));
  for (const head of graph.heads()) shown.add(head);
  for (const id of [...shown]) for (const parent of graph.parentsOf(id)) shown.add(parent);
  // The subgraph keeps only the edges between shown revisions; dependencies become ids.
  const files = graph.sortTopologically(shown).map((id) => {
    const file = graph.get(id);
    // The path is a getter of a scanned revision, which a spread does not copy.
    return { ...file, path: file.path, parents: file.parents.filter((parent) => shown.has(parent)), dependsOn: graph.dependenciesOf(id).filter((dependency) => shown.has(dependency)) };
  });
  const drawn = renderMermaid(RevisionGraph.build(files));
  const highlighted = graph.sortTopologically(shown).filter((id) => changed.has(id));
  if (highlighted.length === 0) return drawn;
  return `${drawn}  classDef changed fill:#fff5b1,stroke:#9a6700\n  class ${highlighted.map((id) => `r${id}`).join(",")} changed\n`;
}
