/**
 * The diff: two schema models → the ordered operations that turn the first into the
 * second, each with its inverse. Pure: no database, no clock, no file system.
 *
 * Order (upgrade, see phaseOrder): schemas, extensions, types (enums, domains, composite
 * types, range types), sequences, functions (their bodies are not checked at creation, as pg_dump
 * does), operators, declared renames, drops of triggers, policies, views and foreign keys,
 * constraint and index drops, table drops, table creations (parents before children),
 * column changes, table flags, constraints and indexes, foreign keys, views, functions
 * whose signature uses a table's row type, triggers, rules, policies, comments, then drops of
 * operators, functions, sequences, types, extensions and schemas that nothing uses any more. The downgrade is the inverse
 * of each operation in reverse order, so it is ordered correctly by construction.
 *
 * Renames are never guessed: a table or column that disappears while another appears is
 * a drop and an add unless `renames` declares it.
 */
import type { Column, Constraint, EnumType, Extension, ForeignKey, Index, Policy, Routine, Rule, SchemaModel, Sequence, Table, Trigger, View } from "./model.js";
import { objectKey, operatorKey, routineKey, sameSequenceOptions, sameSerialSequence } from "./model.js";
import type { EnumDependents, EnumUsage, Operation, SchemaChange, TableFlags } from "./operations.js";
import { describeOperation, destructiveReason, enumAdditions, invertOperation } from "./operations.js";
import { identifierValue, tokenize } from "../sql/lexer.js";
import type { Token } from "../sql/lexer.js";
import { printIdentifier } from "./sql-text.js";
import { DiffError } from "./errors.js";
import { diffAnnotations } from "./annotations.js";

/**
 * Renames the diff must treat as renames (never guessed). Names are `schema.table` /
 * `schema.table.column`, or without the schema for `defaultSchema` (public); a part that
 * holds a dot is written in double quotes. For a column, `to` may be the bare new name.
 *
 * @example
 * { table: [["public.customers", "public.clients"]], column: [["public.clients.name", "full_name"]] }
 */
export interface Renames {
  readonly table?: readonly (readonly [from: string, to: string])[];
  readonly column?: readonly (readonly [from: string, to: string])[];
}

/** Options of diffModels / diffSchemas. */
export interface DiffOptions {
  readonly renames?: Renames;
  /** Schema of names given without one in `renames` (default `public`). */
  readonly defaultSchema?: string;
  /** Compare grants and default privileges (the config's `autogenerate.privileges`; default false). */
  readonly privileges?: boolean;
}

const phaseOrder = [
  // Comments and grants of objects that go or are rebuilt, taken off while everything still exists (see annotations.ts).
  "dropAnnotation",
  "createSchema",
  "createExtension",
  "enum",
  "domain",
  "compositeType",
  "rangeType",
  "sequence",
  "routine",
  "operator",
  "rename",
  "dropTrigger",
  "dropRule",
  "dropPolicy",
  "dropLateRoutine",
  "dropView",
  "dropForeignKey",
  "dropKey",
  "dropTable",
  "createTable",
  "recreateDropColumn",
  "addColumn",
  "alterColumn",
  "dropColumn",
  "tableFlags",
  "addKey",
  "addForeignKey",
  "view",
  "lateRoutine",
  "trigger",
  "rule",
  "policy",
  "comment",
  "annotation",
  "dropOperator",
  "dropRoutine",
  "dropSequence",
  "dropRangeType",
  "dropCompositeType",
  "dropDomain",
  "dropEnum",
  "dropExtension",
  "dropSchema",
] as const;
const Phase = Object.fromEntries(phaseOrder.map((name, index) => [name, index])) as { readonly [K in (typeof phaseOrder)[number]]: number };
const phaseCount = phaseOrder.length;

/**
 * The changes that turn `from` into `to`, in the order to run them.
 *
 * @example
 * const changes = diffModels(await introspect(db, opts), declaredModel);
 * for (const change of changes) console.log(change.summary, change.destructive ? "(destructive)" : "");
 */
