import { describe, expect, it } from "vitest";
import { escapeControlCharacters, escapeControlCharactersInLines, hasControlCharacter } from "./control-characters.js";

describe("control characters", () => {
  it.each([
    ["plain message", "plain message", false],
    ["tab\tkept", "tab\tkept", false],
    ["ok \u001b]0;PWNED\u0007 \u001b[31mRED\u001b[0m", "ok \\x1b]0;PWNED\\x07 \\x1b[31mRED\\x1b[0m", true],
    ["b1_x\nreview passes", "b1_x\\nreview passes", true],
    ["cr\rhere", "cr\\rhere", true],
    ["nul\u0000 del\u007f csi\u009b", "nul\\x00 del\\x7f csi\\x9b", true],
    ["accents é, ü and U+00A0\u00a0are text", "accents é, ü and U+00A0\u00a0are text", false],
  ])("%j → %j", (text, escaped, control) => {
    expect(escapeControlCharacters(text)).toBe(escaped);
    expect(hasControlCharacter(text)).toBe(control);
  });

  it("keeps the lines of a message of several lines", () => {
    expect(escapeControlCharactersInLines("failed: \u001b[2J\n  statement: SELECT 1\r")).toBe("failed: \\x1b[2J\n  statement: SELECT 1\\r");
    expect(escapeControlCharactersInLines("two\nlines")).toBe("two\nlines");
  });
});
