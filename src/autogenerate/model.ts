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
  /** Views and materialized views. */
  readonly views: readonly View[];
  /** Extensions installed in the introspected schemas (absent = none; plpgsql is left out). */
  readonly extensions?: readonly Extension[];
  /** Functions and procedures (aggregates are not modelled). */
  readonly routines?: readonly Routine[];
  /** Domains, with their check constraints. */
  readonly domains?: readonly Domain[];
  /** Composite types (`CREATE TYPE ... AS (...)`). */
  readonly compositeTypes?: readonly CompositeType[];
  /** Triggers on tables and views (not the internal ones of foreign keys, nor clones on partitions). */
  readonly triggers?: readonly Trigger[];
  /** Rules (`CREATE RULE`) on tables and views, compared by `pg_get_ruledef`. */
  readonly rules?: readonly Rule[];
  /** Range types (`CREATE TYPE ... AS RANGE`), compared by their definition. */
  readonly rangeTypes?: readonly RangeType[];
  /** Operators (`CREATE OPERATOR`), compared by their definition. */
  readonly operators?: readonly Operator[];
  /**
   * Comments on the objects whose own model carries none (indexes, constraints, sequences,
   * routines, triggers, types, domains, schemas, extensions, policies, rules, operators,
   * columns of views and composite types), sorted by target. Tables, their columns and
   * views carry their comment themselves.
   */
  readonly comments?: readonly ObjectComment[];
  /** Privileges granted on the modelled objects (the owner's own left out), sorted; compared only when the config asks. */
  readonly grants?: readonly Grant[];
  /** `ALTER DEFAULT PRIVILEGES` entries, sorted; compared only when the config asks. */
  readonly defaultPrivileges?: readonly DefaultPrivilege[];
}

/**
 * An object a comment or a grant applies to. Names are raw (unquoted); `arguments` is
 * `pg_get_function_identity_arguments`, `left`/`right` are `format_type` text (`NONE` for
 * a prefix operator's left operand).
 */
export type ObjectRef =
  | { readonly kind: "table" | "view" | "materialized view" | "foreign table" | "index" | "sequence" | "type" | "domain"; readonly schema: string; readonly name: string }
  | { readonly kind: "column"; readonly schema: string; readonly table: string; readonly column: string }
  /** A table's constraint, trigger, policy or rule (`table` is its table); a domain's constraint (`table` is the domain). */
  | { readonly kind: "constraint" | "domain constraint" | "trigger" | "policy" | "rule"; readonly schema: string; readonly table: string; readonly name: string }
  | { readonly kind: "function" | "procedure" | "aggregate"; readonly schema: string; readonly name: string; readonly arguments: string }
  | { readonly kind: "operator"; readonly schema: string; readonly name: string; readonly left: string; readonly right: string }
  | { readonly kind: "schema" | "extension"; readonly name: string };

/** `COMMENT ON` one object. */
export interface ObjectComment {
  readonly target: ObjectRef;
  readonly text: string;
}

/**
 * One privilege on one object for one grantee (`GRANT SELECT ON TABLE public.t TO reader`).
 * Grantees are compared by name; the object's owner is left out (owners differ between
 * the shadow database and a real one).
 */
export interface Grant {
  /** A table, view, materialized view, foreign table, sequence, column, function, procedure, aggregate, schema, type or domain. */
  readonly object: ObjectRef;
  /** The role as SQL (quoted where needed), or `PUBLIC`. */
  readonly grantee: string;
  /** `SELECT`, `INSERT`, `USAGE`, `EXECUTE`, ... */
  readonly privilege: string;
  /** `WITH GRANT OPTION`. */
  readonly grantable: boolean;
}

/** The kinds of object `ALTER DEFAULT PRIVILEGES` applies to. */
export type DefaultPrivilegeObjects = "TABLES" | "SEQUENCES" | "FUNCTIONS" | "TYPES" | "SCHEMAS";

/** One entry of `ALTER DEFAULT PRIVILEGES [FOR ROLE r] [IN SCHEMA s] GRANT|REVOKE p ON objects TO|FROM grantee`. */
export interface DefaultPrivilege {
  /** `FOR ROLE` (SQL), or null for the role that reads the schema (the one that runs the revisions). */
  readonly role: string | null;
  /** `IN SCHEMA`, or null for the whole database. */
  readonly schema: string | null;
  readonly objects: DefaultPrivilegeObjects;
  readonly grantee: string;
  readonly privilege: string;
  readonly grantable: boolean;
  /**
   * True for a privilege PostgreSQL grants by default (EXECUTE on functions and USAGE on
   * types to PUBLIC) that a database-wide entry takes away: `REVOKE` is its statement.
   */
  readonly revoked: boolean;
}