export function diffModels(from: SchemaModel, to: SchemaModel, options: DiffOptions = {}): SchemaChange[] {
  const phases: Operation[][] = Array.from({ length: phaseCount }, () => []);
  const push = (phase: number, operation: Operation): void => {
    (phases[phase] as Operation[]).push(operation);
  };
  const renamed = applyRenames(from, to, options.renames ?? {}, options.defaultSchema ?? "public");
  for (const operation of renamed.operations) push(Phase.rename, operation);
  const current = renamed.model;

  // Schemas.
  const fromSchemas = new Set(current.schemas);
  const toSchemas = new Set(to.schemas);
  for (const schema of to.schemas) if (!fromSchemas.has(schema)) push(Phase.createSchema, { kind: "create-schema", schema });
  for (const schema of current.schemas) if (!toSchemas.has(schema)) push(Phase.dropSchema, { kind: "drop-schema", schema });

  diffExtensions(current, to, push);
  diffTypes(current, to, push);
  diffRoutines(current, to, push);
  diffOperators(current, to, push);
  diffDefinitions(current.rangeTypes ?? [], to.rangeTypes ?? [], (t) => objectKey(t.schema, t.name), push, {
    create: [Phase.rangeType, (type) => ({ kind: "create-range-type", type })],
    drop: [Phase.dropRangeType, (type) => ({ kind: "drop-range-type", type })],
    // A changed range type is dropped where it is created again (columns using it make that fail, with the server's message).
    replaceDrop: Phase.rangeType,
  });

  // Enums. Usages come from the original model: enum operations run before the renames, and their inverses after.
  const fromEnums = byKey(current.enums);
  const toEnums = byKey(to.enums);
  for (const target of to.enums) {
    const existing = fromEnums.get(objectKey(target.schema, target.name));
    if (!existing) push(Phase.enum, { kind: "create-enum", enum: target });
    else if (!sameList(existing.values, target.values)) {
      const usages = enumUsages(from, existing);
      const dependents = enumDependents(from, existing, usages);
      const additions = enumAdditions(existing.values, target.values);
      if (additions !== null) push(Phase.enum, { kind: "add-enum-values", from: existing, to: target, additions, usages, dependents });
      else push(Phase.enum, { kind: "recreate-enum", from: existing, to: target, usages, dependents });
    }
  }
  for (const existing of current.enums) if (!toEnums.has(objectKey(existing.schema, existing.name))) push(Phase.dropEnum, { kind: "drop-enum", enum: existing });

  // Sequences.
  const fromSequences = byKey(current.sequences);
  const toSequences = byKey(to.sequences);
  for (const target of to.sequences) {
    const existing = fromSequences.get(objectKey(target.schema, target.name));
    if (!existing) push(Phase.sequence, { kind: "create-sequence", sequence: target });
    else if (!sameSequenceOptions(existing, target)) push(Phase.sequence, { kind: "alter-sequence", from: existing, to: target });
  }
  for (const existing of current.sequences)
    if (!toSequences.has(objectKey(existing.schema, existing.name))) push(Phase.dropSequence, { kind: "drop-sequence", sequence: existing });

  // Tables.
  const fromTables = byKey(current.tables);
  const toTables = byKey(to.tables);
  /** Columns dropped, retyped or recreated, per table ("all" for a dropped table): views reading them are rebuilt. */
  const reshaped: Reshaped = new Map();
  /** Tables whose keys (primary key, unique constraints or indexes) are dropped or rebuilt: foreign keys pointing at them are re-added. */
  const rekeyedTables = new Set<string>();
  /** Foreign keys already dropped and re-added, as table key + name. */
  const handledForeignKeys = new Set<string>();
  for (const target of to.tables) {
    const key = objectKey(target.schema, target.name);
    const existing = fromTables.get(key);
    if (!existing) {
      push(Phase.createTable, { kind: "create-table", table: { ...target, foreignKeys: [], policies: [] } });
      for (const policy of target.policies ?? []) push(Phase.policy, { kind: "create-policy", schema: target.schema, table: target.name, policy });
      for (const foreignKey of target.foreignKeys) push(Phase.addForeignKey, { kind: "add-foreign-key", schema: target.schema, table: target.name, foreignKey });
      continue;
    }
    diffTable(existing, target, { push, reshaped, rekeyedTables, handledForeignKeys });
  }
  for (const existing of current.tables) {
    const key = objectKey(existing.schema, existing.name);
    if (toTables.has(key)) continue;
    reshaped.set(key, "all");
    for (const policy of existing.policies ?? []) push(Phase.dropPolicy, { kind: "drop-policy", schema: existing.schema, table: existing.name, policy });
    for (const foreignKey of existing.foreignKeys) push(Phase.dropForeignKey, { kind: "drop-foreign-key", schema: existing.schema, table: existing.name, foreignKey });
    push(Phase.dropTable, { kind: "drop-table", table: { ...existing, foreignKeys: [], policies: [] } });
  }
  // A key that is dropped or rebuilt takes the foreign keys that point at it with it: drop them first, add them back after.
  for (const target of to.tables) {
    const existing = fromTables.get(objectKey(target.schema, target.name));
    if (!existing) continue;
    for (const foreignKey of target.foreignKeys) {
      const handledKey = `${objectKey(target.schema, target.name)}\u0000${foreignKey.name}`;
      if (handledForeignKeys.has(handledKey)) continue;
      if (!rekeyedTables.has(objectKey(foreignKey.references.schema, foreignKey.references.table))) continue;
      const old = existing.foreignKeys.find((fk) => fk.name === foreignKey.name);
      if (!old) continue;
      push(Phase.dropForeignKey, { kind: "drop-foreign-key", schema: existing.schema, table: existing.name, foreignKey: old });
      push(Phase.addForeignKey, { kind: "add-foreign-key", schema: target.schema, table: target.name, foreignKey });
    }
  }

  const rebuiltViews = diffViews(current, to, reshaped, push);
  diffOnRelations(current.triggers ?? [], to.triggers ?? [], rebuiltViews, push, {
    create: [Phase.trigger, (trigger) => ({ kind: "create-trigger", trigger })],
    drop: [Phase.dropTrigger, (trigger) => ({ kind: "drop-trigger", trigger })],
  });
  diffOnRelations(current.rules ?? [], to.rules ?? [], rebuiltViews, push, {
    create: [Phase.rule, (rule) => ({ kind: "create-rule", rule })],
    drop: [Phase.dropRule, (rule) => ({ kind: "drop-rule", rule })],
  });

  // Parents before children (INHERITS), and children dropped before their parents.
  phases[Phase.createTable] = inheritanceOrder(phases[Phase.createTable] as Operation[]);
  phases[Phase.dropTable] = inheritanceOrder([...(phases[Phase.dropTable] as Operation[])].reverse()).reverse();

  // Generated columns read other columns: add them after, drop them before, the columns they read.
  const generatedLast = (a: Operation, b: Operation): number => Number(isGeneratedColumn(a)) - Number(isGeneratedColumn(b));
  (phases[Phase.addColumn] as Operation[]).sort(generatedLast);
  (phases[Phase.dropColumn] as Operation[]).sort((a, b) => -generatedLast(a, b));
  (phases[Phase.recreateDropColumn] as Operation[]).sort((a, b) => -generatedLast(a, b));
  const annotations = diffAnnotations(from, to, phases.flat(), { privileges: options.privileges ?? false });
  phases[Phase.dropAnnotation] = annotations.early;
  phases[Phase.annotation] = annotations.late;
  const operations = phases.flat();
  return operations.map((operation) => {
    const inverse = invertOperation(operation);
    const reason = destructiveReason(operation);
    return {
      operation,
      inverse,
      destructive: reason !== null,
      reason,
      inverseDestructive: destructiveReason(inverse) !== null,
      summary: describeOperation(operation),
    };
  });
}

