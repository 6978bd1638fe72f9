/**
 * isLexicallyClosed against PostgreSQL's own lexer (libpg-query's scanner, scan.l compiled
 * to WASM): a body is closed exactly when a marker statement appended after it (on a new
 * line, as the executor does) is scanned as a token of its own.
 */
import { loadModule, scanSync } from "libpg-query";
import { beforeAll, describe, expect, it } from "vitest";
import { isLexicallyClosed } from "./sql-closure.js";

const MARKER = "424242";

/** True/false as PostgreSQL's lexer sees it; null when it rejects the text for another reason (e.g. `""`, `1x`). */
function closedForPostgres(body: string): boolean | null {
  try {
    const tokens = scanSync(`${body}\n;\nSELECT ${MARKER}`).tokens;
    const last = tokens[tokens.length - 1];
    return last !== undefined && last.text === MARKER && last.tokenName === "ICONST";
  } catch (error) {
    // "unterminated quoted string", "unterminated /* comment", "unterminated dollar-quoted string", ...
    return error instanceof Error && /unterminat/.test(error.message) ? false : null;
  }
}

beforeAll(async () => {
  await loadModule();
});

describe("isLexicallyClosed", () => {
  const cases: readonly [string, boolean][] = [
    ["CREATE TABLE t (a int);", true],
    ["CREATE TABLE t (a int); -- a trailing comment without a newline", true],
    ["CREATE TABLE t (a int); /* TODO", false],
    ["/* outer /* inner */ still open", false],
    ["/* outer /* inner */ closed */ SELECT 1", true],
    ["SELECT 'it''s'", true],
    ["SELECT 'open", false],
    ["SELECT E'\\''", true],
    ["SELECT 'a\\'", true],
    ["SELECT e'a\\'", false],
    ["SELECT some'x'", true],
    ['SELECT "a""b" FROM t', true],
    ['SELECT "open', false],
    ["CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql", true],
    ["CREATE FUNCTION f() RETURNS int AS $body$ SELECT '$$' $body$ LANGUAGE sql", true],
    ["CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1 $$ LANGUAGE sql", false],
    ["SELECT a$b$ FROM t", true],
    ["SELECT $1", true],
    ["SELECT $1$b$ open", false],
    ["SELECT 1$b$ open", false],
    ["SELECT abcE'a\\'", true],
    ["SELECT 1 -- */ not a comment end\n/* open", false],
    ["SELECT '--' /* '", false],
  ];
  for (const [sql, expected] of cases) {
    it(`${JSON.stringify(sql)} → ${expected}`, () => {
      expect(closedForPostgres(sql)).toBe(expected);
      expect(isLexicallyClosed(sql)).toBe(expected);
    });
  }

  it("agrees with PostgreSQL's lexer on 5,000 generated texts", () => {
    const fragments = [
      "SELECT 1", " ", "\n", ";", "'", "''", "E'", "e'", "\\", "\\'", '"', '""', "/*", "*/", "--", "$$", "$a$", "$b$", "a$b$",
      "$1", "x", "E", "some", "-", "/", "*", "$", "U&'", "B'",
    ];
    // A fixed-seed generator: the same texts on every run.
    let seed = 20261204;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let disagreements = 0;
    let closed = 0;
    let open = 0;
    for (let i = 0; i < 5_000; i += 1) {
      let text = "";
      const length = 1 + random(12);
      for (let j = 0; j < length; j += 1) text += fragments[random(fragments.length)];
      const expected = closedForPostgres(text);
      if (expected === null) continue;
      if (expected) closed += 1;
      else open += 1;
      if (isLexicallyClosed(text) !== expected) {
        disagreements += 1;
        if (disagreements <= 5) console.log(`disagreement on ${JSON.stringify(text)}: PostgreSQL says ${expected ? "closed" : "open"}`);
      }
    }
    expect(disagreements).toBe(0);
    // Both outcomes were exercised, many times.
    expect(closed).toBeGreaterThan(500);
    expect(open).toBeGreaterThan(500);
  });
});
