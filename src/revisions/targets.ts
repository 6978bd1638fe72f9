/**
 * Targets, as in Alembic (DESIGN.md §4): `head`, `heads`, `base`, a full or
 * unique-prefix id, `<label>@head`, a bare branch label, relative `+N` / `-N` (from the
 * current applied heads) and `<rev>+N` / `<rev>-N`. A target resolves to the set of
 * revisions that should be the heads after the operation, or to `base`. Pure.
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
  | { readonly kind: "label-head"; readonly label: string }
  /** `from` null: relative to the current applied heads. */
  | { readonly kind: "relative"; readonly from: AnchorTarget | null; readonly steps: number };

/** What a relative target may count from. */
export type AnchorTarget = Extract<ParsedTarget, { kind: "head" | "revision" | "label-head" }>;

/** Where a target leads: no revision at all (`base`), or these heads. */
export type ResolvedTarget = { readonly kind: "base" } | { readonly kind: "revisions"; readonly ids: readonly string[] };

const FORMS = "`head`, `heads`, `base`, a revision id or unique prefix, `<label>@head`, a branch label, `+N`, `-N`, `<rev>+N` or `<rev>-N`";

function invalidTarget(text: string, why: string): RevisionError {
  return new RevisionError("invalid-target", `\`${text}\` is not a target: ${why}`, { hint: `a target is ${FORMS}`, details: { target: text } });
}

function parseAnchor(text: string, whole: string): AnchorTarget {
  const lower = text.toLowerCase();
  if (lower === "head") return { kind: "head" };
  if (lower === "heads" || lower === "base") throw invalidTarget(whole, `relative steps count from one revision, not from \`${lower}\``);
  if (text.endsWith("@head")) {
    const label = text.slice(0, -"@head".length);
    const problem = branchLabelProblem(label);
    if (problem !== null) throw invalidTarget(whole, problem);
    return { kind: "label-head", label };
  }
  if (!/^[0-9a-fA-F]{1,12}$/.test(text) && branchLabelProblem(text) !== null) {
    throw invalidTarget(whole, `\`${text}\` is neither a revision id nor a branch label`);
  }
  return { kind: "revision", ref: text };
}

/**
 * Parses a target's syntax. `feature-2` reads as "two below `feature`"; when a label
 * `feature-2` exists, {@link resolveTarget} prefers the label.
 * @example
 * parseTarget("ae10+2") // { kind: "relative", from: { kind: "revision", ref: "ae10" }, steps: 2 }
 */
export function parseTarget(input: string): ParsedTarget {
  const text = input.trim();
  if (text === "") throw invalidTarget(input, "it is empty");
  const lower = text.toLowerCase();
  if (lower === "heads") return { kind: "heads" };
  if (lower === "base") return { kind: "base" };
  const relative = /^(.*?)([+-])(\d+)$/.exec(text);
  if (relative !== null) {
    const [, anchor = "", sign, digits = "0"] = relative;
    const steps = Number.parseInt(digits, 10) * (sign === "-" ? -1 : 1);
    if (!Number.isSafeInteger(steps)) throw invalidTarget(text, "the step count is too large");
    if (anchor === "") return { kind: "relative", from: null, steps };
    // `feature-x-1` is "one below feature-x"; a label that itself ends in -N wins at resolution.
    if (/^[0-9a-fA-F]{1,12}$/.test(anchor) || ["head", "heads", "base"].includes(anchor.toLowerCase()) || anchor.endsWith("@head") || branchLabelProblem(anchor) === null) {
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
  const resolved = resolveTarget(graph, target, []);
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

function resolveAnchor(graph: RevisionGraph, anchor: AnchorTarget, text: string): string {
  switch (anchor.kind) {
    case "head": {
      const heads = graph.heads();
      if (heads.length === 0) throw new RevisionError("no-revisions", "there are no revisions yet", { hint: "create the first with `athanor revision -m MESSAGE`" });
      if (heads.length > 1) throw multipleHeads("target `head`", heads, heads[0] as string);
      return heads[0] as string;
    }
    case "label-head": {
      const heads = graph.headsAbove(graph.byLabel(anchor.label));
      if (heads.length > 1) throw multipleHeads(`target \`${anchor.label}@head\``, heads, heads[0] as string);
      return heads[0] as string;
    }
    case "revision":
      if (graph.hasLabel(anchor.ref)) return graph.byLabel(anchor.ref);
      if (!/^[0-9a-fA-F]{1,12}$/.test(anchor.ref)) {
        throw new RevisionError("unknown-revision", `\`${text}\` is neither a revision nor a branch label`, {
          hint: `known labels: ${graph.branchLabels().length === 0 ? "none" : listIds(graph.branchLabels())}; \`athanor history\` lists the revisions`,
          details: { target: text },
        });
      }
      return graph.resolvePrefix(anchor.ref);
  }
}

function outOfRange(text: string, message: string): RevisionError {
  return new RevisionError("relative-out-of-range", `\`${text}\`: ${message}`, {
    hint: "use a smaller step count, or name the revision (`athanor history` lists them)",
    details: { target: text },
  });
}

/** Walks `steps` revisions up (children) or down (parents) from `from` (null = below the roots). */
function walk(graph: RevisionGraph, from: string | null, steps: number, text: string): ResolvedTarget {
  let current = from;
  if (steps >= 0) {
    for (let taken = 0; taken < steps; taken += 1) {
      const next = current === null ? graph.bases() : graph.childrenOf(current);
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
    const parents = graph.parentsOf(current);
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

/**
 * Resolves a target against the graph. `currentHeads` (the applied heads of the
 * database, see `currentHeads` in src/plan/plan.ts) anchors `+N` and `-N`.
 * Throws `multiple-heads` for `head` when the graph has several heads, with the hint to
 * merge or name one.
 * @example
 * resolveTarget(graph, "head", []) // { kind: "revisions", ids: ["3f2a9c1d0b7e"] }
 * resolveTarget(graph, "-1", ["3f2a9c1d0b7e"]) // { kind: "revisions", ids: ["9c0d1e2f3a4b"] }
 */
export function resolveTarget(graph: RevisionGraph, target: string | ParsedTarget, currentHeads: readonly string[]): ResolvedTarget {
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
    case "label-head":
      return { kind: "revisions", ids: [resolveAnchor(graph, parsed, text)] };
    case "relative": {
      if (parsed.from !== null) return walk(graph, resolveAnchor(graph, parsed.from, text), parsed.steps, text);
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
      if (currentHeads.length === 0 && parsed.steps < 0) {
        throw outOfRange(text, "nothing is applied, so there is nothing below the current revision");
      }
      return walk(graph, currentHeads[0] ?? null, parsed.steps, text);
    }
  }
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
    case "label-head":
      return `${target.label}@head`;
    case "relative":
      return `${target.from === null ? "" : describeTarget(target.from)}${target.steps < 0 ? "-" : "+"}${Math.abs(target.steps)}`;
  }
}
