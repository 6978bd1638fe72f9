/**
 * Comments and privileges: properties of an object that a script sets after the object
 * exists, and that go away with it. Pure.
 *
 * The diff of the objects comes first; then, for every object an operation drops or
 * creates (explicitly, or with its table, view or type), the comments and grants are
 * rebuilt around it so that both directions are exact:
 *
 * - early (before any drop, on the objects as they are): what the old object holds beyond
 *   what a new one gets by itself is taken away; its inverse puts it back in the
 *   downgrade, after the old object was created again;
 * - late (after every creation): what the new object should hold beyond what it got by
 *   itself is added.
 *
 * What an object gets by itself: no comment; for privileges, PostgreSQL's built-in ones
 * (EXECUTE on functions and USAGE on types to PUBLIC) and the default privileges of the
 * role that runs the revision, as they stand while the revision runs (the entries both
 * sides share: the others are removed early and added late).
 */
import type { DefaultPrivilege, DefaultPrivilegeObjects, Grant, ObjectComment, ObjectRef, SchemaModel } from "./model.js";
import { defaultPrivilegeKey, grantKey, refKey } from "./model.js";
import type { Operation } from "./operations.js";

/** The operations of comments and privileges, split by when they run (see the module comment). */
export interface AnnotationOperations {
  readonly early: Operation[];
  readonly late: Operation[];
}

/** Options of {@link diffAnnotations}. */
export interface AnnotationOptions {
  /** Compare grants and default privileges (the config's `autogenerate.privileges`). */
  readonly privileges: boolean;
}

/**
 * The comment and privilege operations that turn `from` into `to`, given the object
 * operations of the same diff (`operations`, renames included: they rename the objects the
 * old comments and grants are on).
 */
export function diffAnnotations(from: SchemaModel, to: SchemaModel, operations: readonly Operation[], options: AnnotationOptions): AnnotationOperations {
  const dropped = new Map<string, ObjectRef>();
  const created = new Map<string, ObjectRef>();
  for (const operation of operations) {
    const touched = touchedObjects(operation);
    for (const ref of touched.dropped) dropped.set(refKey(ref), ref);
    for (const ref of touched.created) created.set(refKey(ref), ref);
  }
  const renames = operations.filter((o): o is Extract<Operation, { kind: "rename-table" | "rename-column" }> => o.kind === "rename-table" || o.kind === "rename-column");
  const context: AnnotationContext = { renames, dropped, created, early: [], late: [] };
  diffComments(from.comments ?? [], to.comments ?? [], context);
  if (options.privileges) {
    diffGrants(from, to, context);
    diffDefaultPrivileges(from.defaultPrivileges ?? [], to.defaultPrivileges ?? [], context);
  }
  return { early: context.early, late: context.late };
}

/** What the object diff did (renames, objects dropped and created, by key), and where the operations go. */
interface AnnotationContext {
  readonly renames: readonly Rename[];
  readonly dropped: ReadonlyMap<string, ObjectRef>;
  readonly created: ReadonlyMap<string, ObjectRef>;
  readonly early: Operation[];
  readonly late: Operation[];
}

type Rename = Extract<Operation, { kind: "rename-table" | "rename-column" }>;

/** The reference after the declared renames (the old name of a renamed table or column becomes the new one). */
export function renameRef(ref: ObjectRef, renames: readonly Rename[]): ObjectRef {
  let current = ref;
  for (const rename of renames) {
    if (rename.kind === "rename-table") {
      if ((current.kind === "table" || current.kind === "foreign table") && current.schema === rename.schema && current.name === rename.from) current = { ...current, name: rename.to };
      else if (
        (current.kind === "column" || current.kind === "constraint" || current.kind === "trigger" || current.kind === "policy" || current.kind === "rule") &&
        current.schema === rename.schema &&
        current.table === rename.from
      )
        current = { ...current, table: rename.to };
    } else if (current.kind === "column" && current.schema === rename.schema && current.table === rename.table && current.column === rename.from) current = { ...current, column: rename.to };
  }
  return current;
}

