/**
 * Password literals out of a statement's text (pure). Every place that shows or records
 * a revision's statement — the `echo` line and `statement` event (text, JSON log, OTel),
 * a failure's message, error document and history row, a lint excerpt — passes it
 * through `maskPasswords`, so a `CREATE ROLE ... PASSWORD '...'` is never shown whether
 * it succeeds or fails. The statement itself runs as written.
 */

/**
 * `PASSWORD '...'` (also `E'...'`, `U&'...'` and a dollar-quoted `$$...$$`; a user
 * mapping's `OPTIONS (password '...')` too) → `PASSWORD '***'`, and a connection
 * string's `password=...` (`CREATE SUBSCRIPTION ... CONNECTION '... password=x'`,
 * dblink) → `password=***`.
 */
export function maskPasswords(text: string): string {
  return text
    .replace(/(PASSWORD\s+)(?:(?:E|U&)?'(?:[^']|'')*'|(\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$)[\s\S]*?\2)/gi, "$1'***'")
    .replace(/(\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s']+)/gi, "$1***");
}
