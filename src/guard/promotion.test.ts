import { describe, expect, it } from "vitest";
import { RefusedError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import { revision, rid } from "../revisions/fixtures.js";
import { assertPromotionAllowed, evaluatePromotionGate } from "./promotion.js";

const a = revision("a");
const b = revision("b", ["a"]);
const c = revision("c", ["b"]);
const up: Plan = { direction: "up", target: "head", steps: [a, b, c].map((r) => ({ revision: r, direction: "up" as const })) };
const down: Plan = { direction: "down", target: "base", steps: [c, b].map((r) => ({ revision: r, direction: "down" as const })) };
const production = { name: "production", promoteFrom: "testing" };

describe("evaluatePromotionGate", () => {
  const cases: { name: string; env: { name: string; promoteFrom: string | null }; plan: Plan; applied: string[] | "error" | null; stamped?: string[]; ran?: Record<string, string>; changed?: string[]; allowed: boolean; blocked: string[] }[] = [
    { name: "no promoteFrom: no gate", env: { name: "production", promoteFrom: null }, plan: up, applied: [], allowed: true, blocked: [] },
    { name: "source applied everything", env: production, plan: up, applied: ["a", "b", "c"], allowed: true, blocked: [] },
    { name: "source is behind", env: production, plan: up, applied: ["a"], allowed: false, blocked: ["b", "c"] },
    { name: "source applied nothing", env: production, plan: up, applied: [], allowed: false, blocked: ["a", "b", "c"] },
    { name: "source unreadable: refused", env: production, plan: up, applied: "error", allowed: false, blocked: ["a", "b", "c"] },
    { name: "a revision only stamped in the source is blocked", env: production, plan: up, applied: ["a"], stamped: ["b", "c"], allowed: false, blocked: ["b", "c"] },
    { name: "a revision the source ran from another version of its file is blocked", env: production, plan: up, applied: ["a", "b", "c"], ran: { a: a.checksum, b: "an earlier checksum", c: c.checksum }, changed: ["b"], allowed: false, blocked: ["b"] },
    { name: "the source's stored checksums matching the files pass", env: production, plan: up, applied: ["a", "b", "c"], ran: { a: a.checksum, b: b.checksum, c: c.checksum }, allowed: true, blocked: [] },
    { name: "downgrades are not gated", env: production, plan: down, applied: [], allowed: true, blocked: [] },
    { name: "an empty plan passes", env: production, plan: { direction: "up", target: "head", steps: [] }, applied: null, allowed: true, blocked: [] },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const source = t.applied === null ? null : t.applied === "error" ? { error: "connection refused" } : { applied: new Set(t.applied.map(rid)), stamped: new Set((t.stamped ?? []).map(rid)), checksums: new Map(Object.entries(t.ran ?? {}).map(([name, sum]) => [rid(name), sum])) };
      const evaluation = evaluatePromotionGate(t.env, t.plan, source);
      expect(evaluation.allowed).toBe(t.allowed);
      expect(evaluation.blocked.map((r) => r.revision)).toEqual(t.blocked.map(rid));
      expect(evaluation.stamped.map((r) => r.revision)).toEqual((t.stamped ?? []).map(rid));
      expect(evaluation.changed.map((r) => r.revision)).toEqual((t.changed ?? []).map(rid));
      if (t.allowed) expect(() => assertPromotionAllowed(evaluation)).not.toThrow();
      else {
        const error = (() => {
          try {
            assertPromotionAllowed(evaluation);
          } catch (e) {
            return e;
          }
          return undefined;
        })();
        expect(error).toBeInstanceOf(RefusedError);
        expect((error as RefusedError).exitStatus).toBe(3);
        if (t.applied === "error") expect((error as RefusedError).code).toBe("promotion-unverified");
        else for (const id of t.blocked) expect((error as RefusedError).message).toContain(rid(id));
        if (t.stamped !== undefined) {
          expect((error as RefusedError).message).toContain(`which has only stamped ${rid("b")} (revision b), ${rid("c")} (revision c); nothing was changed`);
          expect((error as RefusedError).hint).toContain("A stamp records a revision without running it");
          expect((error as RefusedError).details["stamped"]).toEqual(t.stamped.map(rid));
        }
        if (t.changed !== undefined) {
          expect((error as RefusedError).message).toContain(`which ran an earlier version of ${rid("b")} (revision b); nothing was changed`);
          expect((error as RefusedError).hint).toContain("repair` there if the change is cosmetic");
          expect((error as RefusedError).details["changed"]).toEqual(t.changed.map(rid));
        }
      }
    });
  }
});

describe("assertPromotionAllowed", () => {
  it("a refusal of mixed kinds names each revision under what the source did with it", () => {
    const d = revision("d", ["c"]);
    const plan: Plan = { direction: "up", target: "head", steps: [a, b, c, d].map((r) => ({ revision: r, direction: "up" as const })) };
    // a: run from another version; b: only stamped; c, d: never applied.
    const evaluation = evaluatePromotionGate(production, plan, { applied: new Set([rid("a")]), stamped: new Set([rid("b")]), checksums: new Map([[rid("a"), "an earlier checksum"]]) });
    expect(() => assertPromotionAllowed(evaluation)).toThrow(
      `environment "production" is promoted from "testing", which has not applied ${rid("c")} (revision c), ${rid("d")} (revision d), and has only stamped ${rid("b")} (revision b), and ran an earlier version of ${rid("a")} (revision a); nothing was changed`,
    );
    const error = (() => {
      try {
        assertPromotionAllowed(evaluation);
      } catch (e) {
        return e as RefusedError;
      }
      return undefined;
    })();
    expect(error?.hint).toContain(`Apply ${rid("c")}, ${rid("d")} to "testing" first (athanor --env testing upgrade ${rid("d")}).`);
    expect(error?.hint).toContain(`so the gate does not count ${rid("b")}`);
    expect(error?.hint).toContain(`"testing" applied an earlier version of the file of ${rid("a")}`);
  });
});
