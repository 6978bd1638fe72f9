import { describe, expect, test } from "vitest";
import type { Column, Table } from "./model.js";
import type { Operation } from "./operations.js";
import { columnChanges, describeOperation, destructiveReason, enumAdditions, invertOperation, isWideningType } from "./operations.js";

const column = (name: string, type: string, extra: Partial<Column> = {}): Column => ({
  name,
  type,
  notNull: false,
  default: null,
  identity: null,
  generated: null,
  collation: null,
  comment: null,
  ...extra,
});
const table: Table = { schema: "public", name: "t", columns: [column("id", "integer")], primaryKey: null, constraints: [], foreignKeys: [], indexes: [], comment: null };

describe("enumAdditions", () => {
  test.each([
    [["a", "b"], ["a", "b", "c"], [{ value: "c", before: null }]],
    [["a", "c"], ["a", "b", "c", "d"], [{ value: "b", before: "c" }, { value: "d", before: null }]],
    [["b"], ["a", "b"], [{ value: "a", before: "b" }]],
    [["a", "b"], ["a", "b"], []],
    [["a", "b"], ["b", "a"], null],
    [["a", "b"], ["a"], null],
    [["a", "b"], ["a", "x"], null],
  ])("%j → %j: %j", (from, to, expected) => {
    expect(enumAdditions(from, to)).toEqual(expected);
  });
});

describe("isWideningType", () => {
  test.each([
    ["integer", "bigint", true],
    ["smallint", "integer", true],
    ["bigint", "integer", false],
    ["integer", "numeric", true],
    ["integer", "numeric(5,0)", false],
    ["character varying(20)", "character varying(50)", true],
    ["character varying(50)", "character varying(20)", false],
    ["character varying(50)", "text", true],
    ["character(3)", "text", true],
    ["text", "character varying(10)", false],
    ["numeric(10,2)", "numeric(12,2)", true],
    ["numeric(10,2)", "numeric(12,4)", true],
    ["numeric(10,2)", "numeric(10,4)", false],
    ["numeric(10,2)", "numeric", true],
    ["real", "double precision", true],
    ["double precision", "real", false],
    ["public.mood", "text", true],
    ["text", "public.mood", false],
    ["integer[]", "bigint[]", true],
    ["integer[]", "bigint", false],
    ["timestamp without time zone", "timestamp with time zone", false],
  ])("%s → %s: %s", (from, to, expected) => {
    expect(isWideningType(from, to)).toBe(expected);
  });
});

describe("invertOperation", () => {
  const operations: Operation[] = [
    { kind: "create-schema", schema: "app" },
    { kind: "create-enum", enum: { schema: "public", name: "e", values: ["a"] } },
    { kind: "create-sequence", sequence: { schema: "public", name: "s", dataType: "bigint", start: "1", increment: "1", minValue: "1", maxValue: "9", cache: "1", cycle: false } },
    { kind: "rename-table", schema: "public", from: "a", to: "b" },
    { kind: "rename-column", schema: "public", table: "t", from: "a", to: "b" },
    { kind: "create-table", table },
    { kind: "add-column", schema: "public", table: "t", column: column("x", "text") },
    { kind: "alter-column", schema: "public", table: "t", from: column("x", "text"), to: column("x", "text", { notNull: true }) },
    { kind: "add-constraint", schema: "public", table: "t", constraint: { kind: "check", name: "c", definition: "CHECK (x > 0)" } },
    { kind: "create-index", schema: "public", table: "t", index: { name: "i", unique: false, definition: "USING btree (x)" } },
    { kind: "set-comment", target: { kind: "table", schema: "public", name: "t" }, from: null, to: "hello" },
  ];
  test.each(operations.map((o) => [o.kind, o] as const))("%s inverted twice is itself", (_kind, operation) => {
    const inverse = invertOperation(operation);
    expect(inverse).not.toEqual(operation);
    expect(invertOperation(inverse)).toEqual(operation);
  });

  test("adding enum values is undone by recreating the type; that recreation is undone by adding them again", () => {
    const from = { schema: "public", name: "e", values: ["a", "c"] };
    const to = { schema: "public", name: "e", values: ["a", "b", "c"] };
    const dependents = { views: [], indexes: [], constraints: [] };
    const add: Operation = { kind: "add-enum-values", from, to, additions: [{ value: "b", before: "c" }], usages: [], dependents };
    const inverse = invertOperation(add);
    expect(inverse).toEqual({ kind: "recreate-enum", from: to, to: from, usages: [], dependents });
    expect(invertOperation(inverse)).toEqual(add);
  });
});

describe("destructiveReason", () => {
  test("drops and narrowing are destructive; additions and widening are not", () => {
    expect(destructiveReason({ kind: "drop-table", table })).toMatch(/drops table public\.t/);
    expect(destructiveReason({ kind: "drop-column", schema: "public", table: "t", column: column("x", "text") })).toMatch(/drops column public\.t\.x/);
    expect(destructiveReason({ kind: "drop-column", schema: "public", table: "t", column: column("g", "integer", { generated: { kind: "stored", expression: "1" } }) })).toBeNull();
    expect(destructiveReason({ kind: "alter-column", schema: "public", table: "t", from: column("x", "bigint"), to: column("x", "integer") })).toMatch(/from bigint to integer/);
    expect(destructiveReason({ kind: "alter-column", schema: "public", table: "t", from: column("x", "integer"), to: column("x", "bigint") })).toBeNull();
    expect(destructiveReason({ kind: "add-column", schema: "public", table: "t", column: column("x", "text") })).toBeNull();
    expect(
      destructiveReason({
        kind: "recreate-enum",
        from: { schema: "public", name: "e", values: ["a", "b"] },
        to: { schema: "public", name: "e", values: ["a"] },
        usages: [],
        dependents: { views: [], indexes: [], constraints: [] },
      }),
    ).toMatch(/removes 'b'/);
  });
});

describe("describeOperation", () => {
  test("names objects the way people write them", () => {
    expect(describeOperation({ kind: "add-column", schema: "public", table: "Users", column: column("e-mail", "text") })).toBe('add column public."Users"."e-mail" (text)');
    expect(columnChanges(column("x", "integer"), column("x", "bigint", { notNull: true, default: "0" }))).toEqual(["type integer → bigint", "set not null", "default 0"]);
  });
});
