/**
 * Rules for ALTER TABLE subcommands: drop column, type changes, NOT NULL, constraints,
 * added columns. Lock levels and rewrite behaviour are PostgreSQL's (13–18), cited per rule.
 */
import {
  boolField,
  formatRelation,
  listField,
  objectField,
  relationName,
  stringField,
  stringList,
  unwrap,
  type RelationName,
  type SqlNode,
} from "./ast.js";
import {
  changeNeedsRewrite,
  defaultVolatility,
  formatType,
  isTrivialUsing,
  mayAvoidRewrite,
  notNullColumns,
  typeBaseName,
} from "./expressions.js";
import type { SqlStatement } from "./parse.js";
import type { Script } from "./script.js";

const SERIAL_TYPES = new Set(["smallserial", "serial", "bigserial", "serial2", "serial4", "serial8"]);

/** Checks one `ALTER TABLE` statement (an `AlterTableStmt`'s fields). */
export function checkAlterTable(statement: SqlStatement, fields: SqlNode, script: Script): void {
  // ALTER INDEX / VIEW / MATERIALIZED VIEW / FOREIGN TABLE rewrite no table data.
  if (stringField(fields, "objtype") !== "OBJECT_TABLE") return;
  const table = relationName(fields["relation"]);
  // A table created in this revision is empty and unused: nothing here can hurt it.
  if (table === undefined || script.isNewTable(table)) return;
  for (const item of listField(fields, "cmds")) {
    const cmd = unwrap(item, "AlterTableCmd");
    if (cmd !== undefined) checkCommand(statement, cmd, table, script);
  }
}

function checkCommand(statement: SqlStatement, cmd: SqlNode, table: RelationName, script: Script): void {
  const column = stringField(cmd, "name") ?? "";
  const where = `${column} of ${formatRelation(table)}`;
  switch (stringField(cmd, "subtype")) {
    case "AT_DropColumn":
      script.report(
        statement,
        "drop-column",
        `Dropping column ${where} loses its data, and running code that still names the column fails as soon as the drop commits.`,
      );
      return;
    case "AT_AlterColumnType": {
      const def = unwrap(cmd["def"], "ColumnDef");
      if (def !== undefined) checkAlterType(statement, def, column, table, script);
      return;
    }
    case "AT_SetNotNull":
      if (!script.isProvenNotNull(table, column)) {
        script.report(
          statement,
          "set-not-null",
          `SET NOT NULL on ${where} scans the whole table for NULLs under an ACCESS EXCLUSIVE lock (no reads, no writes); no validated CHECK (${column} IS NOT NULL) in this revision lets PostgreSQL skip the scan.`,
        );
      }
      return;
    case "AT_AddConstraint": {
      const constraint = unwrap(cmd["def"], "Constraint");
      if (constraint !== undefined) checkAddConstraint(statement, constraint, table, script);
      return;
    }
    case "AT_ValidateConstraint":
      // VALIDATE itself takes SHARE UPDATE EXCLUSIVE (reads and writes go on); it only
      // hurts when the ADD ... NOT VALID's stronger lock is still held.
      if (script.validated(table, column) && script.transactional) {
        script.report(
          statement,
          "validate-in-transaction",
          `Constraint ${column} on ${formatRelation(table)} was added NOT VALID in this same transaction, so the ADD's lock is still held while VALIDATE scans the table.`,
        );
      }
      return;
    case "AT_AddColumn": {
      const def = unwrap(cmd["def"], "ColumnDef");
      if (def !== undefined) checkAddColumn(statement, def, table, script);
      return;
    }
    default:
      return;
  }
}

/**
 * PostgreSQL rewrites the table (and rebuilds its indexes) for a type change unless the
 * old type is binary coercible to the new one and USING does not change the values
 * (docs, ALTER TABLE, "Notes"). The old type is not in the SQL, so a target that a
 * widening could reach is a warning, any other target a danger.
 */
