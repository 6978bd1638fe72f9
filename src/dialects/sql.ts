/** SQL text helpers: the one place identifiers and literals are quoted. */

/** Quotes an identifier for PostgreSQL ("my""table"). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Quotes a string literal for PostgreSQL, so that the server reads it back as `value`
 * whatever the session's `standard_conforming_strings`: a value with a backslash is
 * written `E'...'` with the backslashes doubled (as the server's own `quote_literal()`
 * does), which both settings read alike. With the setting off the backslash of `'C:\'`
 * escapes the closing quote, and the literal takes in the SQL after it. athanor refuses
 * to run revisions with the setting off (docs/runtime.md), but its own statements must
 * not depend on that: the bookkeeping after a revision that turned it off (a failure row
 * holding the error's text) travels in a round trip the server reads before the restore
 * in it puts the setting back.
 */
export function quoteLiteral(value: string): string {
  const quoted = `'${value.replace(/'/g, "''")}'`;
  return value.includes("\\") ? `E${quoted.replace(/\\/g, "\\\\")}` : quoted;
}

/** schema.table, both quoted. */
export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}
