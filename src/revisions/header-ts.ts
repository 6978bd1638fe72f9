/**
 * Reads the header of a TypeScript or JavaScript revision that spells it as literal
 * fields of the migration object (DESIGN.md §4): the object given to
 * `defineMigration({...})`, the default-exported object literal (directly or through a
 * `const`), or `module.exports = {...}`. Never runs the file. Pure: text in, header
 * out, or a RevisionError naming the file and the line. (A header in `// athanor:`
 * lines at the top of the file is read by `parseTsHeader` in header.ts without this
 * module.)
 *
 * The text is read with **acorn's tokenizer** (acorn 8.19, the ECMAScript parser behind
 * webpack, Rollup and ESLint's espree: pure JavaScript, no dependencies, one 240 kB
 * file, 590 kB installed). It knows strings and their escapes, template literals
 * nested to any depth, comments, numeric literals and when a `/` starts a regular
 * expression, so braces in function bodies are counted right. What this module adds:
 * find the migration object, read the header fields' literals, skip the function
 * bodies by counting brackets. TypeScript-only syntax (type annotations, `as const`,
 * generics) is ordinary tokens to it. acorn is required on the first object-spelled
 * file only: SQL projects and `// athanor:` headers never load it.
 *
 * Measured (CPU time to read the headers of 10,000 generated revisions, module load
 * included, on the loaded 2-core development machine): the hand-written lexer this
 * replaces ≈ 0.14–0.21 s; acorn's tokenizer ≈ 0.34–0.46 s (much of it a fixed cost per
 * file: acorn builds a parser per input); a full parse of each file ≈ 0.6 s with
 * meriyah (JavaScript only), 1.3 s with `@babel/parser` 7 + its TypeScript plugin
 * (`@babel/parser` 8 needs Node 22), 0.8 s with `oxc-parser` (a native module), 3 s
 * with acorn + `@sveltejs/acorn-typescript`, 1.1 s plus 2 s of loading with
 * `typescript`. A full parser builds a syntax tree of the function bodies only to throw
 * it away; the tokenizer only walks them. Since no tokenizer reads an object-spelled
 * header as fast as the old lexer, the files athanor writes carry the header in
 * `// athanor:` lines instead (read line by line, ≈ 0.16 s for 10,000), and this module
 * serves the object spelling of existing files.
 */
import { createRequire } from "node:module";
import type { Options, Token, TokenType } from "acorn";
import { headerError, TS_SPELLING, validateHeader, type RawHeader } from "./header-fields.js";
import type { RevisionHeader } from "./types.js";

type Acorn = typeof import("acorn");

let loaded: Acorn | undefined;

/** acorn, required on first use: header reading is synchronous, and SQL-only projects never need it. */
function acorn(): Acorn {
  loaded ??= createRequire(import.meta.url)("acorn") as Acorn;
  return loaded;
}

const TOKENIZER_OPTIONS: Options = { ecmaVersion: "latest", sourceType: "module", allowHashBang: true };

/** A token as acorn produces it; `value` is the decoded string, the name, or the operator. */
interface Tok {
  readonly type: TokenType;
  readonly value: unknown;
  readonly start: number;
}

/** acorn's SyntaxError: a message ending in `(line:column)`, and the offset. */
interface AcornSyntaxError extends SyntaxError {
  readonly pos: number;
  readonly loc: { readonly line: number };
}

function isAcornSyntaxError(error: unknown): error is AcornSyntaxError {
  return error instanceof SyntaxError && typeof (error as { pos?: unknown }).pos === "number" && typeof (error as { loc?: { line?: unknown } }).loc?.line === "number";
}

/** Tokens of one file, with one token of look-ahead and line numbers computed on demand. */
class Tokens {
  private readonly source: { getToken(): Token };
  private buffered: Tok | null = null;
  private lineOffset = 0;
  private lineNumber = 1;
  readonly tt: Acorn["tokTypes"];

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {
    const { tokenizer, tokTypes } = acorn();
    this.tt = tokTypes;
    this.source = tokenizer(text, TOKENIZER_OPTIONS);
  }

  next(): Tok {
    const token = this.buffered ?? this.read();
    this.buffered = null;
    return token;
  }

  peek(): Tok {
    this.buffered ??= this.read();
    return this.buffered;
  }

  /** The 1-based line of an offset. Offsets asked for mostly grow, so this is linear over a file. */
  line(offset: number): number {
    if (offset < this.lineOffset) {
      this.lineOffset = 0;
      this.lineNumber = 1;
    }
    const { text } = this;
    for (let i = this.lineOffset; i < offset; i += 1) if (text.charCodeAt(i) === 10) this.lineNumber += 1;
    this.lineOffset = offset;
    return this.lineNumber;
  }

