/**
 * PostgreSQL's quoting, as a lexer over SQL text: strings, E'' strings, dollar quotes,
 * quoted identifiers and nested comments are never code. Shared by autogenerate (which
 * reads declared schemas and deparsed definitions), the runner's pre-run checks and the
 * dialects; it knows nothing about any of them. Statement splitting with offsets and
 * 1-based line numbers live here for the same reason.
 *
 * Not the check that a text ends outside every quote (src/dialects/sql-closure.ts): that
 * one follows scan.l to the letter, allocates nothing and is tested against PostgreSQL's
 * own lexer, because a wrong answer there would let two revisions share a transaction.
 */

/** What a token is. */
export type TokenKind = "space" | "comment" | "string" | "quoted-ident" | "word" | "number" | "punct";

/** One token of SQL text. */
export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** Offset of the first character in the input. */
  readonly start: number;
}

/*
 * Character classes by code unit: the tokenizer runs over whole declared schemas (700 kB
 * for 500 Rails-style tables, several times per command), where a regular expression per
 * character cost ~0.2 s a pass. They are exactly the former regular expressions: `\s`
 * (ASCII fast path, the rest through the expression), words of ASCII letters, `_` and
 * every code unit from U+0080 on, word parts adding digits and `$`.
 */
const spaceRe = /\s/;
function isSpace(sql: string, i: number): boolean {
  const c = sql.charCodeAt(i);
  if (c < 0x80) return c === 32 || (c >= 9 && c <= 13);
  return spaceRe.test(sql[i] as string);
}
function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
/** `[A-Za-z_\u0080-\uffff]` */
function isWordStart(c: number): boolean {
  return isLetter(c) || c >= 0x80;
}
/** `[A-Za-z0-9_$\u0080-\uffff]` */
function isWordPart(c: number): boolean {
  return isLetter(c) || isDigit(c) || c === 36 || c >= 0x80;
}
/** `[0-9.eE_]` */
function isNumberPart(c: number): boolean {
  return isDigit(c) || c === 46 || c === 101 || c === 69 || c === 95;
}

/**
 * Calls `visit` with each token's kind and span, in order; the spans cover the input.
 * What tokenize and splitStatements share: splitStatements reads whole declared schemas
 * (700 kB at 500 Rails-style tables) and needs no token objects, which cost half of a pass.
 */
function lex(sql: string, visit: (kind: TokenKind, start: number, end: number) => void): void {
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const start = i;
    const c = sql.charCodeAt(i);
    const next = sql.charCodeAt(i + 1);
    if (isSpace(sql, i)) {
      while (i < n && isSpace(sql, i)) i++;
      visit("space", start, i);
    } else if (c === 45 && next === 45) {
      // -- to the end of the line
      const end = sql.indexOf("\n", i);
      i = end === -1 ? n : end;
      visit("comment", start, i);
    } else if (c === 47 && next === 42) {
      // /* ... */, nested
      let depth = 0;
      while (i < n) {
        const k = sql.charCodeAt(i);
        if (k === 47 && sql.charCodeAt(i + 1) === 42) {
          depth++;
          i += 2;
        } else if (k === 42 && sql.charCodeAt(i + 1) === 47) {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
      visit("comment", start, i);
    } else if (c === 39 || ((c === 69 || c === 101) && next === 39)) {
      // '...' or E'...'
      const escapes = c !== 39;
      i += escapes ? 2 : 1;
      while (i < n) {
        const k = sql.charCodeAt(i);
        if (escapes && k === 92) i += 2;
        else if (k === 39 && sql.charCodeAt(i + 1) === 39) i += 2;
        else if (k === 39) {
          i++;
          break;
        } else i++;
      }
      visit("string", start, i);
    } else if (c === 34) {
      // "..."
      i++;
      while (i < n) {
        const k = sql.charCodeAt(i);
        if (k === 34 && sql.charCodeAt(i + 1) === 34) i += 2;
        else if (k === 34) {
          i++;
          break;
        } else i++;
      }
      visit("quoted-ident", start, i);
    } else if (c === 36 && (isLetter(next) || next === 36) && dollarTag(sql, i) !== null) {
      const tag = dollarTag(sql, i) as string;
      const end = sql.indexOf(tag, i + tag.length);
      i = end === -1 ? n : end + tag.length;
      visit("string", start, i);
    } else if (isWordStart(c)) {
      while (i < n && isWordPart(sql.charCodeAt(i))) i++;
      visit("word", start, i);
    } else if (isDigit(c) || (c === 46 && isDigit(next))) {
      while (i < n && isNumberPart(sql.charCodeAt(i))) i++;
      visit("number", start, i);
    } else if (c === 58 && next === 58) {
      i += 2;
      visit("punct", start, i);
    } else {
      i++;
      visit("punct", start, i);
    }
  }
}

/** Splits SQL text into tokens; concatenating every token's text gives the input back. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  lex(sql, (kind, start, end) => tokens.push({ kind, text: sql.slice(start, end), start }));
  return tokens;
}

/** `$tag$` starting at `at`, or null when the `$` does not open a dollar quote. */
function dollarTag(sql: string, at: number): string | null {
  if (sql[at + 1] === "$") return "$$";
  const match = /^\$[A-Za-z_][A-Za-z0-9_]*\$/.exec(sql.slice(at, at + 64));
  return match ? match[0] : null;
}

/** 1-based line of a 0-based offset in `text`. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** One statement of a script, where it starts. */
export interface SplitStatement {
  /** The statement's text, without the terminating semicolon. */
  readonly sql: string;
  /** Offset of its first non-blank, non-comment character in the input. */
  readonly start: number;
}

/**
 * Splits a script on top-level semicolons (not inside strings, dollar quotes, comments,
 * parentheses or `BEGIN ATOMIC ... END` bodies). Blank or comment-only pieces are dropped.
 */
export function splitStatements(sql: string): SplitStatement[] {
  const statements: SplitStatement[] = [];
  let depth = 0;
  let atomic = 0;
  let pieceStart = -1;
  let previousWord = "";
  const flush = (end: number): void => {
    if (pieceStart >= 0) statements.push({ sql: sql.slice(pieceStart, end).trimEnd(), start: pieceStart });
    pieceStart = -1;
  };
  lex(sql, (kind, start, end) => {
    if (kind === "space" || kind === "comment") return;
    const c = sql.charCodeAt(start);
    if (kind === "punct" && c === 59 && depth === 0 && atomic === 0) {
      flush(start);
      previousWord = "";
      return;
    }
    if (pieceStart < 0) pieceStart = start;
    if (kind === "punct") {
      if (c === 40) depth++;
      else if (c === 41) depth = Math.max(0, depth - 1);
    } else if (kind === "word") {
      // Only BEGIN ATOMIC ... END bodies matter here: other words need not be read.
      const length = end - start;
      const word = length >= 3 && length <= 6 ? sql.slice(start, end).toUpperCase() : "";
      if (word === "ATOMIC" && previousWord === "BEGIN") atomic++;
      else if (atomic > 0 && word === "CASE") atomic++;
      else if (atomic > 0 && word === "END") atomic--;
      previousWord = word;
    }
  });
  flush(sql.length);
  return statements;
}

/** The name an identifier token stands for (`"My ""T"""` → `My "T"`, `Foo` → `foo`). */
export function identifierValue(token: Token): string | null {
  if (token.kind === "quoted-ident") return token.text.slice(1, -1).replace(/""/g, '"');
  if (token.kind === "word") return token.text.toLowerCase();
  return null;
}