/** Per table key: the columns whose shape changes, or "all" when the table goes away. */
type Reshaped = Map<string, Set<string> | "all">;

function reshape(reshaped: Reshaped, table: string, column: string): void {
  const columns = reshaped.get(table);
  if (columns === "all") return;
  if (columns) columns.add(column);
  else reshaped.set(table, new Set([column]));
}

function isGeneratedColumn(operation: Operation): boolean {
  return (operation.kind === "add-column" || operation.kind === "drop-column") && operation.column.generated !== null;
}

interface TableDiffContext {
  push(phase: number, operation: Operation): void;
  reshaped: Reshaped;
  rekeyedTables: Set<string>;
  handledForeignKeys: Set<string>;
}

function diffTable(existing: Table, target: Table, context: TableDiffContext): void {
  const { push } = context;
  const schema = target.schema;
  const table = target.name;
  if ((existing.partitionBy ?? null) !== (target.partitionBy ?? null) || JSON.stringify(existing.partitionOf ?? null) !== JSON.stringify(target.partitionOf ?? null))
    throw new DiffError("partitioning-changed", `the partitioning of table ${schema}.${table} changes: athanor does not generate that change`, {
      hint: "Write it by hand (create the new table, ATTACH or DETACH PARTITION, copy the rows), then run `revision --autogenerate` again for the rest.",
    });
  const key = objectKey(schema, table);
  const existingColumns = new Map(existing.columns.map((c) => [c.name, c]));
  const targetColumns = new Set(target.columns.map((c) => c.name));
  /** Columns dropped and added again (generated expression or serial-ness changed): whatever mentions them is rebuilt too. */
  const recreated: string[] = [];
  for (const column of target.columns) {
    const old = existingColumns.get(column.name);
    if (!old) {
      push(Phase.addColumn, { kind: "add-column", schema, table, column });
      continue;
    }
    if (mustRecreateColumn(old, column)) {
      recreated.push(column.name);
      reshape(context.reshaped, key, column.name);
      push(Phase.recreateDropColumn, { kind: "drop-column", schema, table, column: old });
      push(Phase.addColumn, { kind: "add-column", schema, table, column });
      continue;
    }
    if (!sameColumnShape(old, column)) {
      push(Phase.alterColumn, { kind: "alter-column", schema, table, from: old, to: column });
      if (old.type !== column.type || old.collation !== column.collation) reshape(context.reshaped, key, column.name);
    }
    if (old.comment !== column.comment)
      push(Phase.comment, { kind: "set-comment", target: { kind: "column", schema, table, column: column.name }, from: old.comment, to: column.comment });
  }
  for (const old of existing.columns) {
    if (targetColumns.has(old.name)) continue;
    reshape(context.reshaped, key, old.name);
    push(Phase.dropColumn, { kind: "drop-column", schema, table, column: old });
  }
  const touchesRecreated = (definition: string): boolean => recreated.length > 0 && mentionsAny(definition, recreated);

  // Primary key and other constraints.
  const oldKeys: Constraint[] = [...(existing.primaryKey ? [existing.primaryKey] : []), ...existing.constraints];
  const newKeys: Constraint[] = [...(target.primaryKey ? [target.primaryKey] : []), ...target.constraints];
  const oldByName = new Map(oldKeys.map((c) => [c.name, c]));
  const newByName = new Map(newKeys.map((c) => [c.name, c]));
  for (const constraint of newKeys) {
    const old = oldByName.get(constraint.name);
    if (old && old.kind === constraint.kind && old.definition === constraint.definition && !touchesRecreated(old.definition)) continue;
    if (old) push(Phase.dropKey, { kind: "drop-constraint", schema, table, constraint: old });
    push(Phase.addKey, { kind: "add-constraint", schema, table, constraint });
    if (old && (old.kind === "primary-key" || old.kind === "unique")) context.rekeyedTables.add(key);
  }
  for (const old of oldKeys) {
    if (newByName.has(old.name)) continue;
    push(Phase.dropKey, { kind: "drop-constraint", schema, table, constraint: old });
    if (old.kind === "primary-key" || old.kind === "unique") context.rekeyedTables.add(key);
  }

  // Foreign keys.
  const oldForeignKeys = new Map(existing.foreignKeys.map((fk) => [fk.name, fk]));
  const newForeignKeyNames = new Set(target.foreignKeys.map((fk) => fk.name));
  for (const foreignKey of target.foreignKeys) {
    const old = oldForeignKeys.get(foreignKey.name);
    if (old && sameForeignKey(old, foreignKey) && !foreignKey.columns.some((c) => recreated.includes(c))) continue;
    if (old) push(Phase.dropForeignKey, { kind: "drop-foreign-key", schema, table, foreignKey: old });
    push(Phase.addForeignKey, { kind: "add-foreign-key", schema, table, foreignKey });
    context.handledForeignKeys.add(`${key}\u0000${foreignKey.name}`);
  }
  for (const old of existing.foreignKeys)
    if (!newForeignKeyNames.has(old.name)) push(Phase.dropForeignKey, { kind: "drop-foreign-key", schema, table, foreignKey: old });
  if (recreated.length > 0) context.rekeyedTables.add(key);

  // Indexes.
  const oldIndexes = new Map(existing.indexes.map((i) => [i.name, i]));
  const newIndexNames = new Set(target.indexes.map((i) => i.name));
  for (const index of target.indexes) {
    const old = oldIndexes.get(index.name);
    if (old && sameIndex(old, index) && !touchesRecreated(old.definition)) continue;
    if (old) push(Phase.dropKey, { kind: "drop-index", schema, table, index: old });
    push(Phase.addKey, { kind: "create-index", schema, table, index });
    if (old?.unique) context.rekeyedTables.add(key);
  }
  for (const old of existing.indexes) {
    if (newIndexNames.has(old.name)) continue;
    push(Phase.dropKey, { kind: "drop-index", schema, table, index: old });
    if (old.unique) context.rekeyedTables.add(key);
  }

  if (existing.comment !== target.comment)
    push(Phase.comment, { kind: "set-comment", target: { kind: "table", schema, name: table }, from: existing.comment, to: target.comment });

  const fromFlags = tableFlags(existing);
  const toFlags = tableFlags(target);
  if (!sameTableFlags(fromFlags, toFlags)) push(Phase.tableFlags, { kind: "alter-table-flags", schema, table, from: fromFlags, to: toFlags });

  const oldPolicies = new Map((existing.policies ?? []).map((p) => [p.name, p]));
  const newPolicyNames = new Set((target.policies ?? []).map((p) => p.name));
  for (const policy of target.policies ?? []) {
    const old = oldPolicies.get(policy.name);
    if (old && samePolicy(old, policy)) continue;
    if (old) push(Phase.dropPolicy, { kind: "drop-policy", schema, table, policy: old });
    push(Phase.policy, { kind: "create-policy", schema, table, policy });
  }
  for (const old of existing.policies ?? []) if (!newPolicyNames.has(old.name)) push(Phase.dropPolicy, { kind: "drop-policy", schema, table, policy: old });
}

