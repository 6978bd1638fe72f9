/**
 * Small structural views of the JSON parse tree that libpg-query (PostgreSQL 18's own
 * parser) returns. Every node is `{ "<NodeType>": { ...fields } }`; fields holding their
 * default value (false, 0, empty) are omitted, so an absent boolean means false.
 * Nothing here trusts the shape: each accessor narrows `unknown`.
 */

/** A parse-tree object: either a wrapped node (`{ CreateStmt: {...} }`) or a node's fields. */
export type SqlNode = { readonly [key: string]: unknown };

/** A relation as written in the SQL (`schema.name` or `name`). */
export interface RelationName {
  readonly schema: string | undefined;
  readonly name: string;
}

/** True for a plain object (not an array, not null). */
export function isNode(value: unknown): value is SqlNode {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The type name and fields of a wrapped node (`{ AlterTableCmd: {...} }`), or undefined. */
export function nodeOf(value: unknown): { readonly type: string; readonly fields: SqlNode } | undefined {
  if (!isNode(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const type = keys[0];
  // Node types are capitalised (CreateStmt, A_Const); field names are not (relation, typeName).
  if (type === undefined || !isUpperCaseLetter(type.charCodeAt(0))) return undefined;
  const fields = value[type];
  return isNode(fields) ? { type, fields } : undefined;
}

function isUpperCaseLetter(code: number): boolean {
  return code >= 65 && code <= 90;
}

/** The fields of `value` when it is a wrapped node of the given type. */
export function unwrap(value: unknown, type: string): SqlNode | undefined {
  const node = nodeOf(value);
  return node !== undefined && node.type === type ? node.fields : undefined;
}

/** A string field, or undefined. */
export function stringField(node: SqlNode, key: string): string | undefined {
  const value = node[key];
  return typeof value === "string" ? value : undefined;
}

/** A boolean field; absent (the JSON omits false) is false. */
export function boolField(node: SqlNode, key: string): boolean {
  return node[key] === true;
}

/** A list field; absent is empty. */
export function listField(node: SqlNode, key: string): readonly unknown[] {
  const value = node[key];
  return Array.isArray(value) ? value : [];
}

/** An object field (not wrapped), or undefined. */
export function objectField(node: SqlNode, key: string): SqlNode | undefined {
  const value = node[key];
  return isNode(value) ? value : undefined;
}

/** The `sval`s of a list of `{ String: { sval } }` nodes (names, column lists). */
export function stringList(items: readonly unknown[]): string[] {
  const out: string[] = [];
  for (const item of items) {
    const s = unwrap(item, "String");
    const sval = s === undefined ? undefined : stringField(s, "sval");
    if (sval !== undefined) out.push(sval);
  }
  return out;
}

/** A RangeVar's fields (given unwrapped, as in `relation`, or wrapped) → its name. */
export function relationName(value: unknown): RelationName | undefined {
  const fields = unwrap(value, "RangeVar") ?? (isNode(value) ? value : undefined);
  if (fields === undefined) return undefined;
  const name = stringField(fields, "relname");
  if (name === undefined) return undefined;
  return { schema: stringField(fields, "schemaname"), name };
}

/**
 * A dotted name as DROP gives it (`{ List: { items: [String...] } }`, or a bare
 * `{ String }` for a schema) → its parts, last part being the object's own name.
 */
export function dottedName(value: unknown): RelationName | undefined {
  const list = unwrap(value, "List");
  const parts = list === undefined ? stringList([value]) : stringList(listField(list, "items"));
  const name = parts[parts.length - 1];
  if (name === undefined) return undefined;
  return { schema: parts.length > 1 ? parts[parts.length - 2] : undefined, name };
}

/** `schema.name` or `name`, for messages. */
export function formatRelation(relation: RelationName): string {
  return relation.schema === undefined ? relation.name : `${relation.schema}.${relation.name}`;
}

/**
 * Calls `visit` on every wrapped node in the tree (depth first, parents before children).
 * Function bodies are strings in the tree, so statements inside them are not visited.
 */
export function walkNodes(value: unknown, visit: (type: string, fields: SqlNode) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) walkNodes(item, visit);
    return;
  }
  if (!isNode(value)) return;
  const node = nodeOf(value);
  if (node !== undefined) visit(node.type, node.fields);
  for (const child of Object.values(value)) {
    if (typeof child === "object" && child !== null) walkNodes(child, visit);
  }
}
