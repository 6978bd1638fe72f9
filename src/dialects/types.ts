/**
 * The runtime boundary (DESIGN.md §2): the Session interface that the engine, the
 * introspection and `check` use, implemented for node-postgres and PGlite. Everything
 * that differs between the two databases lives behind it: how a transaction is opened
 * and ended, how a batched script is sent and where it stopped, how a lock is taken and
 * what the engine can count on (capability flags). The core imports no driver, writes no
 * transaction-control SQL and never asks which database it talks to.
 */

export interface QueryResult<Row> {
  rows: Row[];
  /** Rows touched by the last statement, when the driver says. */
  affectedRows?: number;
}

/** What a session can do; the engine decides with these flags, never with the database's kind. */
export interface SessionCapabilities {
  /** DDL is rolled back with its transaction (PostgreSQL and PGlite both: true). */
  readonly transactionalDdl: boolean;
  /**
   * Advisory locks exclude other processes. False for PGlite: one backend per process, so
   * its data directory is guarded by a lock file taken before it is opened instead.
   */
  readonly advisoryLocks: boolean;
  /**
   * The server stops a running statement within about a second once the client has gone
   * (`client_connection_check_interval`, PostgreSQL 14+).
   */
  readonly clientConnectionCheck: boolean;
  /** A running statement can be cancelled from outside (PostgreSQL's CancelRequest), and the stop gate closed. */
  readonly cancel: boolean;
  /**
   * A commit may skip its WAL flush (`synchronous_commit = off`) without risk from this
   * process dying: the server keeps the WAL and writes it out, and a later commit's flush
   * covers it. False for PGlite, whose WAL lives in this process: a commit not flushed
   * is lost when the process is killed, though the run reported it applied.
   */
  readonly lazyCommit: boolean;
}

/**
 * One part of a batched script: the engine's own statements before and after a body of
 * user SQL. Each prologue and epilogue entry is exactly ONE statement (so the session can
 * tell, from the statements the server completed, which one failed).
 */
export interface ScriptPart {
  readonly prologue: readonly string[];
  /** User SQL, sent as written (any number of statements). */
  readonly body: string;
  readonly epilogue: readonly string[];
  /** Commit without waiting for the WAL flush (a later commit's flush covers it). */
  readonly lazyCommit?: boolean | undefined;
}

/** How {@link Session.runScript} sends its parts. */
export interface ScriptOptions {
  /**
   * True: each part in a transaction of its own, all parts in ONE round trip; the server
   * stops at the first error, so the parts before it are committed and the rest never ran.
   * False: one part only, inside the caller's transaction ({@link Session.transaction}).
   */
  readonly transactionPerPart: boolean;
  /**
   * One statement run after the last part (with transactionPerPart, outside every part's
   * transaction), only when every part committed; it must return one row, whose first
   * column `runScript` resolves with. It rides in the same round trip: the executor reads
   * the durations the server measured for the parts without a query of its own.
   */
  readonly trailer?: string | undefined;
  /**
   * Called each time a part has committed (with transactionPerPart: its `COMMIT` answered),
   * as the server's answer arrives, in order with the notices the session's
   * {@link Session.onNotice} listener hears: how many calls came says which part a notice came from.
   */
  readonly onPartCommitted?: (() => void) | undefined;
}

/**
 * A message the server sent beside a statement's answer (NoticeResponse: `RAISE NOTICE`,
 * `relation "x" already exists, skipping`, `drop cascades to 2 other objects`, a
 * deprecation WARNING). Not an error: the statement went on.
 */
export interface ServerNotice {
  /** `NOTICE`, `WARNING`, `INFO`... as the server names it (the non-localized severity when it sends one). */
  readonly severity: string;
  readonly message: string;
  /** The SQLSTATE, e.g. `42P07`, when the server gave one. */
  readonly code?: string | undefined;
  readonly detail?: string | undefined;
  readonly hint?: string | undefined;
}

/** What a script that ran to its end answered: its trailer's value (text), or null without a trailer or a value. */
export type ScriptResult = string | null;

/** Where in a part the script stopped. */
export type ScriptStage = "prologue" | "body" | "epilogue" | "commit" | "unknown";

/**
 * A batched script failed. Says, without running anything again, which part failed,
 * how many parts committed before it, and where in the failing part it stopped.
 */
export class ScriptFailure extends Error {
  override name = "ScriptFailure";
  constructor(
    /** The driver's error, already a DatabaseError without secrets. */
    readonly error: unknown,
    /** Index of the failing part. */
    readonly part: number,
    /** Parts whose transaction committed (always < `part + 1`; 0 outside transactionPerPart). */
    readonly committed: number,
    readonly stage: ScriptStage,
    /**
     * The index of the failing statement within its stage: the prologue or epilogue entry,
     * or the body's statement (0-based, counting the statements the server completed
     * before the error). Null when unknown.
     */
    readonly statement: number | null,
    /** 0-based code-point offset of the error in the part's body, from the server's error position; null without one. */
    readonly bodyOffset: number | null,
  ) {
    super(error instanceof Error ? error.message : String(error));
  }
}

/** Releases a lock. Safe to call twice. */
export type ReleaseLock = () => Promise<void>;

/** Who holds a lock, as far as the database (or the lock file) says. */
export interface LockHolder {
  /** `pid 4242 (athanor upgrade (production), user app, since 2026-...)` */
  readonly description: string;
  /** The process id, when known. */
  readonly pid: number | null;
  /** How the holder can be ended, e.g. `SELECT pg_terminate_backend(4242)`, or `delete /x.lock`. */
  readonly remedy: string;
  /** Structured facts for JSON output (no secret). */
  readonly details: Record<string, unknown>;
  /**
   * Another session of this same process holds it (two environments of `check --all` on
   * one PGlite directory): it lets go as soon as its reading is done, so the wait is not
   * announced as a wait for another process.
   */
  readonly inThisProcess?: boolean;
}