/** `CREATE RULE`, compared by its `pg_get_ruledef` text (without the final semicolon). */
export interface Rule {
  readonly schema: string;
  /** The table or view it is on. */
  readonly table: string;
  readonly name: string;
  readonly definition: string;
}

/** `CREATE TYPE schema.name AS RANGE (SUBTYPE = ..., ...)`, built from pg_range. */
export interface RangeType {
  readonly schema: string;
  readonly name: string;
  readonly definition: string;
}

/** `CREATE OPERATOR schema.name (FUNCTION = ..., LEFTARG = ..., RIGHTARG = ...)`. */
export interface Operator {
  readonly schema: string;
  readonly name: string;
  /** `format_type` of the left operand, or `NONE` for a prefix operator. */
  readonly left: string;
  readonly right: string;
  /** The whole CREATE OPERATOR statement, built from pg_operator (function, operands, commutator, negator, estimators, HASHES, MERGES). */
  readonly definition: string;
}

/** `CREATE EXTENSION name WITH SCHEMA schema`; the version is recorded but not compared (the shadow PGlite ships its own). */
export interface Extension {
  readonly name: string;
  readonly schema: string;
  readonly version: string;
  /** Extensions this one requires (they are created first). */
  readonly requires: readonly string[];
}

/** A function or procedure, compared by its normalised `pg_get_functiondef` text. */
export interface Routine {
  readonly schema: string;
  readonly name: string;
  readonly kind: "function" | "procedure" | "aggregate";
  /** `pg_get_function_identity_arguments`: what DROP FUNCTION needs. */
  readonly arguments: string;
  /**
   * `pg_get_functiondef`, trailing whitespace removed: `CREATE OR REPLACE FUNCTION public.f(...) ...`;
   * for an aggregate, `CREATE AGGREGATE ...` built from pg_aggregate.
   */
  readonly definition: string;
  /** Tables and views whose row type the signature uses, or that a BEGIN ATOMIC body reads: created after them. */
  readonly usesRelations: readonly QualifiedName[];
}

/** `CREATE DOMAIN`. */
export interface Domain {
  readonly schema: string;
  readonly name: string;
  /** `format_type` of the base type. */
  readonly type: string;
  readonly notNull: boolean;
  readonly default: string | null;
  readonly collation: string | null;
  /** Check constraints, sorted by name; definitions from `pg_get_constraintdef`. */
  readonly constraints: readonly { readonly name: string; readonly definition: string }[];
}

/** `CREATE TYPE ... AS (attributes)`. */
export interface CompositeType {
  readonly schema: string;
  readonly name: string;
  readonly attributes: readonly { readonly name: string; readonly type: string; readonly collation: string | null }[];
}

/** `CREATE TRIGGER`, compared by its `pg_get_triggerdef` text. */
export interface Trigger {
  readonly schema: string;
  /** The table or view it is on. */
  readonly table: string;
  readonly name: string;
  readonly definition: string;
}

/** `CREATE POLICY` on a table. */
export interface Policy {
  readonly name: string;
  readonly permissive: boolean;
  /** `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`. */
  readonly command: string;
  /** Role names as SQL (quoted where needed, `PUBLIC` for everyone), sorted. */
  readonly roles: readonly string[];
  readonly using: string | null;
  readonly withCheck: string | null;
}

/** `CREATE TYPE ... AS ENUM`, values in their sort order. */
export interface EnumType {
  readonly schema: string;
  readonly name: string;
  readonly values: readonly string[];
}

/** `CREATE SEQUENCE`; numbers are decimal strings (they may exceed 2^53). */
export interface Sequence extends SequenceOptions {
  readonly schema: string;
  readonly name: string;
}

/** The options of a sequence (numbers as decimal strings). */
export interface SequenceOptions {
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
  /** `CREATE UNLOGGED TABLE` (absent = false). */
  readonly unlogged?: boolean;
  /** `INHERITS (...)`, in order; the inherited columns and constraints are not listed in the child (absent = none). */
  readonly inherits?: readonly QualifiedName[];
  /** Storage parameters (`WITH (fillfactor=50)`), `name=value` as pg_class.reloptions holds them, sorted (absent = none). */
  readonly storage?: readonly string[];
  /** `ENABLE ROW LEVEL SECURITY` (absent = false). */
  readonly rowSecurity?: boolean;
  /** `FORCE ROW LEVEL SECURITY` (absent = false). */
  readonly forceRowSecurity?: boolean;
  /** Row-level security policies, sorted by name (absent = none). */
  readonly policies?: readonly Policy[];
  /** A partitioned table's `PARTITION BY` clause (`pg_get_partkeydef`: `RANGE (payment_date)`), else null/absent. */
  readonly partitionBy?: string | null;
  /**
   * A partition: its parent and bound (`FOR VALUES FROM (...) TO (...)`), else null/absent. A
   * partition's columns are its parent's: the model lists none, nor the constraints,
   * indexes and triggers cloned from the parent.
   */
  readonly partitionOf?: { readonly schema: string; readonly name: string; readonly bound: string } | null;
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
  /** For a serial column, the name of the sequence it owns (in the table's schema); else null/absent. */
  readonly sequence?: string | null;
  /**
   * For a serial column whose sequence differs from the one `serial` makes (a `bigint`
   * sequence on an `integer` column, another start, a logged sequence on an unlogged
   * table, as Rails' structure.sql has them): all its options; else null/absent.
   */
  readonly sequenceOptions?: SerialSequenceOptions | null;
  /** `ALTER COLUMN ... SET STATISTICS n` (absent/null = the default). */
  readonly statistics?: number | null;
  /** `GENERATED ALWAYS AS (expression) STORED|VIRTUAL`. */
  readonly generated: { readonly kind: "stored" | "virtual"; readonly expression: string } | null;
  /** A collation other than the type's default, e.g. `"C"`, else null. */
  readonly collation: string | null;
  readonly comment: string | null;
}

