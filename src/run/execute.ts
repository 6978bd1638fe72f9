/**
 * The executor: prepares a Plan before anything changes ({@link preparePlan}) and runs it
 * on a Session ({@link executePlan}; the lock is held and the version tables exist).
 *
 * ONE path runs every revision. The plan is cut into groups; each group is sent in one of
 * two ways, inside one of three transaction scopes:
 *
 * - sent as a script: one or more SQL revisions (their sections as written, each with
 *   its bookkeeping statements) in ONE round trip (`Session.runScript`). Quick revisions
 *   travel together, which is what keeps 1,000 revisions close to `psql -1 -f`;
 * - driven from here: a TypeScript revision, a `transaction false` SQL revision (its
 *   statements one by one: PostgreSQL runs a multi-statement string as one implicit
 *   transaction, in which CREATE INDEX CONCURRENTLY fails), or, with `echo`, an SQL
 *   revision statement by statement so each is logged with its duration.
 *
 * Scopes: each revision in its own transaction (the default), the whole plan in one
 * (`--single-transaction`), or none (`transaction false`: recorded `started` before,
 * `applied` after). A failure is located from what the server answered — its error
 * position, the statements it completed before the error — never by running anything
 * again; the error names the revision, its file, the statement and its line, and says
 * what was rolled back and what was committed.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import type { MigrationContext, MigrationSql } from "../define.js";
import { ScriptFailure, type AbortSignalLike, type ScriptPart, type ServerNotice, type Session } from "../dialects/types.js";
import { codePoints } from "../dialects/script.js";
import { gatedValue, isGateClosedError, STOP_GATE_HOLDERS, stopGateKey } from "../dialects/stop-gate.js";
import { inPlanTransaction } from "./plan-transaction.js";
import { nextTurn, sliceTurns } from "../event-loop-turns.js";
import { monotonicMs } from "../monotonic-clock.js";
import { thrownMessage } from "./thrown.js";
import { serverTimeout, timeoutSource } from "./timeout-errors.js";
import { ConfigError, DatabaseError, InterruptedError, RevisionError, StatementAfterRevisionError, UnawaitedStatementError, isAthanorError, type AthanorError } from "../errors.js";
import { withHint } from "../with-hint.js";
import type { SqlStatement } from "../lint/parse.js";
import type { Plan, Step } from "../plan/types.js";
import { checkNotGivenByText, loadRevisionBody, scannedSectionCheck, type MigrationFunction } from "../revisions/script-directory.js";
import { checkedSectionChangesSession, checkedSectionLength, sectionPassed } from "../revisions/section-check.js";
import { checkSectionText, checkUpgradeSection } from "./check-section.js";
import type { SqlSection } from "../revisions/sql-sections.js";
import type { RevisionFile } from "../revisions/types.js";
import { scrubSecrets } from "../secrets/redact.js";
import { maskPasswords } from "../secrets/sql-passwords.js";
import { Bookkeeping, type StepRecorder } from "./bookkeeping.js";
import { isConnectionLoss, sqlstateOf } from "./connection-loss.js";
import { toEventError, type EventInput } from "./events.js";
import { interrupted } from "./lock.js";
import { mayChangeSession, mayDeallocate } from "./session-state.js";
import { StandardStringsWatch } from "./standard-strings.js";
import { assertNoTransactionBreaker, refuseTransactionBreakerAtRunTime } from "./transaction-check.js";
import { measuredTiming, parseRecentDurations, recentDurationsSql, type RunIdentity, type StepTiming } from "./version-table.js";

/**
 * An SQL section checked by {@link preparePlan} and known by its length until it is sent
 * (UTF-16 code units, for the size of a round trip): its text is read again then (the
 * file must still have the checksum it had), so a plan of 10,000 revisions does not hold
 * 10,000 texts while it runs. A number, not an object: one object fewer per revision.
 */
export type DeferredSection = number;

/** A step checked and ready to run (with its statements split, when they are needed). */
export interface PreparedStep {
  readonly step: Step;
  readonly file: RevisionFile;
  /** A TypeScript revision's function (loaded), or an SQL section read again when it runs. */
  readonly body: DeferredSection | MigrationFunction;
  /** Split statements: for echo, for non-transactional SQL revisions, and when the transaction check parsed them. */
  readonly statements: readonly SqlStatement[] | null;
}

/** A plan whose revisions are loaded and checked: nothing in it can be refused any more. */
export interface PreparedPlan {
  readonly plan: Plan;
  readonly steps: readonly PreparedStep[];
  readonly singleTransaction: boolean;
  /**
   * Some revision could change the session's state (src/run/session-state.ts): a
   * TypeScript or non-transactional one, any driven statement by statement (echo), or an
   * SQL one whose text holds a word of {@link mayChangeSession}. Only then is the session's
   * state read before the first revision, to be put back after each such revision.
   */
  readonly changesSession: boolean;
}

/** What {@link executePlan} needs. */
export interface ExecutePlanOptions {
  readonly env: Pick<ResolvedEnvironment, "name" | "echo" | "secrets" | "versionTable" | "lockTimeoutMs" | "statementTimeoutMs">;
  readonly session: Session;
  readonly prepared: PreparedPlan;
  readonly identity: RunIdentity;
  /** SIGINT/SIGTERM: cancel the running statement, roll back, stop. */
  readonly signal?: AbortSignalLike | undefined;
  readonly emit: (event: EventInput) => void;
  /** Filled as revisions commit, so the caller knows how far a failed run got. */
  readonly progress?: { completed: Step[] } | undefined;
  /**
   * Called before every revision, outside any transaction (`replicaLag` waits for the
   * standbys here). When set, every revision travels alone; unused with
   * --single-transaction, where nothing reaches a standby before the one commit.
   */
  readonly betweenRevisions?: ((next: PreparedStep) => Promise<void>) | undefined;
}

/**
 * Reads every revision of the plan and refuses, before anything runs (exit 2): a missing
 * downgrade, a `transaction false` revision in a `--single-transaction` plan, and a
 * transactional SQL revision that contains transaction control (`COMMIT`, `BEGIN`...)
 * or a statement that cannot run in a transaction block (`VACUUM`, `... CONCURRENTLY`).
 * Only the plan's revisions are read (with `cachedChecks`, not those whose check the scan
 * or the header cache holds); only those whose text may hold such a statement are parsed.
 * An SQL revision's text is not kept: it is read again when it is sent.
 */
export async function preparePlan(plan: Plan, options: PrepareOptions, checkedAhead?: CheckedAhead): Promise<PreparedPlan> {
  if (options.singleTransaction) {
    const blocking = plan.steps.find((step) => !step.revision.transactional);
    if (blocking !== undefined) {
      throw new ConfigError("single-transaction-not-possible", `revision ${blocking.revision.id} (${blocking.revision.relativePath}) is non-transactional (\`transaction false\`) and cannot run inside --single-transaction`, {
        hint: "Run without --single-transaction, or move the non-transactional statements to a revision of their own and run up to the revision before it first.",
        details: { revision: blocking.revision.id, file: blocking.revision.relativePath },
      });
    }
  }
  const steps: PreparedStep[] = [];
  let changesSession = false;
  // One revision at a time, each checked as soon as it is read and its SQL text dropped
  // (the reads are synchronous: concurrent loads gained nothing but memory). With a turn
  // of the event loop every millisecond: the queries a run reads ahead meanwhile
  // (src/run/migrate.ts) get their answers and go on, and a signal is handled.
  const turn = sliceTurns();
  const stepOptions = { echo: options.echo, parse: true, cachedChecks: options.cachedChecks === true } as const;
  for (const step of plan.steps) {
    const next = turn();
    if (next !== null) await next;
    const checked = (step.direction === "up" ? checkedAhead?.get(step.revision) : undefined) ?? (await checkStep(step.revision, step.direction, stepOptions));
    changesSession ||= checked.changesSession;
    steps.push({ step, file: step.revision, body: checked.body, statements: checked.statements });
  }
  return { plan, steps, singleTransaction: options.singleTransaction, changesSession };
}

/** How {@link preparePlan} checks. */
export interface PrepareOptions {
  readonly echo: boolean;
  readonly singleTransaction: boolean;
  /**
   * Takes an SQL upgrade section's check from its scan or the header cache without reading
   * the file (src/revisions/section-check.ts). Only for a plan run by {@link executePlan},
   * which checks each such section again from the text it sends; a caller that reads the
   * files otherwise (the offline script) leaves it false and gets every check made here.
   */
  readonly cachedChecks?: boolean | undefined;
}

/** What checking one revision's section found (see {@link checkStep}). */
export interface CheckedSection {
  readonly body: DeferredSection | MigrationFunction;
  readonly statements: readonly SqlStatement[] | null;
  /** Its text could change the session's state (see {@link PreparedPlan.changesSession}). */
  readonly changesSession: boolean;
}

