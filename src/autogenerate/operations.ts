/**
 * The operations the diff produces: plain data, one per schema change, each of which has
 * an inverse (for the downgrade) and knows whether it loses data. Pure.
 */
import { printIdentifier } from "./sql-text.js";
import { sameSerialSequence } from "./model.js";
import type { Column, CompositeType, Constraint, DefaultPrivilege, Domain, EnumType, Extension, ForeignKey, Grant, Index, ObjectRef, Operator, Policy, RangeType, Rule, QualifiedName, Routine, Sequence, Table, Trigger, View } from "./model.js";

/** The table properties that ALTER TABLE changes in place: persistence, storage parameters, inheritance, row-level security. */
export interface TableFlags {
  readonly unlogged: boolean;
  /** `name=value` storage parameters, sorted. */
  readonly storage: readonly string[];
  readonly inherits: readonly QualifiedName[];
  readonly rowSecurity: boolean;
  readonly forceRowSecurity: boolean;
}

/** A column whose type is an enum (or an array of it): what recreating the enum must convert. */
export interface EnumUsage {
  readonly schema: string;
  readonly table: string;
  readonly column: string;
  /** The column's type as printed, e.g. `public.mood` or `public.mood[]`. */
  readonly type: string;
  /** The column's default, which must be dropped while the type is swapped. */
  readonly default: string | null;
}

/**
 * What must be dropped while an enum is recreated and created again afterwards:
 * PostgreSQL refuses to change the type of a column a view reads, and an index or
 * constraint whose expression holds a literal of the old type (`'a'::public.mood`)
 * cannot be rebuilt for the new one.
 */
export interface EnumDependents {
  /** Views reading a converted column, and the views reading those, in creation order. */
  readonly views: readonly View[];
  readonly indexes: readonly { readonly schema: string; readonly table: string; readonly index: Index }[];
  readonly constraints: readonly { readonly schema: string; readonly table: string; readonly constraint: Constraint }[];
}

/** What a COMMENT ON applies to. */
export type CommentTarget = ObjectRef;

