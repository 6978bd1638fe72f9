/**
 * The dangerous-change rules over parsed statements (pure: no I/O, no parser loading).
 * Each statement is read from its parse tree, never by matching text. The rule ids,
 * reasons and safe patterns are in catalog.ts; ALTER TABLE subcommands are in
 * alter-table-rules.ts.
 */
import {
  boolField,
  dottedName,
  formatRelation,
  listField,
  objectField,
  relationName,
  stringField,
  unwrap,
  walkNodes,
  type RelationName,
  type SqlNode,
} from "./ast.js";
import { checkAlterTable } from "./alter-table-rules.js";
import type { SqlStatement } from "./parse.js";
import { Script, type ColumnTypeLookup, type RuleFinding } from "./script.js";
import { transactionBreaker } from "./transaction-control.js";

export { requiresNoTransaction } from "./transaction-control.js";

export type { ColumnTypeLookup, RuleFinding } from "./script.js";

/** Options of {@link checkStatements}. */
export interface CheckOptions {
  /**
   * Whether the revision runs in one transaction (the default; false for
   * `-- athanor:transaction false`). Decides `requires-no-transaction` and
   * `validate-in-transaction`.
   */
  readonly transactional?: boolean | undefined;
  /**
   * The current type of a column, when known: turns `alter-column-type` from a guess
   * about the old type into an exact verdict (e.g. varchar(20) → text is silent).
   */
  readonly columnType?: ColumnTypeLookup | undefined;
}

/**
 * Runs every rule over one revision's statements, in order (later statements see what
 * earlier ones created, e.g. an index on a table created above is fine).
 *
 * @example
 * const findings = checkStatements(await splitStatements("DROP TABLE orders;"));
 * // [{ rule: "drop-table", severity: "danger", line: 1, statement: "DROP TABLE orders", ... }]
 */
export function checkStatements(statements: readonly SqlStatement[], options: CheckOptions = {}): RuleFinding[] {
  const script = new Script(options.transactional ?? true, options.columnType);
  for (const statement of statements) checkStatement(statement, script);
  return script.findings;
}

function checkStatement(statement: SqlStatement, script: Script): void {
  const fields = unwrap(statement.ast, statement.kind);
  if (fields === undefined) return;

  const breaker = script.transactional ? transactionBreaker(statement) : undefined;
  if (breaker?.rule === "requires-no-transaction") {
    script.report(
      statement,
      "requires-no-transaction",
      `${breaker.operation} cannot run inside a transaction block, and this revision runs in one: \`upgrade\` refuses the revision before anything runs.`,
    );
  } else if (breaker?.rule === "transaction-control") {
    script.report(
      statement,
      "transaction-control",
      `${breaker.operation} would ${breaker.operation === "BEGIN" || breaker.operation === "START TRANSACTION" ? "open a transaction inside the one athanor runs the revision in (PostgreSQL ignores it with a warning, and a later COMMIT in the file then commits half of the revision)" : "end the transaction athanor runs the revision in, committing or discarding part of the revision behind its back"}: \`upgrade\` refuses the revision before anything runs.`,
    );
  }

  switch (statement.kind) {
    case "CreateStmt":
    case "ViewStmt":
      tableCreated(fields[statement.kind === "ViewStmt" ? "view" : "relation"], script);
      return;
    case "CreateTableAsStmt":
      tableCreated(objectField(fields, "into")?.["rel"], script);
      return;
    case "IndexStmt":
      checkCreateIndex(statement, fields, script);
      return;
    case "DropStmt":
      checkDrop(statement, fields, script);
      return;
    case "RenameStmt":
      checkRename(statement, fields, script);
      return;
    case "TruncateStmt":
      checkTruncate(statement, fields, script);
      return;
    case "AlterTableStmt":
      checkAlterTable(statement, fields, script);
      return;
    case "SelectStmt":
      // SELECT ... INTO new_table creates a table.
      tableCreated(objectField(fields, "intoClause")?.["rel"], script);
      checkDataChanges(statement, script);
      return;
    case "DeleteStmt":
    case "UpdateStmt":
    case "InsertStmt":
    case "MergeStmt":
      checkDataChanges(statement, script);
      return;
    default:
      return;
  }
}

function tableCreated(rangeVar: unknown, script: Script): void {
  const table = relationName(rangeVar);
  if (table !== undefined) script.tableCreated(table);
}

function checkCreateIndex(statement: SqlStatement, fields: SqlNode, script: Script): void {
  const table = relationName(fields["relation"]);
  if (table === undefined) return;
  const name = stringField(fields, "idxname");
  // An index lives in its table's schema.
  if (name !== undefined) script.indexCreated({ schema: table.schema, name });
  if (boolField(fields, "concurrent") || script.isNewTable(table)) return;
  script.report(
    statement,
    "create-index",
    `CREATE INDEX${name === undefined ? "" : ` ${name}`} on ${formatRelation(table)} without CONCURRENTLY holds a SHARE lock for the whole build: every INSERT, UPDATE and DELETE on the table waits.`,
  );
}

