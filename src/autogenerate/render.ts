/**
 * Operations → SQL text, for the upgrade and the downgrade of a revision. Pure.
 * Identifiers are always quoted with quoteIdent; expressions, types and definitions are
 * the server's own deparsed text from the model, used as they are.
 */
import { qualifiedName, quoteIdent, quoteLiteral } from "../dialects/sql.js";
import type { Column, CompositeType, Constraint, DefaultPrivilege, Domain, EnumType, ForeignKey, Grant, Index, ObjectRef, Policy, Sequence, Table, View } from "./model.js";
import type { CommentTarget, Operation, SchemaChange, TableFlags } from "./operations.js";
import { describeOperation, destructiveReason, isWideningType } from "./operations.js";
import { defaultSerialSequenceName, serialSequenceDefaults } from "./model.js";
import type { SequenceOptions } from "./model.js";

/** The statements of one operation, each without its trailing semicolon; comment lines start with `--`. */
export function renderOperation(operation: Operation): string[] {
  switch (operation.kind) {
    case "create-schema":
      return [`CREATE SCHEMA ${quoteIdent(operation.schema)}`];
    case "drop-schema":
      return [`DROP SCHEMA ${quoteIdent(operation.schema)}`];
    case "create-enum":
      return [createEnum(operation.enum)];
    case "drop-enum":
      return [`DROP TYPE ${qualifiedName(operation.enum.schema, operation.enum.name)}`];
    case "add-enum-values":
      return operation.additions.map(
        (addition) =>
          `ALTER TYPE ${qualifiedName(operation.from.schema, operation.from.name)} ADD VALUE ${quoteLiteral(addition.value)}${addition.before === null ? "" : ` BEFORE ${quoteLiteral(addition.before)}`}`,
      );
    case "recreate-enum":
      return recreateEnum(operation);
    case "create-sequence":
      return [`CREATE SEQUENCE ${qualifiedName(operation.sequence.schema, operation.sequence.name)} ${sequenceOptions(operation.sequence)}`];
    case "drop-sequence":
      return [`DROP SEQUENCE ${qualifiedName(operation.sequence.schema, operation.sequence.name)}`];
    case "alter-sequence":
      return [`ALTER SEQUENCE ${qualifiedName(operation.to.schema, operation.to.name)} ${sequenceOptions(operation.to)}`];
    case "rename-table":
      return [`ALTER TABLE ${qualifiedName(operation.schema, operation.from)} RENAME TO ${quoteIdent(operation.to)}`];
    case "rename-column":
      return [`ALTER TABLE ${qualifiedName(operation.schema, operation.table)} RENAME COLUMN ${quoteIdent(operation.from)} TO ${quoteIdent(operation.to)}`];
    case "create-table":
      return createTable(operation.table);
    case "drop-table":
      return [`DROP TABLE ${qualifiedName(operation.table.schema, operation.table.name)}`];
    case "add-column": {
      const table = qualifiedName(operation.schema, operation.table);
      const column = operation.column;
      const statements = [`ALTER TABLE ${table} ADD COLUMN ${columnDefinition(column)}`, ...renameSerialSequence(operation.schema, operation.table, column)];
      if (column.statistics !== undefined && column.statistics !== null) statements.push(`ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(column.name)} SET STATISTICS ${column.statistics}`);
      statements.push(...serialSequenceSettings(operation.schema, column, null));
      if (operation.column.comment !== null) statements.push(comment({ kind: "column", schema: operation.schema, table: operation.table, column: operation.column.name }, operation.column.comment));
      return statements;
    }
    case "drop-column":
      return [`ALTER TABLE ${qualifiedName(operation.schema, operation.table)} DROP COLUMN ${quoteIdent(operation.column.name)}`];
    case "alter-column": {
      const statements = alterColumn(qualifiedName(operation.schema, operation.table), operation.from, operation.to);
      const from = operation.from.sequence ?? null;
      const to = operation.to.sequence ?? null;
      if (from !== null && to !== null && from !== to) statements.push(`ALTER SEQUENCE ${qualifiedName(operation.schema, from)} RENAME TO ${quoteIdent(to)}`);
      statements.push(...alterSerialSequence(operation.schema, operation.from, operation.to));
      if ((operation.from.statistics ?? null) !== (operation.to.statistics ?? null))
        statements.push(`ALTER TABLE ${qualifiedName(operation.schema, operation.table)} ALTER COLUMN ${quoteIdent(operation.to.name)} SET STATISTICS ${operation.to.statistics ?? -1}`);
      return statements;
    }
    case "add-constraint":
      return [`ALTER TABLE ${qualifiedName(operation.schema, operation.table)} ADD ${constraintClause(operation.constraint)}`];
    case "drop-constraint":
      return [`ALTER TABLE ${qualifiedName(operation.schema, operation.table)} DROP CONSTRAINT ${quoteIdent(operation.constraint.name)}`];
    case "add-foreign-key":
      return [`ALTER TABLE ${qualifiedName(operation.schema, operation.table)} ADD CONSTRAINT ${quoteIdent(operation.foreignKey.name)} ${foreignKeyClause(operation.foreignKey)}`];
    case "drop-foreign-key":
      return [`ALTER TABLE ${qualifiedName(operation.schema, operation.table)} DROP CONSTRAINT ${quoteIdent(operation.foreignKey.name)}`];
    case "create-index":
      return createIndex(operation.schema, operation.table, operation.index);
    case "drop-index":
      return [`DROP INDEX ${qualifiedName(operation.schema, operation.index.name)}`];
    case "create-view":
      return createView(operation.view, false);
    case "drop-view":
      return [`DROP ${operation.view.materialized === true ? "MATERIALIZED VIEW" : "VIEW"} ${qualifiedName(operation.view.schema, operation.view.name)}`];
    case "replace-view":
      return createView(operation.to, true).slice(0, 1);
    case "set-comment":
      return [comment(operation.target, operation.to)];
    case "create-extension":
      return [`CREATE EXTENSION ${quoteIdent(operation.extension.name)} WITH SCHEMA ${quoteIdent(operation.extension.schema)}`];
    case "drop-extension":
      return [`DROP EXTENSION ${quoteIdent(operation.extension.name)}`];
    case "create-routine":
      return [operation.routine.definition];
    case "replace-routine":
      return [operation.to.definition];
    case "drop-routine":
      return [`DROP ${operation.routine.kind.toUpperCase()} ${qualifiedName(operation.routine.schema, operation.routine.name)}(${operation.routine.arguments})`];
    case "create-domain":
      return [createDomain(operation.domain)];
    case "drop-domain":
      return [`DROP DOMAIN ${qualifiedName(operation.domain.schema, operation.domain.name)}`];
    case "create-composite-type":
      return [createCompositeType(operation.type)];
    case "drop-composite-type":
      return [`DROP TYPE ${qualifiedName(operation.type.schema, operation.type.name)}`];
    case "create-trigger":
      return [operation.trigger.definition];
    case "drop-trigger":
      return [`DROP TRIGGER ${quoteIdent(operation.trigger.name)} ON ${qualifiedName(operation.trigger.schema, operation.trigger.table)}`];
    case "create-policy":
      return [createPolicy(operation.schema, operation.table, operation.policy)];
    case "drop-policy":
      return [`DROP POLICY ${quoteIdent(operation.policy.name)} ON ${qualifiedName(operation.schema, operation.table)}`];
    case "create-rule":
      return [operation.rule.definition];
    case "drop-rule":
      return [`DROP RULE ${quoteIdent(operation.rule.name)} ON ${qualifiedName(operation.rule.schema, operation.rule.table)}`];
    case "create-range-type":
      return [operation.type.definition];
    case "drop-range-type":
      return [`DROP TYPE ${qualifiedName(operation.type.schema, operation.type.name)}`];
    case "create-operator":
      return [operation.operator.definition];
    case "drop-operator": {
      const { schema, name, left, right } = operation.operator;
      return [`DROP OPERATOR ${quoteIdent(schema)}.${name} (${left}, ${right})`];
    }
    case "alter-table-flags":
      return alterTableFlags(qualifiedName(operation.schema, operation.table), operation.from, operation.to);
    case "grant":
      return [grantStatement(operation.grant, true)];
    case "revoke":
      return [grantStatement(operation.grant, false)];
    case "grant-default":
      return [defaultPrivilegeStatement(operation.entry, !operation.entry.revoked)];
    case "revoke-default":
      return [defaultPrivilegeStatement(operation.entry, operation.entry.revoked)];
  }
}

