import { describe, expect, it } from "vitest";
import { blockedGroups, promotionRefusal, promotionRefusalHint, type PromotionLists } from "./promotion-wording.js";

const plain = (ids: readonly string[]) => ids.join(", ");

describe("promotionRefusal", () => {
  const cases: { name: string; lists: PromotionLists; refusal: string; hint: string[] }[] = [
    {
      name: "not applied",
      lists: { source: "testing", blocked: ["a", "b"], stamped: [], changed: [] },
      refusal: "has not applied a, b",
      hint: ['Apply a, b to "testing" first (athanor --env testing upgrade b).'],
    },
    {
      name: "only stamped",
      lists: { source: "testing", blocked: ["a"], stamped: ["a"], changed: [] },
      refusal: "has only stamped a",
      hint: ['A stamp records a revision without running it, so the gate does not count a: run it in "testing" before promoting'],
    },
    {
      name: "ran an earlier version",
      lists: { source: "testing", blocked: ["a", "b"], stamped: [], changed: ["a", "b"] },
      refusal: "ran an earlier version of a, b",
      hint: ['"testing" applied an earlier version of the files of a, b: re-apply them there', "`athanor --env testing repair` there if the change is cosmetic"],
    },
    {
      name: "a mix: each revision under its own kind, in the plan's order within a kind",
      lists: { source: "testing", blocked: ["a", "b", "c", "d"], stamped: ["c"], changed: ["b"] },
      refusal: "has not applied a, d, and has only stamped c, and ran an earlier version of b",
      hint: ['Apply a, d to "testing" first (athanor --env testing upgrade d).', "so the gate does not count c: run it", '"testing" applied an earlier version of the file of b: re-apply it there'],
    },
  ];
  for (const t of cases) {
    it(t.name, () => {
      expect(promotionRefusal(t.lists, plain)).toBe(t.refusal);
      const hint = promotionRefusalHint(t.lists, "production");
      for (const part of t.hint) expect(hint).toContain(part);
      expect(hint.endsWith('Or upgrade "production" only up to what "testing" has (athanor --env testing current).')).toBe(true);
      // Every blocked revision is in exactly one group.
      expect(blockedGroups(t.lists).flatMap((group) => group.ids).sort()).toEqual([...t.lists.blocked].sort());
    });
  }

  it("formats each group with the caller's formatter", () => {
    const lists = { source: "testing", blocked: ["a", "b"], stamped: ["b"], changed: [] };
    expect(promotionRefusal(lists, (ids) => ids.map((id) => `\`${id}\``).join(", "))).toBe("has not applied `a`, and has only stamped `b`");
  });

  it("a revision both stamped and with another checksum counts as stamped: it never ran there", () => {
    expect(blockedGroups({ source: "testing", blocked: ["a"], stamped: ["a"], changed: ["a"] })).toEqual([{ kind: "stamped", ids: ["a"] }]);
  });
});