function diffComments(from: readonly ObjectComment[], to: readonly ObjectComment[], { renames, dropped, created, early, late }: AnnotationContext): void {
  const old = new Map(from.map((c) => [refKey(renameRef(c.target, renames)), c]));
  const wanted = new Map(to.map((c) => [refKey(c.target), c]));
  for (const [key, comment] of old) {
    const next = wanted.get(key);
    // Taken off before the object is dropped (the downgrade puts it back after creating it again), or when it goes.
    if (dropped.has(key) || created.has(key) || next === undefined) early.push({ kind: "set-comment", target: comment.target, from: comment.text, to: null });
    else if (next.text !== comment.text) late.push({ kind: "set-comment", target: next.target, from: comment.text, to: next.text });
  }
  for (const [key, comment] of wanted) {
    const before = old.get(key);
    if (before === undefined || dropped.has(key) || created.has(key)) late.push({ kind: "set-comment", target: comment.target, from: null, to: comment.text });
  }
}

function diffGrants(from: SchemaModel, to: SchemaModel, { renames, dropped, created, early, late }: AnnotationContext): void {
  // Default privileges in force while the revision runs: those both sides have.
  const toDefaults = new Set((to.defaultPrivileges ?? []).map(defaultPrivilegeKey));
  const inForce = (from.defaultPrivileges ?? []).filter((entry) => toDefaults.has(defaultPrivilegeKey(entry)));
  const group = (grants: readonly Grant[], rename: boolean): Map<string, { ref: ObjectRef; grants: Grant[] }> => {
    const groups = new Map<string, { ref: ObjectRef; grants: Grant[] }>();
    for (const grant of grants) {
      const key = refKey(rename ? renameRef(grant.object, renames) : grant.object);
      const entry = groups.get(key) ?? { ref: grant.object, grants: [] };
      entry.grants.push(grant);
      groups.set(key, entry);
    }
    return groups;
  };
  const oldGroups = group(from.grants ?? [], true);
  const newGroups = group(to.grants ?? [], false);
  const revokes: Operation[] = [];
  const grants: Operation[] = [];
  const lateRevokes: Operation[] = [];
  const lateGrants: Operation[] = [];
  // Objects without grants count too: a new function without EXECUTE for PUBLIC has none listed.
  for (const key of new Set([...oldGroups.keys(), ...newGroups.keys(), ...dropped.keys(), ...created.keys()])) {
    const before = oldGroups.get(key);
    const after = newGroups.get(key);
    const ref = (before ?? after)?.ref ?? dropped.get(key) ?? created.get(key);
    if (ref === undefined) continue;
    if (dropped.has(key)) {
      // Back to what a new object gets by itself, so that the downgrade's inverse makes the old one whole.
      const own = grantsAtCreation(ref, inForce);
      for (const grant of minus(before?.grants ?? [], own)) revokes.push({ kind: "revoke", grant });
      for (const grant of minus(own, before?.grants ?? [])) grants.push({ kind: "grant", grant });
    }
    if (created.has(key)) {
      const own = grantsAtCreation(created.get(key) ?? ref, inForce);
      for (const grant of minus(own, after?.grants ?? [])) lateRevokes.push({ kind: "revoke", grant });
      for (const grant of minus(after?.grants ?? [], own)) lateGrants.push({ kind: "grant", grant });
    }
    if (!dropped.has(key) && !created.has(key)) {
      // The object stays (an object without grants on one side has none there): revoke early, while it surely exists; grant late.
      const old = before?.grants ?? [];
      const renamed = old.map((g) => ({ ...g, object: renameRef(g.object, renames) }));
      const wanted = after?.grants ?? [];
      const kept = new Set(wanted.map(grantKey));
      renamed.forEach((grant, i) => {
        if (!kept.has(grantKey(grant))) revokes.push({ kind: "revoke", grant: old[i] as Grant });
      });
      for (const grant of minus(wanted, renamed)) lateGrants.push({ kind: "grant", grant });
    }
  }
  // Revokes before grants: REVOKE takes a grant option away with the privilege, so a changed option is revoked, then granted.
  early.push(...revokes, ...grants);
  late.push(...lateRevokes, ...lateGrants);
}