/** `GRANT p ON TABLE t TO g [WITH GRANT OPTION]`, or the REVOKE that undoes it (the grant option goes with the privilege). */
function grantStatement(grant: Grant, granting: boolean): string {
  const object = grant.object;
  const privilege = object.kind === "column" ? `${grant.privilege} (${quoteIdent(object.column)})` : grant.privilege;
  const on = object.kind === "column" ? `TABLE ${qualifiedName(object.schema, object.table)}` : grantObject(object);
  return granting ? `GRANT ${privilege} ON ${on} TO ${grant.grantee}${grant.grantable ? " WITH GRANT OPTION" : ""}` : `REVOKE ${privilege} ON ${on} FROM ${grant.grantee}`;
}

/** What follows ON in GRANT: `TABLE public.t`, `FUNCTION public.f(a integer)`, `SCHEMA s`. */
function grantObject(ref: ObjectRef): string {
  switch (ref.kind) {
    case "table":
    case "view":
    case "materialized view":
    case "foreign table":
      return `TABLE ${qualifiedName(ref.schema, ref.name)}`;
    case "sequence":
    case "type":
    case "domain":
      return `${ref.kind.toUpperCase()} ${qualifiedName(ref.schema, ref.name)}`;
    case "function":
    case "aggregate":
      return `FUNCTION ${qualifiedName(ref.schema, ref.name)}(${ref.arguments})`;
    case "procedure":
      return `PROCEDURE ${qualifiedName(ref.schema, ref.name)}(${ref.arguments})`;
    case "schema":
      return `SCHEMA ${quoteIdent(ref.name)}`;
    default:
      // Not reached: introspection reads privileges of the kinds above only.
      return commentObject(ref);
  }
}

