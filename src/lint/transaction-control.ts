/**
 * Statements a transactional revision must not contain (pure: reads parse trees). The
 * migration engine runs such a revision in a transaction of its own and records it in
 * the same transaction; a top-level `COMMIT` would commit half of it behind the engine's
 * back (and the version row with the other half, or not at all), `BEGIN` would be
 * ignored with a warning, `ROLLBACK` would undo the part before it and let the rest run
 * outside any transaction. Statements that cannot run in a transaction block
 * (`VACUUM`, `CREATE DATABASE`, `... CONCURRENTLY`) would fail there. Both are refused
 * before anything runs, and reported by the linter (`transaction-control`,
 * `requires-no-transaction`).
 *
 * `SAVEPOINT`, `RELEASE` and `ROLLBACK TO SAVEPOINT` stay inside the revision's
 * transaction and keep it all-or-nothing: they are allowed. Statements inside function
 * bodies and `DO` blocks are string constants to the parser and are not affected.
 */
import { boolField, listField, stringField, unwrap } from "./ast.js";
import type { SqlStatement } from "./parse.js";

/** Why a statement cannot be in a transactional revision. */
export interface TransactionBreaker {
  /** `COMMIT`, `BEGIN`, `VACUUM`, `CREATE INDEX CONCURRENTLY`... */
  readonly operation: string;
  /** `transaction-control` ends or opens a transaction; `requires-no-transaction` cannot run inside one. */
  readonly rule: "transaction-control" | "requires-no-transaction";
}

/** TransactionStmt kinds that end, open or hand off the revision's transaction. */
const ENDS_TRANSACTION: Readonly<Record<string, string>> = {
  TRANS_STMT_BEGIN: "BEGIN",
  TRANS_STMT_START: "START TRANSACTION",
  TRANS_STMT_COMMIT: "COMMIT",
  TRANS_STMT_ROLLBACK: "ROLLBACK",
  TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
  TRANS_STMT_COMMIT_PREPARED: "COMMIT PREPARED",
  TRANS_STMT_ROLLBACK_PREPARED: "ROLLBACK PREPARED",
};

/** The operation when `statement` cannot be in a transactional revision; undefined otherwise. */
export function transactionBreaker(statement: SqlStatement): TransactionBreaker | undefined {
  if (statement.kind === "TransactionStmt") {
    const fields = unwrap(statement.ast, statement.kind);
    const kind = fields === undefined ? undefined : stringField(fields, "kind");
    const operation = kind === undefined ? undefined : ENDS_TRANSACTION[kind];
    return operation === undefined ? undefined : { operation: spelled(statement, operation), rule: "transaction-control" };
  }
  const operation = requiresNoTransaction(statement);
  return operation === undefined ? undefined : { operation, rule: "requires-no-transaction" };
}

/** `END` and `ABORT` parse as COMMIT and ROLLBACK: name them as written. */
function spelled(statement: SqlStatement, operation: string): string {
  const first = /^\s*([A-Za-z]+)/.exec(statement.uncommented)?.[1]?.toUpperCase();
  return first === "END" || first === "ABORT" ? first : operation;
}

/**
 * A cheap test before parsing: false when `sql` cannot contain a transaction breaker
 * (none of the words they start with or contain appears), so most revisions are never
 * parsed for this check.
 */
export function mayBreakTransaction(sql: string): boolean {
  return BREAKER_WORDS.test(sql);
}

const BREAKER_WORDS = /\b(begin|start|commit|rollback|end|abort|prepared?|vacuum|database|system|concurrently|tablespace|reindex)\b/i;

/**
 * The operation when `statement` cannot run inside a transaction block (PostgreSQL
 * raises "... cannot run inside a transaction block"), e.g. `"CREATE INDEX CONCURRENTLY"`;
 * undefined otherwise. The migration engine can use it to explain a failure.
 */
export function requiresNoTransaction(statement: SqlStatement): string | undefined {
  const fields = unwrap(statement.ast, statement.kind);
  if (fields === undefined) return undefined;
  switch (statement.kind) {
    case "IndexStmt":
      return boolField(fields, "concurrent") ? "CREATE INDEX CONCURRENTLY" : undefined;
    case "DropStmt":
      return boolField(fields, "concurrent") ? "DROP INDEX CONCURRENTLY" : undefined;
    case "ReindexStmt": {
      const concurrently = listField(fields, "params").some((p) => stringField(unwrap(p, "DefElem") ?? {}, "defname") === "concurrently");
      if (concurrently) return "REINDEX CONCURRENTLY";
      const kind = stringField(fields, "kind");
      if (kind === "REINDEX_OBJECT_SCHEMA") return "REINDEX SCHEMA";
      if (kind === "REINDEX_OBJECT_DATABASE") return "REINDEX DATABASE";
      if (kind === "REINDEX_OBJECT_SYSTEM") return "REINDEX SYSTEM";
      return undefined;
    }
    case "AlterTableStmt": {
      const detach = listField(fields, "cmds").some((item) => {
        const cmd = unwrap(item, "AlterTableCmd");
        if (cmd === undefined || cmd["subtype"] !== "AT_DetachPartition") return false;
        const partition = unwrap(cmd["def"], "PartitionCmd");
        return partition !== undefined && boolField(partition, "concurrent");
      });
      return detach ? "DETACH PARTITION CONCURRENTLY" : undefined;
    }
    case "VacuumStmt":
      // ANALYZE (is_vacuumcmd false) may run in a transaction; VACUUM may not.
      return boolField(fields, "is_vacuumcmd") ? "VACUUM" : undefined;
    case "CreatedbStmt":
      return "CREATE DATABASE";
    case "DropdbStmt":
      return "DROP DATABASE";
    case "CreateTableSpaceStmt":
      return "CREATE TABLESPACE";
    case "DropTableSpaceStmt":
      return "DROP TABLESPACE";
    case "AlterSystemStmt":
      return "ALTER SYSTEM";
    default:
      return undefined;
  }
}
