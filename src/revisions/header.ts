/**
 * Reads the header of a revision file (DESIGN.md §4) from its text, never by running
 * it. Pure: text in, header out, or a RevisionError that names the file and the line.
 *
 * - SQL: the `-- athanor:` lines before the first section marker, read line by line.
 * - TypeScript and JavaScript, two spellings (see {@link parseTsHeader}):
 *   `// athanor:` lines at the top of the file, read line by line like SQL (what
 *   `athanor revision --ts` writes); or the literal fields of the `defineMigration({...})`
 *   object, read with acorn's tokenizer in `header-ts.ts`, loaded only for such files.
 *
 * The choice was measured on 10,000 generated revisions (CPU time to import this module
 * and read every header from text already in memory, median of 3 runs on the loaded
 * 2-core development machine): the hand-written JavaScript lexer this replaced, on
 * object headers, 0.21 s; acorn's tokenizer on the same files 0.46 s; a full
 * TypeScript-aware parser 3 to 10 times the old lexer (details in `header-ts.ts`);
 * `// athanor:` lines 0.16 s. No parser reads object headers as fast as the old lexer,
 * so new files carry the header in comment lines (faster than before), and a well-kept
 * tokenizer, not a hand-written one, reads the object spelling of existing files.
 */
import { headerError, normalizeLineEndings, SQL_SPELLING, TS_COMMENT_SPELLING, validateHeader, type RawHeader } from "./header-fields.js";
import { parseCommonSqlHeader } from "./header-sql-fast.js";
import { readObjectHeader } from "./header-ts.js";
import type { RevisionHeader } from "./types.js";

export { normalizeLineEndings } from "./header-fields.js";

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
const KNOWN_TS_DIRECTIVES = Object.keys(SQL_DIRECTIVES).map((name) => `athanor:${name}`).join(", ");

/** One `-- athanor:NAME value` line (`// athanor:NAME value` in TypeScript). */
export interface SqlDirective {
  readonly name: string;
  readonly value: string;
  /** 1-based line number. */
  readonly line: number;
}

/** How a line comment starts: `--` in SQL, `//` in TypeScript and JavaScript. */
type CommentStart = "--" | "//";

// `s`: the value runs to the end of the line whatever it holds. Without it `.` stops at
// U+2028/U+2029 (line terminators to a RegExp, not to a file), and such a line read as a
// plain comment: a message holding one was dropped instead of refused.
const DIRECTIVE: Readonly<Record<CommentStart, RegExp>> = {
  "--": /^[ \t]*--[ \t]*athanor:([A-Za-z0-9_-]*)(.*)$/s,
  "//": /^[ \t]*\/\/[ \t]*athanor:([A-Za-z0-9_-]*)(.*)$/s,
};

/**
 * Reads `line` as an `-- athanor:` directive, or returns null for any other line.
 * Throws when the line starts like a directive but is not one (`-- athanor:revision:x`).
 */
export function readSqlDirective(lineText: string, line: number, file: string): SqlDirective | null {
  return readDirective(lineText, line, file, "--");
}