/** One schema change. Table-level operations name the table by `schema` and `table`. */
export type Operation =
  | { readonly kind: "create-schema"; readonly schema: string }
  | { readonly kind: "drop-schema"; readonly schema: string }
  | { readonly kind: "create-enum"; readonly enum: EnumType }
  | { readonly kind: "drop-enum"; readonly enum: EnumType }
  | {
      readonly kind: "add-enum-values";
      readonly from: EnumType;
      readonly to: EnumType;
      /** In the order they are added; `before` null means appended at the end. */
      readonly additions: readonly { readonly value: string; readonly before: string | null }[];
      /** Columns using the type before the change (what the inverse, a recreation, converts). */
      readonly usages: readonly EnumUsage[];
      /** What the inverse (a recreation) drops and creates again around the conversion. */
      readonly dependents: EnumDependents;
    }
  | {
      /** PostgreSQL cannot remove or reorder enum values in place: the type is rebuilt and its columns converted. */
      readonly kind: "recreate-enum";
      readonly from: EnumType;
      readonly to: EnumType;
      readonly usages: readonly EnumUsage[];
      readonly dependents: EnumDependents;
    }
  | { readonly kind: "create-sequence"; readonly sequence: Sequence }
  | { readonly kind: "drop-sequence"; readonly sequence: Sequence }
  | { readonly kind: "alter-sequence"; readonly from: Sequence; readonly to: Sequence }
  | { readonly kind: "rename-table"; readonly schema: string; readonly from: string; readonly to: string }
  | { readonly kind: "rename-column"; readonly schema: string; readonly table: string; readonly from: string; readonly to: string }
  /** The table with its columns, primary key, unique/check/exclusion constraints, indexes and comments; foreign keys are separate operations. */
  | { readonly kind: "create-table"; readonly table: Table }
  | { readonly kind: "drop-table"; readonly table: Table }
  | { readonly kind: "add-column"; readonly schema: string; readonly table: string; readonly column: Column }
  | { readonly kind: "drop-column"; readonly schema: string; readonly table: string; readonly column: Column }
  | { readonly kind: "alter-column"; readonly schema: string; readonly table: string; readonly from: Column; readonly to: Column }
  | { readonly kind: "add-constraint"; readonly schema: string; readonly table: string; readonly constraint: Constraint }
  | { readonly kind: "drop-constraint"; readonly schema: string; readonly table: string; readonly constraint: Constraint }
  | { readonly kind: "add-foreign-key"; readonly schema: string; readonly table: string; readonly foreignKey: ForeignKey }
  | { readonly kind: "drop-foreign-key"; readonly schema: string; readonly table: string; readonly foreignKey: ForeignKey }
  | { readonly kind: "create-index"; readonly schema: string; readonly table: string; readonly index: Index }
  | { readonly kind: "drop-index"; readonly schema: string; readonly table: string; readonly index: Index }
  | { readonly kind: "create-view"; readonly view: View }
  | { readonly kind: "drop-view"; readonly view: View }
  | { readonly kind: "replace-view"; readonly from: View; readonly to: View }
  | { readonly kind: "set-comment"; readonly target: CommentTarget; readonly from: string | null; readonly to: string | null }
  | { readonly kind: "create-extension"; readonly extension: Extension }
  | { readonly kind: "drop-extension"; readonly extension: Extension }
  | { readonly kind: "create-routine"; readonly routine: Routine }
  | { readonly kind: "drop-routine"; readonly routine: Routine }
  /** CREATE OR REPLACE with the new definition (same signature). */
  | { readonly kind: "replace-routine"; readonly from: Routine; readonly to: Routine }
  | { readonly kind: "create-domain"; readonly domain: Domain }
  | { readonly kind: "drop-domain"; readonly domain: Domain }
  | { readonly kind: "create-composite-type"; readonly type: CompositeType }
  | { readonly kind: "drop-composite-type"; readonly type: CompositeType }
  | { readonly kind: "create-rule"; readonly rule: Rule }
  | { readonly kind: "drop-rule"; readonly rule: Rule }
  | { readonly kind: "create-range-type"; readonly type: RangeType }
  | { readonly kind: "drop-range-type"; readonly type: RangeType }
  | { readonly kind: "create-operator"; readonly operator: Operator }
  | { readonly kind: "drop-operator"; readonly operator: Operator }
  | { readonly kind: "create-trigger"; readonly trigger: Trigger }
  | { readonly kind: "drop-trigger"; readonly trigger: Trigger }
  | { readonly kind: "create-policy"; readonly schema: string; readonly table: string; readonly policy: Policy }
  | { readonly kind: "drop-policy"; readonly schema: string; readonly table: string; readonly policy: Policy }
  | { readonly kind: "alter-table-flags"; readonly schema: string; readonly table: string; readonly from: TableFlags; readonly to: TableFlags }
  | { readonly kind: "grant"; readonly grant: Grant }
  | { readonly kind: "revoke"; readonly grant: Grant }
  /** An `ALTER DEFAULT PRIVILEGES` entry made (a revoked built-in privilege: taken away). */
  | { readonly kind: "grant-default"; readonly entry: DefaultPrivilege }
  /** An `ALTER DEFAULT PRIVILEGES` entry undone. */
  | { readonly kind: "revoke-default"; readonly entry: DefaultPrivilege };

/** The `kind` of an Operation. */
export type OperationKind = Operation["kind"];

/**
 * One change of a diff: the operation for the upgrade, its inverse for the downgrade,
 * and whether either loses data (what the linter attaches its findings to).
 */
export interface SchemaChange {
  readonly operation: Operation;
  readonly inverse: Operation;
  /** The upgrade may lose data (drop table/column, narrowing type change, enum value removal). */
  readonly destructive: boolean;
  /** Why, when destructive. */
  readonly reason: string | null;
  /** The downgrade (the inverse) may lose data. */
  readonly inverseDestructive: boolean;
  /** One line for people: `add column public.users.email (text)`. */
  readonly summary: string;
}

