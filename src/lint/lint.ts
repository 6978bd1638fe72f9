/**
 * The linter's entry point: one revision's SQL in, findings out (data only; the CLI
 * renders them and the production guard decides what they block).
 */
import { listField, relationName, stringField, unwrap, type RelationName, type SqlNode } from "./ast.js";
import { REFUSED_AT_RUN_TIME, type RuleId, type Severity } from "./catalog.js";
import { opaqueStatements, type OpaqueStatement } from "./opaque.js";
import { parseTypeName, splitStatements, type SqlStatement } from "./parse.js";
import { checkStatements, type ColumnTypeLookup } from "./rules.js";

/** A dangerous operation found in a revision. */
export interface LintFinding {
  /** Stable rule id, e.g. `drop-table` (see RULES in catalog.ts). */
  readonly rule: RuleId;
  readonly severity: Severity;
  /** The revision's id, or null when none was given. */
  readonly revision: string | null;
  /** The file, as given (usually relative to the migrations directory), or null. */
  readonly file: string | null;
  /** 1-based line in the file of the statement's first token. */
  readonly line: number;
  /** A short excerpt of the statement (one line, about 80 characters). */
  readonly statement: string;
  /** Why the statement is dangerous in PostgreSQL. */
  readonly message: string;
  /** The safe pattern to use instead. */
  readonly safe: string;
}

/** Options of {@link lintSql}. */
export interface LintOptions {
  /** The file the SQL comes from (findings and syntax errors name it). */
  readonly file?: string | undefined;
  /** The revision's id, copied into each finding. */
  readonly revision?: string | undefined;
  /** The line of the file where `sql` begins (after the header): 1 by default. */
  readonly startLine?: number | undefined;
  /** Rule ids to drop (`-- athanor:allow RULE`); `"all"` drops every finding. */
  readonly allow?: readonly string[] | undefined;
  /** False for a `-- athanor:transaction false` revision; true by default. */
  readonly transactional?: boolean | undefined;
  /**
   * The type a column has before this revision runs, as PostgreSQL prints it
   * (`format_type`: `character varying(20)`, `numeric(10,2)`), or undefined when unknown.
   * With it, `alter-column-type` is exact (varchar(20) → text: no finding; integer →
   * bigint: danger); without it, a change to a type that a widening reaches is a warning.
   * `table.schema` is undefined when the SQL does not qualify the name.
   */
  readonly columnType?: ((table: RelationName, column: string) => string | undefined) | undefined;
}

/**
 * Finds dangerous operations in one revision's SQL.
 *
 * @throws SqlSyntaxError (code `sql-syntax`) when the SQL does not parse.
 * @example
 * const findings = await lintSql(upgradeSql, {
 *   file: "3f2a9c1d0b7e_add_index.sql", revision: "3f2a9c1d0b7e", startLine: 6,
 *   allow: header.allow, transactional: header.transactional,
 * });
 * for (const f of findings) console.log(`${f.file}:${f.line} ${f.severity} ${f.rule}: ${f.message}`);
 */
export async function lintSql(sql: string, options: LintOptions = {}): Promise<LintFinding[]> {
  return (await lintSection(sql, options)).findings;
}

/** What {@link lintSection} found: the findings, and the statements the rules could not see into. */
export interface SectionLint {
  readonly findings: LintFinding[];
  /** DO blocks, CALL, EXECUTE, calls of functions created here: code the linter does not read (see opaque.ts). */
  readonly opaque: OpaqueStatement[];
}

/**
 * {@link lintSql}, also listing the statements whose effect the rules cannot see.
 * @throws SqlSyntaxError (code `sql-syntax`) when the SQL does not parse.
 * @example
 * const { findings, opaque } = await lintSection("DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$;");
 * // findings: [], opaque: [{ line: 1, what: "a DO block", ... }]
 */
export async function lintSection(sql: string, options: LintOptions = {}): Promise<SectionLint> {
  const allow = new Set(options.allow ?? []);
  const statements = await splitStatements(sql, options.startLine ?? 1, { file: options.file });
  const revision = options.revision ?? null;
  const file = options.file ?? null;
  const columnType = options.columnType === undefined ? undefined : await resolveColumnTypes(statements, options.columnType);
  const findings = checkStatements(statements, { transactional: options.transactional ?? true, columnType })
    .filter((finding) => REFUSED_AT_RUN_TIME.has(finding.rule) || !(allow.has(finding.rule) || allow.has("all")))
    .map((finding) => ({
      rule: finding.rule,
      severity: finding.severity,
      revision,
      file,
      line: finding.line,
      statement: finding.statement,
      message: finding.message,
      safe: finding.safe,
    }));
  return { findings, opaque: opaqueStatements(statements) };
}

/**
 * Asks the caller for the type of each column the revision changes the type of, and
 * parses the answers, so that the rules (pure and synchronous) can look them up.
 */
async function resolveColumnTypes(
  statements: readonly SqlStatement[],
  lookup: (table: RelationName, column: string) => string | undefined,
): Promise<ColumnTypeLookup> {
  const types = new Map<string, SqlNode>();
  const key = (table: RelationName, column: string): string => JSON.stringify([table.schema ?? null, table.name, column]);
  for (const statement of statements) {
    const fields = unwrap(statement.ast, "AlterTableStmt");
    const table = fields === undefined ? undefined : relationName(fields["relation"]);
    if (fields === undefined || table === undefined) continue;
    for (const item of listField(fields, "cmds")) {
      const cmd = unwrap(item, "AlterTableCmd");
      const column = cmd === undefined ? undefined : stringField(cmd, "name");
      if (cmd?.["subtype"] !== "AT_AlterColumnType" || column === undefined || types.has(key(table, column))) continue;
      const text = lookup(table, column);
      const type = text === undefined ? undefined : await parseTypeName(text);
      if (type !== undefined) types.set(key(table, column), type);
    }
  }
  return (table, column) => types.get(key(table, column));
}
