import { describe, expect, it } from "vitest";
import { lintSection } from "./lint.js";

describe("opaque statements: code the linter does not read", () => {
  it.each([
    ["DO $$ BEGIN EXECUTE $q$DROP TABLE t$q$; END $$;", [[1, "a DO block"]]],
    ["CALL archive_orders(30);", [[1, "CALL of a procedure"]]],
    ["PREPARE d AS DELETE FROM t;\nEXECUTE d;", [[2, "EXECUTE of a prepared statement"]]],
    [
      "CREATE FUNCTION s.purge() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'DROP TABLE t'; END $$;\nSELECT s.purge();\nSELECT purge(), now();",
      [
        [2, "a call of s.purge(), created in this revision"],
        [3, "a call of purge(), created in this revision"],
      ],
    ],
    // A function that exists only in the database cannot be told from a built-in.
    ["SELECT now(), lower('A');\nSELECT my_existing_function();", []],
    // Created but not called here: nothing runs.
    ["CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';", []],
    ["CREATE TABLE t (x int);\nINSERT INTO t SELECT generate_series(1, 3);", []],
  ] as const)("%s", async (sql, expected) => {
    const { opaque } = await lintSection(sql);
    expect(opaque.map((statement) => [statement.line, statement.what])).toEqual(expected);
  });

  it("shows a password literal in the excerpt masked", async () => {
    const { opaque } = await lintSection("DO $$ BEGIN CREATE ROLE r LOGIN PASSWORD 'Hunter2Zq'; END $$;");
    expect(opaque).toEqual([{ line: 1, statement: "DO $$ BEGIN CREATE ROLE r LOGIN PASSWORD '***'; END $$", what: "a DO block" }]);
  });

  it("the other statements are still linted", async () => {
    const { findings, opaque } = await lintSection("DO $$ BEGIN PERFORM 1; END $$;\nDROP TABLE orders;", { startLine: 5 });
    expect(findings.map((finding) => [finding.rule, finding.line])).toEqual([["drop-table", 6]]);
    expect(opaque).toEqual([{ line: 5, statement: "DO $$ BEGIN PERFORM 1; END $$", what: "a DO block" }]);
  });
});
