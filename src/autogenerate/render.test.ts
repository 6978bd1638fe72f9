import { describe, expect, test } from "vitest";
import { diffModels } from "./diff.js";
import type { Column, ForeignKey, SchemaModel, Table } from "./model.js";
import { emptyModel } from "./model.js";
import type { Operation } from "./operations.js";
import { columnDefinition, renderOperation, renderScript } from "./render.js";

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
const table: Table = {
  schema: "app",
  name: "Order Items",
  columns: [col("id", "bigint", { notNull: true, identity: "always" }), col("qty", "integer", { notNull: true, default: "1" }), col("note", "text", { comment: "it's free" })],
  primaryKey: { kind: "primary-key", name: "order_items_pkey", definition: "PRIMARY KEY (id)" },
  constraints: [{ kind: "check", name: "qty_positive", definition: "CHECK (qty > 0)" }],
  foreignKeys: [],
  indexes: [{ name: "order_items_qty_idx", unique: false, definition: "USING btree (qty) WHERE (qty > 1)" }],
  comment: "lines",
};

describe("renderOperation", () => {
  const cases: [string, Operation, string[]][] = [
    ["create schema", { kind: "create-schema", schema: "app" }, ['CREATE SCHEMA "app"']],
    ["create enum", { kind: "create-enum", enum: { schema: "public", name: "mood", values: ["it's", "ok"] } }, [`CREATE TYPE "public"."mood" AS ENUM ('it''s', 'ok')`]],
    [
      "add enum values",
      {
        kind: "add-enum-values",
        from: { schema: "public", name: "mood", values: ["a", "c"] },
        to: { schema: "public", name: "mood", values: ["a", "b", "c", "d"] },
        additions: [
          { value: "b", before: "c" },
          { value: "d", before: null },
        ],
        usages: [],
        dependents: { views: [], indexes: [], constraints: [] },
      },
      [`ALTER TYPE "public"."mood" ADD VALUE 'b' BEFORE 'c'`, `ALTER TYPE "public"."mood" ADD VALUE 'd'`],
    ],
    [
      "recreate enum",
      {
        kind: "recreate-enum",
        from: { schema: "public", name: "mood", values: ["a", "b"] },
        to: { schema: "public", name: "mood", values: ["a"] },
        usages: [
          { schema: "public", table: "t", column: "m", type: "public.mood", default: "'a'::public.mood" },
          { schema: "public", table: "t", column: "ms", type: "public.mood[]", default: null },
        ],
        dependents: {
          views: [{ schema: "public", name: "v", definition: "SELECT m FROM public.t", columns: [{ name: "m", type: "public.mood" }], dependsOn: [], comment: "c" }],
          indexes: [{ schema: "public", table: "t", index: { name: "t_a", unique: false, definition: "USING btree (id) WHERE (m = 'a'::public.mood)" } }],
          constraints: [{ schema: "public", table: "t", constraint: { kind: "check", name: "t_check", definition: "CHECK (m <> 'b'::public.mood)" } }],
        },
      },
      [
        "-- PostgreSQL cannot remove or reorder the values of an enum in place (ALTER TYPE ... ADD VALUE has no inverse):",
        "-- public.mood is recreated and its columns converted through text. Rows holding 'b' make this fail: update them first.",
        `DROP VIEW "public"."v"`,
        `DROP INDEX "public"."t_a"`,
        `ALTER TABLE "public"."t" DROP CONSTRAINT "t_check"`,
        `ALTER TYPE "public"."mood" RENAME TO "mood__athanor_old"`,
        `CREATE TYPE "public"."mood" AS ENUM ('a')`,
        `ALTER TABLE "public"."t" ALTER COLUMN "m" DROP DEFAULT`,
        `ALTER TABLE "public"."t" ALTER COLUMN "m" TYPE public.mood USING "m"::text::public.mood`,
        `ALTER TABLE "public"."t" ALTER COLUMN "m" SET DEFAULT 'a'::public.mood`,
        `ALTER TABLE "public"."t" ALTER COLUMN "ms" TYPE public.mood[] USING "ms"::text[]::public.mood[]`,
        `DROP TYPE "public"."mood__athanor_old"`,
        `ALTER TABLE "public"."t" ADD CONSTRAINT "t_check" CHECK (m <> 'b'::public.mood)`,
        `CREATE INDEX "t_a" ON "public"."t" USING btree (id) WHERE (m = 'a'::public.mood)`,
        `CREATE VIEW "public"."v" AS SELECT m FROM public.t`,
        `COMMENT ON VIEW "public"."v" IS 'c'`,
      ],
    ],
    [
      "create sequence",
      { kind: "create-sequence", sequence: { schema: "public", name: "s", dataType: "integer", start: "10", increment: "5", minValue: "1", maxValue: "1000", cache: "1", cycle: true } },
      [`CREATE SEQUENCE "public"."s" AS integer INCREMENT BY 5 MINVALUE 1 MAXVALUE 1000 START WITH 10 CACHE 1 CYCLE`],
    ],
    [
      "create table",
      { kind: "create-table", table },
      [
        [
          `CREATE TABLE "app"."Order Items" (`,
          `  "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,`,
          `  "qty" integer DEFAULT 1 NOT NULL,`,
          `  "note" text,`,
          `  CONSTRAINT "order_items_pkey" PRIMARY KEY (id),`,
          `  CONSTRAINT "qty_positive" CHECK (qty > 0)`,
          `)`,
        ].join("\n"),
        `CREATE INDEX "order_items_qty_idx" ON "app"."Order Items" USING btree (qty) WHERE (qty > 1)`,
        `COMMENT ON TABLE "app"."Order Items" IS 'lines'`,
        `COMMENT ON COLUMN "app"."Order Items"."note" IS 'it''s free'`,
      ],
    ],
    ["drop table", { kind: "drop-table", table }, [`DROP TABLE "app"."Order Items"`]],
    [
      "alter column: type with a default, not null",
      { kind: "alter-column", schema: "public", table: "t", from: col("qty", "text", { default: "'0'::text" }), to: col("qty", "integer", { default: "0", notNull: true }) },
      [
        `ALTER TABLE "public"."t" ALTER COLUMN "qty" DROP DEFAULT`,
        `ALTER TABLE "public"."t" ALTER COLUMN "qty" TYPE integer USING "qty"::integer`,
        `ALTER TABLE "public"."t" ALTER COLUMN "qty" SET NOT NULL`,
        `ALTER TABLE "public"."t" ALTER COLUMN "qty" SET DEFAULT 0`,
      ],
    ],
    [
      "alter column: widening needs no USING",
      { kind: "alter-column", schema: "public", table: "t", from: col("n", "integer"), to: col("n", "bigint") },
      [`ALTER TABLE "public"."t" ALTER COLUMN "n" TYPE bigint`],
    ],
    [
      "alter column: to an enum goes through text",
      { kind: "alter-column", schema: "public", table: "t", from: col("s", "text"), to: col("s", "public.status") },
      [`ALTER TABLE "public"."t" ALTER COLUMN "s" TYPE public.status USING "s"::text::public.status`],
    ],
    [
      "alter column: identity",
      { kind: "alter-column", schema: "public", table: "t", from: col("id", "integer"), to: col("id", "integer", { notNull: true, identity: "always" }) },
      [`ALTER TABLE "public"."t" ALTER COLUMN "id" SET NOT NULL`, `ALTER TABLE "public"."t" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY`],
    ],
    [
      "alter column: drop identity first",
      { kind: "alter-column", schema: "public", table: "t", from: col("id", "integer", { notNull: true, identity: "by default" }), to: col("id", "integer") },
      [`ALTER TABLE "public"."t" ALTER COLUMN "id" DROP IDENTITY`, `ALTER TABLE "public"."t" ALTER COLUMN "id" DROP NOT NULL`],
    ],
    [
      "foreign key",
      {
        kind: "add-foreign-key",
        schema: "public",
        table: "c",
        foreignKey: {
          name: "c_fk",
          columns: ["a", "b"],
          references: { schema: "app", table: "P", columns: ["x", "y"] },
          onUpdate: "cascade",
          onDelete: "set null",
          match: "full",
          deferrable: true,
          initiallyDeferred: true,
          definition: "",
        },
      },
      [`ALTER TABLE "public"."c" ADD CONSTRAINT "c_fk" FOREIGN KEY ("a", "b") REFERENCES "app"."P" ("x", "y") MATCH FULL ON UPDATE CASCADE ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED`],
    ],
    [
      "unique index",
      { kind: "create-index", schema: "public", table: "t", index: { name: "t_lower_email", unique: true, definition: "USING btree (lower(email))" } },
      [`CREATE UNIQUE INDEX "t_lower_email" ON "public"."t" USING btree (lower(email))`],
    ],
    ["drop index", { kind: "drop-index", schema: "public", table: "t", index: { name: "i", unique: false, definition: "" } }, [`DROP INDEX "public"."i"`]],
    [
      "replace view",
      {
        kind: "replace-view",
        from: { schema: "public", name: "v", definition: "SELECT 1 AS a", columns: [], dependsOn: [], comment: null },
        to: { schema: "public", name: "v", definition: "SELECT 2 AS a", columns: [], dependsOn: [], comment: "x" },
      },
      [`CREATE OR REPLACE VIEW "public"."v" AS SELECT 2 AS a`],
    ],
    ["remove a comment", { kind: "set-comment", target: { kind: "column", schema: "public", table: "t", column: "c" }, from: "x", to: null }, [`COMMENT ON COLUMN "public"."t"."c" IS NULL`]],
    ["rename column", { kind: "rename-column", schema: "public", table: "t", from: "a", to: "b" }, [`ALTER TABLE "public"."t" RENAME COLUMN "a" TO "b"`]],
  ];
  test.each(cases)("%s", (_name, operation, expected) => {
    expect(renderOperation(operation)).toEqual(expected);
  });
});

