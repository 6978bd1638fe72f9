/**
 * What the linter remembers while it reads one revision's statements in order: tables
 * and indexes created here (changing them is harmless: nobody uses them yet),
 * constraints added NOT VALID, columns a validated constraint proves NOT NULL.
 */
import type { RelationName, SqlNode } from "./ast.js";
import { RULES, type RuleId, type Severity } from "./catalog.js";
import type { SqlStatement } from "./parse.js";
import { maskPasswords } from "../secrets/sql-passwords.js";

/** One thing the rules found, before the revision and file are attached. */
export interface RuleFinding {
  readonly rule: RuleId;
  readonly severity: Severity;
  /** 1-based line in the file of the statement's first token. */
  readonly line: number;
  /** A short excerpt of the statement. */
  readonly statement: string;
  /** Why this statement is dangerous in PostgreSQL. */
  readonly message: string;
  /** The safe pattern. */
  readonly safe: string;
}

interface NotValidConstraint {
  readonly table: RelationName;
  readonly name: string;
  /** Columns the constraint proves NOT NULL once validated. */
  readonly notNullColumns: readonly string[];
}

/**
 * The type (a parse-tree TypeName) a column has before the revision runs, when the
 * caller knows it (from the database or a schema model); undefined when unknown.
 */
export type ColumnTypeLookup = (table: RelationName, column: string) => SqlNode | undefined;

const EXCERPT_LENGTH = 80;

/** Same relation, when an unqualified name may be either one (search_path decides). */
export function sameRelation(a: RelationName, b: RelationName): boolean {
  return a.name === b.name && (a.schema === undefined || b.schema === undefined || a.schema === b.schema);
}

/** Per-revision linter state and the findings so far. */
export class Script {
  readonly transactional: boolean;
  readonly findings: RuleFinding[] = [];
  private readonly createdTables: RelationName[] = [];
  private readonly createdIndexes: RelationName[] = [];
  private readonly notValid: NotValidConstraint[] = [];
  private readonly provenNotNull: { readonly table: RelationName; readonly column: string }[] = [];
  private readonly columnTypes: { readonly table: RelationName; readonly column: string; readonly type: SqlNode }[] = [];
  private readonly knownColumnType: ColumnTypeLookup | undefined;

  constructor(transactional: boolean, columnType?: ColumnTypeLookup) {
    this.transactional = transactional;
    this.knownColumnType = columnType;
  }

  /** Records a finding on `statement`, with the rule's severity unless told otherwise. */
  report(statement: SqlStatement, rule: RuleId, message: string, severity: Severity = RULES[rule].severity): void {
    this.findings.push({ rule, severity, line: statement.line, statement: excerpt(statement.uncommented), message, safe: RULES[rule].safe });
  }

  tableCreated(table: RelationName): void {
    this.createdTables.push(table);
  }

  /** True when the table (or view) was created earlier in this revision. */
  isNewTable(table: RelationName): boolean {
    return this.createdTables.some((created) => sameRelation(created, table));
  }

  indexCreated(index: RelationName): void {
    this.createdIndexes.push(index);
  }

  isNewIndex(index: RelationName): boolean {
    return this.createdIndexes.some((created) => sameRelation(created, index));
  }

  addedNotValid(table: RelationName, name: string, notNullColumns: readonly string[]): void {
    this.notValid.push({ table, name, notNullColumns });
  }

  /**
   * VALIDATE CONSTRAINT: true when the constraint was added NOT VALID in this revision
   * (then it now proves its NOT NULL columns).
   */
  validated(table: RelationName, name: string): boolean {
    const constraint = this.notValid.find((c) => c.name === name && sameRelation(c.table, table));
    if (constraint === undefined) return false;
    for (const column of constraint.notNullColumns) this.provenNotNull.push({ table, column });
    return true;
  }

  /** A validated constraint proves `column` NOT NULL. */
  provedNotNull(table: RelationName, column: string): void {
    this.provenNotNull.push({ table, column });
  }

  isProvenNotNull(table: RelationName, column: string): boolean {
    return this.provenNotNull.some((p) => p.column === column && sameRelation(p.table, table));
  }

  /** An earlier statement of this revision gave the column this type (ADD COLUMN, ALTER TYPE). */
  columnTyped(table: RelationName, column: string, type: SqlNode): void {
    this.columnTypes.unshift({ table, column, type });
  }

  /** The column's current type: set earlier in this revision, else from the caller, else undefined. */
  columnType(table: RelationName, column: string): SqlNode | undefined {
    const set = this.columnTypes.find((c) => c.column === column && sameRelation(c.table, table));
    return set?.type ?? this.knownColumnType?.(table, column);
  }
}

/** The statement on one line, whitespace collapsed, password literals masked, cut to about 80 characters. */
export function excerpt(text: string): string {
  const flat = maskPasswords(text).split(/\s+/).join(" ").trim();
  return flat.length <= EXCERPT_LENGTH ? flat : `${flat.slice(0, EXCERPT_LENGTH - 1).trimEnd()}…`;
}
