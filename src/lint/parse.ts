/**
 * Splitting a revision's SQL into statements with PostgreSQL's own parser (libpg-query,
 * WASM, loaded lazily and once per process). The migration engine runs the statements
 * one at a time and names the one that failed by its line; the linter reads their trees.
 */
import { AthanorError, ExitStatus, RevisionError } from "../errors.js";
import { isNode, listField, nodeOf, objectField, unwrap, type SqlNode } from "./ast.js";

/** One SQL statement of a script. */
export interface SqlStatement {
  /**
   * The statement as written, without the terminating semicolon and without the
   * comments and blank lines around it (comments inside it are kept). Runs as is.
   */
  readonly text: string;
  /** `text` with each comment in it replaced by a space (for one-line excerpts). */
  readonly uncommented: string;
  /** 1-based line of the statement's first token in the file (counting from `startLine`). */
  readonly line: number;
  /** 1-based line of the statement's last token in the file. */
  readonly endLine: number;
  /** The parse-tree node type: `CreateStmt`, `AlterTableStmt`, `IndexStmt`, ... */
  readonly kind: string;
  /** The statement's parse tree as libpg-query gives it: `{ [kind]: fields }`. */
  readonly ast: SqlNode;
}

/** Options of {@link splitStatements}. */
export interface SplitOptions {
  /** The file the SQL comes from, named in a syntax error's message. */
  readonly file?: string | undefined;
}

/**
 * The SQL is not valid PostgreSQL. `line` and `column` are 1-based and count from the
 * start of the file (the `startLine` given to {@link splitStatements}).
 */
export class SqlSyntaxError extends RevisionError {
  override name = "SqlSyntaxError";
  readonly line: number;
  readonly column: number;
  readonly file: string | undefined;
  /** The parser's own message, e.g. `syntax error at or near "FRM"`. */
  readonly parserMessage: string;

  constructor(parserMessage: string, line: number, column: number, file: string | undefined) {
    const where = file === undefined ? `line ${line}` : `${file}:${line}`;
    super("sql-syntax", `invalid SQL at ${where}, column ${column}: ${parserMessage}`, {
      hint: `Fix the statement at line ${line}${file === undefined ? "" : ` of ${file}`}; it was checked with PostgreSQL's own parser.`,
      details: { file, line, column, parserMessage },
    });
    this.line = line;
    this.column = column;
    this.file = file;
    this.parserMessage = parserMessage;
  }
}

/** The two functions of libpg-query this module uses; their results are narrowed here. */
interface PgParser {
  parseSync(sql: string): unknown;
  scanSync(sql: string): unknown;
}

let parserPromise: Promise<PgParser> | undefined;

/**
 * Loads the SQL parser (WASM, about 25–35 ms) unless it is loaded already. Calling it is
 * optional: {@link splitStatements} loads it on first use.
 */
export async function loadSqlParser(): Promise<void> {
  await getParser();
}

function getParser(): Promise<PgParser> {
  parserPromise ??= importParser().catch((cause: unknown) => {
    parserPromise = undefined;
    throw new AthanorError("sql-parser-unavailable", "could not load the SQL parser (libpg-query)", ExitStatus.failed, {
      hint: "Reinstall dependencies (npm ci); libpg-query ships its WebAssembly inside the package.",
      cause,
    });
  });
  return parserPromise;
}

async function importParser(): Promise<PgParser> {
  const mod = await import("libpg-query");
  await mod.loadModule();
  return {
    parseSync: (sql: string): unknown => mod.parseSync(sql),
    scanSync: (sql: string): unknown => mod.scanSync(sql),
  };
}

/**
 * Splits SQL into statements with their lines and parse trees.
 *
 * Comments-only or empty input gives `[]`. Dollar-quoted bodies (`DO $$ ... $$`,
 * `CREATE FUNCTION ... AS $body$ ... $body$`) and `BEGIN ATOMIC ... END` bodies stay
 * whole, because the splitting is PostgreSQL's own grammar, not a scan for semicolons.
 *
 * @param sql The SQL text (a whole file, or the part of one after a header).
 * @param startLine The line of the file on which `sql` begins (1 for a whole file).
 * @throws SqlSyntaxError when the SQL does not parse, with the file line of the error.
 * @example
 * const statements = await splitStatements("CREATE TABLE t (id int);\nDROP TABLE t;", 6);
 * // [{ text: "CREATE TABLE t (id int)", line: 6, kind: "CreateStmt", ... },
 * //  { text: "DROP TABLE t", line: 7, kind: "DropStmt", ... }]
 */