describe("columnDefinition", () => {
  test("generated, collation", () => {
    expect(columnDefinition(col("g", "integer", { generated: { kind: "stored", expression: "(a * 2)" } }))).toBe(`"g" integer GENERATED ALWAYS AS ((a * 2)) STORED`);
    expect(columnDefinition(col("n", "text", { collation: '"C"', notNull: true }))).toBe(`"n" text COLLATE "C" NOT NULL`);
  });
});

describe("renderScript", () => {
  const to: SchemaModel = { ...emptyModel(), tables: [{ ...table, schema: "public", name: "t", indexes: [], comment: null, columns: [col("id", "integer")], primaryKey: null, constraints: [] }] };

  test("upgrade and downgrade, with a summary line per operation", () => {
    const changes = diffModels(emptyModel(), to);
    expect(renderScript(changes, "upgrade")).toBe(`-- create table public.t\nCREATE TABLE "public"."t" (\n  "id" integer\n);\n`);
    expect(renderScript(changes, "downgrade")).toBe(`-- drop table public.t\n-- destructive: drops table public.t and every row in it\nDROP TABLE "public"."t";\n`);
    expect(renderScript(changes, "downgrade", { comments: false })).toBe(`DROP TABLE "public"."t";\n`);
  });

  test("an empty diff renders nothing", () => {
    expect(renderScript([], "upgrade")).toBe("");
  });
});

