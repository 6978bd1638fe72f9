/**
 * Whether an SQL text ends outside every comment, string, quoted identifier and dollar
 * quote. Several revisions share one simple-query round trip (src/dialects/script.ts):
 * the server parses the whole string before it runs any of it, so a body that ends
 * inside `/* ...` or `'...` would swallow its own bookkeeping and `COMMIT` and the next
 * revision's `BEGIN` up to wherever a later body happens to close it, and the text in
 * between would run in the wrong transaction or not at all. Sent alone, the server would
 * usually reject the whole string ("unterminated /* comment") — unless the quotes in
 * athanor's own bookkeeping happen to close it. A revision that ends inside one is
 * therefore refused before anything runs (src/run/transaction-check.ts).
 *
 * One pass over the characters, nothing allocated (this runs on every revision of a run).
 * The rules are PostgreSQL's lexer's (scan.l): nested block comments, `''` inside strings,
 * backslash escapes in E'' strings only (standard_conforming_strings is on by default and
 * cannot be relied on to be off), `""` inside quoted identifiers, `$tag$` quotes except
 * inside an identifier (`a$b$` is one identifier; after a number or `$1` a quote opens).
 * The tests check it against PostgreSQL's own lexer (libpg-query's scanner) on generated text.
 */

const SLASH = 0x2f;
const STAR = 0x2a;
const DASH = 0x2d;
const QUOTE = 0x27;
const DOUBLE_QUOTE = 0x22;
const DOLLAR = 0x24;
const BACKSLASH = 0x5c;

function isIdentifierStart(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f || code >= 0x80;
}

function isIdentifierPart(code: number): boolean {
  return isIdentifierStart(code) || (code >= 0x30 && code <= 0x39) || code === DOLLAR;
}

/** Length of the `$tag$` opening at `at`, or 0 when the `$` opens no dollar quote. */
function dollarTagLength(sql: string, at: number): number {
  let i = at + 1;
  if (sql.charCodeAt(i) === DOLLAR) return 2;
  if (!isIdentifierStart(sql.charCodeAt(i))) return 0;
  i += 1;
  while (i < sql.length) {
    const code = sql.charCodeAt(i);
    if (code === DOLLAR) return i + 1 - at;
    // A tag holds letters, digits and underscores; the `$` above ends it.
    if (!isIdentifierPart(code)) return 0;
    i += 1;
  }
  return 0;
}

/** What an SQL text ends inside of. */
export type OpenConstruct = "block comment" | "quoted string" | "quoted identifier" | "dollar-quoted string";

/**
 * True when `sql` ends outside any comment, string, quoted identifier or dollar quote,
 * i.e. text appended after it is read as SQL. A `--` comment is closed by a newline only:
 * callers append one before their own text.
 * @example
 * isLexicallyClosed("CREATE TABLE t (a int); -- done") // true (the caller adds "\n")
 * isLexicallyClosed("CREATE TABLE t (a int); /* TODO") // false
 */
export function isLexicallyClosed(sql: string): boolean {
  return openConstructAtEnd(sql) === null;
}

/** What `sql` ends inside of, or null when it ends outside every comment, string and quote. */
export function openConstructAtEnd(sql: string): OpenConstruct | null {
  const n = sql.length;
  let i = 0;
  // Where the identifier (or keyword) being read began, or -1 outside one: inside one, `$`
  // is part of the name (`a$b$`), and a one-letter `E` right before a quote opens an E'' string.
  let identifierStart = -1;
  while (i < n) {
    const code = sql.charCodeAt(i);
    const next = i + 1 < n ? sql.charCodeAt(i + 1) : -1;
    if (identifierStart >= 0) {
      if (isIdentifierPart(code)) {
        i += 1;
        continue;
      }
      if (code !== QUOTE) identifierStart = -1;
    }
    if (code === DASH && next === DASH) {
      const end = sql.indexOf("\n", i + 2);
      if (end === -1) return null;
      i = end + 1;
      continue;
    }
    if (code === SLASH && next === STAR) {
      let depth = 1;
      i += 2;
      while (depth > 0) {
        if (i >= n) return "block comment";
        const c = sql.charCodeAt(i);
        const d = i + 1 < n ? sql.charCodeAt(i + 1) : -1;
        if (c === SLASH && d === STAR) {
          depth += 1;
          i += 2;
        } else if (c === STAR && d === SLASH) {
          depth -= 1;
          i += 2;
        } else i += 1;
      }
      continue;
    }
    if (code === QUOTE) {
      // E'...': the quote follows an identifier that is the single letter E.
      const escapes = identifierStart === i - 1 && (sql.charCodeAt(i - 1) | 0x20) === 0x65;
      identifierStart = -1;
      i = endOfQuoted(sql, i, QUOTE, escapes);
      if (i === -1) return "quoted string";
      continue;
    }
    if (code === DOUBLE_QUOTE) {
      i = endOfQuoted(sql, i, DOUBLE_QUOTE, false);
      if (i === -1) return "quoted identifier";
      continue;
    }
    if (code === DOLLAR) {
      const length = dollarTagLength(sql, i);
      if (length > 0) {
        const end = sql.indexOf(sql.slice(i, i + length), i + length);
        if (end === -1) return "dollar-quoted string";
        i = end + length;
        continue;
      }
    }
    if (isIdentifierStart(code)) identifierStart = i;
    i += 1;
  }
  return null;
}

/**
 * Where the string or quoted identifier opened by the `quote` at `start` ends (the index
 * after its closing quote), or -1 when the text ends inside it. A doubled quote stands
 * for itself; with `escapes` (E'' strings) a backslash escapes the next character.
 */
function endOfQuoted(sql: string, start: number, quote: number, escapes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql.charCodeAt(i);
    if (escapes && c === BACKSLASH) i += 2;
    else if (c !== quote) i += 1;
    else if (i + 1 < sql.length && sql.charCodeAt(i + 1) === quote) i += 2;
    else return i + 1;
  }
  return -1;
}