export async function splitStatements(sql: string, startLine = 1, options: SplitOptions = {}): Promise<SqlStatement[]> {
  // libpg-query refuses "" (but accepts whitespace): nothing to split.
  if (sql.length === 0) return [];
  const parser = await getParser();
  let tree: unknown;
  try {
    tree = parser.parseSync(sql);
  } catch (error) {
    throw toSyntaxError(error, sql, startLine, options.file, parser);
  }
  const raws = readRawStatements(tree);
  if (raws.length === 0) return [];

  const bytes = new TextEncoder().encode(sql);
  const scanned = scanTokens(sql, parser);
  const tokens = scanned.filter((token) => !token.comment);
  const comments = scanned.filter((token) => token.comment);
  const lines = new LineIndex(bytes);
  const decoder = new TextDecoder();
  const statements: SqlStatement[] = [];
  let t = 0;
  let c = 0;
  for (const raw of raws) {
    // stmt_location and stmt_len are byte offsets into the UTF-8 text; a length of 0
    // (omitted in the JSON) means "to the end of the input" for the last statement.
    const rangeEnd = raw.length > 0 ? raw.location + raw.length : bytes.length;
    while (t < tokens.length && (tokens[t]?.start ?? 0) < raw.location) t++;
    const first = t;
    let last = first - 1;
    while (t < tokens.length && (tokens[t]?.end ?? 0) <= rangeEnd) {
      last = t;
      t++;
    }
    // The terminating semicolon is outside stmt_len; drop it if a parser version counts it.
    while (last >= first && tokens[last]?.semicolon === true) last--;
    const firstToken = tokens[first];
    const lastToken = tokens[last];
    // Never drop a statement: without tokens (the scanner failed), fall back to the
    // parser's range with the white space around it trimmed.
    const [start, end] =
      firstToken !== undefined && lastToken !== undefined && last >= first
        ? [firstToken.start, lastToken.end]
        : trimRange(bytes, raw.location, rangeEnd);
    let uncommented = "";
    let from = start;
    while (c < comments.length && (comments[c]?.start ?? 0) < start) c++;
    for (let comment = comments[c]; comment !== undefined && comment.end <= end; comment = comments[++c]) {
      uncommented += `${decoder.decode(bytes.subarray(from, comment.start))} `;
      from = comment.end;
    }
    uncommented += decoder.decode(bytes.subarray(from, end));
    statements.push({
      text: decoder.decode(bytes.subarray(start, end)),
      uncommented,
      line: startLine + lines.lineOf(start),
      endLine: startLine + lines.lineOf(Math.max(start, end - 1)),
      kind: raw.kind,
      ast: raw.ast,
    });
  }
  return statements;
}

/**
 * Parses a type as PostgreSQL prints it (`character varying(20)`, `numeric(10,2)`,
 * `timestamp(3) with time zone`, `integer[]`) into a parse-tree TypeName's fields;
 * undefined when the text is not exactly one type.
 */
export async function parseTypeName(text: string): Promise<SqlNode | undefined> {
  const parser = await getParser();
  let tree: unknown;
  try {
    // Parsed only, never run: the text cannot do anything here.
    tree = parser.parseSync(`SELECT NULL::${text}`);
  } catch {
    return undefined;
  }
  const raws = readRawStatements(tree);
  const select = raws.length === 1 && raws[0] !== undefined ? unwrap(raws[0].ast, "SelectStmt") : undefined;
  if (select === undefined || Object.keys(select).some((key) => !SIMPLE_SELECT_KEYS.has(key))) return undefined;
  const targets = listField(select, "targetList");
  const target = targets.length === 1 ? unwrap(targets[0], "ResTarget") : undefined;
  const cast = target === undefined || target["name"] !== undefined ? undefined : unwrap(target["val"], "TypeCast");
  if (cast === undefined || unwrap(cast["arg"], "A_Const")?.["isnull"] !== true) return undefined;
  return objectField(cast, "typeName");
}

