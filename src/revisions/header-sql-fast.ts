/**
 * The common SQL header read without slicing every line: `-- athanor:revision`,
 * `-- athanor:down`, `-- athanor:message` and `-- athanor:transaction` lines, comments
 * and blank lines, one `-- athanor:upgrade` marker, then SQL and at most one
 * `-- athanor:downgrade` marker. Below the upgrade marker only the lines that hold
 * `athanor:` are looked at (`indexOf` jumps to them), and the header's values are the
 * only strings made.
 *
 * It answers only when the answer is certain: anything else (a branch label, a
 * dependency, an allowed rule, a byte-order mark, a carriage return, a block comment,
 * a line separator, whitespace other than spaces and tabs at the start of a line, a directive it does not
 * know, any value the full parser would refuse...) gives null, and `parseSqlHeader`
 * reads the file line by line as before, with its messages. So for every text it
 * returns either null or exactly the header the full parser returns (checked in
 * header.test.ts on generated texts). Measured on 10,000 generated revisions, warm: 0.8
 * µs and ~0.7 kB of garbage per file instead of 1.3 µs and ~2.6 kB (a string, a regular
 * expression match and a field object per line): on a first run the garbage is what
 * counts, each megabyte is one more scavenge of the young generation.
 */
import { hasControlCharacter } from "../control-characters.js";
import { isRevisionId } from "./ids.js";
import type { RevisionHeader } from "./types.js";

/**
 * The empty lists of every header this reader returns: one frozen array, not four new ones
 * per file (a first run's garbage is its time: each megabyte is one more scavenge).
 */
const NONE: readonly string[] = Object.freeze([]);

const SPACE = 0x20;
const TAB = 0x09;
const DASH = 0x2d;
const DIRECTIVE = "athanor:";

/** Where a line's directive name starts (after `--`, blanks and `athanor:`), or -1 when the line is no directive. */
function directiveStart(text: string, lineStart: number): number {
  let at = lineStart;
  while (text.charCodeAt(at) === SPACE || text.charCodeAt(at) === TAB) at += 1;
  if (text.charCodeAt(at) !== DASH || text.charCodeAt(at + 1) !== DASH) return -1;
  at += 2;
  while (text.charCodeAt(at) === SPACE || text.charCodeAt(at) === TAB) at += 1;
  return text.startsWith(DIRECTIVE, at) ? at + DIRECTIVE.length : -1;
}

