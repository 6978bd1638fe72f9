/**
 * Draws the revision graph in a terminal the way `git log --graph` draws commits
 * (`athanor history --graph`): newest first, `*` for a revision, `|` for a line of
 * descent, `\` where a merge opens a branch, `/` where branches join their common
 * parent, `_` when a line crosses others to join, and `*-.` for a merge of three or
 * more parents. Each environment's current revision can be marked after the id:
 * `3f2a9c1d0b7e (production, testing) add orders table`.
 *
 * Pure: revisions in, lines out. Revisions are drawn in "topological order" like
 * `git log --topo-order`: a revision after all its children, and each branch drawn in
 * one piece, following first parents.
 */

/** A revision as the drawing needs it. */
export interface DrawNode {
  readonly id: string;
  /** Parent ids, first parent first. Parents not among the nodes are ignored (a range's edge). */
  readonly parents: readonly string[];
  readonly message?: string | undefined;
}

/** Options of {@link drawGraph}. */
export interface DrawOptions {
  /** Names to show after a revision's id, e.g. the environments whose current revision it is. */
  readonly marks?: ReadonlyMap<string, readonly string[]> | undefined;
  /** Colours (the CLI passes picocolors; default none). */
  readonly paint?: Partial<DrawPaint> | undefined;
}

/** How each part of a line is coloured. */
export interface DrawPaint {
  /** The graph characters (`*`, `|`, `/`, `\`, `_`, `-`, `.`). */
  readonly edge: (text: string) => string;
  readonly id: (text: string) => string;
  readonly marks: (text: string) => string;
  readonly message: (text: string) => string;
}

const plain = (text: string): string => text;

/**
 * The order in which revisions are drawn: children before parents, the newest head
 * first (nodes are given parents first, as `RevisionGraph.revisions()` lists them; a
 * later position means newer), each branch contiguous.
 */
export function drawOrder(nodes: readonly DrawNode[]): DrawNode[] {
  const byId = new Map<string, DrawNode>();
  const position = new Map<string, number>();
  nodes.forEach((node, i) => {
    byId.set(node.id, node);
    position.set(node.id, i);
  });
  const children = new Map<string, number>();
  for (const node of nodes) for (const parent of parentsIn(node, byId)) children.set(parent, (children.get(parent) ?? 0) + 1);
  const heads = nodes.filter((node) => (children.get(node.id) ?? 0) === 0).sort((a, b) => (position.get(b.id) as number) - (position.get(a.id) as number));
  const stack = [...heads].reverse();
  const order: DrawNode[] = [];
  const done = new Set<string>();
  while (stack.length > 0) {
    const node = stack.pop() as DrawNode;
    if (done.has(node.id)) continue;
    done.add(node.id);
    order.push(node);
    const parents = parentsIn(node, byId);
    // The first parent is pushed last, so the branch goes on down its first parent.
    for (let i = parents.length - 1; i >= 0; i -= 1) {
      const parent = parents[i] as string;
      const left = (children.get(parent) ?? 0) - 1;
      children.set(parent, left);
      if (left === 0) stack.push(byId.get(parent) as DrawNode);
    }
  }
  // Only a cycle (impossible in a validated graph) leaves nodes out: list them anyway.
  if (order.length < nodes.length) for (const node of [...nodes].reverse()) if (!done.has(node.id)) order.push(node);
  return order;
}

/** A node's parents that are drawn, without repeats. */
function parentsIn(node: DrawNode, byId: ReadonlyMap<string, DrawNode>): string[] {
  return [...new Set(node.parents)].filter((parent) => byId.has(parent) && parent !== node.id);
}

/** A line of graph characters, two per lane: the lane itself at 2i, the space between lanes at 2i+1. */
class Row {
  readonly chars: string[] = [];
  set(at: number, char: string): void {
    while (this.chars.length <= at) this.chars.push(" ");
    this.chars[at] = char;
  }
  get(at: number): string {
    return this.chars[at] ?? " ";
  }
  text(width = 0): string {
    const out = this.chars.join("").trimEnd();
    return out.length >= width ? out : out.padEnd(width);
  }
}

/** Lanes: the revision each lane waits for, or null for a gap being opened for a merge. */
type Lanes = (string | null)[];

function laneRow(lanes: Lanes, skip?: (i: number) => boolean): Row {
  const row = new Row();
  lanes.forEach((lane, i) => {
    if (lane !== null && !(skip?.(i) ?? false)) row.set(2 * i, "|");
  });
  return row;
}

/**
 * Draws the graph, one string per line, newest first.
 * @example
 * drawGraph(graph.revisions().map((r) => ({ id: r.id, parents: r.parents, message: r.message })), {
 *   marks: new Map([["3f2a9c1d0b7e", ["production"]]]),
 * });
 * // ["* 3f2a9c1d0b7e (production) add orders table", "* 9c0d1e2f3a4b create users"]
 */