/** Revisions whose upgrade section was checked before their plan was known (src/run/check-ahead.ts). */
export type CheckedAhead = ReadonlyMap<RevisionFile, CheckedSection>;

/** How {@link checkStep} checks a revision. */
export interface CheckStepOptions {
  readonly echo: boolean;
  /**
   * False for a check made before the plan is known: a revision whose check needs more
   * than its text is left for the plan's check, and null returned: a TypeScript revision
   * (loading it runs its module's code), and an SQL one that must be split into statements
   * (the parser is loaded only when a plan needs it).
   */
  readonly parse: boolean;
  /** See {@link PrepareOptions.cachedChecks}. */
  readonly cachedChecks: boolean;
}

/** Reads one revision and refuses it as {@link preparePlan} says (see {@link CheckStepOptions}). */
export async function checkStep(file: RevisionFile, direction: "up" | "down", options: CheckStepOptions & { readonly parse: true }): Promise<CheckedSection>;
export async function checkStep(file: RevisionFile, direction: "up" | "down", options: CheckStepOptions): Promise<CheckedSection | null>;
export async function checkStep(file: RevisionFile, direction: "up" | "down", options: CheckStepOptions): Promise<CheckedSection | null> {
  const { echo, parse, cachedChecks } = options;
  if (file.format !== "sql" || echo || !file.transactional) {
    if (!parse) return null;
  } else if (direction === "up" && cachedChecks) {
    // Checked by the scan, which read the file for the header cache, or by an earlier run
    // (its line's stamp still the file's): not read here. `sectionOf` checks the text sent.
    const scanned = scannedSectionCheck(file);
    if (sectionPassed(scanned)) return { body: checkedSectionLength(scanned), statements: null, changesSession: checkedSectionChangesSession(scanned) };
  }
  const body = await loadRevisionBody(file);
  const part = direction === "up" ? body.upgrade : body.downgrade;
  if (part === null) {
    throw new RevisionError("irreversible-revision", `revision ${file.id} (${file.relativePath}) has no downgrade${body.format === "sql" ? " section" : " function"}, so it cannot be reverted`, {
      hint:
        body.format === "sql"
          ? `Add a \`-- athanor:downgrade\` section to ${file.relativePath}, or downgrade to a target above ${file.id}.`
          : `Add \`async downgrade({ sql }) { ... }\` to ${file.relativePath}, or downgrade to a target above ${file.id}.`,
      details: { revision: file.id, file: file.relativePath },
    });
  }
  if (typeof part === "function") return { body: part, statements: null, changesSession: true };
  const needsParse = checkSectionText(file, direction, part);
  if (needsParse && !parse) return null;
  // The word search already said whether the parser must look: not run a second time when it need not.
  let statements = needsParse ? await assertNoTransactionBreaker(file, direction, part) : null;
  if (statements === null && (echo || !file.transactional)) statements = await split(file, part);
  return { body: part.sql.length, statements, changesSession: !file.transactional || echo || mayChangeSession(part.sql) };
}

/**
 * The SQL section a prepared step runs, read again from its file (which must still have
 * its checksum, or the stamp its header was read under). An upgrade section whose check
 * came from the scan or the header cache is checked again here, from the text read: a
 * text that does not pass as it did is a file changed since, and is not sent.
 */
async function sectionOf(item: PreparedStep): Promise<SqlSection> {
  const file = item.file;
  const body = await loadRevisionBody(file);
  const section = body.format === "sql" ? (item.step.direction === "up" ? body.upgrade : body.downgrade) : null;
  // preparePlan checked that the section exists; a file that lost it since has changed, and its checksum said so.
  if (section === null) throw new Error(`internal: ${file.relativePath} has no ${item.step.direction === "up" ? "upgrade" : "downgrade"} section to run`);
  if (item.step.direction === "up") {
    const scanned = scannedSectionCheck(file);
    if (sectionPassed(scanned) && checkUpgradeSection(file, section) !== scanned) throw checkNotGivenByText(file);
  }
  return section;
}

async function split(file: RevisionFile, section: SqlSection): Promise<SqlStatement[]> {
  const { splitStatements } = await import("../lint/parse.js");
  return splitStatements(section.sql, section.line, { file: file.relativePath });
}

/**
 * Runs every step of a prepared plan in order. Resolves with the steps that committed;
 * on failure throws (DatabaseError exit 1, InterruptedError 130/143, RevisionError 2)
 * after rolling back what was running, with `progress.completed` holding what committed.
 */
export async function executePlan(options: ExecutePlanOptions): Promise<Step[]> {
  const { session, signal } = options;
  const completed = options.progress?.completed ?? [];
  const steps = options.prepared.steps;
  if (steps.length === 0) return completed;
  const runner = new GroupRunner(options, completed);
  // The server's notices while revisions run, handed on as `notice` events (athanor's own statements send none).
  session.onNotice?.((notice) => runner.heard(notice));
  // Outside any transaction: a refused PREPARE must not abort one.
  await runner.prepare();
  // A signal cancels whatever statement is running; the failure it causes is turned into InterruptedError.
  const onAbort = () => {
    runner.signalled();
    // Where a statement cannot be cancelled (PGlite, in this process), the run stops after it.
    if (session.capabilities.cancel) runner.cancelled(session.cancel());
  };
  if (signal?.aborted) runner.signalled();
  signal?.addEventListener("abort", onAbort);
  try {
    if (options.prepared.singleTransaction) {
      const done: Step[] = [];
      await session.transaction(() =>
        inPlanTransaction(async () => {
          await runner.runAll(done);
          // The signal came while the last revision ran, and it caught the cancel: the plan is not committed.
          if (signal?.aborted) throw runner.interruptedBefore(steps.length, signal);
        }),
      ).catch((error: unknown) => {
        // Not a revision's failure: the transaction it rolled back is the plan's. An
        // interruption seen between revisions already says which ran and which did not.
        if (error instanceof StatementAfterRevisionError || error instanceof InterruptedError || (error instanceof DatabaseError && error.code === "stop-gate-held")) throw error;
        // COMMIT itself may fail (a deferred constraint): blame the last revision.
        throw runner.failed(error, steps[steps.length - 1] as PreparedStep);
      });
      completed.push(...done);
    } else {
      await runner.runAll(completed);
      // The signal came during the last round trip and nothing stopped it (a revision caught the
      // cancel and no gate could be closed): the run still ends as interrupted, never with 0.
      if (signal?.aborted) throw runner.interruptedBefore(steps.length, signal);
    }
  } catch (error) {
    // What committed is told before how the run failed.
    runner.flushEvents();
    throw await runner.withGateNote(await runner.settle(error));
  } finally {
    signal?.removeEventListener("abort", onAbort);
    session.onNotice?.(null);
    await runner.release();
  }
  return completed;
}

/** The `sql` calls of one TypeScript revision: those still running, and whether the run gave up on the function. */
interface SqlCalls {
  readonly inFlight: Set<{ readonly text: string; readonly done: Promise<void> }>;
  /** Set when a signal stopped the run while the function had not returned: later calls are refused with it. */
  interrupted: InterruptedError | null;
  /** Set once the function has settled: later calls (a timer, a callback) are refused as statements after the revision. */
  settled: boolean;
}

/**
 * How many quick SQL revisions share a round trip. The first revision travels alone (its
 * progress shows at once); a round trip that took at most {@link BATCH_BUDGET_MS} lets
 * the next carry twice as many, up to {@link MAX_BATCH} revisions and
 * {@link MAX_BATCH_CHARS} of SQL; after a slower one, the next carries no more than its
 * pace says fit in the budget, so slow revisions travel in small round trips again and
 * progress keeps being shown. 64 one-table revisions take ~0.1 s on the server: more per
 * round trip saves nothing measurable (a round trip costs well under a millisecond on a
 * local server) and makes progress coarser; 256 KiB keeps one message far below any
 * server or proxy limit.
 */
const MAX_BATCH = 64;
/** The server's notices kept for one revision (the rest are counted: `noticesOmitted` of its `revision-end`). */
const MAX_NOTICES_PER_REVISION = 100;
/** At most this much SQL text per round trip (a single larger revision still travels, alone). */
const MAX_BATCH_CHARS = 256 * 1024;
/** The time one round trip of revisions should take at most. */
const BATCH_BUDGET_MS = 500;

/**
 * The size of the next round trip, when the last was allowed `size` and carried
 * `revisions` in `elapsedMs`: twice as many after one within the budget, else as many
 * as its pace says fit in the budget (at least one).
 */
export function nextBatchSize(size: number, revisions: number, elapsedMs: number): number {
  if (elapsedMs <= BATCH_BUDGET_MS) return Math.min(size * 2, MAX_BATCH);
  return Math.max(1, Math.min(size, Math.floor(BATCH_BUDGET_MS / (elapsedMs / revisions))));
}

