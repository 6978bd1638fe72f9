/**
 * Control characters in text a pull request controls (a revision's message, a file
 * name) must not reach a terminal or a CI log raw: an escape sequence can retitle the
 * terminal, colour, move the cursor or erase lines, and a newline in a file name can
 * print a line of its own (a forged verdict). Pure.
 */

/** C0 controls but tab, DEL, and C1 controls: what a terminal may act on. */
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;
const CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r" };

/** True when `text` holds a control character other than tab. */
export function hasControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}

/**
 * `text` with each control character other than tab written as an escape: `\n`, `\r`,
 * else `\xNN` (ESC → `\x1b`, CSI → `\x9b`), so what is printed is what the text holds,
 * one line, inert.
 * @example
 * escapeControlCharacters("b1_\u001b[31mx\ny.sql"); // "b1_\\x1b[31mx\\ny.sql"
 */
export function escapeControlCharacters(text: string): string {
  if (!CONTROL.test(text)) return text;
  return text.replace(CONTROLS, (ch) => NAMED[ch] ?? `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** {@link escapeControlCharacters} line by line: a message of several lines keeps them, nothing else acts on a terminal. */
export function escapeControlCharactersInLines(text: string): string {
  return CONTROL.test(text) ? text.split("\n").map(escapeControlCharacters).join("\n") : text;
}
