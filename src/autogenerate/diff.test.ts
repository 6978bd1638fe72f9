import { describe, expect, test } from "vitest";
import { diffModels } from "./diff.js";
import { DiffError } from "./errors.js";
import type { Column, Constraint, ForeignKey, SchemaModel, Table, View } from "./model.js";
import { emptyModel } from "./model.js";

const col = (name: string, type = "integer", extra: Partial<Column> = {}): Column => ({
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
const pk = (table: string, ...columns: string[]): Constraint => ({ kind: "primary-key", name: `${table}_pkey`, definition: `PRIMARY KEY (${columns.join(", ")})` });
const fk = (name: string, columns: string[], table: string, refColumns: string[], extra: Partial<ForeignKey> = {}): ForeignKey => ({
  name,
  columns,
  references: { schema: "public", table, columns: refColumns },
  onUpdate: "no action",
  onDelete: "no action",
  match: "simple",
  deferrable: false,
  initiallyDeferred: false,
  definition: "",
  ...extra,
});
const tbl = (name: string, columns: Column[], extra: Partial<Table> = {}): Table => ({
  schema: "public",
  name,
  columns,
  primaryKey: null,
  constraints: [],
  foreignKeys: [],
  indexes: [],
  comment: null,
  ...extra,
});
const view = (name: string, definition: string, columns: [string, string][], dependsOn: [string, string[]][], extra: Partial<View> = {}): View => ({
  schema: "public",
  name,
  definition,
  columns: columns.map(([n, type]) => ({ name: n, type })),
  dependsOn: dependsOn.map(([d, cols]) => ({ schema: "public", name: d, columns: cols })),
  comment: null,
  ...extra,
});
const model = (parts: Partial<SchemaModel>): SchemaModel => ({ ...emptyModel(), ...parts });
const summaries = (from: SchemaModel, to: SchemaModel, options = {}): string[] => diffModels(from, to, options).map((c) => c.summary);

const users = tbl("users", [col("id", "integer", { notNull: true }), col("email", "text")], { primaryKey: pk("users", "id") });
const orders = tbl("orders", [col("id", "integer", { notNull: true }), col("user_id")], {
  primaryKey: pk("orders", "id"),
  foreignKeys: [fk("orders_user_id_fkey", ["user_id"], "users", ["id"])],
});

describe("diffModels", () => {
  test("identical models give no change", () => {
    const m = model({ tables: [users, orders] });
    expect(diffModels(m, m)).toEqual([]);
  });

  test("creates schemas, enums and tables first, then foreign keys, and the downgrade reverses them", () => {
    const to = model({
      schemas: ["app", "public"],
      enums: [{ schema: "public", name: "mood", values: ["a", "b"] }],
      tables: [orders, users],
    });
    const changes = diffModels(emptyModel(), to);
    expect(changes.map((c) => c.summary)).toEqual([
      "create schema app",
      "create enum public.mood ('a', 'b')",
      "create table public.orders",
      "create table public.users",
      "add foreign key orders_user_id_fkey on public.orders",
    ]);
    expect(changes.find((c) => c.operation.kind === "create-table")?.operation).toMatchObject({ table: { foreignKeys: [] } });
    expect([...changes].reverse().map((c) => c.inverse.kind)).toEqual(["drop-foreign-key", "drop-table", "drop-table", "drop-enum", "drop-schema"]);
    expect(changes.every((c) => !c.destructive)).toBe(true);
    expect(changes.filter((c) => c.inverseDestructive).map((c) => c.summary)).toEqual(["create table public.orders", "create table public.users"]);
  });

  test("drops foreign keys before tables and flags data loss", () => {
    const changes = diffModels(model({ tables: [orders, users] }), model({ tables: [users] }));
    expect(changes.map((c) => [c.summary, c.destructive])).toEqual([
      ["drop foreign key orders_user_id_fkey on public.orders", false],
      ["drop table public.orders", true],
    ]);
    expect(changes[1]?.reason).toBe("drops table public.orders and every row in it");
  });

  test("column changes: add, alter, drop", () => {
    const from = model({ tables: [tbl("t", [col("a"), col("b", "text"), col("c", "bigint")])] });
    const to = model({ tables: [tbl("t", [col("a", "bigint", { notNull: true, default: "0" }), col("c", "integer"), col("d", "text", { comment: "new" })])] });
    const changes = diffModels(from, to);
    expect(changes.map((c) => [c.summary, c.destructive])).toEqual([
      ["add column public.t.d (text)", false],
      ["alter column public.t.a (type integer → bigint, set not null, default 0)", false],
      ["alter column public.t.c (type bigint → integer)", true],
      ["drop column public.t.b", true],
    ]);
  });

  test("generated columns are added after and dropped before the columns they read", () => {
    const generated = col("g", "integer", { generated: { kind: "stored", expression: "(a * 2)" } });
    const withGenerated = model({ tables: [tbl("t", [col("id"), col("a"), generated])] });
    const without = model({ tables: [tbl("t", [col("id")])] });
    expect(summaries(without, withGenerated)).toEqual(["add column public.t.a (integer)", "add column public.t.g (integer)"]);
    expect(summaries(withGenerated, without)).toEqual(["drop column public.t.g", "drop column public.t.a"]);
  });

  test("a changed generated expression or serial-ness recreates the column and what mentions it", () => {
    const from = model({ tables: [tbl("t", [col("id", "serial", { notNull: true })], { primaryKey: pk("t", "id") }), tbl("u", [col("t_id")], { foreignKeys: [fk("u_t_fkey", ["t_id"], "t", ["id"])] })] });
    const to = model({
      tables: [tbl("t", [col("id", "integer", { notNull: true, identity: "by default" })], { primaryKey: pk("t", "id") }), tbl("u", [col("t_id")], { foreignKeys: [fk("u_t_fkey", ["t_id"], "t", ["id"])] })],
    });
    expect(summaries(from, to)).toEqual([
      "drop foreign key u_t_fkey on public.u",
      "drop primary key t_pkey on public.t",
      "drop column public.t.id",
      "add column public.t.id (integer)",
      "add primary key t_pkey on public.t",
      "add foreign key u_t_fkey on public.u",
    ]);
  });

  test("a changed primary key takes the foreign keys that point at it along", () => {
    const parent = (definition: string): Table => tbl("p", [col("id", "integer", { notNull: true }), col("k", "integer", { notNull: true })], { primaryKey: { kind: "primary-key", name: "p_pkey", definition } });
    const child = tbl("c", [col("p_id")], { foreignKeys: [fk("c_p_fkey", ["p_id"], "p", ["id"])] });
    const from = model({ tables: [child, parent("PRIMARY KEY (id)")] });
    const to = model({ tables: [child, { ...parent("PRIMARY KEY (id, k)"), constraints: [{ kind: "unique", name: "p_id_key", definition: "UNIQUE (id)" }] }] });
    expect(summaries(from, to)).toEqual([
      "drop foreign key c_p_fkey on public.c",
      "drop primary key p_pkey on public.p",
      "add primary key p_pkey on public.p",
      "add unique constraint p_id_key on public.p",
      "add foreign key c_p_fkey on public.c",
    ]);
  });

  test("foreign keys compare field by field; indexes by definition", () => {
    const from = model({ tables: [users, { ...orders, indexes: [{ name: "o_idx", unique: false, definition: "USING btree (user_id)" }] }] });
    const to = model({
      tables: [
        users,
        {
          ...orders,
          foreignKeys: [fk("orders_user_id_fkey", ["user_id"], "users", ["id"], { onDelete: "cascade" })],
          indexes: [{ name: "o_idx", unique: false, definition: "USING btree (user_id) WHERE (user_id IS NOT NULL)" }],
        },
      ],
    });
    expect(summaries(from, to)).toEqual([
      "drop foreign key orders_user_id_fkey on public.orders",
      "drop index o_idx on public.orders",
      "create index o_idx on public.orders",
      "add foreign key orders_user_id_fkey on public.orders",
    ]);
  });

  test("enum values: additions in place (with their position), anything else recreates the type", () => {
    const t = tbl("t", [col("m", "public.mood", { default: "'a'::public.mood" }), col("ms", "public.mood[]"), col("other", "public.moods")]);
    const from = model({ enums: [{ schema: "public", name: "mood", values: ["a", "c"] }], tables: [t] });
    const added = diffModels(from, model({ enums: [{ schema: "public", name: "mood", values: ["a", "b", "c", "d"] }], tables: [t] }));
    expect(added.map((c) => c.operation)).toEqual([
      {
        kind: "add-enum-values",
        from: from.enums[0],
        to: { schema: "public", name: "mood", values: ["a", "b", "c", "d"] },
        additions: [
          { value: "b", before: "c" },
          { value: "d", before: null },
        ],
        usages: [
          { schema: "public", table: "t", column: "m", type: "public.mood", default: "'a'::public.mood" },
          { schema: "public", table: "t", column: "ms", type: "public.mood[]", default: null },
        ],
        dependents: { views: [], indexes: [], constraints: [] },
      },
    ]);
    expect(added[0]?.inverse.kind).toBe("recreate-enum");
    expect(added[0]?.inverseDestructive).toBe(true);
    const removed = diffModels(from, model({ enums: [{ schema: "public", name: "mood", values: ["a"] }], tables: [t] }));
    expect(removed.map((c) => [c.operation.kind, c.destructive])).toEqual([["recreate-enum", true]]);
  });

  test("views: replaced in place when their columns stay, rebuilt with their dependants otherwise", () => {
    const base = tbl("t", [col("id"), col("name", "text")]);
    const v = view("v", "SELECT id, name FROM public.t", [["id", "integer"], ["name", "text"]], [["t", ["id", "name"]]]);
    const w = view("w", "SELECT id FROM public.v", [["id", "integer"]], [["v", ["id"]]]);
    const from = model({ tables: [base], views: [v, w] });
    const replaced = model({ tables: [base], views: [{ ...v, definition: "SELECT id, name FROM public.t WHERE id > 0" }, w] });
    expect(summaries(from, replaced)).toEqual(["replace view public.v"]);
    const widened = model({ tables: [base], views: [{ ...v, definition: "SELECT id, name, 1 AS one FROM public.t", columns: [...v.columns, { name: "one", type: "integer" }] }, w] });
    expect(summaries(from, widened)).toEqual(["drop view public.w", "drop view public.v", "create view public.v", "create view public.w"]);
    const retyped = model({ tables: [tbl("t", [col("id", "bigint"), col("name", "text")])], views: [{ ...v, columns: [{ name: "id", type: "bigint" }, v.columns[1] as View["columns"][number]] }, { ...w, columns: [{ name: "id", type: "bigint" }] }] });
    expect(summaries(from, retyped)).toEqual([
      "drop view public.w",
      "drop view public.v",
      "alter column public.t.id (type integer → bigint)",
      "create view public.v",
      "create view public.w",
    ]);
  });

  test("a view is rebuilt only when a column it reads changes", () => {
    const t = tbl("t", [col("id"), col("name", "text"), col("extra", "text")]);
    const v = view("v", "SELECT id FROM public.t", [["id", "integer"]], [["t", ["id"]]]);
    const counts = view("counts", "SELECT count(*) AS n FROM public.t", [["n", "bigint"]], [["t", []]]);
    const from = model({ tables: [t], views: [v, counts] });
    expect(summaries(from, model({ tables: [tbl("t", [col("id"), col("name", "character varying(10)")])], views: [v, counts] }))).toEqual([
      "alter column public.t.name (type text → character varying(10))",
      "drop column public.t.extra",
    ]);
  });

  test("recreating an enum drops and recreates the views, indexes and constraints that hold on to it", () => {
    const t = tbl("t", [col("id"), col("m", "public.mood")], {
      constraints: [{ kind: "check", name: "t_m_check", definition: "CHECK (m <> 'c'::public.mood)" }],
      indexes: [
        { name: "t_m_idx", unique: false, definition: "USING btree (m)" },
        { name: "t_m_partial", unique: false, definition: "USING btree (id) WHERE (m = 'a'::public.mood)" },
      ],
    });
    const v = view("v", "SELECT m FROM public.t", [["m", "public.mood"]], [["t", ["m"]]]);
    const w = view("w", "SELECT m FROM public.v", [["m", "public.mood"]], [["v", ["m"]]]);
    const unrelated = view("u", "SELECT id FROM public.t", [["id", "integer"]], [["t", ["id"]]]);
    const mood = (values: string[]) => ({ schema: "public", name: "mood", values });
    const changes = diffModels(model({ enums: [mood(["a", "b", "c"])], tables: [t], views: [w, unrelated, v] }), model({ enums: [mood(["a", "c"])], tables: [t], views: [w, unrelated, v] }));
    expect(changes.map((c) => c.operation)).toEqual([
      {
        kind: "recreate-enum",
        from: mood(["a", "b", "c"]),
        to: mood(["a", "c"]),
        usages: [{ schema: "public", table: "t", column: "m", type: "public.mood", default: null }],
        dependents: {
          views: [v, w],
          indexes: [{ schema: "public", table: "t", index: t.indexes[1] }],
          constraints: [{ schema: "public", table: "t", constraint: t.constraints[0] }],
        },
      },
    ]);
  });

  test("comments are their own operations", () => {
    const from = model({ tables: [tbl("t", [col("a")])] });
    const to = model({ tables: [tbl("t", [col("a", "integer", { comment: "A" })], { comment: "T" })] });
    expect(summaries(from, to)).toEqual(["comment on column public.t.a", "comment on table public.t"]);
    expect(summaries(to, from)).toEqual(["remove comment on column public.t.a", "remove comment on table public.t"]);
  });

  test("sequences", () => {
    const seq = { schema: "public", name: "s", dataType: "bigint", start: "1", increment: "1", minValue: "1", maxValue: "9223372036854775807", cache: "1", cycle: false };
    expect(summaries(emptyModel(), model({ sequences: [seq] }))).toEqual(["create sequence public.s"]);
    expect(summaries(model({ sequences: [seq] }), model({ sequences: [{ ...seq, increment: "5" }] }))).toEqual(["alter sequence public.s"]);
    expect(diffModels(model({ sequences: [seq] }), emptyModel()).map((c) => [c.summary, c.destructive])).toEqual([["drop sequence public.s", true]]);
  });
});

describe("renames", () => {
  const from = model({ tables: [users, orders] });
  const clients = { ...users, name: "clients", columns: [col("id", "integer", { notNull: true }), col("mail", "text")] };
  const to = model({ tables: [clients, { ...orders, foreignKeys: [fk("orders_user_id_fkey", ["user_id"], "clients", ["id"])] }] });

  test("are never guessed", () => {
    expect(summaries(from, to)).toEqual([
      "drop foreign key orders_user_id_fkey on public.orders",
      "drop table public.users",
      "create table public.clients",
      "add foreign key orders_user_id_fkey on public.orders",
    ]);
  });

  test("are applied when declared, and rewrite what refers to the old names", () => {
    const renames = { table: [["users", "public.clients"]], column: [["public.users.email", "mail"]] } as const;
    expect(summaries(from, to, { renames })).toEqual(["rename table public.users to clients", "rename column public.clients.email to mail"]);
    const changes = diffModels(from, to, { renames });
    expect(changes.map((c) => c.inverse)).toEqual([
      { kind: "rename-table", schema: "public", from: "clients", to: "users" },
      { kind: "rename-column", schema: "public", table: "clients", from: "mail", to: "email" },
    ]);
  });

  test("that cannot apply are errors", () => {
    expect(() => diffModels(from, to, { renames: { table: [["nope", "clients"]] } })).toThrow(DiffError);
    expect(() => diffModels(from, to, { renames: { table: [["users", "app.clients"]] } })).toThrow(/stays in its schema/);
    expect(() => diffModels(from, to, { renames: { table: [["users", "orders"]] } })).toThrow(/already exists/);
    expect(() => diffModels(from, to, { renames: { column: [["users.nope", "x"]] } })).toThrow(/does not exist/);
    expect(() => diffModels(from, to, { renames: { column: [["email", "x"]] } })).toThrow(/cannot read/);
  });
});