/** The operation that undoes `operation`. */
export function invertOperation(operation: Operation): Operation {
  switch (operation.kind) {
    case "create-schema":
      return { kind: "drop-schema", schema: operation.schema };
    case "drop-schema":
      return { kind: "create-schema", schema: operation.schema };
    case "create-enum":
      return { kind: "drop-enum", enum: operation.enum };
    case "drop-enum":
      return { kind: "create-enum", enum: operation.enum };
    case "add-enum-values":
      // ALTER TYPE ... ADD VALUE has no inverse: the downgrade rebuilds the type.
      return { kind: "recreate-enum", from: operation.to, to: operation.from, usages: operation.usages, dependents: operation.dependents };
    case "recreate-enum": {
      const additions = enumAdditions(operation.to.values, operation.from.values);
      if (additions !== null) return { kind: "add-enum-values", from: operation.to, to: operation.from, additions, usages: operation.usages, dependents: operation.dependents };
      return { kind: "recreate-enum", from: operation.to, to: operation.from, usages: operation.usages, dependents: operation.dependents };
    }
    case "create-sequence":
      return { kind: "drop-sequence", sequence: operation.sequence };
    case "drop-sequence":
      return { kind: "create-sequence", sequence: operation.sequence };
    case "alter-sequence":
      return { kind: "alter-sequence", from: operation.to, to: operation.from };
    case "rename-table":
      return { kind: "rename-table", schema: operation.schema, from: operation.to, to: operation.from };
    case "rename-column":
      return { kind: "rename-column", schema: operation.schema, table: operation.table, from: operation.to, to: operation.from };
    case "create-table":
      return { kind: "drop-table", table: operation.table };
    case "drop-table":
      return { kind: "create-table", table: operation.table };
    case "add-column":
      return { kind: "drop-column", schema: operation.schema, table: operation.table, column: operation.column };
    case "drop-column":
      return { kind: "add-column", schema: operation.schema, table: operation.table, column: operation.column };
    case "alter-column":
      return { kind: "alter-column", schema: operation.schema, table: operation.table, from: operation.to, to: operation.from };
    case "add-constraint":
      return { kind: "drop-constraint", schema: operation.schema, table: operation.table, constraint: operation.constraint };
    case "drop-constraint":
      return { kind: "add-constraint", schema: operation.schema, table: operation.table, constraint: operation.constraint };
    case "add-foreign-key":
      return { kind: "drop-foreign-key", schema: operation.schema, table: operation.table, foreignKey: operation.foreignKey };
    case "drop-foreign-key":
      return { kind: "add-foreign-key", schema: operation.schema, table: operation.table, foreignKey: operation.foreignKey };
    case "create-index":
      return { kind: "drop-index", schema: operation.schema, table: operation.table, index: operation.index };
    case "drop-index":
      return { kind: "create-index", schema: operation.schema, table: operation.table, index: operation.index };
    case "create-view":
      return { kind: "drop-view", view: operation.view };
    case "drop-view":
      return { kind: "create-view", view: operation.view };
    case "replace-view":
      return { kind: "replace-view", from: operation.to, to: operation.from };
    case "set-comment":
      return { kind: "set-comment", target: operation.target, from: operation.to, to: operation.from };
    case "create-extension":
      return { kind: "drop-extension", extension: operation.extension };
    case "drop-extension":
      return { kind: "create-extension", extension: operation.extension };
    case "create-routine":
      return { kind: "drop-routine", routine: operation.routine };
    case "drop-routine":
      return { kind: "create-routine", routine: operation.routine };
    case "replace-routine":
      return { kind: "replace-routine", from: operation.to, to: operation.from };
    case "create-domain":
      return { kind: "drop-domain", domain: operation.domain };
    case "drop-domain":
      return { kind: "create-domain", domain: operation.domain };
    case "create-composite-type":
      return { kind: "drop-composite-type", type: operation.type };
    case "drop-composite-type":
      return { kind: "create-composite-type", type: operation.type };
    case "create-trigger":
      return { kind: "drop-trigger", trigger: operation.trigger };
    case "drop-trigger":
      return { kind: "create-trigger", trigger: operation.trigger };
    case "create-policy":
      return { kind: "drop-policy", schema: operation.schema, table: operation.table, policy: operation.policy };
    case "drop-policy":
      return { kind: "create-policy", schema: operation.schema, table: operation.table, policy: operation.policy };
    case "create-rule":
      return { kind: "drop-rule", rule: operation.rule };
    case "drop-rule":
      return { kind: "create-rule", rule: operation.rule };
    case "create-range-type":
      return { kind: "drop-range-type", type: operation.type };
    case "drop-range-type":
      return { kind: "create-range-type", type: operation.type };
    case "create-operator":
      return { kind: "drop-operator", operator: operation.operator };
    case "drop-operator":
      return { kind: "create-operator", operator: operation.operator };
    case "alter-table-flags":
      return { kind: "alter-table-flags", schema: operation.schema, table: operation.table, from: operation.to, to: operation.from };
    case "grant":
      return { kind: "revoke", grant: operation.grant };
    case "revoke":
      return { kind: "grant", grant: operation.grant };
    case "grant-default":
      return { kind: "revoke-default", entry: operation.entry };
    case "revoke-default":
      return { kind: "grant-default", entry: operation.entry };
  }
}

