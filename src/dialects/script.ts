/**
 * Transaction control and batched scripts, written once for both sessions (PostgreSQL
 * and PGlite speak the same SQL and the same simple-query protocol): the only place
 * outside the drivers where `BEGIN`, `COMMIT` and `ROLLBACK` are written.
 *
 * A batched script is `BEGIN; <prologue>; <body>; <epilogue>; COMMIT;` per part, in ONE
 * round trip. When it fails, the server's answer alone says where: each statement it
 * completed sent a CommandComplete before the ErrorResponse. Counting the `COMMIT` tags
 * gives the parts that committed (user SQL cannot contain one: transaction control is
 * refused at planning time), counting the tags after the last `BEGIN` gives the failing
 * statement of the failing part, and the error's position (when the server gives one,
 * e.g. a syntax error, which stops the whole round trip before anything runs) gives the
 * part and the offset in its body. Nothing is ever run a second time to find out.
 */
import { isAthanorError } from "../errors.js";
import { ScriptFailure, type ScriptOptions, type ScriptPart, type ScriptResult, type ScriptStage, type Session } from "./types.js";

/**
 * Sends one simple-query string, calling `onTag` with each CommandComplete's tag; rejects
 * with a DatabaseError. With `lastValue`, resolves with the first column of the first
 * row of the string's last statement (text, or null); otherwise with null.
 */
export type SendScript = (text: string, onTag: (tag: string) => void, lastValue: boolean) => Promise<ScriptResult>;

/** Sends a statement string without parameters. */
export type Exec = (sql: string) => Promise<void>;

/**
 * What the server counts an error position in. PostgreSQL counts characters of the
 * database encoding in the text it received: one per code point athanor sent (UTF-8),
 * except in a `SQL_ASCII` database, which takes no conversion and counts every byte.
 */
export type PositionUnit = "characters" | "bytes";

const LAZY_COMMIT = "SET LOCAL synchronous_commit = off;";

/** The CommandComplete tag of a `COMMIT` that committed (a part cannot hold its own: transaction control is refused). */
const COMMIT_TAG = "COMMIT";

/** Where each part's body sits in the text sent. */
interface Layout {
  readonly text: string;
  /**
   * UTF-16 offsets [start, end) of each part's body: JavaScript's own string lengths, so
   * laying out a round trip of 64 revisions walks no text. An error position, which the
   * server counts in code points (or bytes), is turned into this unit only when a round
   * trip failed (see {@link serverPosition}).
   */
  readonly bodies: readonly { readonly start: number; readonly end: number }[];
}

/** How many code points `text` holds (the server counts error positions in them). */
export function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function layout(parts: readonly ScriptPart[], options: ScriptOptions): Layout {
  let text = "";
  const bodies: { start: number; end: number }[] = [];
  for (const part of parts) {
    if (options.transactionPerPart) text += "BEGIN;\n";
    for (const statement of part.prologue) text += `${statement}\n`;
    const start = text.length;
    text += part.body;
    bodies.push({ start, end: text.length });
    // A body may end in a `--` comment or without its semicolon.
    text += "\n;\n";
    for (const statement of part.epilogue) text += `${statement}\n`;
    if (options.transactionPerPart) text += `${part.lazyCommit ? `${LAZY_COMMIT}\n` : ""}COMMIT;\n`;
  }
  // After the last part: nothing is counted or located past it (see runScriptParts).
  if (options.trailer !== undefined) text += `${options.trailer}\n`;
  return { text, bodies };
}

/**
 * Runs `parts` as one script through `send` (see ScriptOptions); on failure throws a
 * ScriptFailure located from the completed statements and the error position.
 */
export async function runScriptParts(send: SendScript, parts: readonly ScriptPart[], options: ScriptOptions, unit: () => PositionUnit): Promise<ScriptResult> {
  if (parts.length === 0) return null;
  if (!options.transactionPerPart && parts.length !== 1) throw new Error("runScript: without transactionPerPart, send one part at a time");
  if (!options.transactionPerPart && options.trailer !== undefined) throw new Error("runScript: a trailer needs transactionPerPart");
  const { text, bodies } = layout(parts, options);
  const tags: string[] = [];
  try {
    const onCommitted = options.onPartCommitted;
    return await send(
      text,
      onCommitted === undefined
        ? (tag) => tags.push(tag)
        : (tag) => {
            tags.push(tag);
            if (tag === COMMIT_TAG) onCommitted();
          },
      options.trailer !== undefined,
    );
  } catch (error) {
    // Every part committed and the trailer failed: the parts stand, its value is missing.
    if (options.trailer !== undefined && committedParts(tags) === parts.length) return null;
    throw locate(error, parts, options, text, bodies, tags, serverPosition(error, text, unit()));
  }
}

