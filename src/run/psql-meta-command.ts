/**
 * An offline script is run by psql, which reads a backslash outside a literal, a quoted
 * identifier or a comment as one of its own commands (`\!` runs a shell command, `\q` ends
 * the script with exit 0, `\i` reads another file, `\c` connects elsewhere), where the
 * server, which the online run sends the same text to, reads a syntax error. A revision
 * holding one is refused before the script is written (RevisionError `psql-meta-command`,
 * exit 2), so the script never does what the online run cannot.
 */
import { RevisionError } from "../errors.js";
import type { RevisionFile } from "../revisions/types.js";
import { lineAt, tokenize } from "../sql/lexer.js";

/**
 * Throws when `sql` holds a backslash outside every literal, quoted identifier and comment.
 * `firstLine` is the file line of `sql`'s first line (an SQL section), or null for the
 * statements a TypeScript revision sends.
 */
export function assertNoPsqlMetaCommand(file: RevisionFile, direction: "up" | "down", sql: string, firstLine: number | null): void {
  // psql lexes quotes, dollar quotes and nested comments as the server does (with
  // standard_conforming_strings on, which the script's first statement makes sure of).
  const backslash = tokenize(sql).find((token) => token.kind === "punct" && token.text === "\\");
  if (backslash === undefined) return;
  const lineStart = sql.lastIndexOf("\n", backslash.start) + 1;
  const lineEnd = sql.indexOf("\n", backslash.start);
  const text = sql.slice(lineStart, lineEnd === -1 ? undefined : lineEnd).trim();
  const section = direction === "up" ? "upgrade" : "downgrade";
  const where = firstLine === null ? `a statement its ${section} sends` : `${file.relativePath}:${firstLine + lineAt(sql, backslash.start) - 1} (${section})`;
  throw new RevisionError(
    "psql-meta-command",
    `revision ${file.id} (${file.message || "no message"}) cannot be written as offline SQL: ${where} has \`${text}\`, a backslash outside any quote, which psql would run as its own command while the server (the online run) reads a syntax error. No script was written.`,
    {
      hint: `Remove the backslash command from ${file.relativePath}; inside a literal (E'\\\\'), a quoted identifier or a comment a backslash is fine.`,
      details: { revision: file.id, file: file.relativePath, ...(firstLine === null ? {} : { line: firstLine + lineAt(sql, backslash.start) - 1 }), statement: text },
    },
  );
}
