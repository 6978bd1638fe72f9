/**
 * Reads the header of a revision file (DESIGN.md §4) from its text, never by running
 * it: `-- athanor:` lines in SQL, the literal fields of the `defineMigration({...})`
 * object in TypeScript and JavaScript. Pure: text in, header out, or a RevisionError
 * that names the file and the line.
 */
import { RevisionError } from "../errors.js";
import { branchLabelProblem, isRevisionId, isRuleName } from "./ids.js";
import type { RevisionHeader } from "./types.js";

/** The two families of revision files: SQL, and TypeScript/JavaScript modules. */
export type RevisionFormat = "sql" | "ts";

/**
 * Parses the header of a revision of either format.
 * @param text the file's text
 * @param file the file's name as the user should see it in a message
 * @example
 * parseRevisionHeader("-- athanor:revision 3f2a9c1d0b7e\n-- athanor:upgrade\nSELECT 1;\n", "a.sql", "sql").id // "3f2a9c1d0b7e"
 */
export function parseRevisionHeader(text: string, file: string, format: RevisionFormat): RevisionHeader {
  return format === "sql" ? parseSqlHeader(text, file) : parseTsHeader(text, file);
}

// ---------------------------------------------------------------------------------------------
// Shared validation

interface Field<T> {
  readonly value: T;
  readonly line: number;
}

/** What a file said, before validation. Each field remembers its line. */
interface RawHeader {
  revision?: Field<string>;
  /** `null` value: an explicit root (`down: null`). */
  down?: Field<readonly string[] | null>;
  message?: Field<string>;
  transaction?: Field<boolean>;
  branchLabels?: Field<readonly string[]>;
  dependsOn?: Field<readonly string[]>;
  allow?: Field<readonly string[]>;
}

type Spelling = Record<keyof RawHeader, string>;

const SQL_SPELLING: Spelling = {
  revision: "-- athanor:revision",
  down: "-- athanor:down",
  message: "-- athanor:message",
  transaction: "-- athanor:transaction",
  branchLabels: "-- athanor:branch-labels",
  dependsOn: "-- athanor:depends-on",
  allow: "-- athanor:allow",
};

const TS_SPELLING: Spelling = {
  revision: "revision",
  down: "down",
  message: "message",
  transaction: "transaction",
  branchLabels: "branchLabels",
  dependsOn: "dependsOn",
  allow: "allow",
};

function headerError(file: string, line: number | null, message: string, hint: string): RevisionError {
  const where = line === null ? file : `${file}:${line}`;
  return new RevisionError("malformed-header", `${where}: ${abbreviateQuoted(message)}`, { hint, details: { file, line } });
}

/** A value quoted in a message (`...`) is cut to 60 characters: a hostile file must not put megabytes on a terminal. */
function abbreviateQuoted(message: string): string {
  return message.replace(/`([^`\n]{61,})`/g, (_all, inner: string) => `\`${inner.slice(0, 57)}...\``);
}

const ID_HINT = "a revision id is 12 lowercase hex characters, such as 3f2a9c1d0b7e";

