import { describe, expect, it } from "vitest";
import { sqlLiteral } from "./offline.js";

describe("sqlLiteral (recorded TypeScript statements)", () => {
  it.each([
    [null, "NULL"],
    [undefined, "NULL"],
    [true, "TRUE"],
    [42, "42"],
    [Number.NaN, "'NaN'"],
    [12n, "12"],
    ["o'neil", "'o''neil'"],
    [new Date("2026-01-02T03:04:05.000Z"), "'2026-01-02T03:04:05.000Z'::timestamptz"],
    // E'' with the backslash doubled: read alike whatever the session's standard_conforming_strings.
    [Buffer.from([1, 255]), "E'\\\\x01ff'::bytea"],
    ["C:\\dir\\", "E'C:\\\\dir\\\\'"],
    [[1, "a"], "ARRAY[1, 'a']"],
    [{ a: "it's" }, `'{"a":"it''s"}'::jsonb`],
  ] as const)("%s → %s", (value, expected) => {
    expect(sqlLiteral(value)).toBe(expected);
  });
});