/** How many `COMMIT`s the server completed (a part cannot hold its own: transaction control is refused). */
function committedParts(tags: readonly string[]): number {
  let committed = 0;
  for (const tag of tags) if (tag === COMMIT_TAG) committed++;
  return committed;
}

/**
 * The error's 0-based position in `text` as a UTF-16 offset (the unit of the layout), or
 * null without one. The server counts code points (or bytes, see PositionUnit): they are
 * walked here, only when a round trip failed.
 */
function serverPosition(error: unknown, text: string, unit: PositionUnit): number | null {
  const raw = isAthanorError(error) ? error.details["position"] : undefined;
  if (typeof raw !== "number" || !Number.isFinite(raw) || raw <= 0) return null;
  const position = raw - 1;
  let counted = 0;
  let index = 0;
  for (const char of text) {
    const codePoint = char.codePointAt(0) as number;
    counted += unit === "characters" ? 1 : utf8Length(codePoint);
    if (counted > position) return index;
    index += char.length;
  }
  return index;
}

function utf8Length(codePoint: number): number {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

function locate(error: unknown, parts: readonly ScriptPart[], options: ScriptOptions, text: string, bodies: Layout["bodies"], tags: readonly string[], position: number | null): ScriptFailure {
  let committed = 0;
  // Statements completed in the part that was running (null: its BEGIN never completed).
  let running: number | null = options.transactionPerPart ? null : 0;
  for (const tag of tags) {
    const word = tag.split(" ")[0];
    if (options.transactionPerPart && word === "COMMIT") {
      committed++;
      running = null;
    } else if (options.transactionPerPart && word === "BEGIN" && running === null) {
      running = 0;
    } else if (running !== null) {
      running++;
    }
  }
  // The error position, when there is one, names the part even when nothing ran (a syntax error).
  let byPosition = position === null ? -1 : bodies.findIndex((body) => body.start <= position && position <= body.end);
  // Past a body, in what athanor sends after it (its own statements are valid SQL): a
  // statement left incomplete at the end of that body ran into them. That body is the culprit,
  // not the first revision of the round trip.
  if (byPosition === -1 && position !== null) byPosition = bodies.findLastIndex((body) => body.start <= position);
  const part = byPosition !== -1 ? byPosition : Math.min(committed, parts.length - 1);
  const prologue = (parts[part] as ScriptPart).prologue.length;
  const ran = part === committed ? running : null;
  let stage: ScriptStage;
  let statement: number | null;
  if (ran === null) {
    stage = byPosition !== -1 ? "body" : "unknown";
    statement = null;
  } else if (ran < prologue && byPosition === -1) {
    stage = "prologue";
    statement = ran;
  } else {
    // Statements after the prologue: the body's, then the epilogue's (the caller knows how many the body has).
    stage = "body";
    statement = Math.max(0, ran - prologue);
  }
  const located = bodies[byPosition];
  // ScriptFailure counts code points in the body, as the revision's line numbers are found from them.
  const bodyOffset = located === undefined || position === null ? null : codePoints(text.slice(located.start, Math.min(position, located.end)));
  return new ScriptFailure(error, part, Math.min(committed, part), stage, statement, bodyOffset);
}

/** BEGIN, `work`, COMMIT; ROLLBACK (and rethrow) when `work` or the COMMIT fails. */
export async function runInTransaction<T>(exec: Exec, work: () => Promise<T>, lazyCommit: boolean): Promise<T> {
  await exec("BEGIN");
  try {
    const result = await work();
    await exec(lazyCommit ? `${LAZY_COMMIT} COMMIT` : "COMMIT");
    return result;
  } catch (error) {
    await rollbackQuietly(exec);
    throw error;
  }
}

/** Ends whatever transaction is open; outside one, PostgreSQL only warns. */
export async function rollbackQuietly(exec: Exec): Promise<void> {
  await exec("ROLLBACK").catch(() => {});
}

/**
 * The Session methods that are the same SQL on every driver: `runScript`, `transaction`
 * and `rollback`, given the driver's `exec`, its way of sending a script and the unit its
 * server counts error positions in (asked only when a script fails).
 */
export function transactionMethods(exec: Exec, send: SendScript, unit: () => PositionUnit): Pick<Session, "runScript" | "transaction" | "rollback"> {
  return {
    runScript: (parts, options) => runScriptParts(send, parts, options, unit),
    transaction: (work, options) => runInTransaction(exec, work, options?.lazyCommit === true),
    rollback: () => rollbackQuietly(exec),
  };
}
