/**
 * Refuses a transactional revision that contains transaction control (`BEGIN`,
 * `COMMIT`, `ROLLBACK`, `END`, `ABORT`, `PREPARE TRANSACTION`...) or a statement that
 * cannot run in a transaction block (`VACUUM`, `CREATE DATABASE`, `ALTER SYSTEM`,
 * `... CONCURRENTLY`), before anything runs: the engine runs such a revision in a
 * transaction of its own, which the statement would end or in which it would fail
 * (src/lint/transaction-control.ts says which and why). A cheap keyword test comes
 * first; only the revisions it matches are parsed. TypeScript revisions are checked
 * statement by statement as they send them.
 */
import { lineAt } from "../sql/lexer.js";
import { copyFromStdinAt } from "../dialects/copy-from-stdin.js";
import { openConstructAtEnd } from "../dialects/sql-closure.js";
import { RevisionError } from "../errors.js";
import type { SqlStatement } from "../lint/parse.js";
import { listField, stringField, stringList, unwrap, walkNodes } from "../lint/ast.js";
import { mayBreakTransaction, transactionBreaker, type TransactionBreaker } from "../lint/transaction-control.js";
import type { SqlSection } from "../revisions/sql-sections.js";
import type { RevisionFile } from "../revisions/types.js";

/**
 * Throws RevisionError `transaction-control` (exit 2) naming the file, line and fix when
 * a transactional revision's section holds a breaker, and `discard-all` / `reset-all` /
 * `advisory-unlock` (exit 2) when any revision's section would undo what athanor set up on its session.
 * Returns the section's statements when it had to parse them (null when the keyword
 * tests ruled it out).
 */
export async function assertNoTransactionBreaker(file: RevisionFile, direction: "up" | "down", section: SqlSection): Promise<readonly SqlStatement[] | null> {
  if (!needsStatementCheck(file, section.sql)) return null;
  const { splitStatements } = await import("../lint/parse.js");
  const statements = await splitStatements(section.sql, section.line, { file: file.relativePath });
  for (const statement of statements) {
    const breaker = file.transactional ? transactionBreaker(statement) : undefined;
    if (breaker !== undefined) throw refusal(file, breaker, statement.line, statement.uncommented, direction);
    const reset = sessionReset(statement, file.transactional);
    if (reset !== null) throw sessionResetRefusal(file, reset, statement.line, statement.uncommented, direction);
  }
  return statements;
}

/**
 * True when a section's text may hold what {@link assertNoTransactionBreaker} refuses, so
 * its statements must be parsed to know (a word search: false means surely none).
 */
export function needsStatementCheck(file: Pick<RevisionFile, "transactional">, sql: string): boolean {
  return (file.transactional && mayBreakTransaction(sql)) || SESSION_RESET_WORD.test(sql) || UNICODE_ESCAPED_NAME.test(sql);
}

/**
 * An identifier with Unicode escapes (`U&"pg_advisory\005Funlock_all"`): a function's name
 * written so that no word of {@link SESSION_RESET_WORD} appears in the text (adv13 F3).
 * The parser reads the name as PostgreSQL does; only such a text pays for it. Keywords
 * (COMMIT, DISCARD...) cannot be written so.
 */
const UNICODE_ESCAPED_NAME = /\bu&"/i;

const SESSION_RESET_WORD = /\b(?:discard|reset|pg_advisory_unlock\w*)\b/i;

/**
 * What a statement would undo of athanor's session, whatever the revision's transaction
 * mode (neither is undone by a rollback):
 * - `DISCARD ALL` releases the session's advisory locks, among them the run lock that
 *   keeps other runs out (src/run/lock.ts); so do `pg_advisory_unlock_all()` and
 *   `pg_advisory_unlock(key)` with the run lock's key (one bigint: a key given as an
 *   expression cannot be told from it before it runs, so any one-key call is refused). The
 *   two-key form and `pg_advisory_unlock_shared` cannot release it (another key space; a
 *   shared release of an exclusive lock releases nothing): allowed. A `DO` block is a
 *   string to the parser: its text is searched for the calls instead;
 * - `RESET ALL`, in a transactional SQL revision (`marked`: sent in a script), resets the
 *   revision's start time its record reads ("invalid input syntax for type double
 *   precision"); elsewhere the record is timed by athanor and the reset is undone after
 *   the revision, as any setting.
 * `DEALLOCATE ALL` is not refused: the executor records that revision and every later one
 * by INSERTs instead of its prepared statement (src/run/session-state.ts), and every
 * other setting a revision changes is put back after it.
 */