/** The options of a serial column's own sequence. */
export interface SerialSequenceOptions extends SequenceOptions {
  /** An unlogged sequence (PostgreSQL 15+). */
  readonly unlogged: boolean;
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
  /** `ALTER INDEX ... ALTER COLUMN n SET STATISTICS t` of expression columns, by column number (absent = none). */
  readonly statistics?: readonly { readonly column: number; readonly target: number }[];
}

/** A view, or a materialized view with its indexes. */
export interface View {
  readonly schema: string;
  readonly name: string;
  /** `CREATE MATERIALIZED VIEW` (absent = a plain view). */
  readonly materialized?: boolean;
  /** Indexes of a materialized view, sorted by name. */
  readonly indexes?: readonly Index[];
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

/**
 * A model with nothing in it: what an empty database looks like to the diff. Its `public`
 * schema has the privileges initdb gives it on PostgreSQL 15+ and PGlite (USAGE for PUBLIC).
 */
export function emptyModel(schemas: readonly string[] = ["public"]): SchemaModel {
  const grants: Grant[] = schemas.includes("public") ? [{ object: { kind: "schema", name: "public" }, grantee: "PUBLIC", privilege: "USAGE", grantable: false }] : [];
  return { schemas: [...schemas].sort(), enums: [], sequences: [], tables: [], views: [], extensions: [], routines: [], domains: [], compositeTypes: [], triggers: [], operators: [], rules: [], rangeTypes: [], comments: [], grants, defaultPrivileges: [] };
}

/** `schema.name` key for maps (never shown to users; a NUL cannot occur in a name). */
export function objectKey(schema: string, name: string): string {
  return `${schema}\u0000${name}`;
}

/**
 * A copy of the model in canonical order (columns by name as well), so that two models
 * that differ only in column order or listing order compare equal with a deep equality.
 * Optional fields are filled in, and extension versions blanked (they are not compared).
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
      columns: byName(table.columns).map((column) => ({ ...column, sequence: column.sequence ?? null, sequenceOptions: column.sequenceOptions ?? null, statistics: column.statistics ?? null })),
      constraints: byName(table.constraints),
      foreignKeys: byName(table.foreignKeys),
      indexes: byName(table.indexes).map(canonicalIndex),
      storage: [...(table.storage ?? [])].sort(compareText),
      unlogged: table.unlogged ?? false,
      inherits: table.inherits ?? [],
      rowSecurity: table.rowSecurity ?? false,
      forceRowSecurity: table.forceRowSecurity ?? false,
      policies: byName(table.policies ?? []),
      partitionBy: table.partitionBy ?? null,
      partitionOf: table.partitionOf ?? null,
    })),
    views: byQualified(model.views).map((view) => ({ ...view, materialized: view.materialized ?? false, indexes: byName(view.indexes ?? []).map(canonicalIndex) })),
    // Extension versions are recorded but not compared (the shadow PGlite ships its own).
    extensions: byName(model.extensions ?? []).map((extension) => ({ ...extension, version: "" })),
    routines: [...(model.routines ?? [])].sort((a, b) => compareText(routineKey(a), routineKey(b))),
    domains: byQualified(model.domains ?? []),
    compositeTypes: byQualified(model.compositeTypes ?? []),
    rules: [...(model.rules ?? [])].sort((a, b) => compareText(objectKey(a.schema, a.table), objectKey(b.schema, b.table)) || compareText(a.name, b.name)),
    rangeTypes: [...(model.rangeTypes ?? [])].sort((a, b) => compareText(objectKey(a.schema, a.name), objectKey(b.schema, b.name))),
    operators: [...(model.operators ?? [])].sort((a, b) => compareText(operatorKey(a), operatorKey(b))),
    triggers: [...(model.triggers ?? [])].sort((a, b) => compareText(objectKey(a.schema, a.table), objectKey(b.schema, b.table)) || compareText(a.name, b.name)),
    comments: [...(model.comments ?? [])].sort((a, b) => compareText(refKey(a.target), refKey(b.target))),
    grants: [...(model.grants ?? [])].sort((a, b) => compareText(grantKey(a), grantKey(b))),
    defaultPrivileges: [...(model.defaultPrivileges ?? [])].sort((a, b) => compareText(defaultPrivilegeKey(a), defaultPrivilegeKey(b))),
  };
}

/** Key of an object reference (its kind and every name, in a fixed order). */
export function refKey(ref: ObjectRef): string {
  switch (ref.kind) {
    case "column":
      return [ref.kind, ref.schema, ref.table, ref.column].join("\u0000");
    case "constraint":
    case "domain constraint":
    case "trigger":
    case "policy":
    case "rule":
      return [ref.kind, ref.schema, ref.table, ref.name].join("\u0000");
    case "function":
    case "procedure":
    case "aggregate":
      return [ref.kind, ref.schema, ref.name, ref.arguments].join("\u0000");
    case "operator":
      return [ref.kind, ref.schema, ref.name, ref.left, ref.right].join("\u0000");
    case "schema":
    case "extension":
      return [ref.kind, ref.name].join("\u0000");
    default:
      return [ref.kind, ref.schema, ref.name].join("\u0000");
  }
}

/** Key of a grant: object, grantee, privilege and grant option. */
export function grantKey(grant: Grant): string {
  return [refKey(grant.object), grant.grantee, grant.privilege, String(grant.grantable)].join("\u0001");
}

/** Key of a default privilege entry (every field). */
export function defaultPrivilegeKey(entry: DefaultPrivilege): string {
  return [entry.role ?? "", entry.schema ?? "", entry.objects, entry.grantee, entry.privilege, String(entry.grantable), String(entry.revoked)].join("\u0001");
}

function canonicalIndex(index: Index): Index {
  return { ...index, statistics: index.statistics ?? [] };
}

/** The options `serial`, `smallserial` or `bigserial` give the sequence they make (its persistence is the table's). */
export function serialSequenceDefaults(columnType: string, unlogged: boolean): SerialSequenceOptions | null {
  const dataType = { smallserial: "smallint", serial: "integer", bigserial: "bigint" }[columnType];
  const maxValue = { smallserial: "32767", serial: "2147483647", bigserial: "9223372036854775807" }[columnType];
  if (dataType === undefined || maxValue === undefined) return null;
  return { dataType, start: "1", increment: "1", minValue: "1", maxValue, cache: "1", cycle: false, unlogged };
}

/** Whether two serial sequences have the same options (null = the defaults). */
export function sameSerialSequence(a: SerialSequenceOptions | null | undefined, b: SerialSequenceOptions | null | undefined): boolean {
  if (a === undefined || a === null || b === undefined || b === null) return (a ?? null) === (b ?? null);
  return sameSequenceOptions(a, b) && a.unlogged === b.unlogged;
}

/** Whether two sequences have the same options (their names aside). */
export function sameSequenceOptions(a: SequenceOptions, b: SequenceOptions): boolean {
  return (
    a.dataType === b.dataType &&
    a.start === b.start &&
    a.increment === b.increment &&
    a.minValue === b.minValue &&
    a.maxValue === b.maxValue &&
    a.cache === b.cache &&
    a.cycle === b.cycle
  );
}

/**
 * The name PostgreSQL gives the sequence of a serial column (ChooseRelationName's
 * makeObjectName: `table_column_seq`, the longer of table and column shortened until the
 * name fits in 63 bytes). A name already taken would get a number: that is not foreseen.
 */
export function defaultSerialSequenceName(table: string, column: string): string {
  const encoder = new TextEncoder();
  const available = 63 - "_".length - "_seq".length;
  let first = [...table];
  let second = [...column];
  const bytes = (chars: string[]): number => encoder.encode(chars.join("")).length;
  while (bytes(first) + bytes(second) > available) {
    if (bytes(first) > bytes(second)) first = first.slice(0, -1);
    else second = second.slice(0, -1);
  }
  return `${first.join("")}_${second.join("")}_seq`;
}

/** Key of an operator: schema, name and operand types. */
export function operatorKey(operator: Pick<Operator, "schema" | "name" | "left" | "right">): string {
  return `${objectKey(operator.schema, operator.name)}(${operator.left},${operator.right})`;
}

/** Key of a routine: schema, name and identity arguments (overloads are different routines). */
export function routineKey(routine: Pick<Routine, "schema" | "name" | "arguments">): string {
  return `${objectKey(routine.schema, routine.name)}(${routine.arguments})`;
}

/** Code-point order, independent of the locale (the model must sort the same everywhere). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