function diffDefaultPrivileges(from: readonly DefaultPrivilege[], to: readonly DefaultPrivilege[], { early, late }: AnnotationContext): void {
  const oldKeys = new Set(from.map(defaultPrivilegeKey));
  const newKeys = new Set(to.map(defaultPrivilegeKey));
  // Removed before anything is created, added after: objects the revision creates get exactly the grants it writes.
  for (const entry of from) if (!newKeys.has(defaultPrivilegeKey(entry))) early.push({ kind: "revoke-default", entry });
  for (const entry of to) if (!oldKeys.has(defaultPrivilegeKey(entry))) late.push({ kind: "grant-default", entry });
}

function minus(items: readonly Grant[], remove: readonly Grant[]): Grant[] {
  const keys = new Set(remove.map(grantKey));
  return items.filter((item) => !keys.has(grantKey(item)));
}

/** The class of `ALTER DEFAULT PRIVILEGES` an object belongs to, or null (columns, indexes...). */
export function defaultPrivilegeClass(ref: ObjectRef): DefaultPrivilegeObjects | null {
  switch (ref.kind) {
    case "table":
    case "view":
    case "materialized view":
    case "foreign table":
      return "TABLES";
    case "sequence":
      return "SEQUENCES";
    case "function":
    case "procedure":
    case "aggregate":
      return "FUNCTIONS";
    case "type":
    case "domain":
      return "TYPES";
    case "schema":
      return "SCHEMAS";
    default:
      return null;
  }
}

/** PostgreSQL's own grants on a new object (acldefault), the owner's left out. */
function builtInGrants(ref: ObjectRef): Grant[] {
  const objects = defaultPrivilegeClass(ref);
  if (objects === "FUNCTIONS") return [{ object: ref, grantee: "PUBLIC", privilege: "EXECUTE", grantable: false }];
  if (objects === "TYPES") return [{ object: ref, grantee: "PUBLIC", privilege: "USAGE", grantable: false }];
  return [];
}

/** What an object created by the role that runs the revision holds at once: the built-in grants, changed by the default privileges in force. */
export function grantsAtCreation(ref: ObjectRef, defaults: readonly DefaultPrivilege[]): Grant[] {
  const objects = defaultPrivilegeClass(ref);
  if (objects === null) return [];
  const schema = "schema" in ref ? ref.schema : null;
  const mine = defaults.filter((d) => d.role === null && d.objects === objects);
  // A database-wide entry replaces the built-in grants; a schema's entries add to it.
  const global = mine.filter((d) => d.schema === null);
  const revoked = new Set(global.filter((d) => d.revoked).map((d) => `${d.grantee}\u0000${d.privilege}`));
  const grants = builtInGrants(ref).filter((g) => !revoked.has(`${g.grantee}\u0000${g.privilege}`));
  for (const entry of mine)
    if (!entry.revoked && (entry.schema === null || entry.schema === schema)) grants.push({ object: ref, grantee: entry.grantee, privilege: entry.privilege, grantable: entry.grantable });
  const seen = new Set<string>();
  return grants.filter((g) => (seen.has(grantKey(g)) ? false : (seen.add(grantKey(g)), true)));
}