function readDirective(lineText: string, line: number, file: string, comment: CommentStart): SqlDirective | null {
  if (!lineText.includes("athanor:")) return null;
  const match = DIRECTIVE[comment].exec(lineText);
  if (match === null) return null;
  const name = match[1] ?? "";
  const rest = match[2] ?? "";
  if (rest !== "" && rest[0] !== " " && rest[0] !== "\t") {
    const known = comment === "--" ? KNOWN_SQL_DIRECTIVES : KNOWN_TS_DIRECTIVES;
    throw headerError(file, line, `\`${lineText.trim()}\` is not a valid athanor directive`, `write \`${comment} athanor:NAME value\`; the directives are ${known}`);
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

/**
 * Parses the header of an SQL revision: every `-- athanor:` line before the first
 * section marker. Also checks the markers themselves (one `-- athanor:upgrade`, at most
 * one `-- athanor:downgrade`) and that no SQL stands outside a section.
 * @example
 * parseSqlHeader("-- athanor:revision 3f2a9c1d0b7e\n-- athanor:down 9c0d1e2f3a4b\n-- athanor:upgrade\nSELECT 1;\n", "a.sql").parents // ["9c0d1e2f3a4b"]
 */
export function parseSqlHeader(input: string, file: string): RevisionHeader {
  // Most files take the common shape, read without a string per line; any other is read line by line, with its messages.
  return parseCommonSqlHeader(input) ?? readSqlHeaderLines(input, file);
}

/** {@link parseSqlHeader} line by line: every shape, and the error that names the line. Exported for the test that compares the two. */
export function readSqlHeaderLines(input: string, file: string): RevisionHeader {
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
      setDirectiveField(raw, field, directive, file, "--");
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

function setDirectiveField(raw: RawHeader, field: keyof RawHeader, directive: SqlDirective, file: string, comment: CommentStart): void {
  const { line, value, name } = directive;
  const spelled = `${comment} athanor:${name}`;
  const existing = raw[field];
  if (existing !== undefined) {
    throw headerError(file, line, `a second \`${spelled}\` line (the first is on line ${existing.line})`, `keep one \`${spelled}\` line; put several values on it separated by commas`);
  }
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

/**
 * Parses the header of a TypeScript or JavaScript revision without running it. Two
 * spellings:
 *
 * - `// athanor:` comment lines at the top of the file, the SQL directives in
 *   TypeScript comments (what `athanor revision --ts` writes; the counterpart of the
 *   `Revision ID:` / `Revises:` docstring at the top of an Alembic revision). They must
 *   stand in the comment block that opens the file, before the first line of code.
 *   Read line by line like SQL: no tokenizer, no module to load.
 * - the literal fields of the `defineMigration({...})` object (DESIGN.md §4), read
 *   with acorn's tokenizer (`header-ts.ts`) when the file has no `// athanor:` lines.
 * @example
 * parseTsHeader('// athanor:revision 3f2a9c1d0b7e\nexport default defineMigration({ async upgrade() {} });\n', "a.ts").id // "3f2a9c1d0b7e"
 * parseTsHeader('export default defineMigration({ revision: "3f2a9c1d0b7e", down: null, async upgrade() {} });', "a.ts").id
 */
export function parseTsHeader(input: string, file: string): RevisionHeader {
  const text = normalizeLineEndings(input.charCodeAt(0) === 0xfeff ? input.slice(1) : input);
  return readCommentHeader(text, file) ?? readObjectHeader(text, file);
}

/** The header of the `// athanor:` lines that open a TypeScript file, or null when there are none. */
function readCommentHeader(text: string, file: string): RevisionHeader | null {
  // Fast exit for files in the object spelling: no directive anywhere.
  if (!text.includes("athanor:")) return null;
  const raw: RawHeader = {};
  let found = false;
  let inBlockComment = false;
  let inHeader = true;
  let lineNumber = 0;
  let start = 0;
  while (start <= text.length) {
    lineNumber += 1;
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    const lineText = text.slice(start, end);
    start = end + 1;
    if (!inHeader) {
      // A directive below the first line of code would be read by nobody: say so rather than ignore it.
      const stray = lineText.includes("athanor:") ? readDirective(lineText, lineNumber, file, "//") : null;
      if (stray !== null && found) {
        throw headerError(file, lineNumber, `\`// athanor:${stray.name}\` stands below the first line of code`, "move it to the `// athanor:` lines at the top of the file");
      }
      if (!text.includes("athanor:", start)) break;
      continue;
    }
    const trimmed = lineText.trim();
    if (inBlockComment) {
      if (trimmed.includes("*/")) inBlockComment = false;
      continue;
    }
    const directive = readDirective(lineText, lineNumber, file, "//");
    if (directive !== null) {
      const field = SQL_DIRECTIVES[directive.name];
      if (field === undefined) {
        throw headerError(file, lineNumber, `unknown directive \`// athanor:${directive.name}\``, `the directives are ${KNOWN_TS_DIRECTIVES}; write other comments without \`athanor:\``);
      }
      setDirectiveField(raw, field, directive, file, "//");
      found = true;
      continue;
    }
    if (trimmed === "" || trimmed.startsWith("//") || (lineNumber === 1 && trimmed.startsWith("#!"))) continue;
    if (trimmed.startsWith("/*")) {
      inBlockComment = !trimmed.includes("*/", 2);
      continue;
    }
    if (!found) return null;
    inHeader = false;
  }
  if (!found) return null;
  return validateHeader(raw, file, TS_COMMENT_SPELLING);
}
