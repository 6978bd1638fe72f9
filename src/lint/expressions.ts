/**
 * What the linter can tell from an expression or a type name without a catalog:
 * whether a default is volatile, whether a column type change may avoid a rewrite.
 */
import { isNode, listField, objectField, stringList, unwrap, walkNodes, type SqlNode } from "./ast.js";

/**
 * Volatile built-ins (and common extension functions) seen in defaults: each call may
 * return a different value, so PostgreSQL must compute it for every existing row.
 */
const VOLATILE_FUNCTIONS = new Set([
  "random",
  "random_normal",
  "setseed",
  "gen_random_uuid",
  "uuidv4",
  "uuidv7",
  "uuid_generate_v1",
  "uuid_generate_v1mc",
  "uuid_generate_v4",
  "gen_random_bytes",
  "clock_timestamp",
  "timeofday",
  "nextval",
  "currval",
  "lastval",
  "setval",
  "txid_current",
  "pg_current_xact_id",
]);

/**
 * Built-ins that are IMMUTABLE or STABLE, hence evaluated once for ADD COLUMN ... DEFAULT
 * (now() is STABLE: every existing row gets the time of the ALTER).
 */
const NON_VOLATILE_FUNCTIONS = new Set([
  "now",
  "transaction_timestamp",
  "statement_timestamp",
  "timezone",
  "date_trunc",
  "make_date",
  "make_time",
  "make_timestamp",
  "make_timestamptz",
  "make_interval",
  "to_timestamp",
  "to_date",
  "to_char",
  "to_number",
  "lower",
  "upper",
  "btrim",
  "ltrim",
  "rtrim",
  "concat",
  "concat_ws",
  "substr",
  "substring",
  "replace",
  "length",
  "md5",
  "abs",
  "round",
  "floor",
  "ceil",
  "json_build_object",
  "json_build_array",
  "jsonb_build_object",
  "jsonb_build_array",
  "to_json",
  "to_jsonb",
  "array_fill",
  "current_setting",
  "current_schema",
  "current_database",
  "inet_client_addr",
]);

/** How a default expression behaves for existing rows. */
export interface DefaultVolatility {
  /** `volatile`: computed per row; `unknown`: calls functions the linter does not know; `stable`: computed once. */
  readonly kind: "volatile" | "unknown" | "stable";
  /** The functions that made it volatile or unknown. */
  readonly functions: readonly string[];
}

/** Classifies a default expression by the functions it calls. */
export function defaultVolatility(expression: unknown): DefaultVolatility {
  const volatile: string[] = [];
  const unknown: string[] = [];
  walkNodes(expression, (type, fields) => {
    if (type !== "FuncCall") return;
    const name = stringList(listField(fields, "funcname")).join(".");
    const base = name.slice(name.lastIndexOf(".") + 1);
    if (VOLATILE_FUNCTIONS.has(base)) volatile.push(name);
    else if (!NON_VOLATILE_FUNCTIONS.has(base)) unknown.push(name);
  });
  if (volatile.length > 0) return { kind: "volatile", functions: volatile };
  if (unknown.length > 0) return { kind: "unknown", functions: unknown };
  return { kind: "stable", functions: [] };
}

/** The last part of a TypeName's name (`pg_catalog.varchar` → `varchar`). */
export function typeBaseName(typeName: SqlNode): string {
  const names = stringList(listField(typeName, "names"));
  return names[names.length - 1] ?? "";
}

/** The grammar turns SQL type names into catalog names (bigint → pg_catalog.int8): back again. */
const SQL_TYPE_NAMES: { readonly [catalogName: string]: string } = {
  int2: "smallint",
  int4: "integer",
  int8: "bigint",
  float4: "real",
  float8: "double precision",
  bool: "boolean",
  bpchar: "char",
};

/** A TypeName as written, for messages: `varchar(20)`, `numeric(10,2)`, `text[]`. */
export function formatType(typeName: SqlNode): string {
  const names = stringList(listField(typeName, "names"));
  const builtin = names[0] === "pg_catalog" && names.length === 2 ? (names[1] ?? "") : undefined;
  const shown = builtin === undefined ? names.join(".") : (SQL_TYPE_NAMES[builtin] ?? builtin);
  const mods = listField(typeName, "typmods").map(formatTypmod);
  const arrays = listField(typeName, "arrayBounds").length;
  return `${shown}${mods.length > 0 ? `(${mods.join(",")})` : ""}${"[]".repeat(arrays)}`;
}

function formatTypmod(value: unknown): string {
  const constant = unwrap(value, "A_Const");
  if (constant === undefined) return "?";
  const ival = objectField(constant, "ival");
  if (ival !== undefined) return String(typeof ival["ival"] === "number" ? ival["ival"] : 0);
  const sval = objectField(constant, "sval");
  return typeof sval?.["sval"] === "string" ? sval["sval"] : "?";
}

/**
 * Target types whose change can be binary-compatible (no rewrite) from a narrower
 * source type (PostgreSQL 9.2+: length, precision and "no limit" relaxations).
 */
const POSSIBLY_NO_REWRITE_TARGETS = new Set(["varchar", "text", "varbit", "numeric", "timestamp", "timestamptz", "interval"]);