function tableFlags(table: Table): TableFlags {
  return { unlogged: table.unlogged ?? false, storage: table.storage ?? [], inherits: table.inherits ?? [], rowSecurity: table.rowSecurity ?? false, forceRowSecurity: table.forceRowSecurity ?? false };
}

function sameTableFlags(a: TableFlags, b: TableFlags): boolean {
  return (
    a.unlogged === b.unlogged &&
    sameList(a.storage, b.storage) &&
    a.rowSecurity === b.rowSecurity &&
    a.forceRowSecurity === b.forceRowSecurity &&
    sameList(
      a.inherits.map((q) => objectKey(q.schema, q.name)),
      b.inherits.map((q) => objectKey(q.schema, q.name)),
    )
  );
}

function samePolicy(a: Policy, b: Policy): boolean {
  return a.permissive === b.permissive && a.command === b.command && sameList(a.roles, b.roles) && a.using === b.using && a.withCheck === b.withCheck;
}

/** create-table (or drop-table) operations with each table after the parents it inherits from (ties keep their order). */
function inheritanceOrder(operations: readonly Operation[]): Operation[] {
  const tableOf = (operation: Operation): Table | null => (operation.kind === "create-table" || operation.kind === "drop-table" ? operation.table : null);
  const byKeyMap = new Map<string, Operation>();
  for (const operation of operations) {
    const table = tableOf(operation);
    if (table) byKeyMap.set(objectKey(table.schema, table.name), operation);
  }
  const done = new Set<Operation>();
  const out: Operation[] = [];
  const visit = (operation: Operation, depth: number): void => {
    if (done.has(operation) || depth > operations.length) return;
    const table = tableOf(operation);
    const parents = [...(table?.inherits ?? []), ...(table?.partitionOf ? [table.partitionOf] : [])];
    for (const parent of parents) {
      const other = byKeyMap.get(objectKey(parent.schema, parent.name));
      if (other) visit(other, depth + 1);
    }
    if (done.has(operation)) return;
    done.add(operation);
    out.push(operation);
  };
  for (const operation of operations) visit(operation, 0);
  return out;
}

function diffExtensions(current: SchemaModel, to: SchemaModel, push: (phase: number, operation: Operation) => void): void {
  const fromNames = new Set((current.extensions ?? []).map((e) => e.name));
  const toNames = new Set((to.extensions ?? []).map((e) => e.name));
  // The version is not compared: the shadow PGlite ships its own versions of contrib extensions.
  const changed = (to.extensions ?? []).filter((e) => {
    const old = (current.extensions ?? []).find((o) => o.name === e.name);
    return old !== undefined && old.schema !== e.schema;
  });
  const created = extensionOrder((to.extensions ?? []).filter((e) => !fromNames.has(e.name)));
  const dropped = extensionOrder((current.extensions ?? []).filter((e) => !toNames.has(e.name))).reverse();
  for (const extension of changed) {
    const old = (current.extensions ?? []).find((o) => o.name === extension.name) as Extension;
    push(Phase.dropExtension, { kind: "drop-extension", extension: old });
    push(Phase.createExtension, { kind: "create-extension", extension });
  }
  for (const extension of created) push(Phase.createExtension, { kind: "create-extension", extension });
  for (const extension of dropped) push(Phase.dropExtension, { kind: "drop-extension", extension });
}

/** Extensions with each after those it requires. */
function extensionOrder(extensions: readonly Extension[]): Extension[] {
  const byName = new Map(extensions.map((e) => [e.name, e]));
  const done = new Set<string>();
  const out: Extension[] = [];
  const visit = (extension: Extension): void => {
    if (done.has(extension.name)) return;
    done.add(extension.name);
    for (const required of extension.requires) {
      const other = byName.get(required);
      if (other) visit(other);
    }
    out.push(extension);
  };
  for (const extension of extensions) visit(extension);
  return out;
}

