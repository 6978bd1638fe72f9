/**
 * Control characters in text a pull request controls (a revision's message, a file
 * name) must not reach a terminal or a CI log raw: an escape sequence can retitle the
 * terminal, colour, move the cursor or erase lines, and a newline in a file name can
 * print a line of its own (a forged verdict). Characters that reorder or hide text are
 * treated the same ("Trojan Source", CVE-2021-42574): a bidirectional override or isolate
 * makes a message or name read differently from what it holds, a line or paragraph
 * separator breaks a line where a viewer may, and an invisible character makes two
 * different names look the same. Pure.
 */

/**
 * What is refused and escaped: C0 controls but tab, DEL, C1 controls; the bidirectional
 * controls (U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069); the line and paragraph
 * separators (U+2028, U+2029); and invisible characters that join nothing: soft hyphen
 * U+00AD, zero-width space U+200B, word joiner and invisible operators U+2060–U+2064,
 * deprecated format characters U+206A–U+206F, U+FEFF, interlinear annotations
 * U+FFF9–U+FFFB. The zero-width joiner and non-joiner (U+200C, U+200D) are text: scripts
 * and emoji sequences need them.
 */
const ABOVE_C0 = "\\u007f-\\u009f\\u00ad\\u061c\\u200b\\u200e\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb";
const CLASS = `\\u0000-\\u0008\\u000a-\\u001f${ABOVE_C0}`;
const CONTROL = new RegExp(`[${CLASS}]`);
const CONTROLS = new RegExp(`[${CLASS}]`, "g");
/** What `JSON.stringify` leaves raw of them: it escapes C0 controls in strings, nothing above. */
const RAW_IN_JSON = new RegExp(`[${ABOVE_C0}]`, "g");

const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r" };

/** True when `text` holds a control character other than tab, or one that reorders or hides text. */
export function hasControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}

/**
 * `text` with each such character written as an escape: `\n`, `\r`, `\xNN` up to U+00FF
 * (ESC → `\x1b`, CSI → `\x9b`), `\uNNNN` above (RLO → `\u202e`), so what is printed is
 * what the text holds, one line, inert, in its order.
 * @example
 * escapeControlCharacters("b1_\u001b[31mx\ny.sql"); // "b1_\\x1b[31mx\\ny.sql"
 * escapeControlCharacters("admin\u202e lqs.txt"); // "admin\\u202e lqs.txt"
 */
export function escapeControlCharacters(text: string): string {
  if (!CONTROL.test(text)) return text;
  return text.replace(CONTROLS, (ch) => NAMED[ch] ?? escapeOne(ch.charCodeAt(0)));
}

function escapeOne(code: number): string {
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** {@link escapeControlCharacters} line by line: a message of several lines keeps them, nothing else acts on a terminal. */
export function escapeControlCharactersInLines(text: string): string {
  return CONTROL.test(text) ? text.split("\n").map(escapeControlCharacters).join("\n") : text;
}

/**
 * JSON text (from `JSON.stringify` or pino) with DEL, C1 and the reordering and invisible
 * characters written as `\uNNNN`: the same document once parsed, inert when a terminal
 * or CI log shows it raw. They only occur inside strings (JSON's structure is ASCII), where
 * the escape is valid.
 * @example
 * escapeControlCharactersInJson(JSON.stringify({ m: "a\u202eb" })); // '{"m":"a\\u202eb"}'
 */
export function escapeControlCharactersInJson(json: string): string {
  return json.replace(RAW_IN_JSON, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
