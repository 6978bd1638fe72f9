import { describe, expect, it } from "vitest";
import { quoteLiteral } from "./sql.js";

describe("quoteLiteral", () => {
  it.each([
    ["plain", "'plain'"],
    ["o'neil", "'o''neil'"],
    ["", "''"],
    // A backslash: E'' with it doubled, which the server reads alike with standard_conforming_strings on or off.
    ["C:\\dir\\", "E'C:\\\\dir\\\\'"],
    ["a\\'; COMMIT; --", "E'a\\\\''; COMMIT; --'"],
  ] as const)("%s → %s", (value, expected) => {
    expect(quoteLiteral(value)).toBe(expected);
  });
});