/** Marks when a revision starts (a transaction-local setting), for the duration in its rows. */
const MARK_REVISION_START = markRevisionStart("extract(epoch FROM clock_timestamp())::text");

/** The same mark behind the stop gate (src/dialects/stop-gate.ts), on a session whose cancel closes it. */
const GATED_MARK_REVISION_START = markRevisionStart(gatedValue("extract(epoch FROM clock_timestamp())::text"));

function markRevisionStart(value: string): string {
  return `SELECT set_config('athanor.started', ${value}, true);`;
}

/** Timing of a revision sent as a script, from its mark. */
const MARKED_TIMING: StepTiming = {
  startedAt: "to_timestamp(current_setting('athanor.started')::double precision)",
  durationMs: "((extract(epoch FROM clock_timestamp()) - current_setting('athanor.started')::double precision) * 1000)::integer",
};

/** How a group's revisions are wrapped: each in its own transaction, the whole plan in one, or none. */
type Scope = "own" | "plan" | "none";

/** A failure on its way out, with the revision it belongs to and where it stopped. */
class GroupFailure extends Error {
  /** When the failure came back: the revision's duration ends here, not after the error is described. */
  readonly failedAt = monotonicMs();

  constructor(
    readonly error: unknown,
    readonly item: PreparedStep,
    readonly started: number,
    readonly scope: Scope,
    /** Revisions of the same round trip after the committed ones that never ran. */
    readonly notRun: readonly PreparedStep[],
  ) {
    super(thrownMessage(error));
  }
}

/** Runs the groups of a prepared plan; holds what every group shares. */
class GroupRunner {
  private readonly bookkeeping: Bookkeeping;
  /** Statements run one by one, per revision (observability: `statements` of revision-end). */
  private readonly statementCounts = new Map<PreparedStep, number>();
  /** The first `sql` call a revision's function made after it had settled (refused; see assertNoLateStatement). */
  private late: { readonly item: PreparedStep; readonly text: string } | null = null;
  private readonly scope: (item: PreparedStep) => Scope;
  /** Sections read while the previous round trip ran (see {@link prefetch}). */
  private readonly readAhead = new Map<PreparedStep, SqlSection>();
  /** Writes the bookkeeping of revisions sent in scripts (prepared statements); null until {@link prepare}. */
  private recorder: StepRecorder | null = null;
  /**
   * How many of `completed` are known to be on the server's disk: those before its last
   * synchronous commit (WAL is flushed in order). The others were acknowledged with
   * `synchronous_commit = off`: a server crash before its WAL writer got to them loses them.
   */
  private flushed = 0;
  /** Stops a revision that turned `standard_conforming_strings` off before the server reads more of it otherwise than athanor. */
  private readonly strings: StandardStringsWatch;
  /** The first statement of each revision sent in a script: behind the stop gate where a cancel closes it. */
  private readonly mark: string;
  /** How many revisions of `completed` had committed when the signal came (null: no signal yet). */
  private committedAtSignal: number | null = null;
  /** Why the signal's cancel could not close the stop gate (null once it resolves: it was closed, or there is none). */
  private gateProblem: Promise<string | null> | null = null;
  /**
   * The events of the last round trip of several revisions, all committed, not yet
   * emitted: they are emitted once the next round trip is on the wire, while the server
   * runs it (~1 ms of every 64 revisions' round trip that the server otherwise waited
   * for), and before any other event, so their order is as ever. See {@link flushEvents}.
   */
  private deferredEvents: (() => void) | null = null;
  /** The server's notices heard for each revision, until its `revision-end` (see {@link emitEnd}). */
  private readonly notices = new Map<PreparedStep, { readonly kept: ServerNotice[]; omitted: number }>();
  /**
   * Whose statements the server answers now: a round trip of revisions and how many of
   * them committed so far (its notices come in order with the COMMITs), a revision run
   * from here, or none (athanor's own statements, whose notices are not the user's).
   */
  private hearing: { readonly kind: "script"; readonly group: readonly PreparedStep[]; committed: number } | { readonly kind: "driven"; readonly item: PreparedStep } | null = null;

  constructor(
    private readonly options: ExecutePlanOptions,
    private readonly completed: Step[],
  ) {
    this.bookkeeping = new Bookkeeping(options.session, options.env.versionTable, options.identity);
    const single = options.prepared.singleTransaction;
    this.scope = (item) => (single ? "plan" : item.file.transactional ? "own" : "none");
    this.strings = new StandardStringsWatch(options.session);
    this.mark = options.session.capabilities.cancel ? GATED_MARK_REVISION_START : MARK_REVISION_START;
  }

  /** A notice of the server: kept for the revision whose statement it came with (see {@link hearing}). */
  heard(notice: ServerNotice): void {
    const hearing = this.hearing;
    if (hearing === null) return;
    // Past the round trip's last part: its trailer, athanor's own query.
    const item = hearing.kind === "driven" ? hearing.item : hearing.group[hearing.committed];
    if (item === undefined) return;
    let heard = this.notices.get(item);
    if (heard === undefined) this.notices.set(item, (heard = { kept: [], omitted: 0 }));
    // A revision that raises notices in a loop must not grow the run's memory without bound.
    if (heard.kept.length < MAX_NOTICES_PER_REVISION) heard.kept.push(notice);
    else heard.omitted += 1;
  }

  /** Notes the signal's arrival: revisions that commit after it are named as such. */
  signalled(): void {
    // The revisions of the round trip in flight that committed already join `completed` only when it returns.
    const hearing = this.hearing;
    this.committedAtSignal ??= this.completed.length + (hearing?.kind === "script" ? hearing.committed : 0);
  }

  /** Keeps the signal's cancel: what it says about the stop gate goes into the interruption's message. */
  cancelled(cancel: Promise<string | null>): void {
    this.gateProblem = cancel.catch(() => null);
  }

  /**
   * An interruption whose stop gate could not be closed says so: the revisions of the round
   * trip in flight that committed after the signal were not kept from starting.
   */
  async withGateNote(error: AthanorError): Promise<AthanorError> {
    const problem = this.gateProblem === null ? null : await this.gateProblem;
    if (!(error instanceof InterruptedError) || problem === null) return error;
    return new InterruptedError(error.signal, {
      message: `${error.message}; the stop gate could not be closed (${problem}): the running statement was cancelled without it, so only that cancel could stop its round trip`,
      ...(error.hint === undefined ? {} : { hint: error.hint }),
      details: { ...error.details, stopGate: problem },
    });
  }

  /** What became of `item` when athanor stopped before sending (more of) it, for the message. */
  private stoppedBefore(item: PreparedStep, began: boolean): string {
    const id = item.file.id;
    const scope = this.scope(item);
    if (scope === "plan") return "The plan's transaction was rolled back: nothing of this run was committed.";
    if (!began) return `Revision ${id} did not run; the revisions before it in this run stay committed.`;
    if (scope === "own") return `Revision ${id} was rolled back entirely; the revisions before it in this run stay committed.`;
    return `Revision ${id} is non-transactional: what it ran before stays, and it is recorded as started; check the database, then run \`athanor resolve ${id} --applied\` or \`--rolled-back\`.`;
  }

  private get session(): Session {
    return this.options.session;
  }

  /** The section to send for `item`: read ahead by {@link prefetch}, else read now. */
  private async section(item: PreparedStep): Promise<SqlSection> {
    const ahead = this.readAhead.get(item);
    if (ahead === undefined) return sectionOf(item);
    this.readAhead.delete(item);
    return ahead;
  }

  /**
   * Reads the sections of the `count` revisions that may share the next round trip
   * (held until sent; a file edited after this read is caught only when the run reaches
   * a revision not yet read). A file that cannot be read now is read again,
   * and its error reported, when its revision is sent.
   */
  private async prefetch(start: number, count: number): Promise<void> {
    const steps = this.options.prepared.steps;
    for (let i = start; i < steps.length && i < start + count; i++) {
      const item = steps[i] as PreparedStep;
      if (!this.sentWhole(item)) return;
      if (this.readAhead.has(item)) continue;
      try {
        this.readAhead.set(item, await sectionOf(item));
      } catch {
        return;
      }
    }
  }

  /** Prepares the bookkeeping statements, when any revision of the plan is sent as a script. */
  async prepare(): Promise<void> {
    if (this.options.prepared.steps.some((item) => this.sentWhole(item))) this.recorder = await this.bookkeeping.stepRecorder(MARKED_TIMING);
    // Before any revision can change the session: each revision starts from this state, and is recorded with it.
    if (this.options.prepared.changesSession) await this.bookkeeping.captureBaseline();
  }

  /** Frees what {@link prepare} made on the session. Never throws. */
  async release(): Promise<void> {
    await this.recorder?.release();
    this.recorder = null;
  }