function validateHeader(raw: RawHeader, file: string, spelling: Spelling): RevisionHeader {
  const revision = raw.revision;
  if (revision === undefined) {
    const hint =
      spelling === SQL_SPELLING
        ? "add a line `-- athanor:revision <id>` at the top of the file (`athanor revision -m MSG` writes a complete file)"
        : 'add `revision: "<id>"` to the object given to defineMigration (`athanor revision --ts -m MSG` writes a complete file)';
    throw headerError(file, null, "the revision has no id", hint);
  }
  if (!isRevisionId(revision.value)) {
    throw headerError(file, revision.line, `\`${revision.value}\` is not a revision id`, ID_HINT);
  }
  const id = revision.value;

  const parents: string[] = [];
  if (raw.down !== undefined && raw.down.value !== null) {
    const { line } = raw.down;
    for (const parent of raw.down.value) {
      if (!isRevisionId(parent)) {
        throw headerError(file, line, `\`${parent}\` in ${spelling.down} is not a revision id`, `${ID_HINT}; separate several parents with commas`);
      }
      if (parent === id) {
        throw headerError(file, line, `revision ${id} names itself as its parent`, "set the parent to the revision this one follows, or remove it for a root revision");
      }
      if (parents.includes(parent)) {
        throw headerError(file, line, `parent ${parent} is listed twice in ${spelling.down}`, "list each parent once");
      }
      parents.push(parent);
    }
  }

  const dependsOn: string[] = [];
  if (raw.dependsOn !== undefined) {
    const { line } = raw.dependsOn;
    for (const dependency of raw.dependsOn.value) {
      if (!isRevisionId(dependency) && branchLabelProblem(dependency) !== null) {
        throw headerError(file, line, `\`${dependency}\` in ${spelling.dependsOn} is neither a revision id nor a branch label`, `${ID_HINT}; separate several with commas`);
      }
      if (dependency === id) {
        throw headerError(file, line, `revision ${id} depends on itself`, `remove ${id} from ${spelling.dependsOn}`);
      }
      if (dependsOn.includes(dependency)) {
        throw headerError(file, line, `\`${dependency}\` is listed twice in ${spelling.dependsOn}`, "list each dependency once");
      }
      dependsOn.push(dependency);
    }
  }

  const branchLabels: string[] = [];
  if (raw.branchLabels !== undefined) {
    const { line } = raw.branchLabels;
    for (const label of raw.branchLabels.value) {
      const problem = branchLabelProblem(label);
      if (problem !== null) throw headerError(file, line, `\`${label}\` is not a valid branch label`, problem);
      if (branchLabels.includes(label)) {
        throw headerError(file, line, `branch label \`${label}\` is listed twice`, "list each label once");
      }
      branchLabels.push(label);
    }
  }

  const allow: string[] = [];
  if (raw.allow !== undefined) {
    for (const rule of raw.allow.value) {
      if (!isRuleName(rule)) {
        throw headerError(file, raw.allow.line, `\`${rule}\` in ${spelling.allow} is not a rule name`, "name linter rules as `athanor lint` prints them, separated by commas");
      }
      if (!allow.includes(rule)) allow.push(rule);
    }
  }

  return {
    id,
    parents,
    message: raw.message?.value ?? "",
    branchLabels,
    dependsOn,
    transactional: raw.transaction?.value ?? true,
    allow,
  };
}

// ---------------------------------------------------------------------------------------------
// SQL

/** Directive name (after `-- athanor:`) → header field. */
const SQL_DIRECTIVES: Readonly<Record<string, keyof RawHeader>> = {
  revision: "revision",
  down: "down",
  message: "message",
  transaction: "transaction",
  "branch-labels": "branchLabels",
  "depends-on": "dependsOn",
  allow: "allow",
};

const SECTION_MARKERS: ReadonlySet<string> = new Set(["upgrade", "downgrade"]);

const KNOWN_SQL_DIRECTIVES = [...Object.keys(SQL_DIRECTIVES), ...SECTION_MARKERS].map((name) => `athanor:${name}`).join(", ");

/** One `-- athanor:NAME value` line. */
export interface SqlDirective {
  readonly name: string;
  readonly value: string;
  /** 1-based line number. */
  readonly line: number;
}

const DIRECTIVE = /^[ \t]*--[ \t]*athanor:([A-Za-z0-9_-]*)(.*)$/;

/**
 * Reads `line` as an `-- athanor:` directive, or returns null for any other line.
 * Throws when the line starts like a directive but is not one (`-- athanor:revision:x`).
 */
export function readSqlDirective(lineText: string, line: number, file: string): SqlDirective | null {
  if (!lineText.includes("athanor:")) return null;
  const match = DIRECTIVE.exec(lineText);
  if (match === null) return null;
  const name = match[1] ?? "";
  const rest = match[2] ?? "";
  if (rest !== "" && rest[0] !== " " && rest[0] !== "\t") {
    throw headerError(file, line, `\`${lineText.trim()}\` is not a valid athanor directive`, `write \`-- athanor:NAME value\`; the directives are ${KNOWN_SQL_DIRECTIVES}`);
  }
  return { name, value: rest.trim(), line };
}

function splitList(value: string, file: string, line: number, directive: string): string[] {
  const items = value.split(",").map((item) => item.trim());
  if (items.some((item) => item === "")) {
    throw headerError(file, line, `${directive} has an empty entry`, `write the entries separated by single commas, such as \`${directive} a, b\``);
  }
  return items;
}