/** `ALTER DEFAULT PRIVILEGES [FOR ROLE r] [IN SCHEMA s] GRANT|REVOKE p ON objects TO|FROM g`. */
function defaultPrivilegeStatement(entry: DefaultPrivilege, granting: boolean): string {
  const scope = `${entry.role === null ? "" : ` FOR ROLE ${entry.role}`}${entry.schema === null ? "" : ` IN SCHEMA ${quoteIdent(entry.schema)}`}`;
  const action = granting
    ? `GRANT ${entry.privilege} ON ${entry.objects} TO ${entry.grantee}${entry.grantable ? " WITH GRANT OPTION" : ""}`
    : `REVOKE ${entry.privilege} ON ${entry.objects} FROM ${entry.grantee}`;
  return `ALTER DEFAULT PRIVILEGES${scope} ${action}`;
}

/** Whether the operation creates a function or procedure from its definition text. */
function createsRoutine(operation: Operation): boolean {
  return operation.kind === "create-routine" || operation.kind === "replace-routine";
}

/** Options for rendering a script. */
export interface RenderOptions {
  /** Put a `-- summary` line above each operation (default true). */
  comments?: boolean;
  /**
   * The revision runs in a transaction (default true): settings the script needs are
   * made with SET LOCAL; otherwise with SET (for the session that runs it).
   */
  transactional?: boolean;
}

/**
 * The upgrade script of a diff (operations in order) or its downgrade (inverses in
 * reverse order), as SQL text with one statement per line group, ready for a revision.
 * An empty diff renders as an empty string.
 */
export function renderScript(changes: readonly SchemaChange[], direction: "upgrade" | "downgrade", options: RenderOptions = {}): string {
  const operations = direction === "upgrade" ? changes.map((c) => c.operation) : [...changes].reverse().map((c) => c.inverse);
  const prelude: string[] = [];
  // As pg_dump does: function bodies are checked when they run, not when created, so a
  // function may come before the tables its body reads (and before a default that calls it).
  if (operations.some(createsRoutine))
    prelude.push(`-- function bodies are checked when they run (as pg_dump does), so functions come before the tables they read\n${options.transactional === false ? "SET" : "SET LOCAL"} check_function_bodies = false;`);
  const { inline, folded } = inlineForeignKeys(operations);
  const blocks: string[] = [];
  const describe = (operation: Operation, foreignKeys: readonly ForeignKey[]): string[] => {
    if (options.comments === false) return [];
    const withKeys = foreignKeys.length === 0 ? "" : `, with its foreign ${foreignKeys.length === 1 ? "key" : "keys"} ${foreignKeys.map((fk) => fk.name).join(", ")}`;
    const reason = destructiveReason(operation);
    return [`-- ${describeOperation(operation)}${withKeys}`, ...(reason === null ? [] : [`-- destructive: ${reason}`])];
  };
  for (let index = 0; index < operations.length; index++) {
    const operation = operations[index] as Operation;
    if (folded.has(index)) continue;
    if (operation.kind === "drop-table") {
      // Tables dropped one after the other go in one DROP TABLE (see dropTables).
      const run: Table[] = [];
      const lines: string[] = [];
      for (let next = operations[index]; next?.kind === "drop-table"; next = operations[++index]) {
        run.push(next.table);
        lines.push(...describe(next, []));
      }
      index--;
      blocks.push([...lines, `${dropTables(run)};`].join("\n"));
      continue;
    }
    const foreignKeys = inline.get(index) ?? [];
    const lines = describe(operation, foreignKeys);
    const statements = operation.kind === "create-table" ? createTable(operation.table, foreignKeys) : renderOperation(operation);
    for (const statement of statements) lines.push(statement.startsWith("--") ? statement : `${statement};`);
    blocks.push(lines.join("\n"));
  }
  return blocks.length === 0 ? "" : `${[...prelude, ...blocks].join("\n\n")}\n`;
}