/**
 * Domains and composite types. A changed one is dropped and created again, which
 * PostgreSQL refuses while a column uses it (the error names the column).
 */
function diffTypes(current: SchemaModel, to: SchemaModel, push: (phase: number, operation: Operation) => void): void {
  const fromDomains = byKey(current.domains ?? []);
  const toDomains = byKey(to.domains ?? []);
  for (const domain of to.domains ?? []) {
    const old = fromDomains.get(objectKey(domain.schema, domain.name));
    if (old && JSON.stringify(old) === JSON.stringify(domain)) continue;
    if (old) push(Phase.domain, { kind: "drop-domain", domain: old });
    push(Phase.domain, { kind: "create-domain", domain });
  }
  for (const old of current.domains ?? []) if (!toDomains.has(objectKey(old.schema, old.name))) push(Phase.dropDomain, { kind: "drop-domain", domain: old });
  const fromTypes = byKey(current.compositeTypes ?? []);
  const toTypes = byKey(to.compositeTypes ?? []);
  for (const type of to.compositeTypes ?? []) {
    const old = fromTypes.get(objectKey(type.schema, type.name));
    if (old && JSON.stringify(old) === JSON.stringify(type)) continue;
    if (old) push(Phase.compositeType, { kind: "drop-composite-type", type: old });
    push(Phase.compositeType, { kind: "create-composite-type", type });
  }
  for (const old of current.compositeTypes ?? []) if (!toTypes.has(objectKey(old.schema, old.name))) push(Phase.dropCompositeType, { kind: "drop-composite-type", type: old });
}

/**
 * Functions and procedures, by schema, name and argument types. A changed definition is
 * CREATE OR REPLACE (PostgreSQL refuses a changed return type that way: the error says so).
 * One whose signature uses a table's row type comes after the tables, and goes before them.
 */
function diffRoutines(current: SchemaModel, to: SchemaModel, push: (phase: number, operation: Operation) => void): void {
  const fromRoutines = new Map((current.routines ?? []).map((r) => [routineKey(r), r]));
  const toRoutines = new Set((to.routines ?? []).map((r) => routineKey(r)));
  const late = (routine: Routine): boolean => routine.usesRelations.length > 0;
  // Aggregates after the functions they are made of, and dropped before them.
  const aggregatesLast = (routines: readonly Routine[]): Routine[] => [...routines.filter((r) => r.kind !== "aggregate"), ...routines.filter((r) => r.kind === "aggregate")];
  for (const routine of aggregatesLast(to.routines ?? [])) {
    const old = fromRoutines.get(routineKey(routine));
    if (old && old.definition === routine.definition && old.kind === routine.kind) continue;
    if (old && old.kind === routine.kind && routine.kind !== "aggregate") {
      push(late(routine) ? Phase.lateRoutine : Phase.routine, { kind: "replace-routine", from: old, to: routine });
      continue;
    }
    // Dropped just before it is created again (an aggregate has no CREATE OR REPLACE; nor has a change of kind).
    if (old) push(late(routine) ? Phase.lateRoutine : Phase.routine, { kind: "drop-routine", routine: old });
    push(late(routine) ? Phase.lateRoutine : Phase.routine, { kind: "create-routine", routine });
  }
  for (const old of aggregatesLast(current.routines ?? []).reverse())
    if (!toRoutines.has(routineKey(old))) push(late(old) ? Phase.dropLateRoutine : Phase.dropRoutine, { kind: "drop-routine", routine: old });
}

/**
 * Objects compared by one definition text: created in one phase, dropped in another, a
 * changed one dropped (in `replaceDrop`) and created again.
 */
function diffDefinitions<T extends { readonly definition: string }>(
  from: readonly T[],
  to: readonly T[],
  key: (item: T) => string,
  push: (phase: number, operation: Operation) => void,
  phases: { create: [number, (item: T) => Operation]; drop: [number, (item: T) => Operation]; replaceDrop: number },
): void {
  const old = new Map(from.map((item) => [key(item), item]));
  const wanted = new Set(to.map(key));
  for (const item of to) {
    const existing = old.get(key(item));
    if (existing && existing.definition === item.definition) continue;
    if (existing) push(phases.replaceDrop, phases.drop[1](existing));
    push(phases.create[0], phases.create[1](item));
  }
  for (const item of from) if (!wanted.has(key(item))) push(phases.drop[0], phases.drop[1](item));
}

/**
 * Operators after the functions they call, before the tables whose indexes and
 * constraints may use them; dropped late, after those. A changed one is dropped and
 * created again where it is created.
 */
function diffOperators(current: SchemaModel, to: SchemaModel, push: (phase: number, operation: Operation) => void): void {
  diffDefinitions(current.operators ?? [], to.operators ?? [], operatorKey, push, {
    create: [Phase.operator, (operator) => ({ kind: "create-operator", operator })],
    drop: [Phase.dropOperator, (operator) => ({ kind: "drop-operator", operator })],
    replaceDrop: Phase.operator,
  });
}

/** Triggers or rules, by table and name; those on a view that is rebuilt are created again with it. */
function diffOnRelations<T extends Trigger | Rule>(
  from: readonly T[],
  to: readonly T[],
  rebuiltViews: ReadonlySet<string>,
  push: (phase: number, operation: Operation) => void,
  phases: { create: [number, (item: T) => Operation]; drop: [number, (item: T) => Operation] },
): void {
  const key = (t: T): string => `${objectKey(t.schema, t.table)}\u0000${t.name}`;
  const old = new Map(from.map((t) => [key(t), t]));
  const wanted = new Set(to.map(key));
  for (const item of to) {
    const existing = old.get(key(item));
    const rebuilt = rebuiltViews.has(objectKey(item.schema, item.table));
    if (existing && existing.definition === item.definition && !rebuilt) continue;
    // One on a rebuilt view would go away with the view; dropped first all the same, so that the downgrade creates it again.
    if (existing) push(phases.drop[0], phases.drop[1](existing));
    push(phases.create[0], phases.create[1](item));
  }
  for (const item of from) if (!wanted.has(key(item))) push(phases.drop[0], phases.drop[1](item));
}