  /** Every group in order; `done` receives the steps as they complete. */
  async runAll(done: Step[]): Promise<void> {
    const steps = this.options.prepared.steps;
    const { signal } = this.options;
    let size = 1;
    const pause = this.options.prepared.singleTransaction ? undefined : this.options.betweenRevisions;
    for (let index = 0; index < steps.length; ) {
      await this.letSignalsIn();
      if (signal?.aborted) throw this.interruptedBefore(index, signal);
      this.assertNoLateStatement();
      if (pause !== undefined) await pause(steps[index] as PreparedStep);
      const group = this.takeGroup(index, pause === undefined ? size : 1);
      const started = monotonicMs();
      if (this.sentWhole(group[0] as PreparedStep)) await this.sendScript(group, index, done, pause === undefined ? Math.min(size * 2, MAX_BATCH) : 1);
      else await this.drive(group[0] as PreparedStep, index, done);
      index += group.length;
      size = nextBatchSize(size, group.length, monotonicMs() - started);
    }
    this.flushEvents();
    this.assertNoLateStatement();
  }

  /**
   * Stops the run at a revision boundary once a revision's function has called `sql`
   * after it returned: that revision is applied without the refused statement, and a
   * later revision may rely on what it did not do.
   */
  private assertNoLateStatement(): void {
    if (this.late === null) return;
    const { item, text } = this.late;
    throw new StatementAfterRevisionError(item.file.id, item.file.relativePath, abbreviate(maskPasswords(text)), this.options.prepared.singleTransaction ? "rolled-back" : "applied");
  }

  /** True for an SQL revision sent to the server as written (not statement by statement). */
  private sentWhole(item: PreparedStep): boolean {
    return item.file.transactional && typeof item.body !== "function" && !(this.options.env.echo && item.statements !== null);
  }

  /** Up to `size` consecutive revisions that can share a round trip (always at least one). */
  private takeGroup(start: number, size: number): PreparedStep[] {
    const steps = this.options.prepared.steps;
    const first = steps[start] as PreparedStep;
    const group = [first];
    // Inside the plan's transaction a round trip carries one revision: the failing one is then known.
    if (!this.sentWhole(first) || this.options.prepared.singleTransaction) return group;
    let chars = first.body as DeferredSection;
    for (let i = start + 1; i < steps.length && group.length < size; i++) {
      const item = steps[i] as PreparedStep;
      if (!this.sentWhole(item)) break;
      chars += item.body as DeferredSection;
      if (chars > MAX_BATCH_CHARS) break;
      group.push(item);
    }
    return group;
  }

  /**
   * SQL revisions in one round trip (`ahead`: how many the next may carry, read while
   * this one runs), each with its bookkeeping, each in its own
   * transaction (or in the plan's). The server stops at the first error: the revisions
   * before it are committed, the rest never ran. Events of a group of several are
   * emitted once the round trip is back, with the durations the server measured.
   */
  private async sendScript(group: readonly PreparedStep[], firstIndex: number, done: Step[], ahead: number): Promise<void> {
    const total = this.options.prepared.steps.length;
    const started = monotonicMs();
    const alone = group.length === 1;
    const first = group[0] as PreparedStep;
    if (alone) {
      this.emitStart(first, firstIndex, total);
      this.emitStatements(first);
    }
    const scope = this.scope(first);
    try {
      await this.strings.beforeSend(first.file, () => this.stoppedBefore(first, false));
    } catch (error) {
      // Nothing of this round trip was sent.
      if (!alone) this.emitStart(first, firstIndex, total);
      throw new GroupFailure(error, first, started, scope, []);
    }
    const sections: SqlSection[] = [];
    for (const item of group) {
      try {
        sections.push(await this.section(item));
      } catch (error) {
        // Edited since it was checked (`revision-changed`): nothing of this round trip was sent.
        if (!alone) this.emitStart(item, firstIndex + group.indexOf(item), total);
        throw new GroupFailure(error, item, started, scope, []);
      }
    }
    const parts: ScriptPart[] = group.map((item, k) => {
      const body = (sections[k] as SqlSection).sql;
      // Its own record, and every later one, by INSERTs: the prepared statement may be gone.
      if (mayDeallocate(body)) this.recorder?.invalidate();
      const record = this.recorder?.record(item.step) ?? this.bookkeeping.stepDone(item.step, MARKED_TIMING);
      return {
        prologue: [this.mark],
        body,
        // Only a revision whose text could change the session pays for the restore (the fast path stays as it was).
        epilogue: mayChangeSession(body) ? this.bookkeeping.asAthanorInTransaction(record) : record,
        // The round trip's last commit flushes: a failure report then knows every earlier round trip is on disk.
        lazyCommit: this.session.capabilities.lazyCommit && k < group.length - 1,
      };
    });
    // A round trip of several revisions ends with the query of their durations (see emitCommitted).
    const trailer = alone || scope !== "own" ? undefined : recentDurationsSql(this.bookkeeping.tables, group.length);
    let answer: string | null;
    const hearing = { kind: "script" as const, group, committed: 0 };
    this.hearing = hearing;
    try {
      const sending = this.session.runScript(parts, {
        transactionPerPart: scope === "own",
        trailer,
        onPartCommitted: () => {
          hearing.committed += 1;
        },
      });
      // While the server runs this round trip: the events of the one before, and the next one's files are read.
      sending.catch(() => {});
      this.flushEvents();
      await this.prefetch(firstIndex + group.length, ahead);
      answer = await sending;
      this.hearing = null;
    } catch (error) {
      this.hearing = null;
      const failure = error instanceof ScriptFailure ? error : null;
      const committed = failure?.committed ?? 0;
      const failing = group[failure?.part ?? 0] as PreparedStep;
      const before = group.slice(0, committed);
      // A revision whose first statement failed after a signal was stopped by the stop gate
      // (or the cancel) before it began: it and the rest of the round trip never ran.
      if (failure?.stage === "prologue" && failure.statement === 0 && this.options.signal?.aborted) {
        if (scope === "own") throw await this.stoppedAtStart(group, before, failing, firstIndex, started, done);
        // Inside the plan's transaction (one revision per round trip): the plan is rolled back, this revision never began.
        if (scope === "plan") throw this.interruptedBefore(firstIndex, this.options.signal);
      }
      // Without a signal, a closed gate is another connection holding its key: not the revision's fault.
      if (failure?.stage === "prologue" && failure.statement === 0 && isGateClosedError(thrownMessage(failure.error))) {
        throw await this.gateHeld(group, before, failing, firstIndex, started, done);
      }
      // The failing revision began after those committed before it in this round trip.
      let failingStarted = started;
      if (!alone) {
        // The failing revision's transaction is still open (aborted): end it first, or the
        // query of the committed ones' durations fails ("current transaction is aborted").
        if (before.length > 0) await this.session.rollback();
        const durations = await this.emitCommitted(before, firstIndex, total);
        for (const duration of durations.values()) failingStarted += duration;
        this.emitStart(failing, firstIndex + group.indexOf(failing), total);
      }
      done.push(...before.map((item) => item.step));
      throw new GroupFailure(error, failing, Math.min(failingStarted, monotonicMs()), scope, group.slice(committed, group.indexOf(failing)));
    }
    if (alone) {
      this.emitEnd(group[0] as PreparedStep, started, "success");
    } else {
      // Every revision of the round trip committed, with the durations the server measured
      // (a round trip of several always carries the trailer that reads them): their events
      // wait for the next round trip to be sent.
      const durations = parseRecentDurations(answer);
      this.deferredEvents = () => this.emitCommittedKnown(group, firstIndex, total, durations);
    }
    done.push(...group.map((item) => item.step));
    if (scope === "own") this.flushed = this.completed.length;
  }

  /**
   * The interruption of a round trip stopped before `failing` began (see sendScript): its
   * transaction, aborted at its first statement, is rolled back, those before it are
   * reported committed and, when one committed lazily, flushed, since no failed history
   * row is written (it did not run) whose commit would flush them.
   */
  private async stoppedAtStart(group: readonly PreparedStep[], before: readonly PreparedStep[], failing: PreparedStep, firstIndex: number, started: number, done: Step[]): Promise<InterruptedError> {
    const signal = this.options.signal as AbortSignalLike;
    const total = this.options.prepared.steps.length;
    await this.session.rollback();
    if (group.length === 1) this.emitEnd(failing, started, "interrupted");
    else await this.emitCommitted(before, firstIndex, total);
    done.push(...before.map((item) => item.step));
    if (before.length > 0 && (await this.bookkeeping.flushCommits())) this.flushed = this.completed.length;
    return this.interruptedBefore(firstIndex + group.indexOf(failing), signal);
  }

