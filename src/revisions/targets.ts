/**
 * Targets, as in Alembic (DESIGN.md §4; `alembic/script/revision.py`,
 * `_resolve_revision_number`, `_parse_upgrade_target`, `_parse_downgrade_target`):
 * `head`, `heads`, `base`, a full or unique-prefix id, a bare branch label, relative
 * `+N` / `-N` (from the current applied heads), `<rev>+N` / `<rev>-N`, and the branch
 * forms, where `<branch>` is a branch label or a revision standing for the branch it is
 * on:
 *
 * - `<branch>@head`: the head that descends from it;
 * - `<branch>@base`: the base of its line (a downgrade reverts that line only);
 * - `<branch>@+N` / `<branch>@-N`: N steps up or down the branch from where the database
 *   stands on it (its applied revision furthest up the branch, or base).
 *
 * A target resolves to the revisions that should be the heads after the operation, or to
 * `base`. Pure.
 */
import { RevisionError } from "../errors.js";
import { listIds, type RevisionGraph } from "./graph.js";
import { branchLabelProblem } from "./ids.js";

/** A target as written, before the graph is consulted. */
export type ParsedTarget =
  | { readonly kind: "head" }
  | { readonly kind: "heads" }
  | { readonly kind: "base" }
  /** A revision id, an id prefix or a branch label. */
  | { readonly kind: "revision"; readonly ref: string }
  /** `<branch>@head`; `branch` is a label, an id or a prefix. */
  | { readonly kind: "branch-head"; readonly branch: string }
  /** `<branch>@base`. */
  | { readonly kind: "branch-base"; readonly branch: string }
  /** `<branch>@+N` / `<branch>@-N`: counted from where the database stands on the branch. */
  | { readonly kind: "branch-relative"; readonly branch: string; readonly steps: number }
  /** `from` null: relative to the current applied heads. */
  | { readonly kind: "relative"; readonly from: AnchorTarget | null; readonly steps: number };

/** What a relative target may count from. */
export type AnchorTarget = Extract<ParsedTarget, { kind: "head" | "revision" | "branch-head" }>;

/**
 * Where a target leads: no revision at all (`base`), or these heads. `along` (branch
 * targets only) is the revision whose line the operation follows: a downgrade to a
 * branch target reverts only what stands on the way from the target up to `along`
 * (and what depends on that), not the other branches above the target.
 */
export type ResolvedTarget =
  | { readonly kind: "base"; readonly along?: string }
  | { readonly kind: "revisions"; readonly ids: readonly string[]; readonly along?: string };

const FORMS =
  "`head`, `heads`, `base`, a revision id or unique prefix, a branch label, `+N`, `-N`, `<rev>+N`, `<rev>-N`, or `<branch>@head`, `<branch>@base`, `<branch>@+N`, `<branch>@-N`";

function invalidTarget(text: string, why: string, hint = `a target is ${FORMS}`): RevisionError {
  return new RevisionError("invalid-target", `\`${text}\` is not a target: ${why}`, { hint, details: { target: text } });
}

const HEX_PREFIX = /^[0-9a-fA-F]{1,12}$/;

/** The part before `@`: a branch label, or a revision id or prefix standing for its branch. */
function parseBranch(branch: string, whole: string): string {
  if (branch === "") throw invalidTarget(whole, "nothing stands before `@`");
  if (!HEX_PREFIX.test(branch)) {
    const problem = branchLabelProblem(branch);
    if (problem !== null) throw invalidTarget(whole, `\`${branch}\` is neither a revision id nor a branch label`);
  }
  return branch;
}

/** `<branch>@...`. */
function parseBranchTarget(text: string): ParsedTarget {
  const at = text.indexOf("@");
  const branch = parseBranch(text.slice(0, at), text);
  const rest = text.slice(at + 1);
  const lower = rest.toLowerCase();
  if (lower === "head") return { kind: "branch-head", branch };
  if (lower === "base") return { kind: "branch-base", branch };
  const relative = /^([+-])(\d+)$/.exec(rest);
  if (relative !== null) return { kind: "branch-relative", branch, steps: relativeSteps(text, relative[1] ?? "+", relative[2] ?? "0") };
  const fromHead = /^head([+-])(\d+)$/i.exec(rest);
  if (fromHead !== null) return { kind: "relative", from: { kind: "branch-head", branch }, steps: relativeSteps(text, fromHead[1] ?? "+", fromHead[2] ?? "0") };
  throw invalidTarget(text, `after \`@\` comes \`head\`, \`base\`, \`+N\` or \`-N\`, not \`${rest}\``);
}

