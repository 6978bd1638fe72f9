/**
 * The linter's entry point: one revision's SQL in, findings out (data only; the CLI
 * renders them and the production guard decides what they block).
 */
import type { RuleId, Severity } from "./catalog.js";
import { splitStatements } from "./parse.js";
import { checkStatements } from "./rules.js";

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
  const allow = new Set(options.allow ?? []);
  const statements = await splitStatements(sql, options.startLine ?? 1, { file: options.file });
  if (allow.has("all")) return [];
  const revision = options.revision ?? null;
  const file = options.file ?? null;
  return checkStatements(statements, { transactional: options.transactional ?? true })
    .filter((finding) => !allow.has(finding.rule))
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
}
