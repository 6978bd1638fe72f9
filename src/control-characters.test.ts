import { describe, expect, it } from "vitest";
import { escapeControlCharacters, escapeControlCharactersInJson, escapeControlCharactersInLines, hasControlCharacter } from "./control-characters.js";

describe("control characters", () => {
  it.each([
    ["plain message", "plain message", false],
    ["tab\tkept", "tab\tkept", false],
    ["ok \u001b]0;PWNED\u0007 \u001b[31mRED\u001b[0m", "ok \\x1b]0;PWNED\\x07 \\x1b[31mRED\\x1b[0m", true],
    ["b1_x\nreview passes", "b1_x\\nreview passes", true],
    ["cr\rhere", "cr\\rhere", true],
    ["nul\u0000 del\u007f csi\u009b", "nul\\x00 del\\x7f csi\\x9b", true],
    ["accents é, ü and U+00A0\u00a0are text", "accents é, ü and U+00A0\u00a0are text", false],
    // Trojan Source (CVE-2021-42574): overrides, isolates and marks that reorder what is shown.
    ["admin\u202e lqs.txt", "admin\\u202e lqs.txt", true],
    ["\u2067isolate\u2069 \u2066ltr\u2069 \u2068first\u2069", "\\u2067isolate\\u2069 \\u2066ltr\\u2069 \\u2068first\\u2069", true],
    ["\u202aa\u202bb\u202cc\u202dd", "\\u202aa\\u202bb\\u202cc\\u202dd", true],
    ["marks \u200e\u200f\u061c", "marks \\u200e\\u200f\\u061c", true],
    ["line\u2028para\u2029", "line\\u2028para\\u2029", true],
    // Invisible: two names that look the same.
    ["add\u200busers soft\u00adhyphen bom\ufeff wj\u2060", "add\\u200busers soft\\xadhyphen bom\\ufeff wj\\u2060", true],
    ["annotation \ufff9a\ufffab\ufffb", "annotation \\ufff9a\\ufffab\\ufffb", true],
    // Joiners are text: Persian words and emoji sequences need them.
    ["می\u200cخواهم 👩\u200d💻 ← العربية", "می\u200cخواهم 👩\u200d💻 ← العربية", false],
  ])("%j → %j", (text, escaped, control) => {
    expect(escapeControlCharacters(text)).toBe(escaped);
    expect(hasControlCharacter(text)).toBe(control);
  });

  it("JSON: the same document once parsed, with nothing left raw that JSON.stringify leaves", () => {
    const value = { message: "a\u202eb\u2028c\u009b\u007fd\u200be\ttab\nnl\u001b", list: ["\u2066x\u2069", "👩\u200d💻"] };
    const json = escapeControlCharactersInJson(JSON.stringify(value, null, 2));
    expect(JSON.parse(json)).toEqual(value);
    expect(json).toContain(String.raw`"a\u202eb\u2028c\u009b\u007fd\u200be\ttab\nnl\u001b"`);
    expect(json).toContain(String.raw`"\u2066x\u2069"`);
    // The pretty-printer's own newlines stay; nothing else in the text would act on a terminal.
    expect(hasControlCharacter(json.replace(/\n/g, ""))).toBe(false);
  });

  it("keeps the lines of a message of several lines", () => {
    expect(escapeControlCharactersInLines("failed: \u001b[2J\n  statement: SELECT 1\r")).toBe("failed: \\x1b[2J\n  statement: SELECT 1\\r");
    expect(escapeControlCharactersInLines("two\nlines")).toBe("two\nlines");
  });
});