function checkAlterType(statement: SqlStatement, def: SqlNode, column: string, table: RelationName, script: Script): void {
  const typeName = objectField(def, "typeName");
  if (typeName === undefined) return;
  const oldType = script.columnType(table, column);
  script.columnTyped(table, column, typeName);
  const target = formatType(typeName);
  const where = `${column} of ${formatRelation(table)}`;
  const change = oldType === undefined ? `${where} to ${target}` : `${where} from ${formatType(oldType)} to ${target}`;
  const using = def["raw_default"];
  if (def["collClause"] !== undefined) {
    script.report(
      statement,
      "alter-column-type",
      `Changing ${change} with a new COLLATE rebuilds its indexes (and rewrites the table unless the type is binary-compatible) under an ACCESS EXCLUSIVE lock that blocks every read and write.`,
    );
  } else if (using !== undefined && !isTrivialUsing(using, column, typeName)) {
    script.report(
      statement,
      "alter-column-type",
      `Changing ${change} with a USING expression computes every value again: the whole table and its indexes are rewritten under an ACCESS EXCLUSIVE lock that blocks every read and write.`,
    );
  } else if (oldType !== undefined) {
    if (!changeNeedsRewrite(oldType, typeName)) return;
    script.report(
      statement,
      "alter-column-type",
      `Changing ${change} rewrites the whole table and rebuilds its indexes under an ACCESS EXCLUSIVE lock that blocks every read and write until it ends.`,
    );
  } else if (mayAvoidRewrite(typeName)) {
    script.report(
      statement,
      "alter-column-type",
      `Changing ${change} is free (no rewrite) only ${widenings(typeName)}; from any other type it rewrites the whole table and its indexes under an ACCESS EXCLUSIVE lock.`,
      "warning",
    );
  } else {
    script.report(
      statement,
      "alter-column-type",
      `Changing ${change} rewrites the whole table and rebuilds its indexes under an ACCESS EXCLUSIVE lock that blocks every read and write until it ends.`,
    );
  }
}

/** The old types from which a change to `typeName` needs no rewrite. */
function widenings(typeName: SqlNode): string {
  const base = typeBaseName(typeName);
  const limited = listField(typeName, "typmods").length > 0;
  const target = formatType(typeName);
  switch (base) {
    case "text":
      return "from varchar or varchar(n)";
    case "varchar":
      return limited ? `from varchar(m) with m <= the new limit` : "from varchar(n) or text";
    case "varbit":
      return limited ? "from varbit(m) with m <= the new limit" : "from varbit(n)";
    case "numeric":
      return limited ? "from numeric with a smaller or equal precision and the same scale" : "from numeric(p,s)";
    default:
      return limited ? `from ${base} with a smaller or equal precision` : `from ${target}(p)`;
  }
}

function checkAddConstraint(statement: SqlStatement, constraint: SqlNode, table: RelationName, script: Script): void {
  const name = stringField(constraint, "conname") ?? "";
  const label = name === "" ? "" : ` ${name}`;
  // NOT VALID (and PostgreSQL 18's NOT ENFORCED) set skip_validation: no scan of old rows.
  const notValid = boolField(constraint, "skip_validation");
  switch (stringField(constraint, "contype")) {
    case "CONSTR_FOREIGN": {
      if (notValid) {
        script.addedNotValid(table, name, []);
        return;
      }
      const referenced = relationName(constraint["pktable"]);
      script.report(
        statement,
        "add-foreign-key",
        `Adding foreign key${label} on ${formatRelation(table)}${referenced === undefined ? "" : ` referencing ${formatRelation(referenced)}`} without NOT VALID scans the whole table while SHARE ROW EXCLUSIVE locks on both tables block every INSERT, UPDATE and DELETE on them.`,
      );
      return;
    }
    case "CONSTR_CHECK": {
      const columns = notNullColumns(constraint["raw_expr"]);
      if (notValid) {
        script.addedNotValid(table, name, columns);
        return;
      }
      for (const column of columns) script.provedNotNull(table, column);
      script.report(
        statement,
        "add-check",
        `Adding CHECK constraint${label} on ${formatRelation(table)} without NOT VALID scans the whole table under an ACCESS EXCLUSIVE lock that blocks every read and write.`,
      );
      return;
    }
    case "CONSTR_NOTNULL": {
      // PostgreSQL 18: ADD CONSTRAINT name NOT NULL column [NOT VALID].
      const columns = stringList(listField(constraint, "keys"));
      if (notValid) {
        script.addedNotValid(table, name, columns);
        return;
      }
      for (const column of columns) {
        if (script.isProvenNotNull(table, column)) continue;
        script.report(
          statement,
          "set-not-null",
          `Adding NOT NULL constraint${label} on ${column} of ${formatRelation(table)} without NOT VALID scans the whole table for NULLs under an ACCESS EXCLUSIVE lock (no reads, no writes).`,
        );
      }
      return;
    }
    case "CONSTR_PRIMARY":
    case "CONSTR_UNIQUE": {
      if (stringField(constraint, "indexname") !== undefined) return;
      const kind = constraint["contype"] === "CONSTR_PRIMARY" ? "PRIMARY KEY" : "UNIQUE constraint";
      script.report(
        statement,
        "add-unique-constraint",
        `Adding ${kind}${label} on ${formatRelation(table)} builds its index under an ACCESS EXCLUSIVE lock that blocks every read and write for the whole build.`,
      );
      return;
    }
    default:
      return;
  }
}

