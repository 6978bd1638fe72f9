import { describe, expect, it } from "vitest";
import { RevisionError } from "../errors.js";
import { SqlSyntaxError, splitStatements } from "./parse.js";

async function split(sql: string, startLine = 1): Promise<{ text: string; line: number; endLine: number; kind: string }[]> {
  return (await splitStatements(sql, startLine)).map(({ text, line, endLine, kind }) => ({ text, line, endLine, kind }));
}

async function syntaxError(sql: string, startLine = 1, file?: string): Promise<SqlSyntaxError> {
  try {
    await splitStatements(sql, startLine, { file });
  } catch (error) {
    if (error instanceof SqlSyntaxError) return error;
    throw error;
  }
  throw new Error("expected a syntax error");
}

describe("splitStatements", () => {
  it.each([
    ["empty", ""],
    ["whitespace", "  \n\t\n"],
    ["line comments", "-- nothing\n-- here\n"],
    ["block comments", "/* a\n /* nested */ b */\n"],
    ["lone semicolons", ";\n;;"],
  ])("gives [] for %s", async (_name, sql) => {
    expect(await splitStatements(sql)).toEqual([]);
  });

  it("splits statements, dropping the semicolon and the comments around each", async () => {
    const sql = [
      "-- header comment",
      "CREATE TABLE t (id int); -- trailing",
      "",
      "/* before */ INSERT INTO t",
      "  VALUES (1);",
      "SELECT 1 -- before the semicolon",
      ";",
      "SELECT 2 -- last, no semicolon",
      "",
    ].join("\n");
    expect(await split(sql)).toEqual([
      { text: "CREATE TABLE t (id int)", line: 2, endLine: 2, kind: "CreateStmt" },
      { text: "INSERT INTO t\n  VALUES (1)", line: 4, endLine: 5, kind: "InsertStmt" },
      { text: "SELECT 1", line: 6, endLine: 6, kind: "SelectStmt" },
      { text: "SELECT 2", line: 8, endLine: 8, kind: "SelectStmt" },
    ]);
  });

  it("keeps comments inside a statement, and gives the text without them too", async () => {
    expect(await split("SELECT 1, -- one\n 2;")).toEqual([{ text: "SELECT 1, -- one\n 2", line: 1, endLine: 2, kind: "SelectStmt" }]);
    const [statement] = await splitStatements("/* a */ SELECT 1, -- one\n /* two */ 2 /* x */, '-- not a comment' -- z\n;");
    expect(statement?.uncommented).toBe("SELECT 1,  \n   2  , '-- not a comment'");
  });

  it("counts lines from startLine", async () => {
    expect(await split("\n\nDROP TABLE t;\nDROP TABLE u;", 10)).toEqual([
      { text: "DROP TABLE t", line: 12, endLine: 12, kind: "DropStmt" },
      { text: "DROP TABLE u", line: 13, endLine: 13, kind: "DropStmt" },
    ]);
  });

  it("converts byte offsets correctly after non-ASCII text", async () => {
    const sql = "INSERT INTO t VALUES ('é€😀');\n-- ünïcödé 😀\nINSERT INTO t VALUES ('ß');\r\nSELECT '日本';";
    expect(await split(sql)).toEqual([
      { text: "INSERT INTO t VALUES ('é€😀')", line: 1, endLine: 1, kind: "InsertStmt" },
      { text: "INSERT INTO t VALUES ('ß')", line: 3, endLine: 3, kind: "InsertStmt" },
      { text: "SELECT '日本'", line: 4, endLine: 4, kind: "SelectStmt" },
    ]);
  });

  it("keeps dollar-quoted bodies, DO blocks and BEGIN ATOMIC bodies whole", async () => {
    const sql = [
      "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $body$",
      "BEGIN",
      "  NEW.updated := now(); -- a ; inside",
      "  RETURN NEW;",
      "END;",
      "$body$;",
      "DO $$ BEGIN RAISE NOTICE 'a;b'; END $$;",
      "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;",
      "SELECT 3;",
    ].join("\n");
    const statements = await split(sql);
    expect(statements.map((s) => [s.kind, s.line, s.endLine])).toEqual([
      ["CreateFunctionStmt", 1, 6],
      ["DoStmt", 7, 7],
      ["CreateFunctionStmt", 8, 8],
      ["SelectStmt", 9, 9],
    ]);
    expect(statements[0]?.text.endsWith("$body$")).toBe(true);
    expect(statements[1]?.text).toBe("DO $$ BEGIN RAISE NOTICE 'a;b'; END $$");
    expect(statements[2]?.text).toBe("CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END");
  });

  it("parses CREATE INDEX CONCURRENTLY and exposes the tree", async () => {
    const [statement] = await splitStatements("CREATE INDEX CONCURRENTLY i ON t (a);");
    expect(statement?.kind).toBe("IndexStmt");
    expect(statement?.ast).toMatchObject({ IndexStmt: { concurrent: true, idxname: "i", relation: { relname: "t" } } });
  });

  it("reports a syntax error with its file line, column and the parser's message", async () => {
    const error = await syntaxError("SELECT 1;\n\nSELECT 'é😀' FRM t WHERE;", 5, "migrations/x.sql");
    expect(error).toBeInstanceOf(RevisionError);
    expect(error.code).toBe("sql-syntax");
    expect(error.line).toBe(7);
    expect(error.column).toBe(17);
    expect(error.parserMessage).toBe('syntax error at or near "t"');
    expect(error.message).toBe('invalid SQL at migrations/x.sql:7, column 17: syntax error at or near "t"');
    expect(error.details).toMatchObject({ file: "migrations/x.sql", line: 7, column: 17 });
  });

  it("reports an unterminated string and a syntax error in the first statement", async () => {
    expect((await syntaxError("SELECT 1;\nSELECT 'open")).line).toBe(2);
    expect((await syntaxError("-- c\n\nCREAT TABLE t ();")).line).toBe(3);
  });
});
