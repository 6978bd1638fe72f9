import { describe, expect, it } from "vitest";
import { RefusedError } from "../errors.js";
import { confirmProtectedRun, decideConfirmation, type ConfirmationRequest, type ConfirmationUI } from "./confirm.js";

const request: ConfirmationRequest = {
  environment: "production",
  url: "postgresql://app:***@db:5432/prod",
  command: "upgrade",
  target: "head",
  current: [],
  steps: [{ revision: "aaaaaaaaaaaa", message: "add orders", file: "a.sql", direction: "up", findings: [] }],
  backup: { dir: "/backups" },
  allowedDangerous: 0,
};

function ui(answer: string | null): ConfirmationUI & { asked: number } {
  return {
    asked: 0,
    showPlan() {},
    async askEnvironmentName() {
      this.asked += 1;
      return answer;
    },
  };
}

describe("decideConfirmation", () => {
  const cases: { name: string; protected: boolean; steps?: number; yes: boolean; interactive: boolean; ci: boolean; expected: string }[] = [
    { name: "unprotected runs as is", protected: false, yes: false, interactive: false, ci: true, expected: "proceed" },
    { name: "nothing to do needs no confirmation", protected: true, steps: 0, yes: false, interactive: false, ci: false, expected: "proceed" },
    { name: "--yes confirms without a terminal", protected: true, yes: true, interactive: false, ci: true, expected: "proceed" },
    { name: "--yes confirms on a terminal too", protected: true, yes: true, interactive: true, ci: false, expected: "proceed" },
    { name: "a terminal asks", protected: true, yes: false, interactive: true, ci: false, expected: "ask" },
    { name: "no terminal, no --yes: refused", protected: true, yes: false, interactive: false, ci: false, expected: "refuse" },
    { name: "CI without --yes: refused", protected: true, yes: false, interactive: false, ci: true, expected: "refuse" },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const steps = c.steps === 0 ? [] : request.steps;
      const decision = decideConfirmation(c.protected, { ...request, steps }, { yes: c.yes, interactive: c.interactive, ci: c.ci });
      expect(decision.action).toBe(c.expected);
      if (decision.action === "refuse") {
        expect(decision.error).toBeInstanceOf(RefusedError);
        expect(decision.error.exitStatus).toBe(3);
        expect(decision.error.message).toContain("--yes");
        expect(decision.error.message).toContain(c.ci ? "CI run" : "no terminal");
        expect(decision.error.details["missingFlag"]).toBe("--yes");
      }
    });
  }
});

describe("confirmProtectedRun", () => {
  it("proceeds when the exact name is typed (surrounding spaces ignored)", async () => {
    const terminal = ui("  production ");
    await expect(confirmProtectedRun(true, request, { yes: false, interactive: true, ci: false }, terminal)).resolves.toBe("typed-name");
    expect(terminal.asked).toBe(1);
  });
  for (const answer of ["prod", "Production", "", "yes", null]) {
    it(`refuses with exit 3 when the answer is ${JSON.stringify(answer)}`, async () => {
      const error = await confirmProtectedRun(true, request, { yes: false, interactive: true, ci: false }, ui(answer)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RefusedError);
      expect((error as RefusedError).code).toBe("not-confirmed");
      expect((error as RefusedError).message).toContain("nothing was changed");
      // The typed text is never echoed back (someone may have typed a secret).
      if (answer) expect((error as RefusedError).message).not.toContain(`"${answer}"`);
    });
  }
  it("never asks with --yes", async () => {
    const terminal = ui(null);
    await expect(confirmProtectedRun(true, request, { yes: true, interactive: true, ci: false }, terminal)).resolves.toBe("yes-flag");
    expect(terminal.asked).toBe(0);
  });
});