  /**
   * A round trip stopped at `failing`'s first statement by the stop gate with no signal: another
   * connection holds the gate's key (an advisory lock keyed by this session's backend pid, taken
   * by hand or by a tool that took such keys), and every revision would fail so. Said with the
   * holder and the fix, not blamed on the revision; what committed before it is kept. Read on
   * this failure only: the success path pays nothing (trust15 E1).
   */
  private async gateHeld(group: readonly PreparedStep[], before: readonly PreparedStep[], failing: PreparedStep, firstIndex: number, started: number, done: Step[]): Promise<DatabaseError> {
    const total = this.options.prepared.steps.length;
    await this.session.rollback();
    if (group.length === 1) this.emitEnd(failing, started, "failed");
    else await this.emitCommitted(before, firstIndex, total);
    done.push(...before.map((item) => item.step));
    if (before.length > 0 && (await this.bookkeeping.flushCommits())) this.flushed = this.completed.length;
    const pid = this.session.openingBackendPid?.() ?? null;
    let holders: { pid: number; application_name: string | null; usename: string | null }[] = [];
    if (pid !== null) holders = (await this.session.query<{ pid: number; application_name: string | null; usename: string | null }>(STOP_GATE_HOLDERS, [pid]).catch(() => ({ rows: [], affectedRows: 0 }))).rows;
    const key = pid === null ? "its key" : `advisory lock (${stopGateKey(pid)})`;
    const who = holders.length === 0 ? "another connection (it let go while athanor looked)" : holders.map((h) => `pid ${h.pid} (${h.application_name || "no application_name"}${h.usename ? `, user ${h.usename}` : ""})`).join(", ");
    const committed = this.completed.map((step) => step.revision.id);
    const notRun = this.options.prepared.steps.slice(firstIndex + group.indexOf(failing)).map((item) => item.file.id);
    return new DatabaseError(
      "stop-gate-held",
      `revision ${failing.file.id} did not start: athanor's stop gate for this migration session is closed, though no signal came: ${who} holds its ${key}. It and the ${notRun.length - 1} after it did not run; ${this.options.prepared.singleTransaction ? "the plan's transaction (--single-transaction) was rolled back, nothing of this run was committed" : committed.length === 0 ? "nothing was committed in this run" : `the revisions before it in this run stay committed (${listIds(committed)})`}`,
      {
        hint: `The stop gate (src/dialects/stop-gate.ts) is an advisory lock keyed by the migration session's backend pid, which only an interrupted athanor takes. Release it (${pid === null ? "pg_advisory_unlock in the session that holds it" : `SELECT pg_advisory_unlock(${stopGateKey(pid)}) in that session`}) or end that session (${holders[0] === undefined ? "pg_terminate_backend" : `SELECT pg_terminate_backend(${holders[0].pid})`}), then run the command again.`,
        details: { revision: failing.file.id, holders: holders.map((h) => h.pid), committed, notRun },
      },
    );
  }

  /**
   * The interruption of a run stopped between revisions (each in its own transaction),
   * before the plan's step `index` began: what committed and what did not run. Not
   * "the running revision was rolled back": the one running when the signal came may
   * have caught the cancel and committed.
   */
  interruptedBefore(index: number, signal: AbortSignalLike): InterruptedError {
    const signalName = InterruptedError.interruptionOf(signal.reason);
    const notRun = this.options.prepared.steps.slice(index).map((item) => item.file.id);
    if (this.options.prepared.singleTransaction) return this.planInterrupted(signalName, index, null);
    const committed = this.completed.map((step) => step.revision.id);
    // In this process (PGlite) the signal is handled only once the round trip it came during has returned.
    const uncancellable = this.session.capabilities.cancel ? "" : ", which ran to their end: PGlite runs in this process and cannot cancel a statement, so the signal was handled once the revisions already sent to it had committed";
    const kept = this.keptBefore(committed, uncancellable);
    const message =
      notRun.length === 0
        ? `${InterruptedError.describe(signalName)} too late to stop the plan: every revision of it committed (${listIds(committed)}${this.lateNote(committed)}); the lock was released`
        : `${InterruptedError.describe(signalName)} before revision ${notRun[0]} started: it${notRun.length > 1 ? ` and the ${notRun.length - 1} after it` : ""} did not run, ${kept}; the lock was released`;
    return new InterruptedError(signalName, { message, details: { committed, notRun } });
  }

  /** What an interruption says of the revisions of this run that committed (`committed`), before the one it stopped at; `after`: said of them, when any did. */
  private keptBefore(committed: readonly string[], after = ""): string {
    return committed.length === 0 ? "nothing was committed in this run" : `the revisions before it in this run stay committed (${listIds(committed)}${this.lateNote(committed)})${after}`;
  }

  /**
   * The revisions of `committed` whose commit athanor learned of after the signal: those of
   * the round trip that was running when it came (one that caught the cancel, those after it
   * where no gate could be closed; on PGlite, all of them). Not "committed after the signal":
   * the server sends a round trip's answers when it ends, so one that committed before the
   * signal, earlier in the same round trip, is not told apart from one that committed after.
   */
  private lateNote(committed: readonly string[]): string {
    const late = committed.slice(this.committedAtSignal ?? committed.length);
    return late.length === 0 ? "" : `; committed in the round trip that was running when the signal came: ${listIds(late)}`;
  }

  /**
   * The interruption of a run whose revision `item`, in its own transaction, was stopped
   * while it ran: it was rolled back; the revisions before it stay committed, and those of
   * the round trip that was running when the signal came are named (see {@link lateNote}):
   * one may have caught the cancel and committed, and where no stop gate could be closed,
   * PostgreSQL's second SIGINT of one CancelRequest cancelled the revision after it ("any
   * revision that was running was rolled back" was then untrue of the first).
   */
  private interruptedWhile(item: PreparedStep, signal: AbortSignalLike, failure: GroupFailure): InterruptedError {
    const signalName = InterruptedError.interruptionOf(signal.reason);
    const committed = this.completed.map((step) => step.revision.id);
    const kept = this.keptBefore(committed);
    // The connection lost with the signal (a sidecar proxy stopped with the pod): its COMMIT may have reached the server.
    const { cause, sqlstate } = serverCause(failure.error);
    const lost = isConnectionLoss(cause, sqlstate);
    const fate = lost ? "the connection to the server was lost, so PostgreSQL rolled it back unless its COMMIT had already reached the server" : "it was rolled back";
    // No failed history row can be written then, whose commit would flush those committed lazily before it.
    const hint = lost ? `${keptSentence(committed.slice(0, this.flushed), committed.slice(this.flushed), true)} Once the server is back, \`athanor status\` shows where the database stands.` : undefined;
    return new InterruptedError(signalName, {
      message: `${InterruptedError.describe(signalName)} while revision ${item.file.id} was running: ${fate}, ${kept}; the lock was released`,
      ...(hint === undefined ? {} : { hint }),
      details: { committed, ...(lost ? { connectionLost: true } : { rolledBack: [item.file.id] }) },
    });
  }

  /**
   * The interruption of a `--single-transaction` plan: its transaction was rolled back, so
   * nothing of the run stays. `ran` is the plan's step that was running when it stopped
   * (null: none was, the signal was seen between two revisions or before the plan's
   * COMMIT); the steps before `index` ran and were rolled back, those from `index` on
   * (after `ran`) never started and are named as not run, with no history row.
   */
  private planInterrupted(signalName: InterruptedError["signal"], index: number, ran: PreparedStep | null): InterruptedError {
    const steps = this.options.prepared.steps;
    const rolledBack = steps.slice(0, index).map((item) => item.file.id);
    const notRun = steps.slice(ran === null ? index : index + 1).map((item) => item.file.id);
    const where = ran !== null ? `while revision ${ran.file.id} was running` : notRun.length > 0 ? `before revision ${notRun[0]} started` : "after its last revision ran, before the plan's COMMIT";
    const undone = rolledBack.length + (ran === null ? 0 : 1) === 0 ? "nothing had run" : `ran and rolled back: ${listIds(ran === null ? rolledBack : [...rolledBack, ran.file.id])}`;
    const skipped = notRun.length === 0 ? "" : `; did not run: ${listIds(notRun)}`;
    return new InterruptedError(signalName, {
      message: `${InterruptedError.describe(signalName)} ${where}: the plan's transaction (--single-transaction) was rolled back, nothing of this run was committed (${undone}${skipped}); the lock was released`,
      details: { committed: [], rolledBack: ran === null ? rolledBack : [...rolledBack, ran.file.id], notRun },
    });
  }