function checkDrop(statement: SqlStatement, fields: SqlNode, script: Script): void {
  const objects = listField(fields, "objects")
    .map(dottedName)
    .filter((o): o is RelationName => o !== undefined);
  const cascade = stringField(fields, "behavior") === "DROP_CASCADE";
  switch (stringField(fields, "removeType")) {
    case "OBJECT_TABLE": {
      const existing = objects.filter((t) => !script.isNewTable(t));
      if (existing.length === 0) return;
      script.report(
        statement,
        "drop-table",
        `Dropping ${list("table", existing)} deletes ${existing.length === 1 ? "it" : "them"} with every row${cascade ? ", and CASCADE also drops the views and foreign keys that depend on them" : ""}; only a backup brings the data back, and running code that uses ${existing.length === 1 ? "it" : "them"} fails as soon as the drop commits.`,
      );
      return;
    }
    case "OBJECT_SCHEMA":
      script.report(
        statement,
        "drop-schema",
        cascade
          ? `Dropping ${list("schema", objects)} with CASCADE silently drops every table, view, function and type inside, with their data.`
          : `Dropping ${list("schema", objects)} removes it; running code that uses it fails (PostgreSQL refuses while it still holds objects, since there is no CASCADE).`,
      );
      return;
    case "OBJECT_INDEX": {
      if (boolField(fields, "concurrent")) return;
      const existing = objects.filter((i) => !script.isNewIndex(i));
      if (existing.length === 0) return;
      script.report(
        statement,
        "drop-index",
        `DROP INDEX ${existing.map(formatRelation).join(", ")} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table: it waits behind running queries, and every query arriving meanwhile waits behind it.`,
      );
      return;
    }
    default:
      return;
  }
}

function list(noun: string, relations: readonly RelationName[]): string {
  return `${noun}${relations.length === 1 ? "" : "s"} ${relations.map(formatRelation).join(", ")}`;
}

const RENAMED_RELATIONS: { readonly [renameType: string]: string } = {
  OBJECT_TABLE: "table",
  OBJECT_VIEW: "view",
  OBJECT_MATVIEW: "materialized view",
  OBJECT_FOREIGN_TABLE: "foreign table",
};

function checkRename(statement: SqlStatement, fields: SqlNode, script: Script): void {
  const renameType = stringField(fields, "renameType") ?? "";
  const relation = relationName(fields["relation"]);
  const newName = stringField(fields, "newname");
  if (relation === undefined || newName === undefined) return;
  const noun = RENAMED_RELATIONS[renameType];
  if (noun !== undefined) {
    if (script.isNewTable(relation)) {
      script.tableCreated({ schema: relation.schema, name: newName });
      return;
    }
    script.report(
      statement,
      "rename",
      `Renaming ${noun} ${formatRelation(relation)} to ${newName} breaks every query that uses the old name as soon as it commits; application instances still running old code fail.`,
    );
  } else if (renameType === "OBJECT_COLUMN") {
    if (script.isNewTable(relation)) return;
    script.report(
      statement,
      "rename",
      `Renaming column ${stringField(fields, "subname") ?? ""} of ${formatRelation(relation)} to ${newName} breaks every query that uses the old name as soon as it commits; application instances still running old code fail.`,
    );
  }
}

function checkTruncate(statement: SqlStatement, fields: SqlNode, script: Script): void {
  const existing = listField(fields, "relations")
    .map(relationName)
    .filter((t): t is RelationName => t !== undefined && !script.isNewTable(t));
  if (existing.length === 0) return;
  script.report(
    statement,
    "truncate",
    `TRUNCATE ${existing.map(formatRelation).join(", ")} deletes every row at once under an ACCESS EXCLUSIVE lock; once committed only a backup brings the rows back.`,
  );
}

/** DELETE and UPDATE without WHERE, also inside WITH clauses. */
function checkDataChanges(statement: SqlStatement, script: Script): void {
  walkNodes(statement.ast, (type, fields) => {
    if (type !== "DeleteStmt" && type !== "UpdateStmt") return;
    if (fields["whereClause"] !== undefined) return;
    const table = relationName(fields["relation"]);
    if (table === undefined || script.isNewTable(table)) return;
    if (type === "DeleteStmt") {
      script.report(statement, "delete-without-where", `DELETE FROM ${formatRelation(table)} without WHERE removes every row of the table.`);
    } else {
      script.report(
        statement,
        "update-without-where",
        `UPDATE ${formatRelation(table)} without WHERE rewrites every row: each row stays locked until the transaction ends and leaves a dead copy behind.`,
      );
    }
  });
}