/** Returns the keys of the views that are dropped and created again (their triggers go with them). */
function diffViews(current: SchemaModel, to: SchemaModel, reshaped: Reshaped, push: (phase: number, operation: Operation) => void): Set<string> {
  const fromViews = byKey(current.views);
  const toViews = byKey(to.views);
  const dropped = new Set<string>();
  for (const view of current.views) {
    const key = objectKey(view.schema, view.name);
    if (!toViews.has(key)) dropped.add(key);
  }
  /** Views present on both sides that must be dropped before the table changes and created again after. */
  const rebuilt = new Set<string>();
  const replaced = new Set<string>();
  const readsChanged = (view: View): boolean =>
    view.dependsOn.some((dep) => {
      const key = objectKey(dep.schema, dep.name);
      if (dropped.has(key) || rebuilt.has(key)) return true;
      const columns = reshaped.get(key);
      return columns === "all" || (columns !== undefined && dep.columns.some((c) => columns.has(c)));
    });
  for (const view of to.views) {
    const key = objectKey(view.schema, view.name);
    const old = fromViews.get(key);
    if (!old) continue;
    const changed =
      old.definition !== view.definition ||
      !sameViewColumns(old.columns, view.columns) ||
      (old.materialized ?? false) !== (view.materialized ?? false) ||
      JSON.stringify(old.indexes ?? []) !== JSON.stringify(view.indexes ?? []);
    if (readsChanged(old)) rebuilt.add(key);
    else if (changed) (isReplaceable(old, view) ? replaced : rebuilt).add(key);
  }
  // A view that reads a rebuilt or dropped view must be rebuilt too (to a fixed point).
  for (let grew = true; grew; ) {
    grew = false;
    for (const view of current.views) {
      const key = objectKey(view.schema, view.name);
      if (dropped.has(key) || rebuilt.has(key) || !toViews.has(key)) continue;
      if (readsChanged(view)) {
        rebuilt.add(key);
        replaced.delete(key);
        grew = true;
      }
    }
  }
  const toDrop = current.views.filter((v) => dropped.has(objectKey(v.schema, v.name)) || rebuilt.has(objectKey(v.schema, v.name)));
  for (const view of dependencyOrder(toDrop).reverse()) push(Phase.dropView, { kind: "drop-view", view });
  const toCreate = to.views.filter((v) => {
    const key = objectKey(v.schema, v.name);
    return !fromViews.has(key) || rebuilt.has(key) || replaced.has(key);
  });
  for (const view of dependencyOrder(toCreate)) {
    const key = objectKey(view.schema, view.name);
    const old = fromViews.get(key);
    if (old && replaced.has(key)) push(Phase.view, { kind: "replace-view", from: old, to: view });
    else push(Phase.view, { kind: "create-view", view });
  }
  for (const view of to.views) {
    const key = objectKey(view.schema, view.name);
    const old = fromViews.get(key);
    if (!old || rebuilt.has(key) || old.comment === view.comment) continue;
    push(Phase.comment, {
      kind: "set-comment",
      target: { kind: view.materialized === true ? "materialized view" : "view", schema: view.schema, name: view.name },
      from: old.comment,
      to: view.comment,
    });
  }
  return rebuilt;
}

/**
 * CREATE OR REPLACE VIEW may only append columns; its inverse (the downgrade) would have to
 * remove them, which it cannot. So a view is replaced in place only when its columns stay
 * the same (names and types, in order); otherwise it is dropped and created again.
 */
function isReplaceable(old: View, view: View): boolean {
  // A materialized view has no CREATE OR REPLACE.
  if (old.materialized === true || view.materialized === true) return false;
  return sameViewColumns(old.columns, view.columns) && JSON.stringify(old.indexes ?? []) === JSON.stringify(view.indexes ?? []);
}

