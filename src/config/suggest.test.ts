import { describe, expect, it } from "vitest";
import { closest, editDistance } from "./suggest.js";

describe("closest", () => {
  it.each([
    ["prodution", ["development", "testing", "production"], "production"],
    ["tesitng", ["development", "testing", "production"], "testing"],
    ["stagign", ["development", "testing", "production"], undefined],
    ["--enviroment", ["--env", "--environment", "--config"], "--environment"],
    ["production", ["production"], undefined],
    ["x", ["y"], undefined],
  ] as const)("%s among %j → %s", (word, candidates, expected) => {
    expect(closest(word, candidates)).toBe(expected);
  });

  it("counts a transposition as one edit", () => {
    expect(editDistance("prdouction", "production")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
  });
});
