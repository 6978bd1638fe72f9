import { describe, expect, it } from "vitest";
import type { SqlNode } from "./ast.js";
import { changeNeedsRewrite, formatType } from "./expressions.js";
import { parseTypeName } from "./parse.js";

async function type(text: string): Promise<SqlNode> {
  const parsed = await parseTypeName(text);
  if (parsed === undefined) throw new Error(`not a type: ${text}`);
  return parsed;
}

describe("changeNeedsRewrite", () => {
  it.each([
    // no rewrite: binary-compatible widenings (PostgreSQL 9.2+ typmod support functions)
    ["character varying(20)", "text", false],
    ["character varying(20)", "character varying(50)", false],
    ["character varying(20)", "character varying(20)", false],
    ["character varying(20)", "character varying", false],
    ["text", "character varying", false],
    ["character varying", "text", false],
    ["bit varying(8)", "bit varying(16)", false],
    ["numeric(10,2)", "numeric(12,2)", false],
    ["numeric(10,2)", "numeric", false],
    ["numeric(10)", "numeric(12,0)", false],
    ["timestamp(3) without time zone", "timestamp(6) without time zone", false],
    ["timestamp(3) with time zone", "timestamp with time zone", false],
    ["interval(3)", "interval", false],
    ["integer", "int4", false],
    // rewrites
    ["integer", "bigint", true],
    ["smallint", "integer", true],
    ["character varying(50)", "character varying(20)", true],
    ["character varying", "character varying(20)", true],
    ["text", "character varying(20)", true],
    ["character(10)", "text", true],
    ["integer", "text", true],
    ["uuid", "text", true],
    ["numeric(10,2)", "numeric(12,3)", true],
    ["numeric(12,2)", "numeric(10,2)", true],
    ["numeric", "numeric(10,2)", true],
    ["timestamp without time zone", "timestamp with time zone", true],
    ["timestamp(6) without time zone", "timestamp(3) without time zone", true],
    ["interval", "interval(3)", true],
    ["character varying(20)[]", "text[]", true],
    ["json", "jsonb", true],
  ])("%s → %s: rewrite %s", async (from, to, rewrite) => {
    expect(changeNeedsRewrite(await type(from), await type(to))).toBe(rewrite);
  });
});

describe("parseTypeName", () => {
  it("reads types as format_type prints them", async () => {
    expect(formatType(await type("character varying(20)"))).toBe("varchar(20)");
    expect(formatType(await type("timestamp(3) with time zone"))).toBe("timestamptz(3)");
    expect(formatType(await type("bigint[]"))).toBe("bigint[]");
    expect(formatType(await type("public.my_domain"))).toBe("public.my_domain");
  });

  it.each(["", "int; DROP TABLE t", "int, 1", "int FROM t", "1"])("refuses %j", async (text) => {
    expect(await parseTypeName(text)).toBeUndefined();
  });
});