/**
 * One DROP TABLE for tables that a script drops one after the other (a downgrade drops
 * every table its upgrade created). Each statement that takes more than 15 locks makes
 * PostgreSQL walk every lock its transaction holds when the statement ends, and a dropped
 * table's locks are held to the end, so table by table the cost grows with the square of
 * their number: the downgrade of 1,000 Rails-style tables took 5.2 s of CPU on PGlite, as
 * one statement 3.1 s. PostgreSQL drops the objects of one DROP together, so foreign keys,
 * inheritance and partitions among them need no order, and anything else that depends on
 * one of them still makes it fail (no CASCADE), as it did.
 */
function dropTables(tables: readonly Table[]): string {
  const names = tables.map((table) => qualifiedName(table.schema, table.name));
  return names.length === 1 ? `DROP TABLE ${names[0]}` : `DROP TABLE\n  ${names.join(",\n  ")}`;
}

/** The foreign keys written inside the CREATE TABLE of the script's operation at each index, and the add-foreign-key operations that this leaves out. */
interface InlineForeignKeys {
  readonly inline: ReadonlyMap<number, readonly ForeignKey[]>;
  readonly folded: ReadonlySet<number>;
}

/**
 * Which foreign keys of the tables a script creates go inside their CREATE TABLE rather
 * than into an ALTER TABLE ... ADD CONSTRAINT after every table: those that reference
 * another plain table created earlier in the same script. A foreign key added to an
 * existing table makes PostgreSQL check every row (a query planned and run through SPI:
 * ~2 ms a key on PGlite, and it holds more locks), one written in CREATE TABLE is not
 * checked (the table is empty), and the catalogue ends the same: the same constraint, its
 * index dependency and its triggers. The referenced table's keys exist by then: a table
 * the script creates gets its primary key, unique constraints and indexes in its own
 * CREATE TABLE block. Left as ALTER TABLE: references to a table created later (name
 * order) or not created here (its keys may change in this script), to the table itself
 * (its unique indexes come after the CREATE TABLE), and partitioned tables and partitions
 * on either side. The downgrade is unchanged: it drops the constraint by name.
 */
function inlineForeignKeys(operations: readonly Operation[]): InlineForeignKeys {
  const inline = new Map<number, ForeignKey[]>();
  const folded = new Set<number>();
  /** Plain tables created so far, by `schema.table`, with the index of their create-table operation. */
  const created = new Map<string, number>();
  const plain = (table: Table): boolean => (table.partitionBy ?? null) === null && (table.partitionOf ?? null) === null;
  const key = (schema: string, table: string): string => `${schema}\u0000${table}`;
  operations.forEach((operation, index) => {
    if (operation.kind === "create-table") {
      if (plain(operation.table)) created.set(key(operation.table.schema, operation.table.name), index);
      return;
    }
    if (operation.kind !== "add-foreign-key") return;
    const owner = created.get(key(operation.schema, operation.table));
    const target = created.get(key(operation.foreignKey.references.schema, operation.foreignKey.references.table));
    if (owner === undefined || target === undefined || target >= owner) return;
    inline.set(owner, [...(inline.get(owner) ?? []), operation.foreignKey]);
    folded.add(index);
  });
  return { inline, folded };
}

function createEnum(enumType: EnumType): string {
  return `CREATE TYPE ${qualifiedName(enumType.schema, enumType.name)} AS ENUM (${enumType.values.map(quoteLiteral).join(", ")})`;
}

/**
 * PostgreSQL cannot remove or reorder enum values in place: rename the type, create it
 * again, convert each column through text, drop the old type.
 */