/** The objects an operation drops and creates, those that go and come with it included. */
export function touchedObjects(operation: Operation): { dropped: ObjectRef[]; created: ObjectRef[] } {
  const none: ObjectRef[] = [];
  switch (operation.kind) {
    case "create-table":
      return { dropped: none, created: tableObjects(operation.table) };
    case "drop-table":
      return { dropped: tableObjects(operation.table), created: none };
    case "add-column":
      return { dropped: none, created: columnObjects(operation.schema, operation.table, operation.column) };
    case "drop-column":
      return { dropped: columnObjects(operation.schema, operation.table, operation.column), created: none };
    case "add-constraint":
      return { dropped: none, created: constraintObjects(operation.schema, operation.table, operation.constraint.name, operation.constraint.kind !== "check") };
    case "drop-constraint":
      return { dropped: constraintObjects(operation.schema, operation.table, operation.constraint.name, operation.constraint.kind !== "check"), created: none };
    case "add-foreign-key":
      return { dropped: none, created: constraintObjects(operation.schema, operation.table, operation.foreignKey.name, false) };
    case "drop-foreign-key":
      return { dropped: constraintObjects(operation.schema, operation.table, operation.foreignKey.name, false), created: none };
    case "create-index":
      return { dropped: none, created: [{ kind: "index", schema: operation.schema, name: operation.index.name }] };
    case "drop-index":
      return { dropped: [{ kind: "index", schema: operation.schema, name: operation.index.name }], created: none };
    case "create-view":
      return { dropped: none, created: viewObjects(operation.view) };
    case "drop-view":
      return { dropped: viewObjects(operation.view), created: none };
    case "create-routine":
      return { dropped: none, created: [routineRef(operation.routine)] };
    case "drop-routine":
      return { dropped: [routineRef(operation.routine)], created: none };
    case "create-domain":
      return { dropped: none, created: domainObjects(operation.domain) };
    case "drop-domain":
      return { dropped: domainObjects(operation.domain), created: none };
    case "create-composite-type":
      return { dropped: none, created: compositeObjects(operation.type) };
    case "drop-composite-type":
      return { dropped: compositeObjects(operation.type), created: none };
    case "create-enum":
      return { dropped: none, created: [{ kind: "type", schema: operation.enum.schema, name: operation.enum.name }] };
    case "drop-enum":
      return { dropped: [{ kind: "type", schema: operation.enum.schema, name: operation.enum.name }], created: none };
    case "add-enum-values":
    case "recreate-enum": {
      // Adding values is in place, but its inverse recreates the type (and what depends on it).
      const type: ObjectRef = { kind: "type", schema: operation.from.schema, name: operation.from.name };
      const dependents = operation.dependents;
      const objects = [
        type,
        ...dependents.views.flatMap(viewObjects),
        ...dependents.indexes.map(({ schema, index }): ObjectRef => ({ kind: "index", schema, name: index.name })),
        ...dependents.constraints.flatMap(({ schema, table, constraint }) => constraintObjects(schema, table, constraint.name, constraint.kind !== "check")),
      ];
      return { dropped: objects, created: objects };
    }
    case "create-sequence":
      return { dropped: none, created: [{ kind: "sequence", schema: operation.sequence.schema, name: operation.sequence.name }] };
    case "drop-sequence":
      return { dropped: [{ kind: "sequence", schema: operation.sequence.schema, name: operation.sequence.name }], created: none };
    case "create-trigger":
      return { dropped: none, created: [{ kind: "trigger", schema: operation.trigger.schema, table: operation.trigger.table, name: operation.trigger.name }] };
    case "drop-trigger":
      return { dropped: [{ kind: "trigger", schema: operation.trigger.schema, table: operation.trigger.table, name: operation.trigger.name }], created: none };
    case "create-policy":
      return { dropped: none, created: [{ kind: "policy", schema: operation.schema, table: operation.table, name: operation.policy.name }] };
    case "drop-policy":
      return { dropped: [{ kind: "policy", schema: operation.schema, table: operation.table, name: operation.policy.name }], created: none };
    case "create-rule":
      return { dropped: none, created: [{ kind: "rule", schema: operation.rule.schema, table: operation.rule.table, name: operation.rule.name }] };
    case "drop-rule":
      return { dropped: [{ kind: "rule", schema: operation.rule.schema, table: operation.rule.table, name: operation.rule.name }], created: none };
    case "create-range-type":
      return { dropped: none, created: [{ kind: "type", schema: operation.type.schema, name: operation.type.name }] };
    case "drop-range-type":
      return { dropped: [{ kind: "type", schema: operation.type.schema, name: operation.type.name }], created: none };
    case "create-operator":
      return { dropped: none, created: [operatorRef(operation.operator)] };
    case "drop-operator":
      return { dropped: [operatorRef(operation.operator)], created: none };
    case "create-extension":
      return { dropped: none, created: [{ kind: "extension", name: operation.extension.name }] };
    case "drop-extension":
      return { dropped: [{ kind: "extension", name: operation.extension.name }], created: none };
    case "create-schema":
      return { dropped: none, created: [{ kind: "schema", name: operation.schema }] };
    case "drop-schema":
      return { dropped: [{ kind: "schema", name: operation.schema }], created: none };
    default:
      return { dropped: none, created: none };
  }
}