  /** A revision driven from here: a TypeScript function, or SQL statements one by one. */
  private async drive(item: PreparedStep, index: number, done: Step[]): Promise<void> {
    const total = this.options.prepared.steps.length;
    let started = monotonicMs();
    const scope = this.scope(item);
    // An SQL revision driven statement by statement commits lazily but for the plan's last,
    // like a script's. A TypeScript revision commits with its flush: its code may act outside
    // the database (files, messages, other services), and a commit a server crash loses would
    // run that code again on the next upgrade.
    const lazy = this.session.capabilities.lazyCommit && index < total - 1 && typeof item.body !== "function";
    this.emitStart(item, index, total);
    const body = async () => {
      if (typeof item.body === "function") await this.callFunction(item, item.body);
      else await this.runStatements(item, item.statements ?? []);
      const { signal } = this.options;
      if (signal?.aborted) throw interrupted(signal);
      // Also what the revision's function caught and went on from: a refused statement never ran.
      await this.strings.beforeSend(item.file, () => this.stoppedBefore(item, true));
    };
    const recorded = async () => {
      await body();
      const record = this.bookkeeping.stepDone(item.step, measuredTiming(monotonicMs() - started));
      await this.session.exec(this.bookkeeping.asAthanorInTransaction(record).join("\n"));
    };
    // Its notices until its transaction has committed (a deferred trigger's come with the
    // COMMIT); athanor's bookkeeping in between sends none.
    this.hearing = { kind: "driven", item };
    try {
      if (scope === "none") {
        await this.bookkeeping.stepStarting(item.step);
        // Timed from here: the history row of its end then starts after its `started` row.
        started = monotonicMs();
        await body();
        await this.bookkeeping.stepFinished(item.step, monotonicMs() - started);
      } else if (scope === "own") {
        await this.session.transaction(recorded, { lazyCommit: lazy });
      } else {
        await recorded();
      }
    } catch (error) {
      throw new GroupFailure(error, item, started, scope, []);
    } finally {
      this.hearing = null;
    }
    this.emitEnd(item, started, "success");
    done.push(item.step);
    // A non-transactional revision's last bookkeeping transaction commits synchronously too.
    if (scope === "none" || (scope === "own" && !lazy)) this.flushed = this.completed.length;
  }

  /** Wraps a failure of the plan's transaction (its COMMIT) that no group claimed. */
  failed(error: unknown, last: PreparedStep): GroupFailure {
    return error instanceof GroupFailure ? error : new GroupFailure(error, last, monotonicMs(), "plan", []);
  }

  /**
   * Turns a failure into the error to throw: rolls back, names the statement and its
   * line, says what was rolled back and what committed, records a failed history row,
   * emits revision-end.
   */
  async settle(error: unknown): Promise<AthanorError> {
    if (!(error instanceof GroupFailure)) {
      if (isAthanorError(error)) return error;
      throw error;
    }
    const { item, started, scope } = error;
    const { signal } = this.options;
    await this.session.rollback();
    let failure: AthanorError;
    if (signal?.aborted) {
      failure = interrupted(signal);
      if (scope === "plan") {
        failure = this.planInterrupted(InterruptedError.interruptionOf(signal.reason), this.options.prepared.steps.indexOf(item), item);
      } else if (scope === "none") {
        const signalName = failure instanceof InterruptedError ? failure.signal : InterruptedError.fromReason(signal.reason).signal;
        failure = new InterruptedError(signalName, {
          message: `${InterruptedError.describe(signalName)} while non-transactional revision ${item.file.id} was running: what it ran before the interruption stays, and it is recorded as started; the lock was released`,
          hint: `Revision ${item.file.id} is non-transactional and was interrupted: it stays recorded as started. Check the database, then run \`athanor resolve ${item.file.id} --applied\` or \`--rolled-back\`.`,
        });
      } else {
        failure = this.interruptedWhile(item, signal, error);
      }
    } else if (isAthanorError(error.error) && !(error.error instanceof DatabaseError)) {
      // The revision's own failure (process.exit, a statement left unawaited...): its hint, then what the failure left.
      const own = error.error;
      const outcome = this.outcome(error, false, this.completed.length);
      failure = withHint(own, own.hint === undefined ? outcome : `${own.hint} ${outcome}`);
    } else {
      // Described as if the failed history row gets written: its synchronous commit flushes every commit before it.
      failure = await this.describe(error, this.completed.length);
    }
    const durationMs = error.failedAt - started;
    const recorded = await this.bookkeeping.stepFailed(item.step, scrubSecrets(failure.message, this.options.env.secrets), durationMs);
    if (recorded) this.flushed = this.completed.length;
    else if (failure.code === "migration-failed" && this.flushed < this.completed.length) failure = await this.describe(error, this.flushed);
    this.emitEnd(item, started, signal?.aborted ? "interrupted" : "failed", failure, durationMs);
    return failure;
  }