function recreateEnum(operation: Extract<Operation, { kind: "recreate-enum" }>): string[] {
  const { from, to, usages, dependents } = operation;
  const current = qualifiedName(from.schema, from.name);
  const oldName = `${from.name.slice(0, 50)}__athanor_old`;
  const removed = from.values.filter((value) => !to.values.includes(value));
  const statements = [
    `-- PostgreSQL cannot remove or reorder the values of an enum in place (ALTER TYPE ... ADD VALUE has no inverse):`,
    `-- ${from.schema}.${from.name} is recreated and its columns converted through text.${removed.length > 0 ? ` Rows holding ${removed.map(quoteLiteral).join(", ")} make this fail: update them first.` : ""}`,
  ];
  // Views reading the columns, and indexes/constraints holding literals of the type, cannot survive the conversion.
  for (const view of [...dependents.views].reverse()) statements.push(`DROP VIEW ${qualifiedName(view.schema, view.name)}`);
  for (const { schema, index } of dependents.indexes) statements.push(`DROP INDEX ${qualifiedName(schema, index.name)}`);
  for (const { schema, table, constraint } of dependents.constraints) statements.push(`ALTER TABLE ${qualifiedName(schema, table)} DROP CONSTRAINT ${quoteIdent(constraint.name)}`);
  statements.push(`ALTER TYPE ${current} RENAME TO ${quoteIdent(oldName)}`, createEnum(to));
  for (const usage of usages) {
    const table = qualifiedName(usage.schema, usage.table);
    const column = quoteIdent(usage.column);
    // format_type prints one [] whatever the number of dimensions, and text[] casts any of them.
    const textType = usage.type.endsWith("[]") ? "text[]" : "text";
    if (usage.default !== null) statements.push(`ALTER TABLE ${table} ALTER COLUMN ${column} DROP DEFAULT`);
    statements.push(`ALTER TABLE ${table} ALTER COLUMN ${column} TYPE ${usage.type} USING ${column}::${textType}::${usage.type}`);
    if (usage.default !== null) statements.push(`ALTER TABLE ${table} ALTER COLUMN ${column} SET DEFAULT ${usage.default}`);
  }
  statements.push(`DROP TYPE ${qualifiedName(from.schema, oldName)}`);
  for (const { schema, table, constraint } of dependents.constraints) statements.push(`ALTER TABLE ${qualifiedName(schema, table)} ADD ${constraintClause(constraint)}`);
  for (const { schema, table, index } of dependents.indexes) statements.push(...createIndex(schema, table, index));
  for (const view of dependents.views) statements.push(...createView(view, false));
  return statements;
}

function sequenceOptions(sequence: SequenceOptions): string {
  return [
    `AS ${sequence.dataType}`,
    `INCREMENT BY ${sequence.increment}`,
    `MINVALUE ${sequence.minValue}`,
    `MAXVALUE ${sequence.maxValue}`,
    `START WITH ${sequence.start}`,
    `CACHE ${sequence.cache}`,
    sequence.cycle ? "CYCLE" : "NO CYCLE",
  ].join(" ");
}

/** CREATE TABLE with its keys, indexes, serial sequences and comments; `foreignKeys` go inside it (see inlineForeignKeys). */
function createTable(table: Table, foreignKeys: readonly ForeignKey[] = []): string[] {
  const name = qualifiedName(table.schema, table.name);
  const items = table.columns.map((column) => `  ${columnDefinition(column)}`);
  if (table.primaryKey) items.push(`  ${constraintClause(table.primaryKey)}`);
  for (const constraint of table.constraints) items.push(`  ${constraintClause(constraint)}`);
  for (const foreignKey of foreignKeys) items.push(`  CONSTRAINT ${quoteIdent(foreignKey.name)} ${foreignKeyClause(foreignKey)}`);
  const create = `CREATE ${table.unlogged === true ? "UNLOGGED " : ""}TABLE ${name}`;
  const inherits = (table.inherits ?? []).length === 0 ? "" : ` INHERITS (${(table.inherits ?? []).map((p) => qualifiedName(p.schema, p.name)).join(", ")})`;
  const partitionBy = `${table.partitionBy ? ` PARTITION BY ${table.partitionBy}` : ""}${storageClause(table.storage ?? [])}`;
  const statements: string[] = [];
  if (table.partitionOf) {
    // A partition takes its parent's columns; its own constraints are added after.
    statements.push(`${create} PARTITION OF ${qualifiedName(table.partitionOf.schema, table.partitionOf.name)} ${table.partitionOf.bound}${partitionBy}`);
    for (const constraint of [...(table.primaryKey ? [table.primaryKey] : []), ...table.constraints]) statements.push(`ALTER TABLE ${name} ADD ${constraintClause(constraint)}`);
  } else statements.push(items.length === 0 ? `${create} ()${inherits}${partitionBy}` : `${create} (\n${items.join(",\n")}\n)${inherits}${partitionBy}`);
  if (table.rowSecurity === true) statements.push(`ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY`);
  if (table.forceRowSecurity === true) statements.push(`ALTER TABLE ${name} FORCE ROW LEVEL SECURITY`);
  for (const index of table.indexes) statements.push(...createIndex(table.schema, table.name, index));
  for (const column of table.columns) statements.push(...renameSerialSequence(table.schema, table.name, column));
  for (const column of table.columns) {
    if (column.statistics !== undefined && column.statistics !== null) statements.push(`ALTER TABLE ${name} ALTER COLUMN ${quoteIdent(column.name)} SET STATISTICS ${column.statistics}`);
    statements.push(...serialSequenceSettings(table.schema, column, table.unlogged ?? false));
  }
  if (table.comment !== null) statements.push(comment({ kind: "table", schema: table.schema, name: table.name }, table.comment));
  for (const column of table.columns)
    if (column.comment !== null) statements.push(comment({ kind: "column", schema: table.schema, table: table.name, column: column.name }, column.comment));
  return statements;
}