function relativeSteps(text: string, sign: string, digits: string): number {
  const steps = Number.parseInt(digits, 10) * (sign === "-" ? -1 : 1);
  if (!Number.isSafeInteger(steps)) throw invalidTarget(text, "the step count is too large");
  return steps;
}

function parseAnchor(text: string, whole: string): AnchorTarget {
  const lower = text.toLowerCase();
  if (lower === "head") return { kind: "head" };
  if (lower === "heads" || lower === "base") throw invalidTarget(whole, `relative steps count from one revision, not from \`${lower}\``);
  if (!HEX_PREFIX.test(text) && branchLabelProblem(text) !== null) {
    throw invalidTarget(whole, `\`${text}\` is neither a revision id nor a branch label`);
  }
  return { kind: "revision", ref: text };
}

/**
 * Parses a target's syntax. `feature-2` reads as "two below `feature`"; when a label
 * `feature-2` exists, {@link resolveTarget} prefers the label. `+0` and `-0` are refused:
 * they go nowhere (Alembic refuses them too).
 * @example
 * parseTarget("ae10+2") // { kind: "relative", from: { kind: "revision", ref: "ae10" }, steps: 2 }
 * parseTarget("billing@-1") // { kind: "branch-relative", branch: "billing", steps: -1 }
 */
export function parseTarget(input: string): ParsedTarget {
  const text = input.trim();
  if (text === "") throw invalidTarget(input, "it is empty");
  const lower = text.toLowerCase();
  if (lower === "heads") return { kind: "heads" };
  if (lower === "base") return { kind: "base" };
  if (text.includes("@")) return parseBranchTarget(text);
  const relative = /^(.*?)([+-])(\d+)$/.exec(text);
  if (relative !== null) {
    const [, anchor = "", sign = "+", digits = "0"] = relative;
    const steps = relativeSteps(text, sign, digits);
    if (anchor === "") {
      if (steps === 0) {
        throw invalidTarget(text, "a step of 0 goes nowhere", "`+1` applies the next revision and `head` all of them; `-1` reverts the last one (`athanor current` shows where the database is)");
      }
      return { kind: "relative", from: null, steps };
    }
    // `feature-x-1` is "one below feature-x"; a label that itself ends in -N wins at resolution.
    if (HEX_PREFIX.test(anchor) || ["head", "heads", "base"].includes(anchor.toLowerCase()) || branchLabelProblem(anchor) === null) {
      return { kind: "relative", from: parseAnchor(anchor, text), steps };
    }
  }
  return parseAnchor(text, text);
}

function multipleHeads(what: string, heads: readonly string[], example: string): RevisionError {
  return new RevisionError("multiple-heads", `${what} is ambiguous: there are ${heads.length} heads (${listIds(heads)})`, {
    hint: `merge them with \`athanor merge -m "merge heads" heads\`, or name one head (such as \`${example}\`), or use \`heads\` to include every branch`,
    details: { heads },
  });
}

/** Resolves a target that must name exactly one revision (for `show`, `merge`, `--head`, relative anchors). */
export function resolveRevision(graph: RevisionGraph, target: string): string {
  const resolved = resolveTarget(graph, target, null);
  if (resolved.kind === "base") {
    throw new RevisionError("invalid-target", `\`${target}\` names no revision`, { hint: "name a revision: an id, a unique prefix, a branch label or `head`", details: { target } });
  }
  if (resolved.ids.length !== 1) {
    if (resolved.ids.length === 0) {
      throw new RevisionError("no-revisions", "there are no revisions yet", { hint: "create the first with `athanor revision -m MESSAGE`" });
    }
    throw multipleHeads(`\`${target}\``, resolved.ids, `athanor show ${resolved.ids[0] ?? ""}`);
  }
  return resolved.ids[0] as string;
}

/** A label's revision, or the revision an id or prefix names. Before `@`, an unknown name is an unknown branch label. */
function resolveRef(graph: RevisionGraph, ref: string, text: string, branch = false): string {
  if (graph.hasLabel(ref) || (branch && !HEX_PREFIX.test(ref))) return graph.byLabel(ref);
  if (!HEX_PREFIX.test(ref)) {
    throw new RevisionError("unknown-revision", `\`${text}\`: \`${ref}\` is neither a revision nor a branch label`, {
      hint: `known labels: ${graph.branchLabels().length === 0 ? "none" : listIds(graph.branchLabels())}; \`athanor history\` lists the revisions`,
      details: { target: text },
    });
  }
  return graph.resolvePrefix(ref);
}