type TableLike = Extract<Operation, { kind: "create-table" }>["table"];
type ViewLike = Extract<Operation, { kind: "create-view" }>["view"];
type ColumnLike = Extract<Operation, { kind: "add-column" }>["column"];

function tableObjects(table: TableLike): ObjectRef[] {
  const { schema, name } = table;
  return [
    { kind: "table", schema, name },
    ...table.columns.flatMap((column) => columnObjects(schema, name, column)),
    ...(table.primaryKey ? constraintObjects(schema, name, table.primaryKey.name, true) : []),
    ...table.constraints.flatMap((c) => constraintObjects(schema, name, c.name, c.kind !== "check")),
    ...table.foreignKeys.flatMap((fk) => constraintObjects(schema, name, fk.name, false)),
    ...table.indexes.map((index): ObjectRef => ({ kind: "index", schema, name: index.name })),
  ];
}

/** A column, and the sequence a serial column owns. */
function columnObjects(schema: string, table: string, column: ColumnLike): ObjectRef[] {
  const objects: ObjectRef[] = [{ kind: "column", schema, table, column: column.name }];
  if (column.sequence) objects.push({ kind: "sequence", schema, name: column.sequence });
  return objects;
}

/** A constraint, and the index of the same name that backs a primary key, unique or exclusion constraint. */
function constraintObjects(schema: string, table: string, name: string, indexed: boolean): ObjectRef[] {
  const objects: ObjectRef[] = [{ kind: "constraint", schema, table, name }];
  if (indexed) objects.push({ kind: "index", schema, name });
  return objects;
}

function viewObjects(view: ViewLike): ObjectRef[] {
  const { schema, name } = view;
  return [
    { kind: view.materialized === true ? "materialized view" : "view", schema, name },
    ...view.columns.map((c): ObjectRef => ({ kind: "column", schema, table: name, column: c.name })),
    ...(view.indexes ?? []).map((index): ObjectRef => ({ kind: "index", schema, name: index.name })),
  ];
}

function routineRef(routine: Extract<Operation, { kind: "create-routine" }>["routine"]): ObjectRef {
  return { kind: routine.kind, schema: routine.schema, name: routine.name, arguments: routine.arguments };
}

function operatorRef(operator: Extract<Operation, { kind: "create-operator" }>["operator"]): ObjectRef {
  return { kind: "operator", schema: operator.schema, name: operator.name, left: operator.left, right: operator.right };
}

function domainObjects(domain: Extract<Operation, { kind: "create-domain" }>["domain"]): ObjectRef[] {
  return [
    { kind: "domain", schema: domain.schema, name: domain.name },
    ...domain.constraints.map((c): ObjectRef => ({ kind: "domain constraint", schema: domain.schema, table: domain.name, name: c.name })),
  ];
}

function compositeObjects(type: Extract<Operation, { kind: "create-composite-type" }>["type"]): ObjectRef[] {
  return [{ kind: "type", schema: type.schema, name: type.name }, ...type.attributes.map((a): ObjectRef => ({ kind: "column", schema: type.schema, table: type.name, column: a.name }))];
}