  private read(): Tok {
    try {
      return this.source.getToken() as Token & { value: unknown };
    } catch (error) {
      if (!isAcornSyntaxError(error)) throw error;
      const reason = error.message.replace(/ \(\d+:\d+\)$/, "");
      throw headerError(
        this.file,
        error.loc.line,
        `${reason.charAt(0).toLowerCase()}${reason.slice(1)}`,
        "athanor reads the header without running the file, so the file must be valid JavaScript or TypeScript (`npx tsc --noEmit` shows the error)",
      );
    }
  }
}

/** The word a token spells: an identifier's name or a keyword (`export`, `const`, `null`...), else null. */
function word(tokens: Tokens, token: Tok): string | null {
  if (token.type === tokens.tt.name) return token.value as string;
  return token.type.keyword ?? null;
}

function isWord(tokens: Tokens, token: Tok, value: string): boolean {
  return word(tokens, token) === value;
}

/** What a token is, for messages. */
function describe(tokens: Tokens, token: Tok): string {
  if (token.type === tokens.tt.eof) return "end of file";
  if (token.type === tokens.tt.string) return JSON.stringify(token.value);
  if (typeof token.value === "string" && token.value !== "") return token.value;
  return token.type.label;
}

/** Object keys a TypeScript revision may have: header fields, then the two functions. */
const TS_HEADER_KEYS: ReadonlySet<string> = new Set(Object.keys(TS_SPELLING));
const TS_BODY_KEYS: ReadonlySet<string> = new Set(["upgrade", "downgrade"]);
const TS_KEYS_TEXT = [...TS_HEADER_KEYS, ...TS_BODY_KEYS].join(", ");

const NO_OBJECT_HINT = 'write `export default defineMigration({ revision: "<id>", down: null, async upgrade({ sql }) { ... } })`';

/**
 * Reads the header from the migration object's literal fields: the object given to
 * `defineMigration(...)`, the default-exported object literal (directly or through a
 * `const`), or `module.exports = {...}`. `text` has LF line endings.
 * @example
 * readObjectHeader('export default defineMigration({ revision: "3f2a9c1d0b7e", down: null, async upgrade() {} });', "a.ts").id
 */
export function readObjectHeader(text: string, file: string): RevisionHeader {
  return validateHeader(readMigrationObject(text, file), file, TS_SPELLING);
}

function isOpener(tokens: Tokens, token: Tok): boolean {
  const { tt } = tokens;
  return token.type === tt.braceL || token.type === tt.parenL || token.type === tt.bracketL || token.type === tt.dollarBraceL;
}

function isCloser(tokens: Tokens, token: Tok): boolean {
  const { tt } = tokens;
  return token.type === tt.braceR || token.type === tt.parenR || token.type === tt.bracketR;
}

/** Finds the migration object and parses it. */
function readMigrationObject(text: string, file: string): RawHeader {
  const tokens = new Tokens(text, file);
  const { tt } = tokens;
  let depth = 0;
  let defaultName: string | null = null;
  // `const m = {` seen at the top level: name → offset of its `{`, read if `export default m` follows.
  const declared = new Map<string, number>();
  for (;;) {
    const token = tokens.next();
    if (token.type === tt.eof) break;
    if (isOpener(tokens, token)) {
      depth += 1;
      continue;
    }
    if (isCloser(tokens, token)) {
      depth = Math.max(0, depth - 1);
      continue;
    }
    const name = word(tokens, token);
    if (name === null) continue;

    if (name === "defineMigration" && tokens.peek().type === tt.parenL) {
      tokens.next();
      if (tokens.peek().type === tt.braceL) {
        tokens.next();
        return parseObject(tokens, file);
      }
      depth += 1;
      continue;
    }
    if (depth !== 0) continue;

    if (name === "export" && isWord(tokens, tokens.peek(), "default")) {
      tokens.next();
      const value = tokens.peek();
      if (value.type === tt.braceL) {
        tokens.next();
        return parseObject(tokens, file);
      }
      const valueName = value.type === tt.name ? (value.value as string) : null;
      if (valueName !== null && valueName !== "defineMigration") {
        tokens.next();
        const offset = declared.get(valueName);
        if (offset !== undefined) return parseObjectAt(text, file, offset);
        defaultName = valueName;
      }
      continue;
    }
    if (name === "module" && tokens.peek().type === tt.dot) {
      tokens.next();
      if (isWord(tokens, tokens.peek(), "exports")) {
        tokens.next();
        if (tokens.peek().type === tt.eq) {
          tokens.next();
          if (tokens.peek().type === tt.braceL) {
            tokens.next();
            return parseObject(tokens, file);
          }
        }
      }
      continue;
    }
    if (name === "const" || name === "let" || name === "var") {
      const declaredName = tokens.peek();
      if (declaredName.type !== tt.name) continue;
      tokens.next();
      if (tokens.peek().type === tt.colon && !skipTypeAnnotation(tokens)) continue;
      if (tokens.peek().type !== tt.eq) continue;
      tokens.next();
      const brace = tokens.peek();
      if (brace.type !== tt.braceL) continue;
      tokens.next();
      if (defaultName === declaredName.value) return parseObject(tokens, file);
      declared.set(declaredName.value as string, brace.start);
      depth += 1;
    }
  }
  throw headerError(file, null, "no migration object found", NO_OBJECT_HINT);
}