function resolveAnchor(graph: RevisionGraph, anchor: AnchorTarget, text: string): string {
  switch (anchor.kind) {
    case "head": {
      const heads = graph.heads();
      if (heads.length === 0) throw new RevisionError("no-revisions", "there are no revisions yet", { hint: "create the first with `athanor revision -m MESSAGE`" });
      if (heads.length > 1) throw multipleHeads("target `head`", heads, heads[0] as string);
      return heads[0] as string;
    }
    case "branch-head": {
      const heads = graph.headsAbove(resolveRef(graph, anchor.branch, text, true));
      if (heads.length > 1) throw multipleHeads(`target \`${anchor.branch}@head\``, heads, heads[0] as string);
      return heads[0] as string;
    }
    case "revision":
      return resolveRef(graph, anchor.ref, text);
  }
}

function outOfRange(text: string, message: string): RevisionError {
  return new RevisionError("relative-out-of-range", `\`${text}\`: ${message}`, {
    hint: "use a smaller step count, or name the revision (`athanor history` lists them)",
    details: { target: text },
  });
}

/**
 * Walks `steps` revisions up (children) or down (parents) from `from` (null = below the
 * roots). With `lineage`, only revisions in it are followed: a walk along one branch.
 */
function walk(graph: RevisionGraph, from: string | null, steps: number, text: string, lineage?: ReadonlySet<string>): ResolvedTarget {
  const onBranch = (ids: string[]): string[] => (lineage === undefined ? ids : ids.filter((id) => lineage.has(id)));
  let current = from;
  if (steps >= 0) {
    for (let taken = 0; taken < steps; taken += 1) {
      const next = onBranch(current === null ? graph.bases() : graph.childrenOf(current));
      if (next.length === 0) {
        throw outOfRange(text, current === null ? "there are no revisions" : `only ${taken} revision${taken === 1 ? "" : "s"} above ${from ?? "base"} (${current} is a head)`);
      }
      if (next.length > 1) {
        throw new RevisionError("ambiguous-revision", `\`${text}\` is ambiguous: ${current ?? "base"} is followed by ${next.length} revisions (${listIds(next)})`, {
          hint: "name the revision on the branch you mean, or count from it (`<rev>+N`)",
          details: { target: text, candidates: next },
        });
      }
      current = next[0] as string;
    }
    return current === null ? { kind: "base" } : { kind: "revisions", ids: [current] };
  }
  for (let taken = 0; taken < -steps; taken += 1) {
    if (current === null) throw outOfRange(text, `it goes below base (only ${taken - 1} revision${taken - 1 === 1 ? "" : "s"} below ${from ?? "base"})`);
    const parents = onBranch(graph.parentsOf(current));
    if (parents.length > 1) {
      throw new RevisionError("ambiguous-revision", `\`${text}\` is ambiguous: ${current} is a merge of ${listIds(parents)}`, {
        hint: "name the parent you mean, or count from it (`<rev>-N`)",
        details: { target: text, candidates: parents },
      });
    }
    current = parents[0] ?? null;
  }
  return current === null ? { kind: "base" } : { kind: "revisions", ids: [current] };
}

/** The line of a revision, as Alembic's `filter_for_lineage`: it, its ancestors and its descendants, through parents only. */
function lineageOf(graph: RevisionGraph, id: string): Set<string> {
  const lineage = graph.ancestors(id, { inclusive: true, dependencies: false });
  for (const above of graph.descendants(id, { dependencies: false })) lineage.add(above);
  return lineage;
}

/**
 * Where the database stands on a branch: among the applied revisions of the line, the
 * one furthest up (null when none is applied). Throws when two sub-branches above the
 * branch revision are both applied.
 */
function standingOnBranch(graph: RevisionGraph, lineage: ReadonlySet<string>, currentHeads: readonly string[], text: string): string | null {
  const known = currentHeads.filter((id) => graph.has(id));
  const applied = known.length === 0 ? new Set<string>() : graph.ancestors(known, { inclusive: true });
  const onLine = [...applied].filter((id) => lineage.has(id));
  const onLineSet = new Set(onLine);
  const tips = onLine.filter((id) => !graph.childrenOf(id).some((child) => onLineSet.has(child)));
  if (tips.length > 1) {
    throw new RevisionError("multiple-heads", `\`${text}\` is ambiguous: the database has ${tips.length} revisions applied on that branch with nothing above them (${listIds(tips)})`, {
      hint: `count from one of them instead, such as \`${tips[0] ?? ""}${text.slice(text.indexOf("@") + 1)}\``,
      details: { heads: tips },
    });
  }
  return tips[0] ?? null;
}