/** True when changing a column to this type may avoid a rewrite, depending on the old type. */
export function mayAvoidRewrite(typeName: SqlNode): boolean {
  return listField(typeName, "arrayBounds").length === 0 && POSSIBLY_NO_REWRITE_TARGETS.has(typeBaseName(typeName));
}

/**
 * True when changing a column from type `from` to type `to` rewrites the table
 * (PostgreSQL's ATColumnChangeRequiresRewrite): false only for the binary-compatible
 * changes whose length or precision check PostgreSQL proves needless (the typmod
 * "support functions" since 9.2): varchar(n) → varchar(m >= n), varchar, text;
 * text → varchar; varbit(n) → varbit(m >= n) or varbit; numeric(p,s) → numeric(q >= p, s)
 * or numeric; timestamp(tz)(p) → the same type with q >= p or no precision;
 * interval(...) → interval. Anything else, arrays included, is treated as a rewrite.
 */
export function changeNeedsRewrite(from: SqlNode, to: SqlNode): boolean {
  if (sameType(from, to)) return false;
  if (listField(from, "arrayBounds").length > 0 || listField(to, "arrayBounds").length > 0) return true;
  const source = typeBaseName(from);
  const target = typeBaseName(to);
  const fromMods = typmodNumbers(from);
  const toMods = typmodNumbers(to);
  if (fromMods === undefined || toMods === undefined) return true;
  switch (target) {
    case "text":
      return source !== "varchar" && source !== "text";
    case "varchar":
      if (source === "text") return toMods.length > 0;
      return source !== "varchar" || !widensLength(fromMods, toMods);
    case "varbit":
      return source !== "varbit" || !widensLength(fromMods, toMods);
    case "numeric": {
      if (source !== "numeric") return true;
      if (toMods.length === 0) return false;
      const [fromPrecision, fromScale = 0] = fromMods;
      const [toPrecision, toScale = 0] = toMods;
      if (fromPrecision === undefined || toPrecision === undefined) return true;
      return !(toScale === fromScale && toPrecision >= fromPrecision);
    }
    case "timestamp":
    case "timestamptz":
      return source !== target || !widensLength(fromMods, toMods);
    case "interval":
      return source !== "interval" || toMods.length > 0;
    default:
      return true;
  }
}

/** No new limit, or a new limit at least the old one. */
function widensLength(fromMods: readonly number[], toMods: readonly number[]): boolean {
  const to = toMods[0];
  if (to === undefined) return true;
  const from = fromMods[0];
  return from !== undefined && to >= from;
}

/** The integer type modifiers (`varchar(20)` → [20]), or undefined if any is not an integer. */
function typmodNumbers(typeName: SqlNode): number[] | undefined {
  const out: number[] = [];
  for (const mod of listField(typeName, "typmods")) {
    const constant = unwrap(mod, "A_Const");
    const ival = constant === undefined ? undefined : objectField(constant, "ival");
    if (ival === undefined) return undefined;
    out.push(typeof ival["ival"] === "number" ? ival["ival"] : 0);
  }
  return out;
}

/**
 * True when a USING expression leaves the values as they are: the column itself, or the
 * column cast to exactly the new type (what PostgreSQL does without USING).
 */
export function isTrivialUsing(expression: unknown, column: string, typeName: SqlNode): boolean {
  if (isColumn(expression, column)) return true;
  const cast = unwrap(expression, "TypeCast");
  if (cast === undefined || !isColumn(cast["arg"], column)) return false;
  const castType = objectField(cast, "typeName");
  return castType !== undefined && sameType(castType, typeName);
}

function isColumn(expression: unknown, column: string): boolean {
  const ref = unwrap(expression, "ColumnRef");
  if (ref === undefined) return false;
  const fields = stringList(listField(ref, "fields"));
  return fields[fields.length - 1] === column;
}

/** Same type as written: `integer`, `int4` and `pg_catalog.int4` are one type. */
function sameType(a: SqlNode, b: SqlNode): boolean {
  return JSON.stringify(typeIdentity(a)) === JSON.stringify(typeIdentity(b));
}

function typeIdentity(typeName: SqlNode): unknown {
  const names = stringList(listField(typeName, "names"));
  return {
    names: names.length === 2 && names[0] === "pg_catalog" ? names.slice(1) : names,
    typmods: withoutLocations(listField(typeName, "typmods")),
    arrays: listField(typeName, "arrayBounds").length,
  };
}

function withoutLocations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutLocations);
  if (!isNode(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) if (key !== "location") out[key] = withoutLocations(child);
  return out;
}

/** The column names of `col IS NOT NULL` tests in a CHECK expression (alone or under AND). */
export function notNullColumns(expression: unknown): string[] {
  const test = unwrap(expression, "NullTest");
  if (test !== undefined) {
    if (test["nulltesttype"] !== "IS_NOT_NULL") return [];
    const ref = unwrap(test["arg"], "ColumnRef");
    if (ref === undefined) return [];
    const fields = stringList(listField(ref, "fields"));
    const column = fields[fields.length - 1];
    return column === undefined ? [] : [column];
  }
  const bool = unwrap(expression, "BoolExpr");
  if (bool !== undefined && bool["boolop"] === "AND_EXPR") return listField(bool, "args").flatMap(notNullColumns);
  return [];
}