function sessionReset(statement: SqlStatement, marked: boolean): SessionReset | null {
  if (statement.kind === "DoStmt") return advisoryUnlockInText(statement.uncommented);
  if (statement.kind !== "DiscardStmt" && statement.kind !== "VariableSetStmt") return advisoryUnlockCall(statement.ast);
  const fields = unwrap(statement.ast, statement.kind);
  if (fields === undefined) return null;
  if (statement.kind === "VariableSetStmt") return marked && stringField(fields, "kind") === "VAR_RESET_ALL" ? "RESET ALL" : null;
  return stringField(fields, "target") === "DISCARD_ALL" ? "DISCARD ALL" : null;
}

/** A call anywhere in the statement's tree (a SELECT list, a WHERE, a CTE...) that may release the run lock. */
function advisoryUnlockCall(ast: unknown): SessionReset | null {
  let found: SessionReset | null = null;
  walkNodes(ast, (type, fields) => {
    if (found !== null || type !== "FuncCall") return;
    const name = stringList(listField(fields, "funcname")).at(-1)?.toLowerCase();
    if (name === "pg_advisory_unlock_all") found = "pg_advisory_unlock_all()";
    else if (name === "pg_advisory_unlock" && listField(fields, "args").length === 1) found = "pg_advisory_unlock(key)";
  });
  return found;
}