/** Text with CRLF and CR line endings turned into LF, as checksums and line numbers use. */
export function normalizeLineEndings(text: string): string {
  return text.includes("\r") ? text.replace(/\r\n?/g, "\n") : text;
}

/**
 * Parses the header of an SQL revision: every `-- athanor:` line before the first
 * section marker. Also checks the markers themselves (one `-- athanor:upgrade`, at most
 * one `-- athanor:downgrade`) and that no SQL stands outside a section.
 * @example
 * parseSqlHeader("-- athanor:revision 3f2a9c1d0b7e\n-- athanor:down 9c0d1e2f3a4b\n-- athanor:upgrade\nSELECT 1;\n", "a.sql").parents // ["9c0d1e2f3a4b"]
 */
export function parseSqlHeader(input: string, file: string): RevisionHeader {
  const text = normalizeLineEndings(input.charCodeAt(0) === 0xfeff ? input.slice(1) : input);
  const raw: RawHeader = {};
  const markers = new Map<string, number>();
  let inBlockComment = false;
  let lineNumber = 0;
  let start = 0;
  while (start <= text.length) {
    lineNumber += 1;
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    const lineText = text.slice(start, end);
    start = end + 1;

    const directive = readSqlDirective(lineText, lineNumber, file);
    if (directive !== null) {
      if (SECTION_MARKERS.has(directive.name)) {
        if (directive.value !== "") {
          throw headerError(file, lineNumber, `\`-- athanor:${directive.name}\` takes no value`, `put the SQL on the lines after the marker`);
        }
        const previous = markers.get(directive.name);
        if (previous !== undefined) {
          throw headerError(file, lineNumber, `a second \`-- athanor:${directive.name}\` marker (the first is on line ${previous})`, "keep one upgrade section and at most one downgrade section");
        }
        markers.set(directive.name, lineNumber);
        continue;
      }
      const field = SQL_DIRECTIVES[directive.name];
      if (field === undefined) {
        throw headerError(file, lineNumber, `unknown directive \`-- athanor:${directive.name}\``, `the directives are ${KNOWN_SQL_DIRECTIVES}; write other comments without \`athanor:\``);
      }
      if (markers.size > 0) {
        throw headerError(file, lineNumber, `\`-- athanor:${directive.name}\` comes after a section marker`, "move the header lines above `-- athanor:upgrade`");
      }
      setSqlField(raw, field, directive, file);
      continue;
    }

    if (markers.size > 0) continue;
    // Before the first marker only comments and blank lines may stand: SQL there would never run.
    const trimmed = lineText.trim();
    if (inBlockComment) {
      if (trimmed.includes("*/")) inBlockComment = false;
      continue;
    }
    if (trimmed === "" || trimmed.startsWith("--")) continue;
    if (trimmed.startsWith("/*")) {
      inBlockComment = !trimmed.includes("*/", 2);
      continue;
    }
    throw headerError(file, lineNumber, "SQL before the `-- athanor:upgrade` marker would never run", "put the statements under `-- athanor:upgrade` (or `-- athanor:downgrade`)");
  }
  if (!markers.has("upgrade")) {
    throw headerError(file, null, "the revision has no `-- athanor:upgrade` section", "add a line `-- athanor:upgrade` followed by the SQL to apply");
  }
  return validateHeader(raw, file, SQL_SPELLING);
}

