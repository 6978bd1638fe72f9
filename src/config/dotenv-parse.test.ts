/**
 * The .env parser against python-dotenv 1.2.2 (`dotenv_values(stream, interpolate=False)`):
 * the expected values below are what python-dotenv returned for each text.
 */
import { describe, expect, it } from "vitest";
import { parseDotenv, dotenvValues } from "./dotenv-parse.js";

const CASES: readonly (readonly [string, Record<string, string>])[] = [
  ["DB_PASSWORD=S3cr3t-p@ss:w/rd!#x\n", {"DB_PASSWORD": "S3cr3t-p@ss:w/rd!#x"}],
  ["A=value # comment\n", {"A": "value"}],
  ["A=value#notcomment\n", {"A": "value#notcomment"}],
  ["export A=1\n", {"A": "1"}],
  ["  export   B = two words  \n", {"B": "two words"}],
  ["A='single # not comment' # c\n", {"A": "single # not comment"}],
  ["A=\"double \\n newline \\\" quote \\\\ back\"\n", {"A": "double \n newline \" quote \\ back"}],
  ["A='it\\'s \\n raw'\n", {"A": "it's \\n raw"}],
  ["A=\"multi\nline\nvalue\"\nB=after\n", {"A": "multi\nline\nvalue", "B": "after"}],
  ["A='multi\nline'\n", {"A": "multi\nline"}],
  ["# comment\n\nA=1\n#B=2\n", {"A": "1"}],
  ["A=\n", {"A": ""}],
  ["A= # only comment\n", {"A": "# only comment"}],
  ["A=#x\n", {"A": "#x"}],
  ["A=\"unclosed\nB=2\n", {"B": "2"}],
  ["A=\"x\" trailing\nB=3\n", {"B": "3"}],
  ["A=ab$defgh@jk\n", {"A": "ab$defgh@jk"}],
  ["A=${B}\n", {"A": "${B}"}],
  ["A=1\r\nB=2\r\n", {"A": "1", "B": "2"}],
  ["A=1\nA=2\n", {"A": "2"}],
  ["A = spaced\n", {"A": "spaced"}],
  ["A=\"\"\n", {"A": ""}],
  ["A=''\n", {"A": ""}],
  ["A=\"tab\\tin\"\n", {"A": "tab\tin"}],
  ["A=val\\#x\n", {"A": "val\\#x"}],
  ["A=value\t# tab comment\n", {"A": "value"}],
  ["A=`backtick`\n", {"A": "`backtick`"}],
  ["A.B-C=dots\n", {"A.B-C": "dots"}],
  ["KEYONLY\nB=1\n", {"B": "1"}],
  ["A=\"a\" # c\nB='b'#c\n", {"A": "a", "B": "b"}],
  ["A=\u00e9 unicode\n", {"A": "é unicode"}],
  ["A=x=y=z\n", {"A": "x=y=z"}],
  ["A=\"#not comment\"\n", {"A": "#not comment"}],
  ["A=\"\\u00e9\"\n", {"A": "\\u00e9"}],
  ["A='x' \n", {"A": "x"}],
  ["  # indented comment\nA=1\n", {"A": "1"}],
];

describe("parseDotenv reads .env files as python-dotenv does", () => {
  it.each(CASES)("%j", (text, expected) => {
    const values = Object.fromEntries(Object.entries(dotenvValues(parseDotenv(text))).map(([key, entry]) => [key, entry.value]));
    expect(values).toEqual(expected);
  });

  it("reports the lines python-dotenv skips, with their key and line", () => {
    expect(parseDotenv('A="unclosed\nB=2\n').problems).toEqual([{ line: 1, key: "A", message: "the value opens a \" quote that is never closed" }]);
    expect(parseDotenv('X=1\nA="x" trailing\n').problems).toEqual([{ line: 2, key: "A", message: "text follows the closing \" quote" }]);
  });

  it("marks single-quoted values literal (python-dotenv does not expand them)", () => {
    const entries = dotenvValues(parseDotenv("A='${B}'\nC=\"${B}\"\nD=${B}\n"));
    expect([entries["A"]?.expand, entries["C"]?.expand, entries["D"]?.expand]).toEqual([false, true, true]);
  });

  it("counts lines across multi-line values", () => {
    expect(parseDotenv('A="one\ntwo"\nB=3\n').entries.map((entry) => [entry.key, entry.line])).toEqual([["A", 1], ["B", 3]]);
  });
});