/** ` WITH (fillfactor='50')`, or "" without storage parameters. */
function storageClause(storage: readonly string[]): string {
  return storage.length === 0 ? "" : ` WITH (${storage.map(storageSetting).join(", ")})`;
}

/** `name=value` (as reloptions holds it) → `name='value'`. */
function storageSetting(option: string): string {
  const at = option.indexOf("=");
  return at < 0 ? option : `${option.slice(0, at)}=${quoteLiteral(option.slice(at + 1))}`;
}

/** The parameter name of a `name=value` storage setting. */
function storageName(option: string): string {
  const at = option.indexOf("=");
  return at < 0 ? option : option.slice(0, at);
}

/**
 * A new serial column whose sequence differs from the one `serial` made: ALTER SEQUENCE
 * to its options and its persistence when it differs from the table's. In a new table
 * (`tableUnlogged` known) the sequence restarts at its start, as no value was taken; a
 * column added to an existing table (`tableUnlogged` null) has numbered its rows already,
 * so it does not restart (and its persistence is left as PostgreSQL chose it).
 */
function serialSequenceSettings(schema: string, column: Column, tableUnlogged: boolean | null): string[] {
  const options = column.sequenceOptions ?? null;
  const name = column.sequence ?? null;
  if (options === null || name === null) return [];
  const sequence = qualifiedName(schema, name);
  const statements = [`ALTER SEQUENCE ${sequence} ${sequenceOptions(options)}${tableUnlogged === null ? "" : " RESTART"}`];
  if (tableUnlogged !== null && options.unlogged !== tableUnlogged) statements.push(`ALTER SEQUENCE ${sequence} SET ${options.unlogged ? "UNLOGGED" : "LOGGED"}`);
  return statements;
}

/** A serial column's sequence options changed in place (no RESTART: the sequence holds values already). */
function alterSerialSequence(schema: string, from: Column, to: Column): string[] {
  const name = to.sequence ?? null;
  if (name === null || from.sequence === null || from.sequence === undefined) return [];
  const target = to.sequenceOptions ?? serialSequenceDefaults(to.type, from.sequenceOptions?.unlogged ?? false);
  const source = from.sequenceOptions ?? serialSequenceDefaults(from.type, target?.unlogged ?? false);
  if (target === null || source === null || JSON.stringify(target) === JSON.stringify(source)) return [];
  const sequence = qualifiedName(schema, name);
  const statements = [`ALTER SEQUENCE ${sequence} ${sequenceOptions(target)}`];
  if (source.unlogged !== target.unlogged) statements.push(`ALTER SEQUENCE ${sequence} SET ${target.unlogged ? "UNLOGGED" : "LOGGED"}`);
  return statements;
}

/** A serial column whose sequence is not named as PostgreSQL would name it: rename it to the model's name. */
function renameSerialSequence(schema: string, table: string, column: Column): string[] {
  const name = column.sequence ?? null;
  if (name === null) return [];
  const chosen = defaultSerialSequenceName(table, column.name);
  return name === chosen ? [] : [`ALTER SEQUENCE ${qualifiedName(schema, chosen)} RENAME TO ${quoteIdent(name)}`];
}

/** `"name" type [COLLATE c] [GENERATED ...] [DEFAULT expr] [NOT NULL]`. */
export function columnDefinition(column: Column): string {
  const parts = [quoteIdent(column.name), column.type];
  if (column.collation !== null) parts.push(`COLLATE ${column.collation}`);
  if (column.generated !== null) parts.push(`GENERATED ALWAYS AS (${column.generated.expression}) ${column.generated.kind === "stored" ? "STORED" : "VIRTUAL"}`);
  if (column.identity !== null) parts.push(`GENERATED ${column.identity === "always" ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY`);
  if (column.default !== null) parts.push(`DEFAULT ${column.default}`);
  if (column.notNull) parts.push("NOT NULL");
  return parts.join(" ");
}

/**
 * ALTER COLUMN steps in an order PostgreSQL accepts: identity dropped before anything
 * else, the default dropped before a type change (it may not cast) and set after, NOT
 * NULL before an identity is added (identity requires it).
 */