/** The views in an order where each comes after the views (of this list) it reads; ties by name. */
function dependencyOrder(views: readonly View[]): View[] {
  const byKeyMap = new Map(views.map((v) => [objectKey(v.schema, v.name), v]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const out: View[] = [];
  const visit = (view: View): void => {
    const key = objectKey(view.schema, view.name);
    if (done.has(key) || visiting.has(key)) return;
    visiting.add(key);
    for (const dep of view.dependsOn) {
      const other = byKeyMap.get(objectKey(dep.schema, dep.name));
      if (other) visit(other);
    }
    visiting.delete(key);
    done.add(key);
    out.push(view);
  };
  for (const view of views) visit(view);
  return out;
}

/** Columns of `model` whose type is `enumType` or an array of it. */
function enumUsages(model: SchemaModel, enumType: EnumType): EnumUsage[] {
  const usages: EnumUsage[] = [];
  for (const table of model.tables)
    for (const column of table.columns)
      if (typeNamesEnum(column.type, enumType)) usages.push({ schema: table.schema, table: table.name, column: column.name, type: column.type, default: column.default });
  return usages;
}

/** Whether a printed type (`public.mood`, `public."Mood"[]`) names the enum. */
function typeNamesEnum(type: string, enumType: EnumType): boolean {
  let base = type;
  while (base.endsWith("[]")) base = base.slice(0, -2);
  const parts = tokenize(base).filter((t) => t.kind !== "space");
  return parts.length === 3 && mentionsType(parts, enumType);
}

/** Whether the tokens hold `schema . name` naming the enum (definitions print types schema-qualified). */
function mentionsType(tokens: readonly Token[], enumType: EnumType): boolean {
  const significant = tokens.filter((t) => t.kind !== "space" && t.kind !== "comment");
  for (let i = 0; i + 2 < significant.length; i++) {
    const [schema, dot, name] = [significant[i], significant[i + 1], significant[i + 2]] as [Token, Token, Token];
    if (dot.text === "." && identifierValue(schema) === enumType.schema && identifierValue(name) === enumType.name) return true;
  }
  return false;
}

/**
 * What a recreation of `enumType` must drop and create again (see EnumDependents): views
 * reading a column of the type (and the views reading them), and indexes and constraints
 * whose definition names the type.
 */
function enumDependents(model: SchemaModel, enumType: EnumType, usages: readonly EnumUsage[]): EnumDependents {
  const used = new Set(usages.map((u) => `${objectKey(u.schema, u.table)}\u0000${u.column}`));
  const views = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const view of model.views) {
      const key = objectKey(view.schema, view.name);
      if (views.has(key)) continue;
      const reads = view.dependsOn.some((dep) => views.has(objectKey(dep.schema, dep.name)) || dep.columns.some((c) => used.has(`${objectKey(dep.schema, dep.name)}\u0000${c}`)));
      if (reads) {
        views.add(key);
        grew = true;
      }
    }
  }
  const indexes: EnumDependents["indexes"][number][] = [];
  const constraints: EnumDependents["constraints"][number][] = [];
  for (const table of model.tables) {
    for (const index of table.indexes) if (mentionsType(tokenize(index.definition), enumType)) indexes.push({ schema: table.schema, table: table.name, index });
    for (const constraint of [...(table.primaryKey ? [table.primaryKey] : []), ...table.constraints])
      if (mentionsType(tokenize(constraint.definition), enumType)) constraints.push({ schema: table.schema, table: table.name, constraint });
  }
  return { views: dependencyOrder(model.views.filter((v) => views.has(objectKey(v.schema, v.name)))), indexes, constraints };
}

const serialTypes = new Set(["smallserial", "serial", "bigserial"]);

/** A change PostgreSQL cannot make with ALTER COLUMN: generated expression, or serial-ness. */
function mustRecreateColumn(old: Column, column: Column): boolean {
  const generatedChanged =
    (old.generated === null) !== (column.generated === null) ||
    (old.generated !== null && column.generated !== null && (old.generated.kind !== column.generated.kind || old.generated.expression !== column.generated.expression));
  const serialChanged = (serialTypes.has(old.type) || serialTypes.has(column.type)) && old.type !== column.type;
  return generatedChanged || serialChanged;
}

function sameColumnShape(a: Column, b: Column): boolean {
  return (
    a.type === b.type &&
    a.notNull === b.notNull &&
    a.default === b.default &&
    a.identity === b.identity &&
    a.collation === b.collation &&
    (a.sequence ?? null) === (b.sequence ?? null) &&
    sameSerialSequence(a.sequenceOptions, b.sequenceOptions) &&
    (a.statistics ?? null) === (b.statistics ?? null)
  );
}


function sameForeignKey(a: ForeignKey, b: ForeignKey): boolean {
  return (
    sameList(a.columns, b.columns) &&
    a.references.schema === b.references.schema &&
    a.references.table === b.references.table &&
    sameList(a.references.columns, b.references.columns) &&
    a.onUpdate === b.onUpdate &&
    a.onDelete === b.onDelete &&
    a.match === b.match &&
    a.deferrable === b.deferrable &&
    a.initiallyDeferred === b.initiallyDeferred
  );
}

function sameIndex(a: Index, b: Index): boolean {
  const statistics = (index: Index): string => JSON.stringify(index.statistics ?? []);
  return a.unique === b.unique && a.definition === b.definition && statistics(a) === statistics(b);
}

function sameViewColumns(a: View["columns"], b: View["columns"]): boolean {
  return a.length === b.length && a.every((c, i) => b[i]?.name === c.name && b[i]?.type === c.type);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => b[i] === value);
}

function byKey<T extends { schema: string; name: string }>(items: readonly T[]): Map<string, T> {
  return new Map(items.map((item) => [objectKey(item.schema, item.name), item]));
}

/** Whether an identifier token of `definition` (outside strings) names one of `columns`. */
function mentionsAny(definition: string, columns: readonly string[]): boolean {
  return tokenize(definition).some((token) => {
    const value = identifierValue(token);
    return value !== null && columns.includes(value);
  });
}

// ---------------------------------------------------------------------------------------
// Declared renames

interface RenameResult {
  model: SchemaModel;
  operations: Operation[];
}

