/**
 * A batched script sent over node-postgres as a custom query (pg's `Submittable`): one
 * simple-query string, whose answer is read message by message and kept as no more than
 * the script needs — each command tag, handed on at once, and the first value of the
 * last statement's first row.
 *
 * Why not `client.query(text)`: pg's Query builds one `Result` per statement of the
 * string (its fields, parsers, parsed rows, command) and keeps them all until the round
 * trip ends. A round trip of 64 revisions is ~450 statements, alive for the whole round
 * trip: applying 10,000 revisions, a few megabytes of them outlived every scavenge and
 * were promoted, and the old generation grew by ~25 MB of that garbage between two full
 * collections (and the survivors grew the young generation to its maximum).
 */
import type pg from "pg";

/** What pg hands a custom query: the protocol messages it uses here. */
interface CommandCompleteMessage {
  readonly text?: unknown;
}
interface DataRowMessage {
  readonly fields?: readonly unknown[];
}

/** The part of pg's protocol connection a custom query writes to. */
interface QueryConnection {
  query(text: string): void;
}

/**
 * One simple-query string, answered with the first value of its last statement's first
 * row (text, or null) when `lastValue`. pg calls the `handle*` methods as the server's
 * messages arrive, `handleError` once on failure (an ErrorResponse, the connection lost,
 * pg's `query_timeout`), and `handleReadyForQuery` when the round trip is over.
 */
export class ScriptQuery implements pg.Submittable {
  /** Settles {@link done}; pg wraps it when a `query_timeout` is set (and then calls it itself on timeout). */
  callback: (error: Error | null, value?: string | null) => void;
  /** Resolves with the last statement's first value (null without one), rejects with pg's error. */
  readonly done: Promise<string | null>;
  /** The first value of the statement running now (undefined: no row yet). */
  private current: string | null | undefined = undefined;
  /** The first value of the last statement completed. */
  private last: string | null = null;
  private failed = false;

  constructor(
    private readonly text: string,
    private readonly onTag: (tag: string) => void,
    private readonly lastValue: boolean,
  ) {
    let settle!: (error: Error | null, value?: string | null) => void;
    this.done = new Promise<string | null>((resolve, reject) => {
      settle = (error, value) => (error === null ? resolve(value ?? null) : reject(error));
    });
    this.callback = settle;
  }

  submit(connection: pg.Connection): void {
    (connection as unknown as QueryConnection).query(this.text);
  }

  handleRowDescription(): void {
    this.current = undefined;
  }

  handleDataRow(message: DataRowMessage): void {
    if (!this.lastValue || this.current !== undefined) return;
    const value = message.fields?.[0];
    this.current = typeof value === "string" ? value : null;
  }

  handleCommandComplete(message: CommandCompleteMessage): void {
    this.last = this.current ?? null;
    this.current = undefined;
    this.onTag(typeof message.text === "string" ? message.text : "");
  }

  handleEmptyQuery(): void {
    this.last = null;
    this.current = undefined;
  }

  handleError(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.callback(error);
  }

  handleReadyForQuery(): void {
    if (this.failed) return;
    this.callback(null, this.lastValue ? this.last : null);
  }

  /** A script never sends COPY (its revisions cannot: it would wait for data forever); refused like pg's own Query does. */
  handleCopyInResponse(connection: pg.Connection): void {
    (connection as unknown as { sendCopyFail(message: string): void }).sendCopyFail("No source stream defined");
  }

  handleCopyData(): void {}

  handlePortalSuspended(): void {}
}