function alterColumn(table: string, from: Column, to: Column): string[] {
  const alter = `ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(to.name)}`;
  const statements: string[] = [];
  const typeChanged = from.type !== to.type || from.collation !== to.collation;
  const defaultChanged = from.default !== to.default;
  if (from.identity !== null && to.identity === null) statements.push(`${alter} DROP IDENTITY`);
  if (from.default !== null && (typeChanged || defaultChanged)) statements.push(`${alter} DROP DEFAULT`);
  if (typeChanged) {
    const collate = to.collation !== null ? ` COLLATE ${to.collation}` : "";
    const using = from.type === to.type ? "" : usingClause(quoteIdent(to.name), from.type, to.type);
    statements.push(`${alter} TYPE ${to.type}${collate}${using}`);
  }
  if (from.notNull !== to.notNull) statements.push(`${alter} ${to.notNull ? "SET" : "DROP"} NOT NULL`);
  if (to.default !== null && (typeChanged || defaultChanged)) statements.push(`${alter} SET DEFAULT ${to.default}`);
  if (from.identity === null && to.identity !== null) statements.push(`${alter} ADD GENERATED ${to.identity === "always" ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY`);
  else if (from.identity !== null && to.identity !== null && from.identity !== to.identity)
    statements.push(`${alter} SET GENERATED ${to.identity === "always" ? "ALWAYS" : "BY DEFAULT"}`);
  return statements;
}

/**
 * The USING clause of a type change, or "" when PostgreSQL's own assignment cast is
 * enough (a widening such as integer → bigint). Built-in types cast directly; a
 * user-defined type (printed schema-qualified, e.g. an enum) has no cast from or to other
 * types, so the value goes through text.
 */
function usingClause(column: string, from: string, to: string): string {
  if (isWideningType(from, to)) return "";
  const userDefined = (type: string): boolean => type.replace(/\[\]$/, "").includes(".");
  if (to === "text" || to === "text[]" || !(userDefined(from) || userDefined(to))) return ` USING ${column}::${to}`;
  return ` USING ${column}::${to.endsWith("[]") ? "text[]" : "text"}::${to}`;
}

function constraintClause(constraint: Constraint): string {
  return `CONSTRAINT ${quoteIdent(constraint.name)} ${constraint.definition}`;
}

const actionSql: Record<ForeignKey["onDelete"], string> = {
  "no action": "NO ACTION",
  restrict: "RESTRICT",
  cascade: "CASCADE",
  "set null": "SET NULL",
  "set default": "SET DEFAULT",
};

/** `FOREIGN KEY (...) REFERENCES ...`, built from the structured fields (so declared renames apply). */
export function foreignKeyClause(foreignKey: ForeignKey): string {
  const parts = [
    `FOREIGN KEY (${foreignKey.columns.map(quoteIdent).join(", ")})`,
    `REFERENCES ${qualifiedName(foreignKey.references.schema, foreignKey.references.table)} (${foreignKey.references.columns.map(quoteIdent).join(", ")})`,
  ];
  if (foreignKey.match === "full") parts.push("MATCH FULL");
  if (foreignKey.onUpdate !== "no action") parts.push(`ON UPDATE ${actionSql[foreignKey.onUpdate]}`);
  if (foreignKey.onDelete !== "no action") parts.push(`ON DELETE ${actionSql[foreignKey.onDelete]}`);
  if (foreignKey.deferrable) parts.push(foreignKey.initiallyDeferred ? "DEFERRABLE INITIALLY DEFERRED" : "DEFERRABLE");
  return parts.join(" ");
}

/** CREATE INDEX, then the statistics targets of its expression columns. */
function createIndex(schema: string, table: string, index: Index): string[] {
  const statements = [`CREATE ${index.unique ? "UNIQUE " : ""}INDEX ${quoteIdent(index.name)} ON ${qualifiedName(schema, table)} ${index.definition}`];
  for (const { column, target } of index.statistics ?? []) statements.push(`ALTER INDEX ${qualifiedName(schema, index.name)} ALTER COLUMN ${column} SET STATISTICS ${target}`);
  return statements;
}

function createView(view: View, replace: boolean): string[] {
  const kind = view.materialized === true ? "MATERIALIZED VIEW" : `${replace ? "OR REPLACE " : ""}VIEW`;
  const statements = [`CREATE ${kind} ${qualifiedName(view.schema, view.name)} AS ${view.definition}`];
  for (const index of view.indexes ?? []) statements.push(...createIndex(view.schema, view.name, index));
  if (view.comment !== null) statements.push(comment({ kind: view.materialized === true ? "materialized view" : "view", schema: view.schema, name: view.name }, view.comment));
  return statements;
}

