/**
 * What the plan's check found in an SQL revision's upgrade section, kept with the
 * revision's header (issue #15, the apply row). An `upgrade` used to read every file of its
 * plan before the first revision only to check it (~60–70 ms of 1,000 one-table revisions,
 * the largest part of what it spent before its first change beyond Node's own start), and
 * then read each file again to send it. The scan of an `upgrade` now checks each file it
 * reads for the header cache (src/run/check-section.ts), and the cache keeps the outcome on
 * the file's line, under the same stamp as its header: a later run's plan check takes it
 * from there and reads the file once, to send it. When it is sent, the text is checked again
 * and must give the same outcome (and still have its stamp), so a file edited in between is
 * never sent (src/run/execute.ts, `sectionOf`).
 *
 * One number per revision, not an object (a plan of 10,000 holds one each):
 * - {@link SECTION_NOT_CHECKED}: nothing known; the plan's check reads the file;
 * - {@link SECTION_NEEDS_PLAN_CHECK}: checked, and only the plan's own check can say more (the
 *   section must be parsed into statements, or it is refused: the plan's check gives the
 *   error, and only when the revision is in the plan);
 * - from 0: the section passed, with its length in UTF-16 code units (the size of a round
 *   trip) and whether its text could change the session's state (src/run/session-state.ts).
 */

/** A {@link SectionCheck}'s value: see the module's comment. */
export type SectionCheck = number;

export const SECTION_NOT_CHECKED: SectionCheck = -1;
export const SECTION_NEEDS_PLAN_CHECK: SectionCheck = -2;

/** The check of a section that passed. */
export function passedSectionCheck(length: number, changesSession: boolean): SectionCheck {
  return length * 2 + (changesSession ? 1 : 0);
}

/** True when `check` is a {@link passedSectionCheck}. */
export function sectionPassed(check: SectionCheck): boolean {
  return check >= 0;
}

/** The length of a passed section. */
export function checkedSectionLength(check: SectionCheck): number {
  return Math.floor(check / 2);
}

/** Whether a passed section's text could change the session's state. */
export function checkedSectionChangesSession(check: SectionCheck): boolean {
  return check % 2 === 1;
}
