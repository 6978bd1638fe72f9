/**
 * Statements whose effect the linter cannot see (pure). The rules read parse trees, and
 * some statements hold code as text or run code defined elsewhere: a `DO` block (its
 * PL/pgSQL, `EXECUTE` of dynamic text included, is a string in the tree), `CALL` (a
 * procedure's body), `EXECUTE` of a prepared statement, and a call to a function created
 * earlier in the same revision (its body is a string too). Such a revision is reported
 * "not linted", as a TypeScript revision is. A call to a function that exists only in
 * the database is not reported: the linter cannot tell it from a built-in (`now()`).
 */
import { listField, stringList, unwrap, walkNodes, type RelationName, type SqlNode } from "./ast.js";
import type { SqlStatement } from "./parse.js";
import { excerpt, sameRelation } from "./script.js";

/** A statement the rules cannot see into. */
export interface OpaqueStatement {
  /** 1-based line in the file of the statement's first token. */
  readonly line: number;
  /** A short excerpt of the statement. */
  readonly statement: string;
  /** What runs unseen, e.g. `a DO block`. */
  readonly what: string;
}

/**
 * The statements of one revision that run code the linter does not read, in order.
 * @example
 * opaqueStatements(await splitStatements("DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$;"));
 * // [{ line: 1, statement: "DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$", what: "a DO block" }]
 */
export function opaqueStatements(statements: readonly SqlStatement[]): OpaqueStatement[] {
  const created: RelationName[] = [];
  const found: OpaqueStatement[] = [];
  const report = (statement: SqlStatement, what: string) => found.push({ line: statement.line, statement: excerpt(statement.uncommented), what });
  for (const statement of statements) {
    const fields = unwrap(statement.ast, statement.kind);
    if (fields === undefined) continue;
    if (statement.kind === "DoStmt") {
      report(statement, "a DO block");
      continue;
    }
    if (statement.kind === "CallStmt") {
      report(statement, "CALL of a procedure");
      continue;
    }
    if (statement.kind === "ExecuteStmt") {
      report(statement, "EXECUTE of a prepared statement");
      continue;
    }
    if (statement.kind === "CreateFunctionStmt") {
      const name = functionName(fields);
      if (name !== undefined) created.push(name);
      continue;
    }
    if (created.length === 0) continue;
    const called = new Set<string>();
    walkNodes(statement.ast, (type, node) => {
      const call = type === "FuncCall" ? functionName(node) : undefined;
      if (call !== undefined && created.some((fn) => sameRelation(fn, call))) called.add(call.schema === undefined ? call.name : `${call.schema}.${call.name}`);
    });
    if (called.size > 0) report(statement, `a call of ${[...called].map((name) => `${name}()`).join(", ")}, created in this revision`);
  }
  return found;
}

/** The (schema-qualified or not) name in a node's `funcname` list. */
function functionName(fields: SqlNode): RelationName | undefined {
  const parts = stringList(listField(fields, "funcname"));
  const name = parts[parts.length - 1];
  return name === undefined ? undefined : { schema: parts.length > 1 ? parts[parts.length - 2] : undefined, name };
}
