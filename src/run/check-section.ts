/**
 * The checks of an SQL section that need no SQL parser, shared by the plan's check
 * (src/run/execute.ts, `checkStep`) and by an `upgrade`'s scan, which checks each file it
 * reads for the header cache so that a later run's plan finds the outcome there instead
 * of reading the file (src/revisions/section-check.ts).
 */
import { passedSectionCheck, SECTION_NEEDS_PLAN_CHECK, type SectionCheck } from "../revisions/section-check.js";
import { splitSqlSections, type SqlSection } from "../revisions/sql-sections.js";
import type { RevisionFile } from "../revisions/types.js";
import { mayChangeSession } from "./session-state.js";
import { assertClosed, assertNoCopyFromStdin, needsStatementCheck } from "./transaction-check.js";

/**
 * Refuses (RevisionError, exit 2) a section that ends inside a comment, string or body,
 * or that holds `COPY ... FROM STDIN`; then says whether its statements must be parsed to
 * know whether it holds a statement athanor refuses (src/run/transaction-check.ts).
 */
export function checkSectionText(file: RevisionFile, direction: "up" | "down", section: SqlSection): boolean {
  assertClosed(file, direction, section);
  assertNoCopyFromStdin(file, direction, section);
  return needsStatementCheck(file, section.sql);
}

/**
 * What the plan's check of a transactional SQL revision's upgrade section finds without
 * the parser and without `echo`: passed (its length, and whether it may change the
 * session), or left to the plan's own check (a refusal, or statements to parse). Never throws.
 */
export function checkUpgradeSection(file: RevisionFile, section: SqlSection): SectionCheck {
  try {
    if (checkSectionText(file, "up", section)) return SECTION_NEEDS_PLAN_CHECK;
  } catch {
    // The plan's check refuses it again, with its message, if the revision is in the plan.
    return SECTION_NEEDS_PLAN_CHECK;
  }
  return passedSectionCheck(section.sql.length, mayChangeSession(section.sql));
}

/** {@link checkUpgradeSection} of a file's text, for the scan (`checkSection` of readScriptDirectory). */
export function checkUpgradeInText(file: RevisionFile, text: string): SectionCheck {
  let section: SqlSection;
  try {
    section = splitSqlSections(text, file.relativePath).upgrade;
  } catch {
    return SECTION_NEEDS_PLAN_CHECK;
  }
  return checkUpgradeSection(file, section);
}