function setSqlField(raw: RawHeader, field: keyof RawHeader, directive: SqlDirective, file: string): void {
  const { line, value, name } = directive;
  const existing = raw[field];
  if (existing !== undefined) {
    throw headerError(file, line, `a second \`-- athanor:${name}\` line (the first is on line ${existing.line})`, `keep one \`-- athanor:${name}\` line; put several values on it separated by commas`);
  }
  const spelled = `-- athanor:${name}`;
  switch (field) {
    case "revision":
      raw.revision = { value, line };
      return;
    case "message":
      raw.message = { value, line };
      return;
    case "transaction":
      if (value !== "true" && value !== "false") {
        throw headerError(file, line, `${spelled} must be \`true\` or \`false\`, not \`${value}\``, "use `false` only for statements that cannot run in a transaction, such as CREATE INDEX CONCURRENTLY");
      }
      raw.transaction = { value: value === "true", line };
      return;
    case "down":
      if (value === "") {
        throw headerError(file, line, `${spelled} names no parent`, "name the parent revision, or remove the line for a root revision");
      }
      raw.down = { value: splitList(value, file, line, spelled), line };
      return;
    case "branchLabels":
    case "dependsOn":
    case "allow":
      if (value === "") throw headerError(file, line, `${spelled} is empty`, `remove the line or give it a value`);
      raw[field] = { value: splitList(value, file, line, spelled), line };
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// TypeScript / JavaScript: a small tokenizer, enough to find the migration object and read literals.

type TokenKind = "ident" | "string" | "template" | "number" | "punct" | "regex" | "eof";

interface Token {
  readonly kind: TokenKind;
  /** Identifier name, punctuator, or a string's decoded value. */
  readonly value: string;
  readonly line: number;
}

interface LexerState {
  pos: number;
  line: number;
  prev: Token | null;
}

/** Keywords after which `/` starts a regular expression rather than a division. */
const REGEX_AFTER_WORD: ReadonlySet<string> = new Set([
  "return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await",
]);

const MAX_TEMPLATE_DEPTH = 64;
const MAX_REGEX_LENGTH = 256;

function isIdentStart(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 36 || code > 127;
}

function isIdentPart(code: number): boolean {
  return isIdentStart(code) || (code >= 48 && code <= 57);
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

class Lexer {
  private state: LexerState = { pos: 0, line: 1, prev: null };
  private buffered: Token | null = null;
  private templateDepth = 0;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  next(): Token {
    const token = this.buffered ?? this.lex();
    this.buffered = null;
    return token;
  }

  peek(): Token {
    this.buffered ??= this.lex();
    return this.buffered;
  }

  /** The position after the last token taken with `next` (nothing may be peeked). */
  snapshot(): LexerState {
    return { ...this.state };
  }

  restore(state: LexerState): void {
    this.state = { ...state };
    this.buffered = null;
  }

  private error(line: number, message: string, hint: string): RevisionError {
    return headerError(this.file, line, message, hint);
  }

  private emit(kind: TokenKind, value: string, line: number): Token {
    const token: Token = { kind, value, line };
    this.state.prev = token;
    return token;
  }

  private regexAllowed(): boolean {
    const prev = this.state.prev;
    if (prev === null) return true;
    if (prev.kind === "punct") return prev.value !== ")" && prev.value !== "]" && prev.value !== "}";
    if (prev.kind === "ident") return REGEX_AFTER_WORD.has(prev.value);
    return false;
  }

  private lex(): Token {
    const { text } = this;
    const s = this.state;
    for (;;) {
      if (s.pos >= text.length) return { kind: "eof", value: "", line: s.line };
      const code = text.charCodeAt(s.pos);
      // whitespace
      if (code === 10) {
        s.line += 1;
        s.pos += 1;
        continue;
      }
      if (code === 32 || code === 9 || code === 13 || code === 11 || code === 12 || code === 0xa0 || code === 0xfeff || code === 0x2028 || code === 0x2029) {
        s.pos += 1;
        continue;
      }
      // comments
      if (code === 47 /* / */) {
        const nextCode = text.charCodeAt(s.pos + 1);
        if (nextCode === 47) {
          const end = text.indexOf("\n", s.pos);
          s.pos = end === -1 ? text.length : end;
          continue;
        }
        if (nextCode === 42 /* * */) {
          const startLine = s.line;
          const end = text.indexOf("*/", s.pos + 2);
          if (end === -1) throw this.error(startLine, "unterminated `/*` comment", "close the comment with `*/`");
          s.line += countNewlines(text, s.pos, end);
          s.pos = end + 2;
          continue;
        }
      }
      break;
    }
    const start = s.pos;
    const line = s.line;
    const code = text.charCodeAt(start);

    if (isIdentStart(code)) {
      let end = start + 1;
      while (end < text.length && isIdentPart(text.charCodeAt(end))) end += 1;
      s.pos = end;
      return this.emit("ident", text.slice(start, end), line);
    }
    if (isDigit(code) || (code === 46 && isDigit(text.charCodeAt(start + 1)))) {
      let end = start + 1;
      while (end < text.length && (isIdentPart(text.charCodeAt(end)) || text.charCodeAt(end) === 46)) end += 1;
      s.pos = end;
      return this.emit("number", text.slice(start, end), line);
    }
    if (code === 34 || code === 39) return this.emit("string", this.scanString(text[start] as string), line);
    if (code === 96) {
      const value = this.scanTemplate();
      return this.emit(value === null ? "template" : "string", value ?? "", line);
    }
    if (code === 47 && this.regexAllowed()) {
      const end = this.scanRegex(start);
      if (end !== -1) {
        s.pos = end;
        return this.emit("regex", text.slice(start, end), line);
      }
    }
    if (code === 46 && text.startsWith("...", start)) {
      s.pos = start + 3;
      return this.emit("punct", "...", line);
    }
    s.pos = start + 1;
    return this.emit("punct", text[start] as string, line);
  }

  /** Reads a quoted string starting at the quote; returns its decoded value. */
  private scanString(quote: string): string {
    const { text } = this;
    const s = this.state;
    const line = s.line;
    let pos = s.pos + 1;
    let value = "";
    for (;;) {
      if (pos >= text.length) throw this.error(line, "unterminated string", `close the string with ${quote}`);
      const char = text[pos] as string;
      if (char === quote) {
        s.pos = pos + 1;
        return value;
      }
      if (char === "\n") throw this.error(line, "unterminated string", `close the string with ${quote} on the same line`);
      if (char === "\\") {
        const decoded = this.decodeEscape(pos);
        value += decoded.value;
        pos = decoded.end;
        continue;
      }
      value += char;
      pos += 1;
    }
  }

  /**
   * Reads a template literal starting at the backquote. Returns its value when it has
   * no `${}` substitution, null otherwise (the substitutions are skipped, balanced).
   */
  private scanTemplate(): string | null {
    const { text } = this;
    const s = this.state;
    const line = s.line;
    let pos = s.pos + 1;
    let value = "";
    let substituted = false;
    for (;;) {
      if (pos >= text.length) throw this.error(line, "unterminated template literal", "close it with a backquote");
      const char = text[pos] as string;
      if (char === "`") {
        s.pos = pos + 1;
        return substituted ? null : value;
      }
      if (char === "\\") {
        const decoded = this.decodeEscape(pos);
        value += decoded.value;
        pos = decoded.end;
        continue;
      }
      if (char === "$" && text[pos + 1] === "{") {
        substituted = true;
        s.pos = pos + 2;
        this.skipSubstitution(line);
        pos = s.pos;
        continue;
      }
      if (char === "\n") s.line += 1;
      value += char;
      pos += 1;
    }
  }

  /** Skips the expression of a `${...}` up to and including its closing brace. */
  private skipSubstitution(templateLine: number): void {
    this.templateDepth += 1;
    if (this.templateDepth > MAX_TEMPLATE_DEPTH) {
      throw this.error(templateLine, "template literals nested too deeply", "simplify the expression");
    }
    let depth = 0;
    for (;;) {
      const token = this.lex();
      if (token.kind === "eof") throw this.error(templateLine, "unterminated `${` in a template literal", "close the substitution with `}`");
      if (token.kind !== "punct") continue;
      if (token.value === "{") depth += 1;
      else if (token.value === "}") {
        if (depth === 0) break;
        depth -= 1;
      }
    }
    this.templateDepth -= 1;
  }

  /** Decodes the escape sequence at `pos` (a backslash). */
  private decodeEscape(pos: number): { value: string; end: number } {
    const { text } = this;
    const char = text[pos + 1];
    if (char === undefined) return { value: "", end: pos + 1 };
    switch (char) {
      case "n":
        return { value: "\n", end: pos + 2 };
      case "t":
        return { value: "\t", end: pos + 2 };
      case "r":
        return { value: "\r", end: pos + 2 };
      case "b":
        return { value: "\b", end: pos + 2 };
      case "f":
        return { value: "\f", end: pos + 2 };
      case "v":
        return { value: "\v", end: pos + 2 };
      case "0":
        return { value: "\0", end: pos + 2 };
      case "\n":
        this.state.line += 1;
        return { value: "", end: pos + 2 };
      case "x": {
        const hex = text.slice(pos + 2, pos + 4);
        if (/^[0-9a-fA-F]{2}$/.test(hex)) return { value: String.fromCharCode(parseInt(hex, 16)), end: pos + 4 };
        return { value: "x", end: pos + 2 };
      }
      case "u": {
        if (text[pos + 2] === "{") {
          const close = text.indexOf("}", pos + 3);
          const hex = close === -1 ? "" : text.slice(pos + 3, close);
          if (/^[0-9a-fA-F]{1,6}$/.test(hex)) {
            const codePoint = parseInt(hex, 16);
            if (codePoint <= 0x10ffff) return { value: String.fromCodePoint(codePoint), end: close + 1 };
          }
          return { value: "u", end: pos + 2 };
        }
        const hex = text.slice(pos + 2, pos + 6);
        if (/^[0-9a-fA-F]{4}$/.test(hex)) return { value: String.fromCharCode(parseInt(hex, 16)), end: pos + 6 };
        return { value: "u", end: pos + 2 };
      }
      default:
        return { value: char, end: pos + 2 };
    }
  }

  /** End of a regular expression literal starting at `start`, or -1 when it is not one. */
  private scanRegex(start: number): number {
    const { text } = this;
    let pos = start + 1;
    let inClass = false;
    // A bound keeps a long line of `/[` from costing quadratic time; real regex literals are short.
    const limit = Math.min(text.length, start + MAX_REGEX_LENGTH);
    for (;;) {
      if (pos >= limit) return -1;
      const code = text.charCodeAt(pos);
      if (code === 10) return -1;
      if (code === 92 /* \\ */) {
        pos += 2;
        continue;
      }
      if (code === 91 /* [ */) inClass = true;
      else if (code === 93 /* ] */) inClass = false;
      else if (code === 47 /* / */ && !inClass) break;
      pos += 1;
    }
    pos += 1;
    while (pos < text.length && isIdentPart(text.charCodeAt(pos))) pos += 1;
    return pos;
  }
}

/** Newlines in text[from, to). Never looks past `to` (an indexOf would scan to the next newline: quadratic on one long line). */
function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === 10) count += 1;
  return count;
}

/** Object keys a TypeScript revision may have: header fields, then the two functions. */
const TS_HEADER_KEYS: ReadonlySet<string> = new Set(Object.keys(TS_SPELLING));
const TS_BODY_KEYS: ReadonlySet<string> = new Set(["upgrade", "downgrade"]);
const TS_KEYS_TEXT = [...TS_HEADER_KEYS, ...TS_BODY_KEYS].join(", ");

const NO_OBJECT_HINT = 'write `export default defineMigration({ revision: "<id>", down: null, async upgrade({ sql }) { ... } })`';

/**
 * Parses the header of a TypeScript or JavaScript revision without running it: finds the
 * object given to `defineMigration(...)` (or the default-exported object literal) and
 * reads its literal fields.
 * @example
 * parseTsHeader('export default defineMigration({ revision: "3f2a9c1d0b7e", down: null, async upgrade() {} });', "a.ts").id
 */
export function parseTsHeader(input: string, file: string): RevisionHeader {
  const text = normalizeLineEndings(input);
  const lexer = new Lexer(text, file);
  const raw = readMigrationObject(lexer, file);
  return validateHeader(raw, file, TS_SPELLING);
}

/** Finds the migration object and parses it; the lexer is left just after its `{`. */
function readMigrationObject(lexer: Lexer, file: string): RawHeader {
  let depth = 0;
  let defaultName: string | null = null;
  const declared = new Map<string, LexerState>();
  for (;;) {
    const token = lexer.next();
    if (token.kind === "eof") break;
    if (token.kind === "punct") {
      if (token.value === "{" || token.value === "(" || token.value === "[") depth += 1;
      else if (token.value === "}" || token.value === ")" || token.value === "]") depth = Math.max(0, depth - 1);
      continue;
    }
    if (token.kind !== "ident") continue;

    if (token.value === "defineMigration" && isPunct(lexer.peek(), "(")) {
      lexer.next();
      if (isPunct(lexer.peek(), "{")) {
        lexer.next();
        return parseObject(lexer, file);
      }
      depth += 1;
      continue;
    }
    if (depth !== 0) continue;

    if (token.value === "export" && isIdent(lexer.peek(), "default")) {
      lexer.next();
      const value = lexer.peek();
      if (isPunct(value, "{")) {
        lexer.next();
        return parseObject(lexer, file);
      }
      if (value.kind === "ident" && value.value !== "defineMigration") {
        lexer.next();
        const known = declared.get(value.value);
        if (known !== undefined) {
          lexer.restore(known);
          return parseObject(lexer, file);
        }
        defaultName = value.value;
      }
      continue;
    }
    if (token.value === "module" && isPunct(lexer.peek(), ".")) {
      lexer.next();
      if (isIdent(lexer.peek(), "exports")) {
        lexer.next();
        if (isPunct(lexer.peek(), "=")) {
          lexer.next();
          if (isPunct(lexer.peek(), "{")) {
            lexer.next();
            return parseObject(lexer, file);
          }
        }
      }
      continue;
    }
    if (token.value === "const" || token.value === "let" || token.value === "var") {
      const name = lexer.peek();
      if (name.kind !== "ident") continue;
      lexer.next();
      if (isPunct(lexer.peek(), ":") && !skipTypeAnnotation(lexer)) continue;
      if (!isPunct(lexer.peek(), "=")) continue;
      lexer.next();
      if (!isPunct(lexer.peek(), "{")) continue;
      lexer.next();
      if (defaultName === name.value) return parseObject(lexer, file);
      declared.set(name.value, lexer.snapshot());
      depth += 1;
    }
  }
  throw headerError(file, null, "no migration object found", NO_OBJECT_HINT);
}

/** Skips `: Type` up to the `=` of a declaration; false when no `=` follows. */
function skipTypeAnnotation(lexer: Lexer): boolean {
  lexer.next();
  let depth = 0;
  for (;;) {
    const token = lexer.peek();
    if (token.kind === "eof") return false;
    if (token.kind === "punct") {
      if (depth === 0 && token.value === "=") return true;
      if (depth === 0 && token.value === ";") return false;
      if (token.value === "{" || token.value === "(" || token.value === "[" || token.value === "<") depth += 1;
      else if (token.value === "}" || token.value === ")" || token.value === "]" || token.value === ">") depth = Math.max(0, depth - 1);
    }
    lexer.next();
  }
}

function isPunct(token: Token, value: string): boolean {
  return token.kind === "punct" && token.value === value;
}

function isIdent(token: Token, value: string): boolean {
  return token.kind === "ident" && token.value === value;
}

/** Parses the properties of an object literal whose `{` was just taken. */
function parseObject(lexer: Lexer, file: string): RawHeader {
  const raw: RawHeader = {};
  const seen = new Map<string, number>();
  for (;;) {
    let token = lexer.next();
    if (token.kind === "eof") throw headerError(file, token.line, "the migration object is not closed", "close it with `}`");
    if (isPunct(token, "}")) return raw;
    if (isPunct(token, ",")) continue;
    if (isPunct(token, "...")) {
      throw headerError(file, token.line, "a spread (`...`) in the migration object hides its header from athanor", "write the header fields out in the object");
    }
    let method = false;
    if ((isIdent(token, "async") || isIdent(token, "get") || isIdent(token, "set")) && isKeyToken(lexer.peek())) {
      token = lexer.next();
      method = true;
    }
    if (isPunct(token, "*")) {
      token = lexer.next();
      method = true;
    }
    if (!isKeyToken(token)) {
      throw headerError(file, token.line, `unexpected \`${token.value}\` in the migration object`, `athanor reads the object's fields without running the file; ${NO_OBJECT_HINT}`);
    }
    const key = token.value;
    const keyLine = token.line;
    if (!TS_HEADER_KEYS.has(key) && !TS_BODY_KEYS.has(key)) {
      throw headerError(file, keyLine, `unknown field \`${key}\` in the migration object`, `the fields are ${TS_KEYS_TEXT}`);
    }
    const first = seen.get(key);
    if (first !== undefined) {
      throw headerError(file, keyLine, `\`${key}\` is given twice (first on line ${first})`, `keep one \`${key}\``);
    }
    seen.set(key, keyLine);

    const after = lexer.peek();
    if (TS_BODY_KEYS.has(key)) {
      if (!method && !isPunct(after, ":") && !isPunct(after, "(") && !isPunct(after, ",") && !isPunct(after, "}")) {
        throw headerError(file, after.line, `unexpected \`${after.value}\` after \`${key}\``, NO_OBJECT_HINT);
      }
      if (isPunct(after, ":")) lexer.next();
      skipValue(lexer, file);
      continue;
    }
    if (method || !isPunct(after, ":")) {
      throw headerError(file, keyLine, `\`${key}\` must be written \`${key}: <literal>\``, "athanor reads the header without running the file, so header fields hold literals");
    }
    lexer.next();
    readHeaderValue(lexer, raw, key as keyof RawHeader, keyLine, file);
    skipAsConst(lexer);
    const end = lexer.peek();
    if (!isPunct(end, ",") && !isPunct(end, "}")) {
      throw headerError(file, end.line, `\`${key}\` must be a literal value`, "athanor reads the header without running the file: write the value itself, not an expression");
    }
  }
}

function isKeyToken(token: Token): boolean {
  return token.kind === "ident" || token.kind === "string" || token.kind === "number";
}

function skipAsConst(lexer: Lexer): void {
  if (isIdent(lexer.peek(), "as")) {
    lexer.next();
    lexer.next();
  }
}

/** Skips an expression up to (not including) the `,` or `}` that ends the property. */
function skipValue(lexer: Lexer, file: string): void {
  let depth = 0;
  for (;;) {
    const token = lexer.peek();
    if (token.kind === "eof") throw headerError(file, token.line, "the migration object is not closed", "close it with `}`");
    if (token.kind === "punct") {
      if (depth === 0 && (token.value === "," || token.value === "}")) return;
      if (token.value === "{" || token.value === "(" || token.value === "[") depth += 1;
      else if (token.value === "}" || token.value === ")" || token.value === "]") depth -= 1;
    }
    lexer.next();
  }
}

function literalError(file: string, line: number, key: string, expected: string): RevisionError {
  return headerError(file, line, `\`${key}\` must be ${expected}`, "athanor reads the header without running the file: write the value itself, not a variable or an expression");
}

function readStringArray(lexer: Lexer, file: string, key: string): string[] {
  const values: string[] = [];
  for (;;) {
    const token = lexer.next();
    if (isPunct(token, "]")) return values;
    if (token.kind !== "string") throw literalError(file, token.line, key, "an array of string literals");
    values.push(token.value);
    const separator = lexer.next();
    if (isPunct(separator, "]")) return values;
    if (!isPunct(separator, ",")) throw literalError(file, separator.line, key, "an array of string literals");
  }
}

function readHeaderValue(lexer: Lexer, raw: RawHeader, key: keyof RawHeader, line: number, file: string): void {
  const token = lexer.next();
  switch (key) {
    case "revision":
    case "message":
      if (token.kind !== "string") throw literalError(file, token.line, key, "a string literal");
      raw[key] = { value: token.value, line };
      return;
    case "transaction":
      if (!isIdent(token, "true") && !isIdent(token, "false")) throw literalError(file, token.line, key, "`true` or `false`");
      raw.transaction = { value: token.value === "true", line };
      return;
    case "down":
      if (isIdent(token, "null") || isIdent(token, "undefined")) {
        raw.down = { value: null, line };
        return;
      }
      if (token.kind === "string") {
        raw.down = { value: [token.value], line };
        return;
      }
      if (isPunct(token, "[")) {
        raw.down = { value: readStringArray(lexer, file, key), line };
        return;
      }
      throw literalError(file, token.line, key, "`null`, a revision id string or an array of them");
    case "branchLabels":
    case "dependsOn":
    case "allow":
      if (token.kind === "string") {
        raw[key] = { value: [token.value], line };
        return;
      }
      if (isPunct(token, "[")) {
        raw[key] = { value: readStringArray(lexer, file, key), line };
        return;
      }
      throw literalError(file, token.line, key, "an array of string literals");
  }
}