  /**
   * A DatabaseError that names the revision, its file, the statement and its line, and what
   * was kept: the first `durable` revisions of `completed` as committed, the rest as
   * acknowledged but not known to be on disk.
   */
  private async describe(failure: GroupFailure, durable: number): Promise<DatabaseError> {
    const { item, scope } = failure;
    const { file, step } = item;
    const secrets = this.options.env.secrets;
    const { located, cause, dbError, sqlstate } = serverCause(failure.error);
    const serverMessage = scrubSecrets(dbError?.message ?? thrownMessage(cause), secrets);
    let statement = located.statement;
    let recording = false;
    if (statement === null && located.error instanceof ScriptFailure && typeof item.body !== "function") {
      // The same text that was sent (its checksum is checked again), not a re-run.
      const found = await this.locate(item, await sectionOf(item), located.error);
      statement = found.statement;
      recording = found.recording;
    }
    const where = statement?.line != null ? `${file.relativePath}:${statement.line}` : file.relativePath;
    const verb = step.direction === "up" ? "upgrade" : "downgrade";
    const lost = isConnectionLoss(cause, sqlstate);
    // A constraint error after the body, not about athanor's own tables, is the revision's own
    // change caught by a DEFERRABLE INITIALLY DEFERRED constraint at COMMIT, not its record.
    const deferred = recording && sqlstate?.startsWith("23") === true && !serverMessage.includes("athanor_");
    // athanor's bookkeeping cancelled by a timeout: which one, and how to raise it.
    const timeoutSetting = recording ? serverTimeout(cause) : null;
    const timeout = timeoutSetting === null ? null : timeoutSource(timeoutSetting, this.options.env);
    const what = lost
      ? `the connection to the server was lost (${serverMessage})`
      : deferred
        ? `its changes break a deferred constraint, checked at COMMIT (${serverMessage})`
        : recording
          ? `recording it failed (${timeout === null ? serverMessage : `athanor's own statement was cancelled by ${timeout.source}: ${serverMessage}`})`
          : serverMessage;
    const lines = [`revision ${file.id} (${file.message || "no message"}) failed to ${verb} at ${where}: ${what}`];
    if (statement !== null) lines.push(`  statement: ${abbreviate(maskPasswords(statement.text))}`);
    const stateHint = `${this.outcome(failure, lost, durable)} ${
      scope === "none"
        ? step.direction === "down"
          ? `Fix the database and the file, then run \`athanor resolve ${file.id} --rolled-back\` once none of its changes are left, or \`--applied\` once all of them are in place again.`
          : `Fix the database and the file, then run \`athanor resolve ${file.id} --applied\` or \`--rolled-back\`.`
        : lost
          ? `Once the server is back, \`athanor status\` shows where the database stands; run \`athanor ${verb}\` again.`
          : timeout !== null
            ? `${timeout.remedy}, then run \`athanor ${verb}\` again.`
            : `Fix ${where} and run \`athanor ${verb}\` again.`
    }`;
    const serverHint = dbError?.hint;
    return new DatabaseError("migration-failed", lines.join("\n"), {
      hint: serverHint ? `${scrubSecrets(serverHint, secrets)} ${stateHint}` : stateHint,
      details: {
        revision: file.id,
        file: file.relativePath,
        direction: step.direction,
        line: statement?.line ?? null,
        statement: statement === null ? null : scrubSecrets(maskPasswords(statement.text), secrets),
        committed: scope === "plan" ? [] : this.completed.slice(0, durable).map((s) => s.revision.id),
        unflushed: scope === "plan" ? [] : this.completed.slice(durable).map((s) => s.revision.id),
        ...(sqlstate === undefined ? {} : { sqlstate }),
        ...(dbError?.details["detail"] !== undefined ? { detail: dbError.details["detail"] } : {}),
      },
    });
  }

  /** One sentence: what was rolled back, what did not run, what stays committed. */
  private outcome(failure: GroupFailure, lost: boolean, durable: number): string {
    const { item, scope } = failure;
    const id = item.file.id;
    if (scope === "plan") return "The whole plan ran in one transaction (--single-transaction) and was rolled back: nothing was applied.";
    const kept = keptSentence(
      this.completed.slice(0, durable).map((s) => s.revision.id),
      this.completed.slice(durable).map((s) => s.revision.id),
      lost,
    );
    const skipped = failure.notRun.length === 0 ? "" : ` Not run (the server rejected the round trip before running them): ${listIds(failure.notRun.map((p) => p.file.id))}.`;
    // A non-transactional revision's own statements before the failing one did commit: "nothing was committed" would deny them.
    const revisionsKept = this.completed.length === 0 ? "No revision before it was committed in this run." : kept;
    if (scope === "none" && item.step.direction === "down") {
      return `Revision ${id} is non-transactional: the statements of its downgrade before the failing one stay done, and it stays recorded as started, neither cleanly applied nor cleanly reverted. ${revisionsKept}${skipped}`;
    }
    if (scope === "none") return `Revision ${id} is non-transactional: the statements before the failing one stay done, and it stays recorded as started. ${revisionsKept}${skipped}`;
    if (lost) return `The server restarted, failed over, ended the session or became unreachable: PostgreSQL rolled back revision ${id}'s transaction, unless its COMMIT had already reached the server. ${kept}${skipped}`;
    return `Revision ${id} was rolled back entirely. ${kept}${skipped}`;
  }

  /**
   * The failing statement of an SQL section sent whole, from the server's answer: the
   * error position when it gives one, else the count of statements it completed before
   * the error. `recording`: the section ran and its bookkeeping or COMMIT failed.
   */
  private async locate(item: PreparedStep, section: SqlSection, failure: ScriptFailure): Promise<{ statement: StatementRef | null; recording: boolean }> {
    let statements: readonly SqlStatement[] | null = item.statements;
    const all = async (): Promise<readonly SqlStatement[] | null> => {
      if (statements !== null) return statements;
      try {
        statements = await split(item.file, section);
      } catch (error) {
        if (error instanceof RevisionError && "line" in error && typeof error.line === "number") {
          return [{ text: (section.sql.split("\n")[error.line - section.line] ?? "").trim(), line: error.line, endLine: error.line } as SqlStatement];
        }
        return null;
      }
      return statements;
    };
    // An error placed past the body (in athanor's bookkeeping after it) once every statement of
    // the body completed is the bookkeeping's own: a lock it waited for, say. The server gives
    // a position there when it cannot open a table it reads.
    if (failure.bodyOffset !== null && failure.stage === "body" && failure.statement !== null && failure.bodyOffset >= codePoints(section.sql)) {
      const list = await all();
      if (list !== null && failure.statement >= list.length) return { statement: null, recording: true };
    }
    if (failure.bodyOffset !== null) {
      // An error past the body's last character (a statement left incomplete, which ran into
      // what athanor sends after it) is placed on that character, not on the blank line after it.
      const offset = Math.min(failure.bodyOffset, Math.max(0, codePoints(section.sql.trimEnd()) - 1));
      const line = lineAtPosition(section, offset);
      if (line !== null) {
        const list = await all();
        // By the offset first: several statements may share the line (`CREATE ...; INSERT ...; SELECT ...;`).
        const hit =
          (list === null ? undefined : statementAtOffset(section.sql, list, offset)) ??
          list?.find((s) => s.line <= line && line <= s.endLine) ??
          list?.filter((s) => s.line <= line).pop();
        return { statement: { text: hit?.text ?? section.sql.split("\n")[line - section.line]?.trim() ?? "", line: hit?.line ?? line }, recording: false };
      }
    }
    if (failure.stage !== "body" || failure.statement === null) return { statement: null, recording: false };
    const list = await all();
    if (list === null) return { statement: null, recording: false };
    const hit = list[failure.statement];
    return hit === undefined ? { statement: null, recording: true } : { statement: { text: hit.text, line: hit.line }, recording: false };
  }

  /**
   * revision-start and revision-end of group members that committed, with the durations
   * in their history rows: `known` when the round trip's trailer brought them, else (a
   * round trip that failed part-way) read with a query; unknown (null) when that query
   * fails too (the connection was lost).
   */
  private async emitCommitted(items: readonly PreparedStep[], firstIndex: number, total: number): Promise<ReadonlyMap<string, number>> {
    const durations = new Map<string, number>();
    if (items.length === 0) return durations;
    await this.readDurations(items, durations);
    this.emitCommittedKnown(items, firstIndex, total, durations);
    return durations;
  }

  /** The start and end events of committed revisions whose durations are `durations` (a missing one is unknown). */
  private emitCommittedKnown(items: readonly PreparedStep[], firstIndex: number, total: number, durations: ReadonlyMap<string, number>): void {
    for (const [k, item] of items.entries()) {
      this.emitStart(item, firstIndex + k, total);
      // Not 0 when it could not be read (the connection was lost): the event says it is unknown.
      this.emitEnd(item, monotonicMs(), "success", undefined, durations.get(item.file.id) ?? null);
    }
  }

  /** The durations of committed revisions from their history rows (after a round trip that failed part-way). */
  private async readDurations(items: readonly PreparedStep[], durations: Map<string, number>): Promise<void> {
    try {
      const result = await this.session.query<{ revision: string; duration_ms: number | null }>(
        `SELECT DISTINCT ON (revision) revision, duration_ms FROM ${this.bookkeeping.tables.history} WHERE revision = ANY($1::text[]) AND outcome = 'success' ORDER BY revision, id DESC`,
        [items.map((item) => item.file.id)],
      );
      for (const row of result.rows) if (row.duration_ms !== null) durations.set(row.revision, Number(row.duration_ms));
    } catch {
      // Durations are for people; the revisions committed.
    }
  }

  /**
   * On a session that runs in this process (PGlite), one turn of the event loop: its
   * statements settle as promise callbacks, which run before any signal handler, so
   * without it a SIGINT or SIGTERM was only seen once the whole run had ended (every
   * revision applied, status 0). A server's replies arrive as I/O, which lets them in anyway.
   */
  private async letSignalsIn(): Promise<void> {
    if (!this.session.capabilities.cancel) await nextTurn();
  }

  /** Split statements one by one; a failure names its statement. */
  private async runStatements(item: PreparedStep, statements: readonly SqlStatement[]): Promise<void> {
    for (const statement of statements) {
      await this.letSignalsIn();
      if (this.options.signal?.aborted) throw interrupted(this.options.signal);
      try {
        await this.timed(item, statement.text, statement.line, () => this.session.exec(statement.text));
      } catch (error) {
        throw withStatement(error, statement);
      }
    }
  }

  /**
   * Runs one statement of a driven revision: counted for the revision-end event, (echo)
   * logged with its duration once it ran, and, when it may be a `DEALLOCATE`, the
   * prepared record given up for the rest of the run.
   */
  private async timed<T>(item: PreparedStep, sql: string, line: number | null, run: () => Promise<T>): Promise<T> {
    if (mayDeallocate(sql)) this.recorder?.invalidate();
    await this.strings.beforeSend(item.file, () => this.stoppedBefore(item, true));
    const started = monotonicMs();
    this.statementCounts.set(item, (this.statementCounts.get(item) ?? 0) + 1);
    try {
      return await run();
    } finally {
      this.strings.sent(sql);
      this.emitStatement(item, sql, line, monotonicMs() - started);
    }
  }

  /**
   * Calls a TypeScript revision's function with `sql` bound to the session. Statements it
   * started and had not waited for when it returned (a missing `await`) fail the revision
   * once they have settled: the session is idle before athanor writes its bookkeeping or
   * rolls back, and none of them runs after the revision's transaction ends.
   *
   * A signal does not wait for the function to return: a promise it awaits may never
   * settle (a request without a timeout, a forgotten `resolve`), and SIGINT must still roll
   * the revision back. Its running statement is cancelled (executePlan's abort listener)
   * and awaited; any statement it starts afterwards is refused before it is sent.
   */
  private async callFunction(item: PreparedStep, fn: MigrationFunction): Promise<void> {
    const calls: SqlCalls = { inFlight: new Set(), interrupted: null, settled: false };
    const context: MigrationContext = { sql: this.sqlFor(item, calls), environment: this.options.env.name };
    const { signal } = this.options;
    if (signal?.aborted) throw interrupted(signal);
    let onAbort = (): void => {};
    const aborted = new Promise<"aborted">((resolve) => {
      onAbort = () => resolve("aborted");
    });
    signal?.addEventListener("abort", onAbort, { once: true });
    let returned = false;
    try {
      const outcome = await Promise.race([Promise.resolve(fn(context)).then(() => "returned" as const), aborted]);
      if (outcome === "aborted" && signal !== undefined) {
        calls.interrupted = interrupted(signal);
        throw calls.interrupted;
      }
      returned = true;
    } finally {
      calls.settled = true;
      signal?.removeEventListener("abort", onAbort);
      const left = [...calls.inFlight];
      await Promise.all(left.map((statement) => statement.done));
      if (returned && left.length > 0) throw new UnawaitedStatementError(item.file.id, item.file.relativePath, left.length, abbreviate(maskPasswords((left[0] as { text: string }).text)));
    }
  }

  /**
   * The `sql` tag given to TypeScript revisions: bound parameters, on this session. In a
   * transactional revision, transaction control is refused before it is sent. Each call is
   * in `inFlight` until it settles; its own promise is given a handler, so one nobody
   * awaited never becomes an unhandled rejection (callFunction reports it).
   *
   * Calls made while another is running (unawaited, or `Promise.all`) wait for it here, in
   * the order they were made: node-postgres runs one query at a time per connection too,
   * but queueing there prints its DeprecationWarning ("Calling client.query() when the
   * client is already executing a query...") over athanor's own report.
   */
  private sqlFor(item: PreparedStep, calls: SqlCalls): MigrationSql {
    const session = this.session;
    const { inFlight } = calls;
    const guard = (text: string) => refuseTransactionBreakerAtRunTime(item.file, text);
    let previous: Promise<unknown> = Promise.resolve();
    const tracked = <T>(text: string, run: () => Promise<T>): Promise<T> => {
      if (calls.interrupted !== null) {
        // The function was given up on (a signal); what it still runs would run after the rollback, outside any transaction.
        const refused = Promise.reject(calls.interrupted);
        refused.catch(() => undefined);
        return refused;
      }
      if (calls.settled) {
        // It would run in a later revision's transaction, or in none, recorded nowhere; the run reports the first.
        this.late ??= { item, text };
        const refused = Promise.reject(new StatementAfterRevisionError(item.file.id, item.file.relativePath, abbreviate(maskPasswords(text)), "refused"));
        refused.catch(() => undefined);
        return refused;
      }
      const promise = previous.then(run);
      previous = promise.catch(() => undefined);
      const entry = {
        text,
        done: promise.then(
          () => {
            inFlight.delete(entry);
          },
          () => {
            inFlight.delete(entry);
          },
        ),
      };
      inFlight.add(entry);
      return promise;
    };
    const sql = ((strings: TemplateStringsArray, ...values: unknown[]) => {
      let text = strings[0] ?? "";
      for (let i = 0; i < values.length; i++) text += `$${i + 1}${strings[i + 1] ?? ""}`;
      return tracked(text, async () => {
        await guard(text);
        try {
          const result = await this.timed(item, text, null, () => session.query<Record<string, unknown>>(text, values));
          return result.rows;
        } catch (error) {
          throw withStatement(error, { text, line: null });
        }
      });
    }) as MigrationSql;
    sql.unsafe = (text: string) =>
      tracked(text, async () => {
        await guard(text);
        try {
          await this.timed(item, text, null, () => session.exec(text));
        } catch (error) {
          throw withStatement(error, { text, line: null });
        }
      });
    return sql;
  }

  private emitStart(item: PreparedStep, index: number, total: number): void {
    this.emit({
      type: "revision-start",
      revision: item.file.id,
      message: item.file.message,
      file: item.file.relativePath,
      direction: item.step.direction,
      transactional: item.file.transactional,
      index: index + 1,
      total,
    });
  }

  /** Emits `event` after the deferred events of the round trip before (see {@link deferredEvents}). */
  private emit(event: EventInput): void {
    this.flushEvents();
    this.options.emit(event);
  }

  /** Emits the deferred events of the last round trip, if any: before any other event, and before the run ends. */
  flushEvents(): void {
    const deferred = this.deferredEvents;
    if (deferred === null) return;
    this.deferredEvents = null;
    deferred();
  }

  /** `durationMs` null: unknown (see emitCommitted); undefined: measured from `started`. */
  private emitEnd(item: PreparedStep, started: number, outcome: "success" | "failed" | "interrupted", error?: unknown, durationMs?: number | null): void {
    const heard = this.notices.get(item);
    if (heard !== undefined) {
      this.notices.delete(item);
      for (const notice of heard.kept) this.emit({ type: "notice", revision: item.file.id, file: item.file.relativePath, ...notice });
    }
    this.emit({
      type: "revision-end",
      revision: item.file.id,
      message: item.file.message,
      file: item.file.relativePath,
      direction: item.step.direction,
      durationMs: durationMs === null ? null : Math.round(durationMs ?? monotonicMs() - started),
      ...this.statementsOf(item),
      outcome,
      ...(error === undefined ? {} : { error: toEventError(error) }),
      ...(heard === undefined || heard.omitted === 0 ? {} : { noticesOmitted: heard.omitted }),
    });
  }

  /** How many statements a revision ran, when they ran one by one (echo, non-transactional, TypeScript). */
  private statementsOf(item: PreparedStep): { statements?: number } {
    const counted = this.statementCounts.get(item);
    if (counted !== undefined) return { statements: counted };
    return typeof item.body === "function" ? { statements: 0 } : {};
  }

  private emitStatements(item: PreparedStep): void {
    if (!this.options.env.echo) return;
    for (const statement of item.statements ?? []) this.emitStatement(item, statement.text, statement.line);
  }

  private emitStatement(item: PreparedStep, sql: string, line: number | null, durationMs?: number): void {
    if (!this.options.env.echo) return;
    // Masked here, once, for every consumer of the event: the echo line, the JSON log, OTel.
    this.emit({ type: "statement", revision: item.file.id, file: item.file.relativePath, line, sql: maskPasswords(sql), ...(durationMs === undefined ? {} : { durationMs: Math.round(durationMs * 100) / 100 }) });
  }
}