export function drawGraph(nodes: readonly DrawNode[], options: DrawOptions = {}): string[] {
  const paint: DrawPaint = { edge: plain, id: plain, marks: plain, message: plain, ...options.paint };
  const byId = new Map(nodes.map((node) => [node.id, node] as const));
  const lines: string[] = [];
  const edges = (row: Row, width = 0): string => paintEdges(row.text(width), paint.edge);
  let lanes: Lanes = [];
  // Column of a root drawn on the line just above, whose lane has ended.
  let rootAbove: number | null = null;

  for (const node of drawOrder(nodes)) {
    let at = lanes.indexOf(node.id);
    if (at === -1) {
      lanes.push(node.id);
      at = lanes.length - 1;
      // A new branch right under a root would read as that root's parent: leave a line between them.
      if (at === rootAbove) lines.push(edges(laneRow(lanes, (i) => i === at)));
    }
    rootAbove = null;
    // Other lanes waiting for this revision (it is a branch point) join it, one per line.
    for (let other = lanes.indexOf(node.id, at + 1); other !== -1; other = lanes.indexOf(node.id, at + 1)) {
      lines.push(edges(joinRow(lanes, at, other)));
      lanes.splice(other, 1);
    }

    const parents = parentsIn(node, byId);
    const extra = Math.max(0, parents.length - 1);
    // A merge of three or more parents first makes room on its right for the `*-.` line.
    for (let gap = 1; gap < extra; gap += 1) {
      if (at + gap < lanes.length) lines.push(edges(shiftRightRow(lanes, at + gap)));
      lanes.splice(at + gap, 0, null);
    }

    const row = laneRow(lanes);
    row.set(2 * at, "*");
    for (let j = 1; j < extra; j += 1) {
      row.set(2 * (at + j) - 1, "-");
      row.set(2 * (at + j), ".");
    }
    const lanesAfter = parents.length === 0 ? lanes.length - 1 : lanes.length - Math.max(0, extra - 1) + extra;
    const marks = options.marks?.get(node.id) ?? [];
    const label = `${paint.id(node.id)}${marks.length > 0 ? ` ${paint.marks(`(${marks.join(", ")})`)}` : ""}${node.message ? ` ${paint.message(node.message)}` : ""}`;
    lines.push(`${edges(row, Math.max(0, 2 * lanesAfter - 1))} ${label}`);

    if (parents.length === 0) {
      // A root: its lane ends; the lanes on its right move left.
      if (at < lanes.length - 1) lines.push(edges(closeRow(lanes, at)));
      else rootAbove = at;
      lanes.splice(at, 1);
      continue;
    }
    lanes[at] = parents[0] as string;
    if (extra === 0) continue;
    // The merge opens one lane per further parent, right of its own; lanes further right move over.
    const expand = laneRow(lanes, (i) => i > at);
    expand.set(2 * at + 1, "\\");
    for (let j = 2; j <= extra; j += 1) expand.set(2 * (at + j) - 1, "\\");
    const firstRest = at + extra; // lanes from here on (after the gaps) move one lane right
    for (let q = firstRest; q < lanes.length; q += 1) if (lanes[q] !== null) expand.set(2 * q + 1, "\\");
    lines.push(edges(expand));
    lanes = [...lanes.slice(0, at + 1), ...parents.slice(1), ...lanes.slice(firstRest).filter((lane): lane is string => lane !== null)];
  }
  return lines;
}

/** Lane `from` joins lane `into` (on its left): `|/`, or `|_|/` across lanes in between; lanes right of it move left. */
function joinRow(lanes: Lanes, into: number, from: number): Row {
  const row = laneRow(lanes, (i) => i >= from);
  for (let k = 2 * into + 1; k <= 2 * from - 3; k += 2) if (row.get(k) === " ") row.set(k, "_");
  row.set(2 * from - 1, "/");
  for (let q = from + 1; q < lanes.length; q += 1) if (lanes[q] !== null) row.set(2 * q - 1, "/");
  return row;
}

/** Lane `at` has ended: lanes on its right move one lane left. */
function closeRow(lanes: Lanes, at: number): Row {
  const row = laneRow(lanes, (i) => i >= at);
  for (let q = at + 1; q < lanes.length; q += 1) if (lanes[q] !== null) row.set(2 * q - 1, "/");
  return row;
}

/** Lanes from `from` on move one lane right (room for an octopus merge). */
function shiftRightRow(lanes: Lanes, from: number): Row {
  const row = laneRow(lanes, (i) => i >= from);
  for (let q = from; q < lanes.length; q += 1) if (lanes[q] !== null) row.set(2 * q + 1, "\\");
  return row;
}

function paintEdges(text: string, paint: (text: string) => string): string {
  if (paint === plain) return text;
  return text.replace(/[^ ]+/g, (run) => paint(run));
}