/** Parses the object literal whose `{` is at `offset` (declared before the `export default` that names it). */
function parseObjectAt(text: string, file: string, offset: number): RawHeader {
  const tokens = new Tokens(text, file);
  for (;;) {
    const token = tokens.next();
    if (token.start === offset) return parseObject(tokens, file);
  }
}

/** Skips `: Type` up to the `=` of a declaration; false when no `=` follows. */
function skipTypeAnnotation(tokens: Tokens): boolean {
  const { tt } = tokens;
  tokens.next();
  let depth = 0;
  for (;;) {
    const token = tokens.peek();
    if (token.type === tt.eof) return false;
    if (depth === 0 && token.type === tt.eq) return true;
    if (depth === 0 && token.type === tt.semi) return false;
    if (isOpener(tokens, token) || (token.type === tt.relational && token.value === "<")) depth += 1;
    else if (isCloser(tokens, token) || (token.type === tt.relational && token.value === ">")) depth = Math.max(0, depth - 1);
    // `Map<string, Array<number>>`: acorn reads the closing `>>` as one shift operator.
    else if (token.type === tt.bitShift && typeof token.value === "string" && token.value.startsWith(">")) depth = Math.max(0, depth - token.value.length);
    tokens.next();
  }
}

function isKeyToken(tokens: Tokens, token: Tok): boolean {
  const { tt } = tokens;
  return token.type === tt.name || token.type === tt.string || token.type === tt.num || token.type.keyword !== undefined;
}

/** Parses the properties of an object literal whose `{` was just taken. */
function parseObject(tokens: Tokens, file: string): RawHeader {
  const { tt } = tokens;
  const raw: RawHeader = {};
  const seen = new Map<string, number>();
  for (;;) {
    let token = tokens.next();
    if (token.type === tt.eof) throw headerError(file, tokens.line(token.start), "the migration object is not closed", "close it with `}`");
    if (token.type === tt.braceR) return raw;
    if (token.type === tt.comma) continue;
    if (token.type === tt.ellipsis) {
      throw headerError(file, tokens.line(token.start), "a spread (`...`) in the migration object hides its header from athanor", "write the header fields out in the object");
    }
    let method = false;
    if ((isWord(tokens, token, "async") || isWord(tokens, token, "get") || isWord(tokens, token, "set")) && isKeyToken(tokens, tokens.peek())) {
      token = tokens.next();
      method = true;
    }
    if (token.type === tt.star) {
      token = tokens.next();
      method = true;
    }
    if (!isKeyToken(tokens, token)) {
      throw headerError(file, tokens.line(token.start), `unexpected \`${describe(tokens, token)}\` in the migration object`, `athanor reads the object's fields without running the file; ${NO_OBJECT_HINT}`);
    }
    const key = String(token.type === tt.name || token.type === tt.string || token.type === tt.num ? token.value : token.type.keyword);
    const keyLine = tokens.line(token.start);
    if (!TS_HEADER_KEYS.has(key) && !TS_BODY_KEYS.has(key)) {
      throw headerError(file, keyLine, `unknown field \`${key}\` in the migration object`, `the fields are ${TS_KEYS_TEXT}`);
    }
    const first = seen.get(key);
    if (first !== undefined) {
      throw headerError(file, keyLine, `\`${key}\` is given twice (first on line ${first})`, `keep one \`${key}\``);
    }
    seen.set(key, keyLine);

    const after = tokens.peek();
    if (TS_BODY_KEYS.has(key)) {
      if (!method && after.type !== tt.colon && after.type !== tt.parenL && after.type !== tt.comma && after.type !== tt.braceR) {
        throw headerError(file, tokens.line(after.start), `unexpected \`${describe(tokens, after)}\` after \`${key}\``, NO_OBJECT_HINT);
      }
      if (after.type === tt.colon) tokens.next();
      skipValue(tokens, file);
      continue;
    }
    if (method || after.type !== tt.colon) {
      throw headerError(file, keyLine, `\`${key}\` must be written \`${key}: <literal>\``, "athanor reads the header without running the file, so header fields hold literals");
    }
    tokens.next();
    readHeaderValue(tokens, raw, key as keyof RawHeader, keyLine, file);
    skipAsConst(tokens);
    const end = tokens.peek();
    if (end.type !== tt.comma && end.type !== tt.braceR) {
      throw headerError(file, tokens.line(end.start), `\`${key}\` must be a literal value`, "athanor reads the header without running the file: write the value itself, not an expression");
    }
  }
}

