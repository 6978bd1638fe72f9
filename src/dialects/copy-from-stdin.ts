/**
 * Finds a `COPY ... FROM STDIN` statement in SQL text. Such a statement waits for the
 * client to send the data, and athanor sends none: on PostgreSQL the script query
 * answers the server's request with a failure (postgres-script-query.ts), but PGlite's
 * in-process `exec` waits for that data inside its WebAssembly, synchronously, for ever:
 * the event loop stops, signals are not handled and the lock is never released. So a
 * revision holding one is refused before anything runs (src/run/transaction-check.ts),
 * and the PGlite session never sends one (pglite-session.ts).
 *
 * Cheap for the common case: text without both words is answered at once; otherwise the
 * tokenizer (strings, dollar quotes, quoted identifiers and comments are not code) finds
 * a statement that begins with COPY and has FROM STDIN at its top level.
 */
import { tokenize } from "../sql/lexer.js";

const COPY_WORD = /copy/i;
const STDIN_WORD = /stdin/i;

/** The offset of the first `COPY ... FROM STDIN` statement's first word in `sql`, or -1. */
export function copyFromStdinAt(sql: string): number {
  if (!COPY_WORD.test(sql) || !STDIN_WORD.test(sql)) return -1;
  let statementStart = -1;
  let isCopy = false;
  let depth = 0;
  let previousWasFrom = false;
  for (const token of tokenize(sql)) {
    if (token.kind === "space" || token.kind === "comment") continue;
    if (token.kind === "punct" && token.text === ";") {
      statementStart = -1;
      isCopy = false;
      depth = 0;
      previousWasFrom = false;
      continue;
    }
    const word = token.kind === "word" ? token.text.toLowerCase() : null;
    if (statementStart === -1) {
      statementStart = token.start;
      isCopy = word === "copy";
      continue;
    }
    if (!isCopy) continue;
    if (token.kind === "punct" && token.text === "(") depth += 1;
    else if (token.kind === "punct" && token.text === ")") depth -= 1;
    if (depth === 0 && previousWasFrom && word === "stdin") return statementStart;
    previousWasFrom = depth === 0 && word === "from";
  }
  return -1;
}