/** Applies the declared renames to `from`, returning the renamed model and the rename operations. */
function applyRenames(from: SchemaModel, to: SchemaModel, renames: Renames, defaultSchema: string): RenameResult {
  const operations: Operation[] = [];
  let tables = [...from.tables];
  let views = [...from.views];
  const toTables = byKey(to.tables);
  for (const [fromName, toName] of renames.table ?? []) {
    const source = qualified(fromName, 2, defaultSchema, "table");
    const target = qualified(toName, 2, source[0], "table");
    const [schema, oldName] = source;
    const [targetSchema, newName] = target;
    if (schema !== targetSchema)
      throw new DiffError("rename-across-schemas", `cannot rename table ${fromName} to ${toName}: a rename stays in its schema`, {
        hint: "Move the table with ALTER TABLE ... SET SCHEMA in a hand-written revision, or rename it within its schema.",
      });
    const index = tables.findIndex((t) => t.schema === schema && t.name === oldName);
    if (index < 0) throw new DiffError("rename-unknown-table", `cannot rename table ${fromName}: it does not exist in the current schema`, { hint: "Check the rename's `from` name (schema.table)." });
    if (tables.some((t) => t.schema === schema && t.name === newName))
      throw new DiffError("rename-target-exists", `cannot rename table ${fromName} to ${toName}: a table with that name already exists`, { hint: "Drop or rename the existing table first." });
    if (!toTables.has(objectKey(schema, newName)))
      throw new DiffError("rename-target-missing", `cannot rename table ${fromName} to ${toName}: the declared schema has no table ${toName}`, { hint: "Check the rename's `to` name against the declared schema." });
    operations.push({ kind: "rename-table", schema, from: oldName, to: newName });
    tables = tables.map((t) => ({
      ...(t.schema === schema && t.name === oldName ? { ...t, name: newName } : t),
      foreignKeys: t.foreignKeys.map((fk) =>
        fk.references.schema === schema && fk.references.table === oldName ? { ...fk, references: { ...fk.references, table: newName } } : fk,
      ),
    }));
    views = views.map((v) => ({ ...v, dependsOn: v.dependsOn.map((d) => (d.schema === schema && d.name === oldName ? { ...d, name: newName } : d)) }));
  }
  for (const [fromName, toName] of renames.column ?? []) {
    const [schema, tableName, oldColumn] = qualified(fromName, 3, defaultSchema, "column");
    const toParts = splitName(toName);
    const newColumn = toParts[toParts.length - 1] as string;
    const tableRename = (renames.table ?? []).map(([a, b]) => [qualified(a, 2, defaultSchema, "table"), qualified(b, 2, defaultSchema, "table")] as const).find(([a]) => a[0] === schema && a[1] === tableName);
    const currentName = tableRename ? tableRename[1][1] : tableName;
    const table = tables.find((t) => t.schema === schema && t.name === currentName);
    if (!table || !table.columns.some((c) => c.name === oldColumn))
      throw new DiffError("rename-unknown-column", `cannot rename column ${fromName}: it does not exist in the current schema`, { hint: "Check the rename's `from` name (schema.table.column)." });
    if (table.columns.some((c) => c.name === newColumn))
      throw new DiffError("rename-target-exists", `cannot rename column ${fromName} to ${newColumn}: the table already has a column with that name`, { hint: "Drop or rename the existing column first." });
    operations.push({ kind: "rename-column", schema, table: currentName, from: oldColumn, to: newColumn });
    const rewrite = (definition: string): string => renameIdentifier(definition, oldColumn, newColumn);
    const rename = (name: string): string => (name === oldColumn ? newColumn : name);
    tables = tables.map((t) => {
      const isTable = t.schema === schema && t.name === currentName;
      const foreignKeys = t.foreignKeys.map((fk) => ({
        ...fk,
        columns: isTable ? fk.columns.map(rename) : fk.columns,
        references:
          fk.references.schema === schema && fk.references.table === currentName ? { ...fk.references, columns: fk.references.columns.map(rename) } : fk.references,
      }));
      if (!isTable) return { ...t, foreignKeys };
      return {
        ...t,
        columns: t.columns.map((c) => (c.name === oldColumn ? { ...c, name: newColumn } : c)),
        primaryKey: t.primaryKey ? { ...t.primaryKey, definition: rewrite(t.primaryKey.definition) } : null,
        constraints: t.constraints.map((c) => ({ ...c, definition: rewrite(c.definition) })),
        indexes: t.indexes.map((i) => ({ ...i, definition: rewrite(i.definition) })),
        foreignKeys,
      };
    });
    views = views.map((v) => ({
      ...v,
      dependsOn: v.dependsOn.map((d) => (d.schema === schema && d.name === currentName ? { ...d, columns: d.columns.map(rename) } : d)),
    }));
  }
  // Triggers follow their table's new name (their definition text still names the old one, so they are rebuilt).
  const tableRenames = operations.filter((o): o is Extract<Operation, { kind: "rename-table" }> => o.kind === "rename-table");
  const triggers = (from.triggers ?? []).map((t) => {
    const rename = tableRenames.find((r) => r.schema === t.schema && r.from === t.table);
    return rename ? { ...t, table: rename.to } : t;
  });
  return { model: { ...from, tables, views, triggers }, operations };
}

/** Splits `a.b."c.d"` into its parts. */
function splitName(name: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i] as string;
    if (ch === '"') {
      if (quoted && name[i + 1] === '"') {
        current += '"';
        i++;
      } else quoted = !quoted;
    } else if (ch === "." && !quoted) {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

function qualified(name: string, parts: 2, defaultSchema: string, what: string): [string, string];
function qualified(name: string, parts: 3, defaultSchema: string, what: string): [string, string, string];
function qualified(name: string, parts: number, defaultSchema: string, what: string): string[] {
  const split = splitName(name);
  if (split.length === parts - 1) split.unshift(defaultSchema);
  if (split.length !== parts || split.some((p) => p.length === 0))
    throw new DiffError("rename-bad-name", `cannot read the ${what} name "${name}" in renames`, {
      hint: what === "table" ? 'Write tables as "schema.table" or "table".' : 'Write columns as "schema.table.column" or "table.column".',
    });
  return split;
}

/** Replaces identifier tokens naming `from` with `to`, quoted the way the server prints names. */
function renameIdentifier(definition: string, from: string, to: string): string {
  return tokenize(definition)
    .map((token) => (identifierValue(token) === from ? printIdentifier(to) : token.text))
    .join("");
}