/** A statement as errors name it. */
interface StatementRef {
  readonly text: string;
  readonly line: number | null;
}

/** A driver error together with the statement that raised it (when the executor knows). */
class StatementFailure extends Error {
  constructor(
    readonly error: unknown,
    readonly statement: StatementRef,
  ) {
    super(thrownMessage(error));
  }
}

function withStatement(error: unknown, statement: StatementRef): unknown {
  if (error instanceof StatementFailure) return error;
  if (isAthanorError(error) && !(error instanceof DatabaseError)) return error;
  return new StatementFailure(error, statement);
}

function locatedOf(error: unknown): { error: unknown; statement: StatementRef | null } {
  return error instanceof StatementFailure ? { error: error.error, statement: error.statement } : { error, statement: null };
}

/**
 * What a revision's failure carries: the failure with its statement when one is known
 * (`located`), the error inside it (unwrapped from the round trip that carried it), that
 * error as athanor's own when it is one, and its SQLSTATE.
 */
function serverCause(error: unknown): { located: { error: unknown; statement: StatementRef | null }; cause: unknown; dbError: AthanorError | null; sqlstate: string | undefined } {
  const located = locatedOf(error);
  const cause = located.error instanceof ScriptFailure ? located.error.error : located.error;
  const dbError = isAthanorError(cause) ? cause : null;
  return { located, cause, dbError, sqlstate: sqlstateOf(dbError) };
}

/**
 * What a failed run kept: `committed` are on the server's disk (flushed by a later
 * synchronous commit), `unflushed` were acknowledged with `synchronous_commit = off` and
 * never flushed by this run (the connection was lost, or the failure could not be recorded).
 */
export function keptSentence(committed: readonly string[], unflushed: readonly string[], lost: boolean): string {
  const flushed = committed.length === 0 ? (unflushed.length === 0 ? "Nothing was committed in this run." : "Nothing committed in this run is known to be on the server's disk.") : `Committed before it in this run (flushed to the server's disk): ${listIds(committed)}.`;
  if (unflushed.length === 0) return flushed;
  const when = lost ? "when the connection was lost" : "when the run stopped (its failure could not be recorded)";
  return `${flushed} Acknowledged by the server but not yet flushed ${when}: ${listIds(unflushed)}; if the server crashed they may be lost: \`athanor current\` shows what it kept, and the next \`athanor upgrade\` applies any it lost.`;
}

function listIds(ids: readonly string[]): string {
  return ids.length <= 10 ? ids.join(", ") : `${ids.slice(0, 5).join(", ")}, ... ${ids.slice(-3).join(", ")} (${ids.length} revisions)`;
}

/**
 * The statement of `statements` (in order, each `text` as written in `sql`) whose text
 * holds the 0-based code-point `offset` into `sql`; undefined when the texts cannot be
 * found in order or the offset is outside them.
 */
function statementAtOffset(sql: string, statements: readonly SqlStatement[], offset: number): SqlStatement | undefined {
  // The server counts characters (code points); indexOf counts UTF-16 code units.
  let at = 0;
  for (let points = 0; points < offset && at < sql.length; points++) at += (sql.codePointAt(at) ?? 0) > 0xffff ? 2 : 1;
  let cursor = 0;
  for (const statement of statements) {
    const start = sql.indexOf(statement.text, cursor);
    if (start === -1) return undefined;
    const end = start + statement.text.length;
    if (at >= start && at <= end) return statement;
    cursor = end;
  }
  return undefined;
}

/** File line of a 0-based code-point offset into a section, or null when outside it. */
function lineAtPosition(section: SqlSection, offset: number): number | null {
  if (offset < 0) return null;
  let index = 0;
  let line = section.line;
  for (const ch of section.sql) {
    if (index === offset) return line;
    if (ch === "\n") line++;
    index++;
  }
  return index === offset ? line : null;
}

/** A statement shortened for a one-line message. */
function abbreviate(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 197)}...` : flat;
}
