/**
 * `.env` files read as the application reads them: the rules of python-dotenv (which the
 * guide's application uses) and docker compose. Pure. No npm parser follows them: Node's
 * `dotenv` ends an unquoted value at the first `#`, so `DB_PASSWORD=S3cr3t-p@ss:w/rd!#x`
 * loses `#x` there while python-dotenv, docker compose and a shell keep it.
 *
 * - `KEY=value`, `export KEY=value`, spaces around `=` allowed; blank and `#` lines skipped.
 * - Unquoted: the rest of the line, trimmed; a `#` starts a comment only after whitespace.
 * - 'single quotes': literal (only `\'` and `\\` are escapes), may span lines, never expanded.
 * - "double quotes": escapes `\n \t \r \\ \" \' \a \b \f \v`, may span lines.
 * - After a closing quote only whitespace and a comment may follow; otherwise the line is
 *   malformed (python-dotenv skips it with a warning): reported, never guessed.
 */

export interface DotenvEntry {
  readonly key: string;
  readonly value: string;
  /** 1-based line where the definition starts. */
  readonly line: number;
  /** Single-quoted values are literal: python-dotenv does not expand `${VAR}` in them. */
  readonly expand: boolean;
}

export interface DotenvProblem {
  readonly line: number;
  /** The key, when the line got that far. */
  readonly key: string | null;
  readonly message: string;
}

export interface DotenvParse {
  /** Definitions in file order (a later one of the same key wins). */
  readonly entries: readonly DotenvEntry[];
  readonly problems: readonly DotenvProblem[];
}

const DOUBLE_ESCAPES: Readonly<Record<string, string>> = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', "'": "'", a: "\x07", b: "\b", f: "\f", v: "\v" };

/** Parses the text of a `.env` file. */
export function parseDotenv(source: string): DotenvParse {
  const text = source.replace(/\r\n?/g, "\n");
  const entries: DotenvEntry[] = [];
  const problems: DotenvProblem[] = [];
  let pos = 0;
  let line = 1;
  const advanceTo = (end: number) => {
    for (let i = pos; i < end; i++) if (text[i] === "\n") line += 1;
    pos = end;
  };
  const skipLine = () => {
    const end = text.indexOf("\n", pos);
    advanceTo(end === -1 ? text.length : end + 1);
  };
  while (pos < text.length) {
    const startLine = line;
    const head = /^[ \t]*(?:export[ \t]+)?(?:'([^']+)'|([^=#\s]+))[ \t]*(=[ \t]*)?/.exec(text.slice(pos, text.indexOf("\n", pos) === -1 ? text.length : text.indexOf("\n", pos)));
    const rest = text.slice(pos);
    if (/^[ \t]*(#|$)/m.test(rest.split("\n", 1)[0] ?? "")) {
      skipLine();
      continue;
    }
    if (head === null || head[3] === undefined) {
      // `KEY` alone (python-dotenv: a key without a value) or garbage: not a definition.
      const key = head?.[1] ?? head?.[2] ?? null;
      if (key === null) problems.push({ line: startLine, key: null, message: "the line is not KEY=value" });
      skipLine();
      continue;
    }
    const key = (head[1] ?? head[2]) as string;
    advanceTo(pos + head[0].length);
    const quote = text[pos];
    if (quote === "'" || quote === '"') {
      const parsed = readQuoted(text, pos, quote);
      if (parsed === null) {
        problems.push({ line: startLine, key, message: `the value opens a ${quote} quote that is never closed` });
        skipLine();
        continue;
      }
      advanceTo(parsed.end);
      const tail = /^[ \t]*(?:#[^\n]*)?(?:\n|$)/.exec(text.slice(pos));
      if (tail === null) {
        problems.push({ line: startLine, key, message: `text follows the closing ${quote} quote` });
        skipLine();
        continue;
      }
      advanceTo(pos + tail[0].length);
      entries.push({ key, value: parsed.value, line: startLine, expand: quote === '"' });
      continue;
    }
    const end = text.indexOf("\n", pos);
    const raw = text.slice(pos, end === -1 ? text.length : end);
    // python-dotenv: whitespace after "=" is skipped, so `KEY= #x` is "#x"; a comment needs whitespace before it inside the value.
    entries.push({ key, value: raw.replace(/\s+#.*$/, "").trimEnd(), line: startLine, expand: true });
    skipLine();
  }
  return { entries, problems };
}

/** Reads a quoted value starting at `start` (the quote); null when it never closes. */
function readQuoted(text: string, start: number, quote: "'" | '"'): { value: string; end: number } | null {
  let value = "";
  for (let i = start + 1; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === quote) return { value, end: i + 1 };
    if (ch === "\\" && i + 1 < text.length) {
      const next = text[i + 1] as string;
      const decoded = quote === '"' ? DOUBLE_ESCAPES[next] : next === "'" || next === "\\" ? next : undefined;
      if (decoded !== undefined) {
        value += decoded;
        i += 1;
        continue;
      }
    }
    value += ch;
  }
  return null;
}

/** The last value of each key, as an object (what the application ends up with). */
export function dotenvValues(parsed: DotenvParse): Record<string, DotenvEntry> {
  const out: Record<string, DotenvEntry> = {};
  for (const entry of parsed.entries) out[entry.key] = entry;
  return out;
}
