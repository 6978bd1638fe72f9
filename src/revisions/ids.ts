/**
 * What a revision id, a branch label and a linter rule name may look like (DESIGN.md §4).
 * Shared by the header parser, the graph, the target parser and the file writer.
 */

/** A revision id: 12 lowercase hex characters. */
export const REVISION_ID_PATTERN = /^[0-9a-f]{12}$/;

/** Words a target can be, so no branch label may take them. */
const RESERVED_LABELS: ReadonlySet<string> = new Set(["head", "heads", "base", "current"]);

const LABEL_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const HEX_ONLY = /^[0-9a-fA-F]+$/;
const RULE_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** True for a well-formed revision id (`3f2a9c1d0b7e`). */
export function isRevisionId(value: string): boolean {
  return REVISION_ID_PATTERN.test(value);
}

/**
 * Why `value` cannot be a branch label, or `null` when it can. A label starts with a
 * letter or `_`, holds letters, digits, `_`, `.` and `-`, is not a target keyword
 * (`head`, `heads`, `base`, `current`) and is not made of hex digits only (it would
 * read as a revision id prefix).
 */
export function branchLabelProblem(value: string): string | null {
  if (!LABEL_PATTERN.test(value)) {
    return "a branch label starts with a letter or `_` and holds only letters, digits, `_`, `.` and `-` (at most 64 characters)";
  }
  if (RESERVED_LABELS.has(value.toLowerCase())) return `\`${value}\` is a target keyword and cannot be a branch label`;
  if (HEX_ONLY.test(value)) return `\`${value}\` is made of hex digits only and would read as a revision id prefix`;
  return null;
}

/** True for a usable branch label (see {@link branchLabelProblem}). */
export function isBranchLabel(value: string): boolean {
  return branchLabelProblem(value) === null;
}

/** True for a well-formed linter rule name in `-- athanor:allow RULE`. */
export function isRuleName(value: string): boolean {
  return RULE_PATTERN.test(value);
}