/** The same calls in a DO block's PL/pgSQL text: a one-key call is one with no comma outside its parentheses. */
function advisoryUnlockInText(text: string): SessionReset | null {
  if (/\bpg_advisory_unlock_all\s*\(/i.test(text)) return "pg_advisory_unlock_all()";
  return /\bpg_advisory_unlock\s*\([^,()]*(?:\([^()]*\)[^,()]*)*\)/i.test(text) ? "pg_advisory_unlock(key)" : null;
}

type SessionReset = "DISCARD ALL" | "RESET ALL" | "pg_advisory_unlock_all()" | "pg_advisory_unlock(key)";

const RELEASES_RUN_LOCK = "which would release the run lock that keeps other runs out (a rollback does not take it again), so another run could start beside this one";
const RESET_ONLY_WHAT_CHANGED = "reset only what the revision changed (`RESET name`, `DISCARD TEMP`, `DEALLOCATE ALL`), or nothing: athanor puts the session's settings back after each revision.";
const OWN_LOCKS_HINT =
  "take the revision's own advisory locks with `pg_advisory_xact_lock(...)` (released when its transaction ends), or by two keys (`pg_advisory_lock(a, b)` and `pg_advisory_unlock(a, b)`), which cannot release athanor's.";

const RESETS: Readonly<Record<SessionReset, { readonly code: string; readonly undoes: string; readonly fix: string }>> = {
  "DISCARD ALL": { code: "discard-all", undoes: RELEASES_RUN_LOCK, fix: RESET_ONLY_WHAT_CHANGED },
  "RESET ALL": { code: "reset-all", undoes: "which would reset the start time athanor sets in the revision's transaction for its record, so the revision could not be recorded", fix: RESET_ONLY_WHAT_CHANGED },
  "pg_advisory_unlock_all()": { code: "advisory-unlock", undoes: RELEASES_RUN_LOCK, fix: OWN_LOCKS_HINT },
  "pg_advisory_unlock(key)": { code: "advisory-unlock", undoes: `${RELEASES_RUN_LOCK} (it releases any one-key lock it is given, athanor's too)`, fix: OWN_LOCKS_HINT },
};

function sessionResetRefusal(file: RevisionFile, operation: SessionReset, line: number | null, text: string, direction: "up" | "down" | null): RevisionError {
  const where = line === null ? file.relativePath : `${file.relativePath}:${line}`;
  const section = direction === null ? "" : direction === "up" ? " (upgrade)" : " (downgrade)";
  const { code, undoes, fix } = RESETS[operation];
  return new RevisionError(
    code,
    `revision ${file.id} (${file.message || "no message"}) cannot run: ${where}${section} has \`${abbreviate(text)}\`, ${undoes}. ${notRun(file, direction)}`,
    {
      hint: `Remove it from ${file.relativePath}: ${fix}`,
      details: { revision: file.id, file: file.relativePath, line, statement: abbreviate(text), operation },
    },
  );
}

/**
 * Throws RevisionError `unterminated-sql` (exit 2) when the section ends inside a block
 * comment, a string, a quoted identifier or a dollar quote. athanor sends a section with
 * its own bookkeeping and `COMMIT` after it, and several revisions in one round trip
 * (src/dialects/sql-closure.ts says what that would do), so such a section never runs.
 */
export function assertClosed(file: RevisionFile, direction: "up" | "down", section: SqlSection): void {
  const open = openConstructAtEnd(section.sql);
  if (open === null) return;
  const name = direction === "up" ? "upgrade" : "downgrade";
  throw new RevisionError(
    "unterminated-sql",
    `revision ${file.id} (${file.message || "no message"}) cannot run: its ${name} section (${file.relativePath}, from line ${section.line}) ends inside a ${open}, which would take in the statements athanor sends after it. Nothing was run.`,
    {
      hint: `Close the ${open} in the ${name} section of ${file.relativePath} (a \`/*\` needs its \`*/\`, a quote its closing quote, \`$tag$\` its closing \`$tag$\`).`,
      details: { revision: file.id, file: file.relativePath, line: section.line, section: name, open },
    },
  );
}

/**
 * Throws RevisionError `copy-from-stdin` (exit 2) when the section has a `COPY ... FROM
 * STDIN`: it waits for data that athanor never sends (a dump's data lines after it are
 * SQL text to the server, not COPY data). On PostgreSQL it would fail the revision; on
 * PGlite it would wait for ever (src/dialects/copy-from-stdin.ts). Nothing runs.
 */
export function assertNoCopyFromStdin(file: RevisionFile, direction: "up" | "down", section: SqlSection): void {
  const at = copyFromStdinAt(section.sql);
  if (at === -1) return;
  const line = section.line + lineAt(section.sql, at) - 1;
  const where = `${file.relativePath}:${line}`;
  const text = abbreviate(section.sql.slice(at, section.sql.indexOf(";", at) === -1 ? undefined : section.sql.indexOf(";", at) + 1));
  throw new RevisionError(
    "copy-from-stdin",
    `revision ${file.id} (${file.message || "no message"}) cannot run: ${where} (${direction === "up" ? "upgrade" : "downgrade"}) has \`${text}\`, which waits for the client to send rows, and athanor sends none. Nothing was run.`,
    {
      hint: `Write the rows as INSERT statements (pg_dump --inserts gives them), or COPY from a file the server can read (COPY ... FROM '/path'), in ${file.relativePath}.`,
      details: { revision: file.id, file: file.relativePath, line, statement: text, operation: "COPY FROM STDIN" },
    },
  );
}

/** The same checks for one statement string a TypeScript revision is about to send. */
export async function refuseTransactionBreakerAtRunTime(file: RevisionFile, text: string): Promise<void> {
  if (!needsStatementCheck(file, text)) return;
  const { splitStatements } = await import("../lint/parse.js");
  let statements: SqlStatement[];
  try {
    statements = await splitStatements(text);
  } catch {
    // Not valid SQL: the server says so when it runs.
    return;
  }
  for (const statement of statements) {
    const breaker = file.transactional ? transactionBreaker(statement) : undefined;
    if (breaker !== undefined) throw refusal(file, breaker, null, statement.uncommented, null);
    // A TypeScript revision's record is timed by athanor, not by a mark on the session: RESET ALL is harmless there.
    const reset = sessionReset(statement, false);
    if (reset !== null) throw sessionResetRefusal(file, reset, null, statement.uncommented, null);
  }
}

function refusal(file: RevisionFile, breaker: TransactionBreaker, line: number | null, text: string, direction: "up" | "down" | null): RevisionError {
  const where = line === null ? file.relativePath : `${file.relativePath}:${line}`;
  const section = direction === null ? "" : direction === "up" ? " (upgrade)" : " (downgrade)";
  const why =
    breaker.rule === "transaction-control"
      ? `${breaker.operation} would end or open a transaction inside the one athanor runs the revision in, so part of it would commit (or roll back) behind athanor's back`
      : `${breaker.operation} cannot run inside a transaction block, and this revision runs in one`;
  return new RevisionError(
    "transaction-control",
    `revision ${file.id} (${file.message || "no message"}) cannot run in a transaction: ${where}${section} has \`${abbreviate(text)}\`. ${why}. Nothing was run.`,
    {
      hint:
        breaker.rule === "transaction-control"
          ? `Remove the ${breaker.operation} at ${where} (athanor opens and commits the revision's transaction itself), or add \`-- athanor:transaction false\` to ${file.relativePath} if it really must commit in steps.`
          : `Add \`-- athanor:transaction false\` to ${file.relativePath} (keep such a revision to the statements that need it), or remove the statement at ${where}.`,
      details: { revision: file.id, file: file.relativePath, line, statement: abbreviate(text), operation: breaker.operation, rule: breaker.rule },
    },
  );
}

/**
 * What ran: nothing, when the refusal comes before the revision starts (`direction` is
 * known) or inside its transaction (rolled back); a TypeScript revision without one
 * (refused as it sends the statement) keeps what it ran before and stays recorded as started.
 */
function notRun(file: RevisionFile, direction: "up" | "down" | null): string {
  return direction !== null || file.transactional ? "Nothing was run." : "It was not sent; what the revision ran before it stays, and the revision stays recorded as started (`athanor resolve` once checked).";
}

function abbreviate(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}