/**
 * When `to` is `from` with values inserted (order kept), the insertions in the order
 * to run them (`before` = the existing value each goes in front of, null = append); else null.
 */
export function enumAdditions(from: readonly string[], to: readonly string[]): { value: string; before: string | null }[] | null {
  const existing = new Set(from);
  const kept = to.filter((value) => existing.has(value));
  if (kept.length !== from.length || kept.some((value, i) => value !== from[i])) return null;
  const additions: { value: string; before: string | null }[] = [];
  for (let i = 0; i < to.length; i++) {
    const value = to[i] as string;
    if (existing.has(value)) continue;
    const next = to.slice(i + 1).find((candidate) => existing.has(candidate));
    additions.push({ value, before: next ?? null });
  }
  return additions;
}

/** Why `operation` may lose data, or null when it cannot. */
export function destructiveReason(operation: Operation): string | null {
  switch (operation.kind) {
    case "drop-table":
      return `drops table ${display(operation.table.schema, operation.table.name)} and every row in it`;
    case "drop-column":
      if (operation.column.generated !== null) return null; // computed from other columns: nothing is lost
      return `drops column ${display(operation.schema, operation.table, operation.column.name)} and its data`;
    case "drop-sequence":
      return `drops sequence ${display(operation.sequence.schema, operation.sequence.name)} and its current value`;
    case "drop-extension":
      return `drops extension ${operation.extension.name} and every object it made`;
    case "alter-column":
      if (operation.from.type !== operation.to.type && !isWideningType(operation.from.type, operation.to.type))
        return `changes the type of ${display(operation.schema, operation.table, operation.from.name)} from ${operation.from.type} to ${operation.to.type}, which may fail or lose data`;
      return null;
    case "recreate-enum": {
      const removed = operation.from.values.filter((value) => !operation.to.values.includes(value));
      if (removed.length === 0) return null;
      return `removes ${removed.map((v) => `'${v}'`).join(", ")} from enum ${display(operation.from.schema, operation.from.name)}: rows holding ${removed.length === 1 ? "it" : "them"} make the change fail`;
    }
    default:
      return null;
  }
}

const integerRank: Record<string, number> = { smallint: 1, integer: 2, bigint: 3 };

/**
 * True when every value of type `from` converts to `to` without loss (`integer` →
 * `bigint`, `varchar(20)` → `varchar(50)` or `text`, `numeric(10,2)` → `numeric(12,2)`,
 * `real` → `double precision`, an enum → `text`). Unknown pairs are not widening.
 */