function createDomain(domain: Domain): string {
  const parts = [`CREATE DOMAIN ${qualifiedName(domain.schema, domain.name)} AS ${domain.type}`];
  if (domain.collation !== null) parts.push(`COLLATE ${domain.collation}`);
  if (domain.default !== null) parts.push(`DEFAULT ${domain.default}`);
  if (domain.notNull) parts.push("NOT NULL");
  for (const constraint of domain.constraints) parts.push(`CONSTRAINT ${quoteIdent(constraint.name)} ${constraint.definition}`);
  return parts.join(" ");
}

function createCompositeType(type: CompositeType): string {
  const attributes = type.attributes.map((a) => `${quoteIdent(a.name)} ${a.type}${a.collation === null ? "" : ` COLLATE ${a.collation}`}`);
  return `CREATE TYPE ${qualifiedName(type.schema, type.name)} AS (${attributes.join(", ")})`;
}

function createPolicy(schema: string, table: string, policy: Policy): string {
  const parts = [`CREATE POLICY ${quoteIdent(policy.name)} ON ${qualifiedName(schema, table)} AS ${policy.permissive ? "PERMISSIVE" : "RESTRICTIVE"} FOR ${policy.command}`];
  parts.push(`TO ${policy.roles.join(", ")}`);
  if (policy.using !== null) parts.push(`USING (${policy.using})`);
  if (policy.withCheck !== null) parts.push(`WITH CHECK (${policy.withCheck})`);
  return parts.join(" ");
}

function alterTableFlags(table: string, from: TableFlags, to: TableFlags): string[] {
  const statements: string[] = [];
  const key = (q: { schema: string; name: string }): string => qualifiedName(q.schema, q.name);
  const fromParents = from.inherits.map(key);
  const toParents = to.inherits.map(key);
  for (const parent of fromParents) if (!toParents.includes(parent)) statements.push(`ALTER TABLE ${table} NO INHERIT ${parent}`);
  for (const parent of toParents) if (!fromParents.includes(parent)) statements.push(`ALTER TABLE ${table} INHERIT ${parent}`);
  if (from.unlogged !== to.unlogged) statements.push(`ALTER TABLE ${table} SET ${to.unlogged ? "UNLOGGED" : "LOGGED"}`);
  const reset = from.storage.map(storageName).filter((name) => !to.storage.some((option) => storageName(option) === name));
  const set = to.storage.filter((option) => !from.storage.includes(option));
  if (reset.length > 0) statements.push(`ALTER TABLE ${table} RESET (${reset.join(", ")})`);
  if (set.length > 0) statements.push(`ALTER TABLE ${table} SET (${set.map(storageSetting).join(", ")})`);
  if (from.rowSecurity !== to.rowSecurity) statements.push(`ALTER TABLE ${table} ${to.rowSecurity ? "ENABLE" : "DISABLE"} ROW LEVEL SECURITY`);
  if (from.forceRowSecurity !== to.forceRowSecurity) statements.push(`ALTER TABLE ${table} ${to.forceRowSecurity ? "FORCE" : "NO FORCE"} ROW LEVEL SECURITY`);
  return statements;
}

function comment(target: CommentTarget, text: string | null): string {
  return `COMMENT ON ${commentObject(target)} IS ${text === null ? "NULL" : quoteLiteral(text)}`;
}

/** What follows COMMENT ON: `COLUMN public.t.c`, `CONSTRAINT c ON public.t`, `FUNCTION public.f(a integer)`. */
function commentObject(target: ObjectRef): string {
  switch (target.kind) {
    case "column":
      return `COLUMN ${qualifiedName(target.schema, target.table)}.${quoteIdent(target.column)}`;
    case "constraint":
    case "trigger":
    case "policy":
    case "rule":
      return `${target.kind.toUpperCase()} ${quoteIdent(target.name)} ON ${qualifiedName(target.schema, target.table)}`;
    case "domain constraint":
      return `CONSTRAINT ${quoteIdent(target.name)} ON DOMAIN ${qualifiedName(target.schema, target.table)}`;
    case "function":
    case "procedure":
      return `${target.kind.toUpperCase()} ${qualifiedName(target.schema, target.name)}(${target.arguments})`;
    case "aggregate":
      // COMMENT ON AGGREGATE takes argument types only (`*` for none); ROUTINE takes the function form.
      return `ROUTINE ${qualifiedName(target.schema, target.name)}(${target.arguments})`;
    case "operator":
      return `OPERATOR ${quoteIdent(target.schema)}.${target.name} (${target.left}, ${target.right})`;
    case "schema":
    case "extension":
      return `${target.kind.toUpperCase()} ${quoteIdent(target.name)}`;
    default:
      return `${target.kind.toUpperCase()} ${qualifiedName(target.schema, target.name)}`;
  }
}
