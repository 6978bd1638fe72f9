import { describe, expect, it } from "vitest";
import { lintSql } from "./lint.js";
import { SqlSyntaxError } from "./parse.js";

const SQL = ["DROP TABLE legacy;", "", "CREATE INDEX orders_total ON orders (total);", "ALTER TABLE orders ALTER COLUMN note TYPE text;"].join("\n");

describe("lintSql", () => {
  it("attaches the revision, the file and file lines", async () => {
    const findings = await lintSql(SQL, { file: "migrations/3f2a9c1d0b7e_x.sql", revision: "3f2a9c1d0b7e", startLine: 6 });
    expect(findings.map((f) => [f.rule, f.severity, f.line])).toEqual([
      ["drop-table", "danger", 6],
      ["create-index", "danger", 8],
      ["alter-column-type", "warning", 9],
    ]);
    expect(findings[0]).toMatchObject({
      rule: "drop-table",
      severity: "danger",
      revision: "3f2a9c1d0b7e",
      file: "migrations/3f2a9c1d0b7e_x.sql",
      line: 6,
      statement: "DROP TABLE legacy",
    });
    expect(Object.keys(findings[0] ?? {}).sort()).toEqual(["file", "line", "message", "revision", "rule", "safe", "severity", "statement"]);
    expect(findings[0]?.message).toContain("table legacy");
    expect(findings[0]?.safe).toContain("later revision");
  });

  it("gives null revision and file when none is given", async () => {
    const [finding] = await lintSql("TRUNCATE t");
    expect(finding).toMatchObject({ rule: "truncate", revision: null, file: null, line: 1 });
  });

  it("drops allowed rules, and everything with allow: ['all']", async () => {
    expect((await lintSql(SQL, { allow: ["drop-table", "create-index"] })).map((f) => f.rule)).toEqual(["alter-column-type"]);
    expect(await lintSql(SQL, { allow: ["all"] })).toEqual([]);
  });

  it("still reports invalid SQL when everything is allowed", async () => {
    await expect(lintSql("SELEC 1", { allow: ["all"], file: "x.sql", startLine: 4 })).rejects.toBeInstanceOf(SqlSyntaxError);
    await expect(lintSql("SELEC 1", { file: "x.sql", startLine: 4 })).rejects.toMatchObject({ code: "sql-syntax", line: 4, file: "x.sql" });
  });

  it("uses known column types to decide whether a type change rewrites", async () => {
    const types: { readonly [key: string]: string } = {
      "orders.note": "character varying(200)",
      "orders.id": "integer",
      "orders.code": "character varying(20)",
    };
    const sql = [
      "ALTER TABLE orders ALTER COLUMN note TYPE text;",
      "ALTER TABLE orders ALTER COLUMN id TYPE bigint;",
      "ALTER TABLE public.orders ALTER COLUMN code TYPE varchar(10);",
      "ALTER TABLE orders ALTER COLUMN unknown_col TYPE text;",
    ].join("\n");
    const findings = await lintSql(sql, { columnType: (table, column) => types[`${table.name}.${column}`] });
    expect(findings.map((f) => [f.line, f.severity])).toEqual([
      [2, "danger"],
      [3, "danger"],
      [4, "warning"],
    ]);
    expect(findings[0]?.message).toContain("id of orders from integer to bigint");
  });

  it("follows a type set earlier in the same revision", async () => {
    const sql = "ALTER TABLE t ADD COLUMN c varchar(10);\nALTER TABLE t ALTER COLUMN c TYPE varchar(20);\nALTER TABLE t ALTER COLUMN c TYPE integer USING c::integer;";
    expect((await lintSql(sql)).map((f) => [f.rule, f.line, f.severity])).toEqual([["alter-column-type", 3, "danger"]]);
  });

  it("gives [] for a revision without statements", async () => {
    expect(await lintSql("-- nothing to do\n")).toEqual([]);
  });
});
