import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.js";
import { lockKey } from "./lock.js";
import { splitRange } from "./migrate.js";

describe("splitRange (offline SQL)", () => {
  it.each([
    ["head", "upgrade", { from: "base", to: "head" }],
    ["abc:head", "upgrade", { from: "abc", to: "head" }],
    [" head : base ", "downgrade", { from: "head", to: "base" }],
  ] as const)("%s (%s)", (target, command, expected) => {
    expect(splitRange(target, command)).toEqual(expected);
  });

  it("a downgrade needs a range, and both sides must be there", () => {
    expect(() => splitRange("base", "downgrade")).toThrow(ConfigError);
    expect(() => splitRange(":head", "upgrade")).toThrow(/not a range/);
  });
});

describe("lockKey", () => {
  it("is a stable signed 64-bit key per version table", () => {
    const key = lockKey({ schema: "public", table: "athanor_version" });
    expect(key).toBe(lockKey({ schema: "public", table: "athanor_version" }));
    expect(key).not.toBe(lockKey({ schema: "ops", table: "athanor_version" }));
    expect(key >= -(2n ** 63n) && key < 2n ** 63n).toBe(true);
  });
});
