import { describe, expect, it } from "vitest";
import { isAthanorError } from "../errors.js";
import { selectTargets, targetMatcher } from "./targets.js";

const fleet = ["eu-1", "eu-2", "us-1", "us-10", "ap.1"].map((targetName) => ({ targetName }));
const names = (list: readonly { targetName: string | null }[]) => list.map((entry) => entry.targetName);

describe("selectTargets", () => {
  it.each([
    ["no pattern: every target, in order", [], ["eu-1", "eu-2", "us-1", "us-10", "ap.1"]],
    ["an exact name", ["us-1"], ["us-1"]],
    ["a glob", ["eu-*"], ["eu-1", "eu-2"]],
    ["? matches one character", ["us-?"], ["us-1"]],
    ["several patterns keep the fleet's order", ["us-*", "eu-1"], ["eu-1", "us-1", "us-10"]],
    ["braces", ["{ap.1,eu-2}"], ["eu-2", "ap.1"]],
    ["a dot is literal", ["ap.1"], ["ap.1"]],
  ])("%s", (_name, patterns, expected) => {
    expect(names(selectTargets("prod", fleet, patterns))).toEqual(expected);
  });

  it("refuses a pattern matching nothing, suggesting the closest name", () => {
    let caught: unknown;
    try {
      selectTargets("prod", fleet, ["eu-*", "us-2x"]);
    } catch (error) {
      caught = error;
    }
    expect(isAthanorError(caught) && caught.code).toBe("unknown-target");
    expect(isAthanorError(caught) && caught.exitStatus).toBe(2);
    expect(isAthanorError(caught) && caught.message).toContain("--target us-2x matches no target of the fleet \"prod\"");
  });
});

describe("targetMatcher", () => {
  it("matches whole names only", () => {
    const match = targetMatcher(["eu"]);
    expect(match("eu")).toBe(true);
    expect(match("eu-1")).toBe(false);
  });
});
