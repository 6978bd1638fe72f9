import { describe, expect, test } from "vitest";
import { lineAt, splitStatements, tokenize } from "./lexer.js";

describe("tokenize", () => {
  test.each([
    "SELECT 'it''s' AS \"a \"\"b\"\"\" FROM t -- c\n/* x /* nested */ y */ WHERE a::text = E'\\''",
    "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql; SELECT $$a;b$$",
    "",
  ])("gives the input back: %s", (sql) => {
    expect(
      tokenize(sql)
        .map((t) => t.text)
        .join(""),
    ).toBe(sql);
  });

  test("kinds", () => {
    const kinds = tokenize(`a."B" 'c' $$d$$ 1.5 :: -- e`).map((t) => `${t.kind}:${t.text}`);
    expect(kinds).toEqual([
      "word:a",
      "punct:.",
      'quoted-ident:"B"',
      "space: ",
      "string:'c'",
      "space: ",
      "string:$$d$$",
      "space: ",
      "number:1.5",
      "space: ",
      "punct:::",
      "space: ",
      "comment:-- e",
    ]);
  });
});

describe("splitStatements and lineAt", () => {
  test("splits on top-level semicolons only", () => {
    const sql = [
      "-- header",
      "CREATE TABLE a (x text DEFAULT ';');",
      "",
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;",
      "/* ; */ CREATE TABLE b (y int); -- trailing ;",
      "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END;",
      "SELECT 1",
    ].join("\n");
    const statements = splitStatements(sql);
    expect(statements.map((s) => s.sql)).toEqual([
      "CREATE TABLE a (x text DEFAULT ';')",
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$",
      "CREATE TABLE b (y int)",
      "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END",
      "SELECT 1",
    ]);
    expect(statements.map((s) => lineAt(sql, s.start))).toEqual([2, 4, 5, 6, 7]);
  });

  test("lineAt counts from 1", () => {
    expect(lineAt("a\nb\nc", 0)).toBe(1);
    expect(lineAt("a\nb\nc", 2)).toBe(2);
    expect(lineAt("a\nb\nc", 99)).toBe(3);
  });
});

// pg_get_viewdef(oid, true) of the same views on PostgreSQL 15 and 18, whitespace-normalised.
