import { describe, expect, test } from "vitest";
import { autogenerateRevisionSql } from "./compare.js";
import type { Column, SchemaModel, Table } from "./model.js";
import { emptyModel } from "./model.js";

const col = (name: string, type: string, extra: Partial<Column> = {}): Column => ({
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
const tbl = (name: string, columns: Column[]): Table => ({ schema: "public", name, columns, primaryKey: null, constraints: [], foreignKeys: [], indexes: [], comment: null });
const model = (parts: Partial<SchemaModel>): SchemaModel => ({ ...emptyModel(), ...parts });

describe("autogenerateRevisionSql", () => {
  test("nothing to do", () => {
    const m = model({ tables: [tbl("t", [col("id", "integer")])] });
    expect(autogenerateRevisionSql(m, m)).toEqual({ upgradeSql: "", downgradeSql: "", operations: [], empty: true, warnings: [], transactional: true });
  });

  test("upgrade and downgrade SQL with the operations", () => {
    const current = model({ tables: [tbl("t", [col("id", "integer")])] });
    const declared = model({ tables: [tbl("t", [col("id", "integer"), col("name", "text", { notNull: true, default: "''::text" })])] });
    const revision = autogenerateRevisionSql(declared, current);
    expect(revision.empty).toBe(false);
    expect(revision.upgradeSql).toBe(`-- add column public.t.name (text)\nALTER TABLE "public"."t" ADD COLUMN "name" text DEFAULT ''::text NOT NULL;\n`);
    expect(revision.downgradeSql).toBe(`-- drop column public.t.name\n-- destructive: drops column public.t.name and its data\nALTER TABLE "public"."t" DROP COLUMN "name";\n`);
    expect(revision.operations.map((c) => c.operation.kind)).toEqual(["add-column"]);
    expect(revision.warnings).toEqual([]);
  });

  test("warns about a new enum value used in the same revision, virtual generated columns and data loss", () => {
    const mood = (values: string[]) => ({ schema: "public", name: "mood", values });
    const current = model({ enums: [mood(["a"])], tables: [tbl("t", [col("id", "integer"), col("old", "text")])] });
    const declared = model({
      enums: [mood(["a", "b"])],
      tables: [
        tbl("t", [col("id", "integer"), col("m", "public.mood", { default: "'b'::public.mood" })]),
        tbl("u", [col("x", "integer"), col("y", "integer", { generated: { kind: "virtual", expression: "(x * 2)" } })]),
      ],
    });
    const revision = autogenerateRevisionSql(declared, current);
    // Never a revision known to fail: it is written `transaction false`.
    expect(revision.transactional).toBe(false);
    expect(autogenerateRevisionSql(declared, { ...current, enums: [mood(["a", "b"])] }).transactional).toBe(true);
    expect(revision.warnings).toEqual([
      `the upgrade adds value 'b' to enum public.mood and uses it later: PostgreSQL refuses a new enum value in the transaction that added it, so the revision is written "transaction false" (each statement commits on its own; a failure leaves the statements before it applied)`,
      "public.u.y is a virtual generated column, which needs PostgreSQL 18 (the shadow database's version makes GENERATED ALWAYS AS (...) virtual unless STORED is written): write STORED in the declared schema for older servers",
      "destructive: drops column public.t.old and its data",
    ]);
  });

  test("comments can be left out", () => {
    const revision = autogenerateRevisionSql(model({ tables: [tbl("t", [])] }), emptyModel(), { comments: false });
    expect(revision.upgradeSql).toBe(`CREATE TABLE "public"."t" ();\n`);
  });
});