/** The end of a directive name starting at `at` (letters, digits, `_`, `-`). */
function nameEnd(text: string, at: number): number {
  for (;;) {
    const code = text.charCodeAt(at);
    const word = (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x5f || code === DASH;
    if (!word) return at;
    at += 1;
  }
}

/** True when text[at, at + length) is `name`. */
function isName(text: string, at: number, length: number, name: string): boolean {
  return length === name.length && text.startsWith(name, at);
}

/**
 * text[start, end) as `String#trim` returns it (what the full parser does with a value),
 * with one string made instead of two: spaces and tabs are skipped here, and `trim` is
 * called only when what remains may start or end with other white space (a control
 * character or anything beyond ASCII, such as U+00A0 or U+3000).
 */
function trimmedValue(text: string, start: number, end: number): string {
  while (start < end && (text.charCodeAt(start) === SPACE || text.charCodeAt(start) === TAB)) start += 1;
  while (end > start && (text.charCodeAt(end - 1) === SPACE || text.charCodeAt(end - 1) === TAB)) end -= 1;
  if (start === end) return "";
  const first = text.charCodeAt(start);
  const last = text.charCodeAt(end - 1);
  const value = text.slice(start, end);
  return first < SPACE || first > 0x7e || last < SPACE || last > 0x7e ? value.trim() : value;
}

/**
 * The header as `athanor revision` writes it (src/revisions/write.ts): `revision`, `down`
 * (ids separated by ", "), `message` (printable ASCII, no space at either end, or none),
 * `transaction`, each once, in that order, at the start of a line and spelled with one
 * space, then blank lines and the upgrade marker. A regular expression runs as native code
 * from its second use, where the loop below runs in V8's interpreter for a fresh process's
 * first thousand-odd files: on a first run over 10,000 revisions that loop and its tiering
 * up were ~30 ms of CPU. Every header it matches is one the loop reads the same way (the
 * message needs no trimming and holds no control character), so it only saves the loop.
 * `test`, not `exec`: a match array and its captures were ~260 bytes of garbage per file;
 * the values are sliced where the shape puts them (see readWrittenHeader). Sticky, so
 * `lastIndex` says where the match ends.
 */
const WRITTEN_HEADER = /^-- athanor:revision [0-9a-f]{12}\n(?:-- athanor:down [0-9a-f]{12}(?:, [0-9a-f]{12})*\n)?-- athanor:message(?: [!-~](?:[ -~]*[!-~])?)?\n(?:-- athanor:transaction (?:true|false)\n)?\n*-- athanor:upgrade\n/y;

const REVISION_LINE = "-- athanor:revision ";
const DOWN_LINE = "-- athanor:down ";
const MESSAGE_LINE = "-- athanor:message";
const TRANSACTION_LINE = "-- athanor:transaction ";

/** The downgrade marker as `athanor revision` writes it: a line of its own. */
const WRITTEN_DOWNGRADE = "-- athanor:downgrade";

/**
 * The header of an SQL revision whose text (line endings already LF) takes the common
 * shape, or null: then the full parser must read it.
 */
export function parseCommonSqlHeader(text: string): RevisionHeader | null {
  // U+2028 and U+2029 end a regular expression's `.`: the full parser does not read a directive line that holds one.
  if (text.includes("\r") || text.charCodeAt(0) === 0xfeff || text.includes("\u2028") || text.includes("\u2029")) return null;
  let id: string | null = null;
  let parents: string[] | null = null;
  let message: string | null = null;
  let transactional: boolean | null = null;
  let upgrade = -1;
  WRITTEN_HEADER.lastIndex = 0;
  if (WRITTEN_HEADER.test(text)) {
    // The lines stand where WRITTEN_HEADER put them: each value is sliced from its place.
    upgrade = WRITTEN_HEADER.lastIndex - 1;
    id = text.slice(REVISION_LINE.length, REVISION_LINE.length + 12);
    let line = REVISION_LINE.length + 13;
    if (text.startsWith(DOWN_LINE, line)) {
      const end = text.indexOf("\n", line);
      const down = text.slice(line + DOWN_LINE.length, end);
      // One parent as an array literal, as below.
      parents = down.length === 12 ? [down] : down.split(", ");
      line = end + 1;
    }
    const end = text.indexOf("\n", line);
    message = end === line + MESSAGE_LINE.length ? "" : text.slice(line + MESSAGE_LINE.length + 1, end);
    line = end + 1;
    if (text.startsWith(TRANSACTION_LINE, line)) transactional = text.startsWith("true", line + TRANSACTION_LINE.length);
  } else {
    let start = 0;
    // Any other header: every line up to the upgrade marker.
    while (start < text.length) {
      let end = text.indexOf("\n", start);
      if (end === -1) end = text.length;
      let first = start;
      while (text.charCodeAt(first) === SPACE || text.charCodeAt(first) === TAB) first += 1;
      if (first < end) {
        if (text.charCodeAt(first) !== DASH || text.charCodeAt(first + 1) !== DASH) return null;
        const name = directiveStart(text, start);
        // A comment that does not start with `athanor:` is one for the full parser too, whatever it mentions.
        if (name !== -1) {
          const after = nameEnd(text, name);
          const next = text.charCodeAt(after);
          if (after !== end && next !== SPACE && next !== TAB) return null;
          const value = trimmedValue(text, after, end);
          // The directive's name is compared where it lies: no string made for it.
          const length = after - name;
          if (isName(text, name, length, "upgrade")) {
            if (value !== "") return null;
            upgrade = end;
            break;
          }
          if (isName(text, name, length, "revision")) {
            if (id !== null || !isRevisionId(value)) return null;
            id = value;
          } else if (isName(text, name, length, "down")) {
            if (parents !== null) return null;
            // One parent (almost every revision) as an array literal: an array made by `map`
            // has another hidden class once TurboFan inlines the `map`, and this function and
            // the scan's were optimised, thrown away at the first such array and compiled
            // again (each compilation of this one ~100 ms of a background thread at 10,000 files).
            parents = value.includes(",") ? value.split(",").map((item) => item.trim()) : [value];
          } else if (isName(text, name, length, "message")) {
            if (message !== null || hasControlCharacter(value)) return null;
            message = value;
          } else if (isName(text, name, length, "transaction")) {
            if (transactional !== null || (value !== "true" && value !== "false")) return null;
            transactional = value === "true";
          } else {
            return null;
          }
        }
      }
      start = end + 1;
    }
  }
  if (upgrade === -1 || id === null) return null;
  if (parents !== null) {
    for (let i = 0; i < parents.length; i += 1) {
      const parent = parents[i] as string;
      if (!isRevisionId(parent) || parent === id || parents.indexOf(parent) !== i) return null;
    }
  }
  // Below the marker: only a lone `-- athanor:downgrade` may be a directive.
  let downgrade = false;
  for (let at = text.indexOf(DIRECTIVE, upgrade); at !== -1; ) {
    const lineStart = text.lastIndexOf("\n", at) + 1;
    let lineEnd = text.indexOf("\n", at);
    if (lineEnd === -1) lineEnd = text.length;
    if (lineEnd - lineStart === WRITTEN_DOWNGRADE.length && text.startsWith(WRITTEN_DOWNGRADE, lineStart)) {
      // The marker as `athanor revision` writes it, alone on its line: what the branch below
      // accepts, without its calls (interpreted in a fresh process, as WRITTEN_HEADER says).
      if (downgrade) return null;
      downgrade = true;
    } else {
      const name = directiveStart(text, lineStart);
      if (name !== -1) {
        const after = nameEnd(text, name);
        if (downgrade || !isName(text, name, after - name, "downgrade") || trimmedValue(text, after, lineEnd) !== "") return null;
        const next = text.charCodeAt(after);
        if (after !== lineEnd && next !== SPACE && next !== TAB) return null;
        downgrade = true;
      }
    }
    at = text.indexOf(DIRECTIVE, lineEnd);
  }
  return { id, parents: parents ?? NONE, message: message ?? "", branchLabels: NONE, dependsOn: NONE, transactional: transactional ?? true, allow: NONE };
}
