/**
 * The linter gate of a protected environment (DESIGN.md §6.1): the SQL each step of the
 * plan will run is linted (the upgrade section of an applied revision, the downgrade
 * section of a reverted one); a `danger` finding refuses the run (exit 3) unless
 * `--allow-dangerous` is given. A revision allows a rule for itself with
 * `-- athanor:allow RULE` (the linter drops those findings). TypeScript revisions run
 * code, not SQL text, and SQL revisions may run code the linter cannot see into (a DO
 * block, CALL, EXECUTE: src/lint/opaque.ts): they are listed as not linted, and never
 * refused for it.
 */
import { RefusedError } from "../errors.js";
import type { LintFinding } from "../lint/lint.js";
import type { OpaqueStatement } from "../lint/opaque.js";
import type { Direction } from "../plan/types.js";
import { loadRevisionBody } from "../revisions/script-directory.js";
import type { RevisionFile } from "../revisions/types.js";

/** The findings of one step (or one revision, for `athanor lint`). */
export interface RevisionLint {
  readonly revision: RevisionFile;
  readonly direction: Direction;
  readonly findings: readonly LintFinding[];
  /** Why the step was not linted, or not all of it (a TypeScript revision, a DO block..., no downgrade section), or null. */
  readonly notLinted: string | null;
  /** The SQL statements the rules could not see into (their revision is otherwise linted). */
  readonly opaque: readonly OpaqueStatement[];
}

const TYPESCRIPT = "a TypeScript revision runs code, which the linter does not read";

/**
 * Lints the SQL a revision runs in one direction.
 * @throws SqlSyntaxError when the section does not parse (the run would fail too).
 */
export async function lintRevision(revision: RevisionFile, direction: Direction): Promise<RevisionLint> {
  if (revision.format !== "sql") return { revision, direction, findings: [], notLinted: TYPESCRIPT, opaque: [] };
  const body = await loadRevisionBody(revision);
  if (body.format !== "sql") return { revision, direction, findings: [], notLinted: TYPESCRIPT, opaque: [] };
  const section = direction === "up" ? body.upgrade : body.downgrade;
  if (section === null) return { revision, direction, findings: [], notLinted: "it has no downgrade section", opaque: [] };
  const { lintSection } = await import("../lint/lint.js");
  const { findings, opaque } = await lintSection(section.sql, {
    file: revision.relativePath,
    revision: revision.id,
    startLine: section.line,
    allow: revision.allow,
    transactional: revision.transactional,
  });
  // Dangerous first, then by line: what blocks is what a reader must see.
  const ordered = [...findings].sort((a, b) => (a.severity === b.severity ? a.line - b.line : a.severity === "danger" ? -1 : 1));
  return { revision, direction, findings: ordered, notLinted: opaque.length === 0 ? null : opaqueReason(opaque), opaque };
}

/** `code the linter does not read at line 7 (a DO block), line 9 (CALL of a procedure); the other statements were linted`. */
function opaqueReason(opaque: readonly OpaqueStatement[]): string {
  const list = opaque.map((statement) => `line ${statement.line} (${statement.what})`).join(", ");
  return `code the linter does not read at ${list}; the other statements were linted`;
}

/** Lints every step of a plan, in order. */
export async function lintPlanSteps(steps: readonly { readonly revision: RevisionFile; readonly direction: Direction }[]): Promise<RevisionLint[]> {
  const results: RevisionLint[] = [];
  for (const step of steps) results.push(await lintRevision(step.revision, step.direction));
  return results;
}

/** The `danger` findings of a set of results. */
export function dangerousFindings(results: readonly RevisionLint[]): LintFinding[] {
  return results.flatMap((result) => result.findings.filter((finding) => finding.severity === "danger"));
}

/**
 * Refuses (exit 3) a protected run whose plan has dangerous findings, unless they are
 * allowed. Pure. Returns the number of dangerous findings let through by `allowDangerous`.
 */
export function assertLintAllowed(environment: string, results: readonly RevisionLint[], allowDangerous: boolean): number {
  const danger = dangerousFindings(results);
  if (danger.length === 0) return 0;
  if (allowDangerous) return danger.length;
  const list = danger.map((f) => `${f.revision ?? "?"} ${f.file ?? ""}:${f.line} ${f.rule}`).join("; ");
  throw new RefusedError(
    "dangerous-change",
    `environment "${environment}" is protected and the plan has ${danger.length} dangerous change${danger.length === 1 ? "" : "s"}: ${list}; nothing was changed`,
    {
      hint: `Use the safe pattern for each (athanor lint shows it), or, once reviewed, pass --allow-dangerous, or allow a rule in its revision with a line \`-- athanor:allow ${danger[0]?.rule ?? "RULE"}\`.`,
      details: {
        environment,
        findings: danger.map((f) => ({ revision: f.revision, file: f.file, line: f.line, rule: f.rule, message: f.message, safe: f.safe })),
        missingFlag: "--allow-dangerous",
      },
    },
  );
}