const SIMPLE_SELECT_KEYS = new Set(["targetList", "limitOption", "op"]);

interface RawStatement {
  readonly ast: SqlNode;
  readonly kind: string;
  readonly location: number;
  readonly length: number;
}

function readRawStatements(tree: unknown): RawStatement[] {
  if (!isNode(tree) || !Array.isArray(tree["stmts"])) {
    throw new AthanorError("sql-parser-unexpected", "the SQL parser returned a tree of an unexpected shape", ExitStatus.failed);
  }
  const out: RawStatement[] = [];
  for (const raw of tree["stmts"]) {
    if (!isNode(raw)) continue;
    const stmt = raw["stmt"];
    const node = nodeOf(stmt);
    if (node === undefined || !isNode(stmt)) continue;
    out.push({
      ast: stmt,
      kind: node.type,
      location: numberOr(raw["stmt_location"], 0),
      length: numberOr(raw["stmt_len"], 0),
    });
  }
  return out;
}

interface Token {
  /** Byte offsets, end exclusive. */
  readonly start: number;
  readonly end: number;
  readonly semicolon: boolean;
  readonly comment: boolean;
}

/** The scanner's tokens, comments included, in order. */
function readTokens(scan: unknown): Token[] {
  const tokens: Token[] = [];
  if (!isNode(scan) || !Array.isArray(scan["tokens"])) return tokens;
  for (const token of scan["tokens"]) {
    if (!isNode(token)) continue;
    const name = token["tokenName"];
    tokens.push({
      comment: name === "SQL_COMMENT" || name === "C_COMMENT",
      start: numberOr(token["start"], 0),
      end: numberOr(token["end"], 0),
      semicolon: token["text"] === ";",
    });
  }
  return tokens;
}

function scanTokens(sql: string, parser: PgParser): Token[] {
  try {
    return readTokens(parser.scanSync(sql));
  } catch {
    return [];
  }
}

/** [start, end) without ASCII white space at either end. */
function trimRange(bytes: Uint8Array, start: number, end: number): [number, number] {
  const space = (b: number | undefined): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x0c;
  while (start < end && space(bytes[start])) start++;
  while (end > start && space(bytes[end - 1])) end--;
  return [start, end];
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

/** Byte offset → 0-based line. A "\n" byte never occurs inside a multi-byte UTF-8 sequence. */
class LineIndex {
  private readonly starts: number[] = [0];

  constructor(bytes: Uint8Array) {
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) this.starts.push(i + 1);
  }

  lineOf(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

function toSyntaxError(error: unknown, sql: string, startLine: number, file: string | undefined, parser: PgParser): Error {
  const details = isNode(error) ? error["sqlDetails"] : undefined;
  if (!(error instanceof Error) || !isNode(details)) {
    return new AthanorError("sql-parser-failed", "the SQL parser failed", ExitStatus.failed, { cause: error });
  }
  const message = typeof details["message"] === "string" ? details["message"] : error.message;
  // The parser reports the error position in characters (code points), not bytes, 0-based;
  // libpg-query turns "no position" into 0 as well.
  let position = numberOr(details["cursorPosition"], 0);
  if (position === 0) position = firstTokenPosition(sql, parser);
  const { line, column } = lineAndColumn(sql, position);
  return new SqlSyntaxError(message, startLine + line, column, file);
}

/** Code-point position of the first token (past leading comments), or 0. */
function firstTokenPosition(sql: string, parser: PgParser): number {
  const first = scanTokens(sql, parser).find((token) => !token.comment);
  if (first === undefined) return 0;
  const prefix = new TextDecoder().decode(new TextEncoder().encode(sql).subarray(0, first.start));
  return [...prefix].length;
}

/** 0-based line and 1-based column (in characters) of a code-point position. */
function lineAndColumn(sql: string, position: number): { line: number; column: number } {
  let line = 0;
  let column = 1;
  let index = 0;
  for (const ch of sql) {
    if (index >= position) break;
    if (ch === "\n") {
      line++;
      column = 1;
    } else {
      column++;
    }
    index++;
  }
  return { line, column };
}