export function isWideningType(from: string, to: string): boolean {
  if (from === to) return true;
  const fromArray = from.endsWith("[]");
  if (fromArray !== to.endsWith("[]")) return false;
  if (fromArray) return isWideningType(from.slice(0, -2), to.slice(0, -2));
  // Every type has a text form (and an assignment cast to text): nothing is lost.
  if (to === "text") return true;
  const fromRank = integerRank[from];
  const toRank = integerRank[to];
  if (fromRank !== undefined && toRank !== undefined) return toRank >= fromRank;
  if (fromRank !== undefined && to === "numeric") return true;
  if (from === "real" && to === "double precision") return true;
  const text = (type: string): { length: number | null } | null => {
    if (type === "text" || type === "character varying") return { length: null };
    const match = /^character varying\((\d+)\)$/.exec(type);
    return match ? { length: Number(match[1]) } : null;
  };
  const fromText = text(from);
  const toText = text(to);
  if (toText !== null && toText.length === null && (fromText !== null || /^character\(\d+\)$/.test(from))) return true;
  if (fromText !== null && toText !== null) return fromText.length !== null && toText.length !== null && toText.length >= fromText.length;
  const numeric = (type: string): { precision: number; scale: number } | "unbounded" | null => {
    if (type === "numeric") return "unbounded";
    const match = /^numeric\((\d+),(\d+)\)$/.exec(type);
    return match ? { precision: Number(match[1]), scale: Number(match[2]) } : null;
  };
  const fromNumeric = numeric(from);
  const toNumeric = numeric(to);
  if (fromNumeric !== null && toNumeric === "unbounded") return true;
  if (fromNumeric !== null && fromNumeric !== "unbounded" && toNumeric !== null && toNumeric !== "unbounded")
    return toNumeric.scale >= fromNumeric.scale && toNumeric.precision - toNumeric.scale >= fromNumeric.precision - fromNumeric.scale;
  return false;
}