/**
 * PostgreSQL 11+: ADD COLUMN with no default or a non-volatile one only changes the
 * catalog (the value is stored once as the column's "missing value"). A volatile
 * default, an identity or serial column (nextval per row) or a STORED generated column
 * rewrites every row (ATExecAddColumn sets AT_REWRITE_DEFAULT_VAL). NOT NULL without a
 * default makes PostgreSQL check the existing rows, which are all NULL: it fails.
 */
function checkAddColumn(statement: SqlStatement, def: SqlNode, table: RelationName, script: Script): void {
  const column = stringField(def, "colname") ?? "";
  const where = `${column} of ${formatRelation(table)}`;
  const typeName = objectField(def, "typeName");
  if (typeName !== undefined) script.columnTyped(table, column, typeName);
  let hasValue = false;
  let notNull = false;
  let rewriteBecause: string | undefined;
  let unknownDefault: readonly string[] = [];

  if (typeName !== undefined && SERIAL_TYPES.has(typeBaseName(typeName))) {
    hasValue = true;
    rewriteBecause = `${typeBaseName(typeName)} fills every row from a sequence (nextval)`;
  }
  for (const item of listField(def, "constraints")) {
    const constraint = unwrap(item, "Constraint");
    if (constraint === undefined) continue;
    const name = stringField(constraint, "conname") ?? "";
    switch (stringField(constraint, "contype")) {
      case "CONSTR_DEFAULT": {
        hasValue = true;
        const volatility = defaultVolatility(constraint["raw_expr"]);
        if (volatility.kind === "volatile") rewriteBecause = `the default calls volatile ${volatility.functions.map((f) => `${f}()`).join(", ")}, computed for every row`;
        else if (volatility.kind === "unknown") unknownDefault = volatility.functions;
        break;
      }
      case "CONSTR_IDENTITY":
        hasValue = true;
        rewriteBecause = "an identity column fills every row from a sequence (nextval)";
        break;
      case "CONSTR_GENERATED":
        hasValue = true;
        // 's' = STORED (computed and written for every row); 'v' = VIRTUAL (PG 18, computed on read).
        if (constraint["generated_kind"] === "s") rewriteBecause = "a STORED generated column is computed and written for every row";
        break;
      case "CONSTR_NOTNULL":
        notNull = true;
        break;
      case "CONSTR_PRIMARY":
        notNull = true;
        reportIndexedColumn(statement, "PRIMARY KEY", where, script);
        break;
      case "CONSTR_UNIQUE":
        reportIndexedColumn(statement, "UNIQUE", where, script);
        break;
      case "CONSTR_CHECK":
        if (!boolField(constraint, "skip_validation")) {
          script.report(
            statement,
            "add-check",
            `Adding column ${where} with a CHECK constraint${name === "" ? "" : ` ${name}`} scans the whole table to check it under an ACCESS EXCLUSIVE lock that blocks every read and write.`,
          );
        }
        break;
      case "CONSTR_FOREIGN": {
        if (boolField(constraint, "skip_validation")) break; // NOT ENFORCED (PostgreSQL 18)
        const referenced = relationName(constraint["pktable"]);
        script.report(
          statement,
          "add-foreign-key",
          `Adding column ${where} with REFERENCES${referenced === undefined ? "" : ` ${formatRelation(referenced)}`} validates the foreign key by scanning the whole table while SHARE ROW EXCLUSIVE locks block writes to both tables; it cannot be NOT VALID in this form.`,
        );
        break;
      }
      default:
        break;
    }
  }
  if (rewriteBecause !== undefined) {
    script.report(
      statement,
      "add-column-volatile-default",
      `Adding column ${where} rewrites the whole table under an ACCESS EXCLUSIVE lock that blocks every read and write: ${rewriteBecause}.`,
    );
  } else if (unknownDefault.length > 0) {
    script.report(
      statement,
      "add-column-volatile-default",
      `Adding column ${where} with a default that calls ${unknownDefault.map((f) => `${f}()`).join(", ")}: if any is VOLATILE (the default for a function declared without IMMUTABLE or STABLE), the whole table is rewritten under an ACCESS EXCLUSIVE lock; a STABLE or IMMUTABLE default is stored once.`,
      "warning",
    );
  }
  if (notNull && !hasValue) {
    script.report(
      statement,
      "add-column-not-null",
      `Adding column ${where} as NOT NULL without a DEFAULT fails on any table that has rows (every existing row would be NULL).`,
    );
  }
}

function reportIndexedColumn(statement: SqlStatement, kind: string, where: string, script: Script): void {
  script.report(
    statement,
    "add-unique-constraint",
    `Adding column ${where} as ${kind} builds a unique index under an ACCESS EXCLUSIVE lock that blocks every read and write for the whole build.`,
  );
}
