/**
 * Every failure athanor reports to a user is one of these classes. Each carries a
 * stable `code`, the exit status of DESIGN.md §5 and a `hint` that says how to fix it.
 * The CLI (src/cli/) is the only place that turns them into text and an exit status;
 * library code throws them and never prints or exits.
 */

/** Exit statuses of DESIGN.md §5, in one place. */
export const ExitStatus = {
  ok: 0,
  failed: 1,
  usage: 2,
  refused: 3,
  lockTimeout: 4,
  problem: 5,
  sigint: 130,
  sigterm: 143,
} as const;
export type ExitStatusValue = (typeof ExitStatus)[keyof typeof ExitStatus];

export interface AthanorErrorOptions {
  /** How the user fixes it, one or two sentences. */
  hint?: string | undefined;
  /** Structured facts for JSON output and tests (never secrets). */
  details?: Record<string, unknown> | undefined;
  cause?: unknown;
}

/** Marks athanor's errors, shared by every copy of this module in a process (Symbol.for). */
const ATHANOR_ERROR = Symbol.for("athanor.error");

/** Base class: a failure with a code, an exit status and a hint. */
export class AthanorError extends Error {
  /**
   * `instanceof` also accepts the same class from another copy of athanor in the process:
   * the CLI runs a bundle (dist/cli/bundle.cjs) while a config file, settings module or
   * revision that imports "athanor" gets dist/index.js, whose classes are other objects.
   * Such an error is recognised by its mark and its classes' names.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (typeof value !== "object" || value === null || !(ATHANOR_ERROR in value)) return false;
    for (let proto: unknown = Object.getPrototypeOf(value); proto !== null && typeof proto === "object"; proto = Object.getPrototypeOf(proto)) {
      const constructor: unknown = Object.hasOwn(proto, "constructor") ? (proto as { constructor: unknown }).constructor : undefined;
      if (typeof constructor === "function" && constructor.name === this.name) return true;
    }
    return false;
  }

  override name = "AthanorError";
  readonly code: string;
  readonly exitStatus: ExitStatusValue;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, exitStatus: ExitStatusValue, options: AthanorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitStatus = exitStatus;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }
}

Object.defineProperty(AthanorError.prototype, ATHANOR_ERROR, { value: true });

/** Exit 2: bad flags, unknown environment, unset variable, malformed config or revision graph. */
export class ConfigError extends AthanorError {
  override name = "ConfigError";
  constructor(code: string, message: string, options: AthanorErrorOptions = {}) {
    super(code, message, ExitStatus.usage, options);
  }
}

/** Exit 2: a revision file or the revision graph is broken (duplicate id, missing parent, cycle...). */
export class RevisionError extends AthanorError {
  override name = "RevisionError";
  constructor(code: string, message: string, options: AthanorErrorOptions = {}) {
    super(code, message, ExitStatus.usage, options);
  }
}

/** Exit 1: a migration or a database operation failed. */
export class DatabaseError extends AthanorError {
  override name = "DatabaseError";
  constructor(code: string, message: string, options: AthanorErrorOptions = {}) {
    super(code, message, ExitStatus.failed, options);
  }
}

/**
 * Exit 1: code athanor loaded (a config file, a settings module, a revision) called
 * `process.exit` while athanor was running; `file` names the caller as its stack showed it.
 */
export class ProcessExitError extends AthanorError {
  override name = "ProcessExitError";
  /** The file that called `process.exit` (null when its stack did not say). */
  readonly file: string | null;
  /** The exit code it asked for. */
  readonly requestedCode: string | number | null;
  constructor(file: string | null, requestedCode: string | number | null, options: AthanorErrorOptions = {}) {
    super(
      "process-exit",
      `${file ?? "code loaded by athanor"} called process.exit(${requestedCode ?? ""}) while athanor was running; athanor does not let loaded code end the process`,
      ExitStatus.failed,
      {
        hint: "Remove the process.exit call: throw an Error to make the revision, the config or the settings module fail instead.",
        ...options,
        details: { file, requestedCode, ...options.details },
      },
    );
    this.file = file;
    this.requestedCode = requestedCode;
  }
}

/**
 * Exit 1: a TypeScript or JavaScript revision's function returned while
 * statements it had started with `sql` were still running: a missing `await`. Such a
 * statement would otherwise run after athanor moved on (its failure an unhandled
 * rejection that killed the process, its effect possibly outside the revision's transaction).
 */
export class UnawaitedStatementError extends AthanorError {
  override name = "UnawaitedStatementError";
  constructor(revision: string, file: string, count: number, statement: string, options: AthanorErrorOptions = {}) {
    super(
      "unawaited-statement",
      `revision ${revision} (${file}) returned while ${count === 1 ? "a statement it started was" : `${count} statements it started were`} still running (the first: ${statement}); the revision was not applied`,
      ExitStatus.failed,
      {
        hint: "Put `await` before every sql`...` and sql.unsafe(...) call in the revision (or collect their promises and await Promise.all).",
        ...options,
        details: { revision, file, count, statement, ...options.details },
      },
    );
  }
}

/**
 * Exit 1: a TypeScript or JavaScript revision's function called `sql` after it had
 * settled (from a timer or a callback). The statement is refused before it is sent: it
 * would run in a later revision's transaction, or in none, and be recorded nowhere.
 * `state` says what became of the revision: `applied` (it committed without that
 * statement; the run stops before the next revision), `rolled-back` (the plan's single
 * transaction was rolled back), or `refused` (what the revision's own code is given).
 */
export class StatementAfterRevisionError extends AthanorError {
  override name = "StatementAfterRevisionError";
  constructor(revision: string, file: string, statement: string, state: "refused" | "applied" | "rolled-back") {
    const outcome = {
      refused: "",
      applied: `; revision ${revision} had already been applied without it, and the run stopped there`,
      "rolled-back": "; the plan's transaction was rolled back: nothing was applied",
    }[state];
    super("statement-after-revision", `revision ${revision} (${file}) called sql after its function had returned (${statement}): the statement was refused and did not run${outcome}`, ExitStatus.failed, {
      hint:
        state === "applied"
          ? `Await every sql\`...\` call inside the function of ${file} (a timer or callback that calls sql after it returned is too late); then make what the refused statement should have done a new revision, and rerun to apply the rest.`
          : `Await every sql\`...\` call inside the function of ${file} (a timer or callback that calls sql after it returned is too late).`,
      details: { revision, file, statement, state },
    });
  }
}

/** Exit 3: a guard refused (production not confirmed, dangerous change not allowed). */
export class RefusedError extends AthanorError {
  override name = "RefusedError";
  constructor(code: string, message: string, options: AthanorErrorOptions = {}) {
    super(code, message, ExitStatus.refused, options);
  }
}

/** Exit 4: the migration lock could not be taken in time. */
export class LockTimeoutError extends AthanorError {
  override name = "LockTimeoutError";
  constructor(message: string, options: AthanorErrorOptions = {}) {
    super("lock-timeout", message, ExitStatus.lockTimeout, options);
  }
}

/**
 * Exit 5: check/status/diff found a problem, or the database's state blocks a run
 * (checksum mismatch, an unfinished non-transactional revision).
 */
export class ProblemError extends AthanorError {
  override name = "ProblemError";
  constructor(code: string, message: string, options: AthanorErrorOptions = {}) {
    super(code, message, ExitStatus.problem, options);
  }
}

/**
 * What stopped a run: the CLI's SIGINT or SIGTERM, or `aborted` when a library caller
 * aborted the `signal` it passed (an AbortController's `abort()`, with any other reason).
 */
export type Interruption = "SIGINT" | "SIGTERM" | "aborted";

/**
 * Exit 130/143: the run was interrupted by a signal, or aborted by the library caller
 * (130, as SIGINT), and rolled back.
 */
export class InterruptedError extends AthanorError {
  override name = "InterruptedError";
  readonly signal: Interruption;
  /** `message` replaces the usual one where it would not be true (a non-transactional revision keeps what it ran). */
  constructor(signal: Interruption, options: AthanorErrorOptions & { readonly message?: string } = {}) {
    super(
      "interrupted",
      options.message ?? `${InterruptedError.describe(signal)}; any revision that was running was rolled back, and the lock released`,
      signal === "SIGTERM" ? ExitStatus.sigterm : ExitStatus.sigint,
      options,
    );
    this.signal = signal;
  }

  /** The error for an aborted signal's `reason`: the CLI aborts with the signal's name, anything else is the caller's abort. */
  static fromReason(reason: unknown, options: AthanorErrorOptions & { readonly message?: string } = {}): InterruptedError {
    return new InterruptedError(InterruptedError.interruptionOf(reason), options);
  }

  /** What an aborted signal's `reason` was: the signal's name (the CLI's aborts), else the caller's abort. */
  static interruptionOf(reason: unknown): Interruption {
    return reason === "SIGTERM" || reason === "SIGINT" ? reason : "aborted";
  }

  /** `interrupted by SIGINT`, or `aborted by the caller's AbortSignal`. */
  static describe(signal: Interruption): string {
    return signal === "aborted" ? "aborted by the caller's AbortSignal" : `interrupted by ${signal}`;
  }
}

/** Narrowing helper for catch blocks. */
export function isAthanorError(value: unknown): value is AthanorError {
  return value instanceof AthanorError;
}