describe("renderOperation: the kinds of issue 16", () => {
  const flags = { unlogged: false, storage: [], inherits: [], rowSecurity: false, forceRowSecurity: false };
  const routine = { schema: "public", name: "touch", kind: "function" as const, arguments: "", definition: "CREATE OR REPLACE FUNCTION public.touch()\n RETURNS trigger\n LANGUAGE plpgsql\nAS $function$ BEGIN RETURN NEW; END $function$", usesRelations: [] };
  const cases: [string, Operation, string[]][] = [
    ["create extension", { kind: "create-extension", extension: { name: "uuid-ossp", schema: "public", version: "1.1", requires: [] } }, ['CREATE EXTENSION "uuid-ossp" WITH SCHEMA "public"']],
    ["drop extension", { kind: "drop-extension", extension: { name: "ltree", schema: "public", version: "1.2", requires: [] } }, ['DROP EXTENSION "ltree"']],
    ["create function", { kind: "create-routine", routine }, [routine.definition]],
    ["drop aggregate", { kind: "drop-routine", routine: { ...routine, name: "group_concat", kind: "aggregate", arguments: "text" } }, ['DROP AGGREGATE "public"."group_concat"(text)']],
    [
      "create domain",
      { kind: "create-domain", domain: { schema: "public", name: "year", type: "integer", notNull: true, default: "2000", collation: null, constraints: [{ name: "year_check", definition: "CHECK (VALUE >= 1901)" }] } },
      ['CREATE DOMAIN "public"."year" AS integer DEFAULT 2000 NOT NULL CONSTRAINT "year_check" CHECK (VALUE >= 1901)'],
    ],
    [
      "create composite type",
      { kind: "create-composite-type", type: { schema: "public", name: "pair", attributes: [{ name: "a", type: "integer", collation: null }, { name: "b", type: "text", collation: '"C"' }] } },
      ['CREATE TYPE "public"."pair" AS ("a" integer, "b" text COLLATE "C")'],
    ],
    ["drop trigger", { kind: "drop-trigger", trigger: { schema: "public", table: "t", name: "t_touch", definition: "CREATE TRIGGER ..." } }, ['DROP TRIGGER "t_touch" ON "public"."t"']],
    [
      "create policy",
      { kind: "create-policy", schema: "public", table: "docs", policy: { name: "own", permissive: false, command: "UPDATE", roles: ["PUBLIC"], using: "owner = CURRENT_USER", withCheck: "true" } },
      ['CREATE POLICY "own" ON "public"."docs" AS RESTRICTIVE FOR UPDATE TO PUBLIC USING (owner = CURRENT_USER) WITH CHECK (true)'],
    ],
    [
      "table flags",
      { kind: "alter-table-flags", schema: "public", table: "c", from: flags, to: { unlogged: true, storage: ["fillfactor=50"], inherits: [{ schema: "public", name: "p" }], rowSecurity: true, forceRowSecurity: true } },
      [
        'ALTER TABLE "public"."c" INHERIT "public"."p"',
        'ALTER TABLE "public"."c" SET UNLOGGED',
        `ALTER TABLE "public"."c" SET (fillfactor='50')`,
        'ALTER TABLE "public"."c" ENABLE ROW LEVEL SECURITY',
        'ALTER TABLE "public"."c" FORCE ROW LEVEL SECURITY',
      ],
    ],
    [
      "partition",
      { kind: "create-table", table: { ...table, schema: "public", name: "p1", columns: [], primaryKey: null, constraints: [], indexes: [], comment: null, partitionOf: { schema: "public", name: "p", bound: "FOR VALUES FROM (1) TO (10)" } } },
      ['CREATE TABLE "public"."p1" PARTITION OF "public"."p" FOR VALUES FROM (1) TO (10)'],
    ],
    [
      "unlogged, inheriting, partitioned, with row-level security",
      { kind: "create-table", table: { ...table, schema: "public", name: "c", columns: [col("x", "integer")], primaryKey: null, constraints: [], indexes: [], comment: null, unlogged: true, inherits: [{ schema: "public", name: "p" }], rowSecurity: true, partitionBy: "RANGE (x)" } },
      ['CREATE UNLOGGED TABLE "public"."c" (\n  "x" integer\n) INHERITS ("public"."p") PARTITION BY RANGE (x)', 'ALTER TABLE "public"."c" ENABLE ROW LEVEL SECURITY'],
    ],
    [
      "serial column whose sequence has another name",
      { kind: "add-column", schema: "public", table: "purchases", column: col("id", "serial", { notNull: true, sequence: "orders_id_seq" }) },
      ['ALTER TABLE "public"."purchases" ADD COLUMN "id" serial NOT NULL', 'ALTER SEQUENCE "public"."purchases_id_seq" RENAME TO "orders_id_seq"'],
    ],
  ];
  test.each(cases)("%s", (_name, operation, expected) => {
    expect(renderOperation(operation)).toEqual(expected);
  });

  test("a script that creates a function turns off body checks for its transaction first", () => {
    const changes = diffModels(emptyModel(), { ...emptyModel(), routines: [routine] });
    expect(renderScript(changes, "upgrade").split("\n\n")[0]).toMatch(/SET LOCAL check_function_bodies = false;$/);
    expect(renderScript(changes, "upgrade", { transactional: false })).toContain("\nSET check_function_bodies = false;");
  });
});