function skipAsConst(tokens: Tokens): void {
  if (isWord(tokens, tokens.peek(), "as")) {
    tokens.next();
    tokens.next();
  }
}

/** Skips an expression up to (not including) the `,` or `}` that ends the property. */
function skipValue(tokens: Tokens, file: string): void {
  const { tt } = tokens;
  let depth = 0;
  for (;;) {
    const token = tokens.peek();
    if (token.type === tt.eof) throw headerError(file, tokens.line(token.start), "the migration object is not closed", "close it with `}`");
    if (depth === 0 && (token.type === tt.comma || token.type === tt.braceR)) return;
    if (isOpener(tokens, token)) depth += 1;
    else if (isCloser(tokens, token)) depth -= 1;
    tokens.next();
  }
}

function literalError(file: string, line: number, key: string, expected: string): ReturnType<typeof headerError> {
  return headerError(file, line, `\`${key}\` must be ${expected}`, "athanor reads the header without running the file: write the value itself, not a variable or an expression");
}

/** A string literal or a template literal without substitutions, whose first token was just taken; null otherwise. */
function readString(tokens: Tokens, token: Tok): string | null {
  const { tt } = tokens;
  if (token.type === tt.string) return token.value as string;
  if (token.type !== tt.backQuote) return null;
  const part = tokens.next();
  if (part.type !== tt.template) return null;
  const close = tokens.next();
  return close.type === tt.backQuote ? (part.value as string) : null;
}

function readStringArray(tokens: Tokens, file: string, key: string): string[] {
  const { tt } = tokens;
  const values: string[] = [];
  for (;;) {
    const token = tokens.next();
    if (token.type === tt.bracketR) return values;
    const value = readString(tokens, token);
    if (value === null) throw literalError(file, tokens.line(token.start), key, "an array of string literals");
    values.push(value);
    const separator = tokens.next();
    if (separator.type === tt.bracketR) return values;
    if (separator.type !== tt.comma) throw literalError(file, tokens.line(separator.start), key, "an array of string literals");
  }
}

function readHeaderValue(tokens: Tokens, raw: RawHeader, key: keyof RawHeader, line: number, file: string): void {
  const { tt } = tokens;
  const token = tokens.next();
  const tokenLine = (): number => tokens.line(token.start);
  switch (key) {
    case "revision":
    case "message": {
      const value = readString(tokens, token);
      if (value === null) throw literalError(file, tokenLine(), key, "a string literal");
      raw[key] = { value, line };
      return;
    }
    case "transaction":
      if (token.type !== tt._true && token.type !== tt._false) throw literalError(file, tokenLine(), key, "`true` or `false`");
      raw.transaction = { value: token.type === tt._true, line };
      return;
    case "down": {
      if (token.type === tt._null || isWord(tokens, token, "undefined")) {
        raw.down = { value: null, line };
        return;
      }
      if (token.type === tt.bracketL) {
        raw.down = { value: readStringArray(tokens, file, key), line };
        return;
      }
      const value = readString(tokens, token);
      if (value === null) throw literalError(file, tokenLine(), key, "`null`, a revision id string or an array of them");
      raw.down = { value: [value], line };
      return;
    }
    case "branchLabels":
    case "dependsOn":
    case "allow": {
      if (token.type === tt.bracketL) {
        raw[key] = { value: readStringArray(tokens, file, key), line };
        return;
      }
      const value = readString(tokens, token);
      if (value === null) throw literalError(file, tokenLine(), key, "an array of string literals");
      raw[key] = { value: [value], line };
      return;
    }
  }
}
