/**
 * A revision's literal passwords out of a failed statement's text (messages, `--json`,
 * JSON logs, the history table). The statement is read as SQL, not matched by a pattern:
 * `PASSWORD` followed (after blanks and comments) by a literal it can delimit — `'...'`,
 * `E'...'`, `U&'...'`, `$tag$...$tag$` — has that literal replaced by `'***'`. Where it
 * cannot be sure where the password ends — `PASSWORD` inside a string (dynamic SQL:
 * `EXECUTE 'ALTER ROLE r PASSWORD ''x'''`, `'... PASSWORD ' || quote_literal('x')`,
 * `format('... PASSWORD %L', 'x')`), or followed by something else while a literal comes
 * later — everything after `PASSWORD` is masked: a message says less rather than leak.
 * Dollar quotes elsewhere are read through (a `DO $$ ... $$` body is SQL). `SSLPASSWORD` (a
 * foreign server's or user mapping's option) is read as `PASSWORD` is, and so are the quoted
 * identifiers `"password"` and `"sslpassword"` (`OPTIONS (ADD "password" '...')`); any other
 * quoted identifier is one token, a quote inside it opening no string. A connection
 * string's `password=...` or `sslpassword=...` (CREATE SUBSCRIPTION, dblink) becomes
 * `password=***`, and a URL's user-info password (`'postgresql://u:***@h/db'`) is masked
 * as {@link redactSqlUrls} does everywhere else.
 */
import { redactSqlUrls } from "./redact.js";

const keyword = /^(?:ssl)?password\b/i;
const quotedKeyword = /^(?:ssl)?password$/i;
const blanks = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;
const dollarTag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/;

/** Where the literal starting at `at` ends (the index after it), or null when it is none or does not end. */
function literalEnd(text: string, at: number): number | null {
  const rest = text.slice(at);
  const tag = dollarTag.exec(rest);
  if (tag !== null) {
    const close = text.indexOf(tag[0], at + tag[0].length);
    return close === -1 ? null : close + tag[0].length;
  }
  const prefix = /^(?:[Ee]|[Uu]&)?'/.exec(rest);
  if (prefix === null) return null;
  return quotedEnd(text, at + prefix[0].length, /^[Ee]/.test(prefix[0]));
}

/** The index after the quote that closes a string whose content starts at `from` (`''` doubles a quote; an E-string also has `\'`), or null. */
function quotedEnd(text: string, from: number, backslashes: boolean): number | null {
  for (let i = from; i < text.length; i++) {
    const ch = text[i];
    if (backslashes && ch === "\\") i++;
    else if (ch === "'") {
      if (text[i + 1] !== "'") return i + 1;
      i++;
    }
  }
  return null;
}

/** The name of the quoted identifier starting at `at` (`""` doubling a quote) and the index after it, or null when it does not end. */
function quotedIdentifier(text: string, at: number): { name: string; end: number } | null {
  for (let i = at + 1; i < text.length; i++) {
    if (text[i] !== '"') continue;
    if (text[i + 1] !== '"') return { name: text.slice(at + 1, i).replace(/""/g, '"'), end: i + 1 };
    i++;
  }
  return null;
}

/** True when a `PASSWORD` inside a string cannot be taking a literal: nothing quoted, doubled or formatted follows it. */
function plainWordInString(text: string, after: number, stringEnd: number | null): boolean {
  if (stringEnd === null) return false;
  const inside = text.slice(after, stringEnd - 1);
  return !/''|%|\$/.test(inside) && !/['$]/.test(text.slice(stringEnd));
}

/** See the module comment. */
export function maskPasswords(text: string): string {
  let out = "";
  let i = 0;
  // The start of the single-quoted string the scan is in (its content), or -1.
  let stringFrom = -1;
  while (i < text.length) {
    const ch = text[i] as string;
    if (stringFrom === -1 && (text.startsWith("--", i) || text.startsWith("/*", i))) {
      const end = text.startsWith("--", i) ? text.indexOf("\n", i) : text.indexOf("*/", i + 2);
      const stop = end === -1 ? text.length : text.startsWith("--", i) ? end : end + 2;
      out += text.slice(i, stop);
      i = stop;
      continue;
    }
    if (ch === "'") {
      // A doubled quote inside a string is part of it; otherwise a quote opens or closes one.
      if (stringFrom !== -1 && text[i + 1] === "'") {
        out += "''";
        i += 2;
        continue;
      }
      stringFrom = stringFrom === -1 ? i + 1 : -1;
      out += ch;
      i++;
      continue;
    }
    // A quoted identifier is one token: a quote inside it opens no string, and `"password"`
    // (an option's name, `OPTIONS (ADD "password" '...')`) is the keyword, its literal after the closing quote.
    const identifier = stringFrom === -1 && ch === '"' ? quotedIdentifier(text, i) : null;
    if (identifier !== null && !quotedKeyword.test(identifier.name)) {
      out += text.slice(i, identifier.end);
      i = identifier.end;
      continue;
    }
    const wordStart = i === 0 || !/[\w$]/.test(text[i - 1] as string);
    const word = identifier === null && wordStart ? keyword.exec(text.slice(i, i + 12)) : null;
    // The index after the keyword, bare or quoted, or -1.
    const after = identifier?.end ?? (word === null ? -1 : i + word[0].length);
    if (after !== -1) {
      out += text.slice(i, after);
      if (stringFrom !== -1) {
        if (plainWordInString(text, after, quotedEnd(text, stringFrom, false))) {
          i = after;
          continue;
        }
        return redactSqlUrls(`${out} ***`);
      }
      const gap = (blanks.exec(text.slice(after)) as RegExpExecArray)[0];
      const start = after + gap.length;
      const end = literalEnd(text, start);
      if (end !== null) {
        out += `${gap}'***'`;
        i = end;
        continue;
      }
      // No literal here (a column named password, PASSWORD NULL): safe unless one comes later.
      if (/['$]/.test(text.slice(start))) return redactSqlUrls(`${out} ***`);
      i = after;
      continue;
    }
    out += ch;
    i++;
  }
  return redactSqlUrls(out.replace(/(\b(?:ssl)?password\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s']+)/gi, "$1***"));
}