describe("defaultSerialSequenceName", () => {
  test("table_column_seq, the longer part shortened to fit 63 bytes", async () => {
    const { defaultSerialSequenceName } = await import("./model.js");
    expect(defaultSerialSequenceName("orders", "id")).toBe("orders_id_seq");
    expect(defaultSerialSequenceName("t".repeat(63), "id")).toBe(`${"t".repeat(56)}_id_seq`);
    expect(defaultSerialSequenceName("é".repeat(40), "id")).toBe(`${"é".repeat(28)}_id_seq`);
  });
});

describe("renderScript: foreign keys of new tables", () => {
  const fk = (name: string, column: string, references: string): ForeignKey => ({
    name,
    columns: [column],
    references: { schema: "public", table: references, columns: ["id"] },
    onUpdate: "no action",
    onDelete: "cascade",
    match: "simple",
    deferrable: false,
    initiallyDeferred: false,
    definition: "",
  });
  const plain = (name: string, foreignKeys: ForeignKey[], extra: Partial<Table> = {}): Table => ({
    schema: "public",
    name,
    columns: [col("id", "integer", { notNull: true }), col("ref", "integer")],
    primaryKey: { kind: "primary-key", name: `${name}_pkey`, definition: "PRIMARY KEY (id)" },
    constraints: [],
    foreignKeys,
    indexes: [],
    comment: null,
    ...extra,
  });

  test("one that references a table created before goes inside CREATE TABLE; the others stay ALTER TABLE; the downgrade drops each", () => {
    const declared: SchemaModel = {
      ...emptyModel(),
      tables: [
        plain("a", []),
        // References a (created before): inline. References c (created after) and itself: ALTER TABLE.
        plain("b", [fk("b_a", "ref", "a"), fk("b_c", "ref", "c"), fk("b_self", "ref", "b")]),
        plain("c", []),
        // A partition's keys are its parent's business: never inline.
        plain("d", [fk("d_a", "ref", "a")], { partitionBy: "RANGE (id)" }),
      ],
    };
    const changes = diffModels(emptyModel(), declared);
    const upgrade = renderScript(changes, "upgrade");
    expect(upgrade).toContain(
      `-- create table public.b, with its foreign key b_a\nCREATE TABLE "public"."b" (\n  "id" integer NOT NULL,\n  "ref" integer,\n  CONSTRAINT "b_pkey" PRIMARY KEY (id),\n  CONSTRAINT "b_a" FOREIGN KEY ("ref") REFERENCES "public"."a" ("id") ON DELETE CASCADE\n);`,
    );
    expect(upgrade).not.toContain(`ADD CONSTRAINT "b_a"`);
    for (const name of ["b_c", "b_self", "d_a"]) expect(upgrade).toContain(`-- add foreign key ${name} on public.`);
    // The changes still list every foreign key, and the downgrade drops each by name.
    expect(changes.map((c) => c.summary)).toContain("add foreign key b_a on public.b");
    const downgrade = renderScript(changes, "downgrade");
    for (const name of ["b_a", "b_c", "b_self", "d_a"]) expect(downgrade).toContain(`DROP CONSTRAINT "${name}"`);
  });

  test("tables dropped one after the other go in one DROP TABLE, each still named in a comment", () => {
    const declared: SchemaModel = { ...emptyModel(), tables: [plain("a", []), plain("b", [fk("b_a", "ref", "a")])] };
    const changes = diffModels(emptyModel(), declared);
    const downgrade = renderScript(changes, "downgrade");
    expect(downgrade).toContain(
      `-- drop table public.b\n-- destructive: drops table public.b and every row in it\n-- drop table public.a\n-- destructive: drops table public.a and every row in it\nDROP TABLE\n  "public"."b",\n  "public"."a";`,
    );
    expect(downgrade.match(/DROP TABLE/g)).toHaveLength(1);
    // One table alone: as before.
    expect(renderScript(diffModels(emptyModel(), { ...emptyModel(), tables: [plain("a", [])] }), "downgrade")).toContain(`DROP TABLE "public"."a";`);
  });
});