/**
 * What athanor reads of an `AbortSignal` (Node's and the DOM's fit it). Declared here
 * rather than named, so that the published declarations type-check in a project without
 * the DOM lib or `@types/node` (`"lib": ["es2022"]`, no `skipLibCheck`).
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  /** Why it aborted: athanor's CLI passes the signal's name ("SIGINT", "SIGTERM"). */
  readonly reason?: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { readonly once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/** What {@link Session.lock} and `lockDatabase` wait for, and how they give up. */
export interface LockRequest {
  /** The advisory key (PostgreSQL). */
  readonly key: bigint;
  /** How long to wait, in milliseconds. */
  readonly waitMs: number;
  /** How often to try again (default 150 ms). */
  readonly pollMs?: number | undefined;
  readonly signal?: AbortSignalLike | undefined;
  /** Describe a holder by who it is (`owner`: user, address, since) or by what it runs (`activity`). */
  readonly holderStyle?: "owner" | "activity" | undefined;
  /** Called once when waiting begins. */
  readonly onWait?: ((holder: LockHolder | null) => void) | undefined;
  /** The error to throw when the wait runs out. */
  readonly timeout: (holder: LockHolder | null, waitedMs: number) => Error;
  /**
   * What a refusal or a lost-lock error calls the lock (e.g. "the run lock"; PostgreSQL):
   * by default "athanor's lock" in a refusal, "the lock" when it was lost.
   */
  readonly name?: string | undefined;
}

/**
 * One database connection (PostgreSQL or PGlite) and everything the engine may ask of
 * it: queries, scripts, transactions, locks, capability flags. Pass one as `session` to
 * run on a database you opened (e.g. `pglite://memory`).
 */
export interface Session {
  /** Which database this is: for messages only — decide with {@link capabilities}. */
  readonly kind: "postgres" | "pglite";
  readonly capabilities: SessionCapabilities;
  /** One statement with bound parameters ($1, $2...). */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
  /** One or more statements, no parameters (simple query protocol), in one round trip. */
  exec(sql: string): Promise<void>;
  /**
   * Sends parts of a script in one round trip (see {@link ScriptOptions}); on failure
   * rejects with a {@link ScriptFailure} that locates it from the server's answer alone.
   */
  runScript(parts: readonly ScriptPart[], options: ScriptOptions): Promise<ScriptResult>;
  /**
   * Runs `work` in a transaction: commits when it resolves, rolls back when it throws
   * (and rethrows). `lazyCommit`: commit without waiting for the WAL flush.
   */
  transaction<T>(work: () => Promise<T>, options?: { readonly lazyCommit?: boolean | undefined }): Promise<T>;
  /** Ends any transaction left open (after a failed script). Never throws. */
  rollback(): Promise<void>;
  /**
   * Takes a session-level lock on `request.key`, polling so a waiting session never
   * queues behind the holder. Returns its release. A no-op where advisory locks exclude
   * nothing (PGlite: see `lockDatabase`).
   */
  lock(request: LockRequest): Promise<ReleaseLock>;
  /**
   * Hands the server's notices on this session to `listener` (null: no one listens; they
   * are dropped, as before any listener is set), in the order they arrive among the
   * statements' answers. Absent where the driver cannot hear them.
   */
  onNotice?(listener: ((notice: ServerNotice) => void) | null): void;
  /** Server version number, e.g. 150018 for 15.18 (`server_version_num`). */
  serverVersion(): Promise<number>;
  /**
   * The backend process id the server announced when the connection opened
   * (BackendKeyData), or null when the driver has none. A connection pooler announces
   * an id of its own, so it differs from `pg_backend_pid()` (src/dialects/postgres-pooler.ts).
   */
  announcedBackendPid?(): number | null;
  /**
   * `pg_backend_pid()` as the session's first statement answered it (read with the
   * session's opening facts, no round trip of its own), or null when the driver has none.
   */
  openingBackendPid?(): number | null;
  /**
   * Whether the session is inside a transaction block (open, or aborted by a failed
   * statement), as the server last reported it (ReadyForQuery's status; PGlite's own
   * backend): no round trip. Absent where the driver does not say.
   */
  inTransaction?(): boolean;
  /**
   * The host of the URL's host list the session connected to (the first that answered and
   * fit target_session_attrs): where a child tool such as pg_dump must go. Absent for PGlite.
   */
  connectedHost?(): { readonly host: string; readonly port: number };
  /**
   * The value the server last reported for a `GUC_REPORT` setting such as
   * `standard_conforming_strings` (ParameterStatus: sent when the connection starts and
   * at the end of any round trip that changed it), so reading it costs no round trip.
   * Undefined when the driver is not told (PGlite) or the server never reported it.
   */
  reportedSetting?(name: string): string | undefined;
  /**
   * Settles with the error the server ended this session with while it was idle (its
   * `pg_terminate_backend`, an `idle_session_timeout`, a restart): pending as long as the
   * session is open or closed by this side, never rejected. Absent where a session cannot
   * be ended from outside (PGlite, in this process).
   */
  ended?(): Promise<unknown>;
  /**
   * Cancel the statement running on this session (SIGINT/SIGTERM). Best effort. Where
   * `capabilities.cancel`, it first closes the session's stop gate (src/dialects/stop-gate.ts),
   * which stays closed until the session closes: no revision of a round trip starts after it.
   * Resolves with null once the gate is closed, else with why it could not be (the cancel
   * still went, without it), or null where there is no gate. Once per session: a later call
   * resolves as the first, and sends nothing.
   */
  cancel(): Promise<string | null>;
  close(): Promise<void>;
}