/** A one-line description of the operation, for plans and revision comments. */
export function describeOperation(operation: Operation): string {
  switch (operation.kind) {
    case "create-schema":
      return `create schema ${operation.schema}`;
    case "drop-schema":
      return `drop schema ${operation.schema}`;
    case "create-enum":
      return `create enum ${display(operation.enum.schema, operation.enum.name)} (${operation.enum.values.map((v) => `'${v}'`).join(", ")})`;
    case "drop-enum":
      return `drop enum ${display(operation.enum.schema, operation.enum.name)}`;
    case "add-enum-values":
      return `add ${operation.additions.length === 1 ? "value" : "values"} ${operation.additions.map((a) => `'${a.value}'`).join(", ")} to enum ${display(operation.from.schema, operation.from.name)}`;
    case "recreate-enum":
      return `recreate enum ${display(operation.from.schema, operation.from.name)} as (${operation.to.values.map((v) => `'${v}'`).join(", ")})`;
    case "create-sequence":
      return `create sequence ${display(operation.sequence.schema, operation.sequence.name)}`;
    case "drop-sequence":
      return `drop sequence ${display(operation.sequence.schema, operation.sequence.name)}`;
    case "alter-sequence":
      return `alter sequence ${display(operation.from.schema, operation.from.name)}`;
    case "rename-table":
      return `rename table ${display(operation.schema, operation.from)} to ${operation.to}`;
    case "rename-column":
      return `rename column ${display(operation.schema, operation.table, operation.from)} to ${operation.to}`;
    case "create-table":
      return `create table ${display(operation.table.schema, operation.table.name)}`;
    case "drop-table":
      return `drop table ${display(operation.table.schema, operation.table.name)}`;
    case "add-column":
      return `add column ${display(operation.schema, operation.table, operation.column.name)} (${operation.column.type})`;
    case "drop-column":
      return `drop column ${display(operation.schema, operation.table, operation.column.name)}`;
    case "alter-column":
      return `alter column ${display(operation.schema, operation.table, operation.from.name)} (${columnChanges(operation.from, operation.to).join(", ")})`;
    case "add-constraint":
      return `add ${constraintLabel(operation.constraint)} ${operation.constraint.name} on ${display(operation.schema, operation.table)}`;
    case "drop-constraint":
      return `drop ${constraintLabel(operation.constraint)} ${operation.constraint.name} on ${display(operation.schema, operation.table)}`;
    case "add-foreign-key":
      return `add foreign key ${operation.foreignKey.name} on ${display(operation.schema, operation.table)}`;
    case "drop-foreign-key":
      return `drop foreign key ${operation.foreignKey.name} on ${display(operation.schema, operation.table)}`;
    case "create-index":
      return `create ${operation.index.unique ? "unique index" : "index"} ${operation.index.name} on ${display(operation.schema, operation.table)}`;
    case "drop-index":
      return `drop ${operation.index.unique ? "unique index" : "index"} ${operation.index.name} on ${display(operation.schema, operation.table)}`;
    case "create-view":
      return `create view ${display(operation.view.schema, operation.view.name)}`;
    case "drop-view":
      return `drop view ${display(operation.view.schema, operation.view.name)}`;
    case "replace-view":
      return `replace view ${display(operation.to.schema, operation.to.name)}`;
    case "set-comment":
      return `${operation.to === null ? "remove comment on" : "comment on"} ${describeRef(operation.target)}`;
    case "grant":
      return `grant ${operation.grant.privilege}${operation.grant.grantable ? " with grant option" : ""} on ${describeRef(operation.grant.object)} to ${operation.grant.grantee}`;
    case "revoke":
      return `revoke ${operation.grant.privilege} on ${describeRef(operation.grant.object)} from ${operation.grant.grantee}`;
    case "grant-default":
    case "revoke-default": {
      const entry = operation.entry;
      const granting = (operation.kind === "grant-default") !== entry.revoked;
      const scope = `${entry.role === null ? "" : ` for role ${entry.role}`}${entry.schema === null ? "" : ` in schema ${printIdentifier(entry.schema)}`}`;
      return `default privileges${scope}: ${granting ? "grant" : "revoke"} ${entry.privilege} on ${entry.objects.toLowerCase()} ${granting ? "to" : "from"} ${entry.grantee}`;
    }
    case "create-extension":
      return `create extension ${operation.extension.name} (schema ${operation.extension.schema})`;
    case "drop-extension":
      return `drop extension ${operation.extension.name}`;
    case "create-routine":
      return `create ${operation.routine.kind} ${display(operation.routine.schema, operation.routine.name)}(${operation.routine.arguments})`;
    case "drop-routine":
      return `drop ${operation.routine.kind} ${display(operation.routine.schema, operation.routine.name)}(${operation.routine.arguments})`;
    case "replace-routine":
      return `replace ${operation.to.kind} ${display(operation.to.schema, operation.to.name)}(${operation.to.arguments})`;
    case "create-domain":
      return `create domain ${display(operation.domain.schema, operation.domain.name)} (${operation.domain.type})`;
    case "drop-domain":
      return `drop domain ${display(operation.domain.schema, operation.domain.name)}`;
    case "create-composite-type":
      return `create type ${display(operation.type.schema, operation.type.name)} (${operation.type.attributes.map((a) => a.name).join(", ")})`;
    case "drop-composite-type":
      return `drop type ${display(operation.type.schema, operation.type.name)}`;
    case "create-trigger":
      return `create trigger ${operation.trigger.name} on ${display(operation.trigger.schema, operation.trigger.table)}`;
    case "drop-trigger":
      return `drop trigger ${operation.trigger.name} on ${display(operation.trigger.schema, operation.trigger.table)}`;
    case "create-policy":
      return `create policy ${operation.policy.name} on ${display(operation.schema, operation.table)}`;
    case "drop-policy":
      return `drop policy ${operation.policy.name} on ${display(operation.schema, operation.table)}`;
    case "create-rule":
      return `create rule ${operation.rule.name} on ${display(operation.rule.schema, operation.rule.table)}`;
    case "drop-rule":
      return `drop rule ${operation.rule.name} on ${display(operation.rule.schema, operation.rule.table)}`;
    case "create-range-type":
      return `create range type ${display(operation.type.schema, operation.type.name)}`;
    case "drop-range-type":
      return `drop range type ${display(operation.type.schema, operation.type.name)}`;
    case "create-operator":
      return `create operator ${operatorLabel(operation.operator)}`;
    case "drop-operator":
      return `drop operator ${operatorLabel(operation.operator)}`;
    case "alter-table-flags":
      return `alter table ${display(operation.schema, operation.table)} (${tableFlagChanges(operation.from, operation.to).join(", ")})`;
  }
}