function resolveBranchRelative(graph: RevisionGraph, branch: string, steps: number, currentHeads: readonly string[] | null, text: string): ResolvedTarget {
  const lineage = lineageOf(graph, resolveRef(graph, branch, text, true));
  // Without a database (history, show): `-N` counts down from the branch's head, as Alembic's
  // `get_revisions` does, and `+N` up from base along the branch.
  const standing =
    currentHeads !== null ? standingOnBranch(graph, lineage, currentHeads, text) : steps < 0 ? resolveAnchor(graph, { kind: "branch-head", branch }, text) : null;
  if (standing === null && steps < 0) {
    throw outOfRange(text, `nothing of branch \`${branch}\` is applied, so there is nothing below where the database stands on it`);
  }
  const resolved = walk(graph, standing, steps, text, lineage);
  // A downgrade along the branch reverts what stands between the target and `standing` only.
  if (standing === null) return resolved;
  return resolved.kind === "base" ? { kind: "base", along: standing } : { ...resolved, along: standing };
}

/**
 * Resolves a target against the graph. `currentHeads` (the applied heads of the
 * database, see `currentHeads` in src/plan/plan.ts) anchors `+N`, `-N`, `<branch>@+N`
 * and `<branch>@-N`; null when there is no database (`history`, `show`): then `+N` counts
 * from base and `<branch>@-N` from the branch's head.
 * Throws `multiple-heads` for `head` when the graph has several heads, with the hint to
 * merge or name one.
 * @example
 * resolveTarget(graph, "head", []) // { kind: "revisions", ids: ["3f2a9c1d0b7e"] }
 * resolveTarget(graph, "-1", ["3f2a9c1d0b7e"]) // { kind: "revisions", ids: ["9c0d1e2f3a4b"] }
 * resolveTarget(graph, "billing@base", []) // { kind: "base", along: "<the revision labelled billing>" }
 */
export function resolveTarget(graph: RevisionGraph, target: string | ParsedTarget, currentHeads: readonly string[] | null): ResolvedTarget {
  const text = typeof target === "string" ? target.trim() : describeTarget(target);
  if (typeof target === "string" && graph.hasLabel(text)) return { kind: "revisions", ids: [graph.byLabel(text)] };
  const parsed = typeof target === "string" ? parseTarget(target) : target;
  switch (parsed.kind) {
    case "base":
      return { kind: "base" };
    case "heads":
      return { kind: "revisions", ids: graph.heads() };
    case "head":
      if (graph.size === 0) return { kind: "revisions", ids: [] };
      return { kind: "revisions", ids: [resolveAnchor(graph, parsed, text)] };
    case "revision":
    case "branch-head":
      return { kind: "revisions", ids: [resolveAnchor(graph, parsed, text)] };
    case "branch-base":
      return { kind: "base", along: resolveRef(graph, parsed.branch, text, true) };
    case "branch-relative":
      return resolveBranchRelative(graph, parsed.branch, parsed.steps, currentHeads, text);
    case "relative": {
      if (parsed.from !== null) return walk(graph, resolveAnchor(graph, parsed.from, text), parsed.steps, text);
      return resolveFromCurrent(graph, parsed.steps, currentHeads ?? [], text);
    }
  }
}

/** `+N` / `-N`: counted from the database's one current head. */
function resolveFromCurrent(graph: RevisionGraph, steps: number, currentHeads: readonly string[], text: string): ResolvedTarget {
  const unknown = currentHeads.filter((id) => !graph.has(id));
  if (unknown.length > 0) {
    throw new RevisionError("unknown-revision", `\`${text}\` counts from the current revision, but ${listIds(unknown)} is not in the migrations directory`, {
      hint: "check out the code that has that revision, or name a target revision instead of a relative one",
      details: { target: text, unknown },
    });
  }
  if (currentHeads.length > 1) {
    throw new RevisionError("multiple-heads", `\`${text}\` is ambiguous: the database has ${currentHeads.length} current heads (${listIds(currentHeads)})`, {
      hint: `count from one of them instead, such as \`${currentHeads[0] ?? ""}${text}\``,
      details: { heads: [...currentHeads] },
    });
  }
  if (currentHeads.length === 0 && steps < 0) {
    throw outOfRange(text, "nothing is applied, so there is nothing below the current revision");
  }
  return walk(graph, currentHeads[0] ?? null, steps, text);
}

/** The canonical text of a parsed target, for messages. */
export function describeTarget(target: ParsedTarget): string {
  switch (target.kind) {
    case "head":
    case "heads":
    case "base":
      return target.kind;
    case "revision":
      return target.ref;
    case "branch-head":
      return `${target.branch}@head`;
    case "branch-base":
      return `${target.branch}@base`;
    case "branch-relative":
      return `${target.branch}@${target.steps < 0 ? "-" : "+"}${Math.abs(target.steps)}`;
    case "relative":
      return `${target.from === null ? "" : describeTarget(target.from)}${target.steps < 0 ? "-" : "+"}${Math.abs(target.steps)}`;
  }
}
