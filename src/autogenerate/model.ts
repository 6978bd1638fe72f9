/**
 * The normalised schema model that introspection produces and the diff compares.
 * It is plain data (JSON-serialisable), the same for PostgreSQL 13+ and PGlite: every
 * text field holds what the server's own deparser printed (`format_type`,
 * `pg_get_expr`, `pg_get_constraintdef`, `pg_get_indexdef`, `pg_get_viewdef`) with the
 * search path empty (so every name outside `pg_catalog` is schema-qualified), then
 * normalised (whitespace collapsed, version differences removed).
 */

/** A whole database schema, restricted to the schemas that were introspected. */
export interface SchemaModel {
  /** Names of the introspected schemas that exist, sorted. */
  readonly schemas: readonly string[];
  readonly enums: readonly EnumType[];
  /** Free-standing sequences: those owned by identity or serial columns are part of their column. */
  readonly sequences: readonly Sequence[];
  readonly tables: readonly Table[];
  readonly views: readonly View[];
}

/** `CREATE TYPE ... AS ENUM`, values in their sort order. */
export interface EnumType {
  readonly schema: string;
  readonly name: string;
  readonly values: readonly string[];
}

/** `CREATE SEQUENCE`; numbers are decimal strings (they may exceed 2^53). */
export interface Sequence {
  readonly schema: string;
  readonly name: string;
  /** `smallint`, `integer` or `bigint`. */
  readonly dataType: string;
  readonly start: string;
  readonly increment: string;
  readonly minValue: string;
  readonly maxValue: string;
  readonly cache: string;
  readonly cycle: boolean;
}

/** An ordinary table (partitions and partitioned tables are not modelled yet). */
export interface Table {
  readonly schema: string;
  readonly name: string;
  /** In column order (attnum); the diff compares them by name. */
  readonly columns: readonly Column[];
  readonly primaryKey: Constraint | null;
  /** Unique, check and exclusion constraints, sorted by name. */
  readonly constraints: readonly Constraint[];
  readonly foreignKeys: readonly ForeignKey[];
  /** Indexes that back no constraint, sorted by name. */
  readonly indexes: readonly Index[];
  readonly comment: string | null;
}

/** One column of a table. */
export interface Column {
  readonly name: string;
  /**
   * `format_type` output (`integer`, `character varying(20)`, `public.mood[]`), or
   * `smallserial`/`serial`/`bigserial` for a column whose default takes the next value of
   * a sequence the column owns.
   */
  readonly type: string;
  readonly notNull: boolean;
  /** The default expression as the server prints it, null for none (and for serial, identity and generated columns). */
  readonly default: string | null;
  readonly identity: "always" | "by default" | null;
  /** `GENERATED ALWAYS AS (expression) STORED|VIRTUAL`. */
  readonly generated: { readonly kind: "stored" | "virtual"; readonly expression: string } | null;
  /** A collation other than the type's default, e.g. `"C"`, else null. */
  readonly collation: string | null;
  readonly comment: string | null;
}

/** Primary key, unique, check or exclusion constraint. */
export interface Constraint {
  readonly kind: "primary-key" | "unique" | "check" | "exclude";
  readonly name: string;
  /** `pg_get_constraintdef` output, e.g. `UNIQUE (email)`, `CHECK (price > 0::numeric)`. */
  readonly definition: string;
}

/** A foreign key, structured so that renames and actions can be compared field by field. */
export interface ForeignKey {
  readonly name: string;
  readonly columns: readonly string[];
  readonly references: { readonly schema: string; readonly table: string; readonly columns: readonly string[] };
  readonly onUpdate: ForeignKeyAction;
  readonly onDelete: ForeignKeyAction;
  readonly match: "simple" | "full" | "partial";
  readonly deferrable: boolean;
  readonly initiallyDeferred: boolean;
  /** `pg_get_constraintdef` output, for display. */
  readonly definition: string;
}

/** ON UPDATE / ON DELETE behaviour of a foreign key. */
export type ForeignKeyAction = "no action" | "restrict" | "cascade" | "set null" | "set default";

/** An index that backs no constraint. */
export interface Index {
  readonly name: string;
  readonly unique: boolean;
  /**
   * What follows `ON table` in `pg_get_indexdef`: `USING btree (lower(email)) WHERE (active)`.
   * The index name and table are kept out so that a renamed table compares equal.
   */
  readonly definition: string;
}

/** A (non-materialised) view. */
export interface View {
  readonly schema: string;
  readonly name: string;
  /** `pg_get_viewdef`, whitespace collapsed, without the trailing semicolon. */
  readonly definition: string;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /**
   * Tables and views this view reads, with the columns it uses (empty when it uses none,
   * e.g. `count(*)`), sorted. Orders creation and tells which column changes force a rebuild.
   */
  readonly dependsOn: readonly ViewDependency[];
  readonly comment: string | null;
}

/** A schema-qualified object name. */
export interface QualifiedName {
  readonly schema: string;
  readonly name: string;
}

/** A relation a view reads, and which of its columns. */
export interface ViewDependency extends QualifiedName {
  readonly columns: readonly string[];
}

/** A model with nothing in it: what an empty database looks like to the diff. */
export function emptyModel(schemas: readonly string[] = ["public"]): SchemaModel {
  return { schemas: [...schemas].sort(), enums: [], sequences: [], tables: [], views: [] };
}

/** `schema.name` key for maps (never shown to users; a NUL cannot occur in a name). */
export function objectKey(schema: string, name: string): string {
  return `${schema}\u0000${name}`;
}

/**
 * A copy of the model in canonical order (columns by name as well), so that two models
 * that differ only in column order or listing order compare equal with a deep equality.
 */
export function canonicalModel(model: SchemaModel): SchemaModel {
  const byName = <T extends { name: string }>(items: readonly T[]): T[] => [...items].sort((a, b) => compareText(a.name, b.name));
  const byQualified = <T extends { schema: string; name: string }>(items: readonly T[]): T[] =>
    [...items].sort((a, b) => compareText(a.schema, b.schema) || compareText(a.name, b.name));
  return {
    schemas: [...model.schemas].sort(compareText),
    enums: byQualified(model.enums),
    sequences: byQualified(model.sequences),
    tables: byQualified(model.tables).map((table) => ({
      ...table,
      columns: byName(table.columns),
      constraints: byName(table.constraints),
      foreignKeys: byName(table.foreignKeys),
      indexes: byName(table.indexes),
    })),
    views: byQualified(model.views),
  };
}

/** Code-point order, independent of the locale (the model must sort the same everywhere). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