/** `column public.t.c`, `function public.f(a integer)`, `trigger audit on public.t`: an object reference in words. */
export function describeRef(ref: ObjectRef): string {
  switch (ref.kind) {
    case "column":
      return `column ${display(ref.schema, ref.table, ref.column)}`;
    case "constraint":
    case "trigger":
    case "policy":
    case "rule":
      return `${ref.kind} ${printIdentifier(ref.name)} on ${display(ref.schema, ref.table)}`;
    case "domain constraint":
      return `constraint ${printIdentifier(ref.name)} on domain ${display(ref.schema, ref.table)}`;
    case "function":
    case "procedure":
    case "aggregate":
      return `${ref.kind} ${display(ref.schema, ref.name)}(${ref.arguments})`;
    case "operator":
      return `operator ${display(ref.schema)}.${ref.name} (${ref.left}, ${ref.right})`;
    case "schema":
    case "extension":
      return `${ref.kind} ${printIdentifier(ref.name)}`;
    default:
      return `${ref.kind} ${display(ref.schema, ref.name)}`;
  }
}

/** What differs between two sets of table flags, in words. */
export function tableFlagChanges(from: TableFlags, to: TableFlags): string[] {
  const changes: string[] = [];
  if (from.unlogged !== to.unlogged) changes.push(to.unlogged ? "set unlogged" : "set logged");
  if (from.storage.join(",") !== to.storage.join(",")) changes.push(`storage (${to.storage.join(", ")})`);
  const names = (list: readonly QualifiedName[]): string[] => list.map((q) => display(q.schema, q.name));
  for (const parent of names(to.inherits)) if (!names(from.inherits).includes(parent)) changes.push(`inherit ${parent}`);
  for (const parent of names(from.inherits)) if (!names(to.inherits).includes(parent)) changes.push(`no inherit ${parent}`);
  if (from.rowSecurity !== to.rowSecurity) changes.push(to.rowSecurity ? "enable row level security" : "disable row level security");
  if (from.forceRowSecurity !== to.forceRowSecurity) changes.push(to.forceRowSecurity ? "force row level security" : "no force row level security");
  return changes;
}

/** What differs between two versions of a column, in words (`type integer → bigint`, `set not null`). */
export function columnChanges(from: Column, to: Column): string[] {
  const changes: string[] = [];
  if (from.type !== to.type) changes.push(`type ${from.type} → ${to.type}`);
  if (from.collation !== to.collation) changes.push(`collation ${from.collation ?? "default"} → ${to.collation ?? "default"}`);
  if (from.notNull !== to.notNull) changes.push(to.notNull ? "set not null" : "drop not null");
  if (from.default !== to.default) changes.push(to.default === null ? "drop default" : `default ${to.default}`);
  if (from.identity !== to.identity) changes.push(to.identity === null ? "drop identity" : `identity ${to.identity}`);
  if ((from.sequence ?? null) !== (to.sequence ?? null) && from.sequence && to.sequence) changes.push(`sequence ${from.sequence} → ${to.sequence}`);
  if (!sameSerialSequence(from.sequenceOptions, to.sequenceOptions)) changes.push("sequence options");
  if ((from.statistics ?? null) !== (to.statistics ?? null)) changes.push(`statistics ${to.statistics ?? "default"}`);
  return changes;
}

function constraintLabel(constraint: Constraint): string {
  switch (constraint.kind) {
    case "primary-key":
      return "primary key";
    case "unique":
      return "unique constraint";
    case "check":
      return "check constraint";
    case "exclude":
      return "exclusion constraint";
  }
}

/** `public.~<< (text, text)`: an operator's name is not an identifier, so it is never quoted. */
function operatorLabel(operator: Operator): string {
  return `${display(operator.schema)}.${operator.name} (${operator.left}, ${operator.right})`;
}

/** `schema.table.column` for messages, each part quoted only when it needs to be. */
function display(...parts: string[]): string {
  return parts.map(printIdentifier).join(".");
}
