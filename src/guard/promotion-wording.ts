/**
 * The words of a promotion gate's refusal, in one place: the gate's error (its message
 * and hint, src/guard/promotion.ts) and `review` (text, markdown, findings) say the same
 * thing of the same three lists. Each blocked revision is named under what the source
 * did with it — never applied, only stamped (recorded without running), or ran from an
 * earlier version of its file — so a mixed refusal says each kind of its own. Pure.
 */

/** The gate's lists, as revision ids: `stamped` and `changed` are subsets of `blocked`. */
export interface PromotionLists {
  readonly source: string;
  readonly blocked: readonly string[];
  readonly stamped: readonly string[];
  readonly changed: readonly string[];
}

/** What the source did with a blocked revision. */
export type BlockedKind = "not-applied" | "stamped" | "changed";

/** The blocked revisions of one kind, in the plan's order. */
export interface BlockedGroup {
  readonly kind: BlockedKind;
  readonly ids: readonly string[];
}

const KIND_ORDER: readonly BlockedKind[] = ["not-applied", "stamped", "changed"];

/**
 * The blocked revisions by kind (kinds without a revision left out), each revision in
 * exactly one group: one the source recorded without running is `stamped`, even if a
 * checksum says otherwise (it never ran there, whatever version).
 * @example
 * blockedGroups({ source: "testing", blocked: ["a", "b"], stamped: ["b"], changed: [] })
 * // [{ kind: "not-applied", ids: ["a"] }, { kind: "stamped", ids: ["b"] }]
 */
export function blockedGroups(lists: PromotionLists): BlockedGroup[] {
  const stamped = new Set(lists.stamped);
  const changed = new Set(lists.changed);
  const kindOf = (id: string): BlockedKind => (stamped.has(id) ? "stamped" : changed.has(id) ? "changed" : "not-applied");
  return KIND_ORDER.map((kind) => ({ kind, ids: lists.blocked.filter((id) => kindOf(id) === kind) })).filter((group) => group.ids.length > 0);
}

const VERB: Readonly<Record<BlockedKind, string>> = {
  "not-applied": "has not applied",
  stamped: "has only stamped",
  changed: "ran an earlier version of",
};

/**
 * What the source did, as a predicate of the source: `has not applied A, and has only
 * stamped B`. `ids` formats one group's revisions for the output at hand (plain, code
 * spans, with their messages).
 * @example
 * `"testing" ${promotionRefusal(lists, (ids) => ids.join(", "))}` // "testing" has not applied a, and ran an earlier version of c
 */
export function promotionRefusal(lists: PromotionLists, ids: (group: readonly string[]) => string): string {
  return blockedGroups(lists)
    .map((group) => `${VERB[group.kind]} ${ids(group.ids)}`)
    .join(", and ");
}

function them(count: number): string {
  return count === 1 ? "it" : "them";
}

/**
 * What to do about each kind, then the way around them all: the hint of the gate's refusal
 * of an upgrade of `environment`.
 */
export function promotionRefusalHint(lists: PromotionLists, environment: string): string {
  const source = lists.source;
  const parts = blockedGroups(lists).map((group) => {
    const n = group.ids.length;
    switch (group.kind) {
      case "not-applied":
        return `Apply ${n === 1 ? group.ids[0] : group.ids.join(", ")} to "${source}" first (athanor --env ${source} upgrade ${group.ids[n - 1]}).`;
      case "stamped":
        return `A stamp records a revision without running it, so the gate does not count ${n === 1 ? group.ids[0] : group.ids.join(", ")}: run ${them(n)} in "${source}" before promoting (\`athanor --env ${source} stamp\` to below ${them(n)}, then \`athanor --env ${source} upgrade\`).`;
      case "changed":
        return `"${source}" applied an earlier version of ${n === 1 ? "the file of" : "the files of"} ${group.ids.join(", ")}: re-apply ${them(n)} there (\`athanor --env ${source} downgrade\` below ${them(n)}, then \`upgrade\`), or \`athanor --env ${source} repair\` there if the change is cosmetic.`;
    }
  });
  parts.push(`Or upgrade "${environment}" only up to what "${source}" has (athanor --env ${source} current).`);
  return parts.join(" ");
}
