/**
 * The executor: runs a Plan on a Session (the lock is held and the version tables exist).
 *
 * - Each revision runs in its own transaction, and an SQL revision goes to the server as
 *   ONE simple-protocol round trip: `BEGIN; <section>; <version row>; <history row>; COMMIT;`.
 *   That is what keeps 1,000 revisions close to `psql -1 -f`.
 * - `transaction false` revisions run statement by statement outside any transaction
 *   (PostgreSQL runs a multi-statement string as one implicit transaction, in which
 *   CREATE INDEX CONCURRENTLY fails), recorded as `started` before and `applied` after.
 * - `singleTransaction` wraps the whole plan in one transaction.
 * - A failure rolls back the revision's transaction, records a `failed` history row and
 *   throws a DatabaseError naming the revision, its file, the failing statement and its
 *   file line.
 * - An abort (SIGINT/SIGTERM) cancels the running statement, rolls back and throws
 *   InterruptedError.
 */
import { performance } from "node:perf_hooks";
import type { ResolvedEnvironment } from "../config/types.js";
import type { MigrationContext, MigrationSql } from "../define.js";
import type { Session } from "../dialects/types.js";
import { ConfigError, DatabaseError, InterruptedError, RevisionError, isAthanorError, type AthanorError } from "../errors.js";
import type { SqlStatement } from "../lint/parse.js";
import type { Plan, Step } from "../plan/types.js";
import { loadRevisionBody, type MigrationFunction, type RevisionBody } from "../revisions/script-directory.js";
import type { SqlSection } from "../revisions/sql-sections.js";
import type { RevisionFile } from "../revisions/types.js";
import { scrubSecrets } from "../secrets/redact.js";
import { toEventError, type EventInput } from "./events.js";
import { interrupted } from "./lock.js";
import {
  ROUND_TRIP_TIMING,
  deleteVersionRowSql,
  finishVersionRowSql,
  insertHistorySql,
  insertVersionRowSql,
  measuredTiming,
  startVersionRowSql,
  versionTables,
  type RunIdentity,
  type StepTiming,
  type VersionTables,
} from "./version-table.js";

/** What {@link executePlan} needs. */
export interface ExecutePlanOptions {
  readonly env: Pick<ResolvedEnvironment, "name" | "echo" | "secrets" | "versionTable">;
  readonly session: Session;
  readonly plan: Plan;
  readonly identity: RunIdentity;
  /** Run the whole plan in one transaction. */
  readonly singleTransaction?: boolean | undefined;
  /** SIGINT/SIGTERM: cancel the running statement, roll back, stop. */
  readonly signal?: AbortSignal | undefined;
  readonly emit: (event: EventInput) => void;
  /** Filled as revisions commit, so the caller knows how far a failed run got. */
  readonly progress?: { completed: Step[] } | undefined;
}

/** A step with its body loaded (and its statements split, when they are needed). */
interface PreparedStep {
  readonly step: Step;
  readonly file: RevisionFile;
  readonly body: SqlSection | MigrationFunction;
  /** Split statements: for echo and for non-transactional SQL revisions. */
  readonly statements: readonly SqlStatement[] | null;
}

const FAILED_SQLSTATE_NO_RERUN = /^(08|40|53|57|58|XX)|^55P03$/;

/**
 * Runs every step of `plan` in order. Resolves with the steps that committed; on failure
 * throws (DatabaseError exit 1, InterruptedError 130/143, RevisionError 2) after rolling
 * back the running revision, with `progress.completed` holding what committed before.
 */
export async function executePlan(options: ExecutePlanOptions): Promise<Step[]> {
  const { plan, session, signal } = options;
  const completed = options.progress?.completed ?? [];
  if (plan.steps.length === 0) return completed;
  const single = options.singleTransaction === true;
  if (single) {
    const blocking = plan.steps.find((step) => !step.revision.transactional);
    if (blocking !== undefined) {
      throw new ConfigError("single-transaction-not-possible", `revision ${blocking.revision.id} (${blocking.revision.relativePath}) is non-transactional (\`transaction false\`) and cannot run inside --single-transaction`, {
        hint: "Run without --single-transaction, or move the non-transactional statements to a revision of their own and run up to the revision before it first.",
        details: { revision: blocking.revision.id, file: blocking.revision.relativePath },
      });
    }
  }
  const prepared = await prepareSteps(plan.steps, options.env.echo);
  const runner = new StepRunner(options);

  // A signal cancels whatever statement is running; the failure it causes is turned into
  // InterruptedError below.
  const onAbort = () => {
    void session.cancel();
  };
  signal?.addEventListener("abort", onAbort);
  try {
    if (single) {
      await runner.runSingleTransaction(prepared, completed);
    } else {
      let size = 1;
      for (let index = 0; index < prepared.length; ) {
        if (signal?.aborted) throw interrupted(signal);
        const batch = takeBatch(prepared, index, size, options.env.echo);
        const started = performance.now();
        if (batch.length === 1) {
          const item = batch[0] as PreparedStep;
          await runner.runStep(item, index, prepared.length);
          completed.push(item.step);
        } else {
          await runner.runBatch(batch, index, prepared.length, completed);
        }
        index += batch.length;
        // Quick revisions travel together; a slow one is followed by revisions sent one by
        // one again, so a long revision's progress is shown while it runs.
        size = performance.now() - started < FAST_BATCH_MS ? Math.min(size * 2, MAX_BATCH) : 1;
      }
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  return completed;
}

/** A batch that ran faster than this lets the next one be twice as big. */
const FAST_BATCH_MS = 100;
/** At most this many revisions per round trip, */
const MAX_BATCH = 64;
/** and at most this much SQL text. */
const MAX_BATCH_CHARS = 256 * 1024;

/** True for a revision that can share a round trip: a transactional SQL revision sent whole. */
function batchable(item: PreparedStep, echo: boolean): boolean {
  return item.file.transactional && typeof item.body !== "function" && !(echo && item.statements !== null);
}

/** Up to `size` consecutive batchable steps from `start` (always at least one step). */
function takeBatch(prepared: readonly PreparedStep[], start: number, size: number, echo: boolean): PreparedStep[] {
  const first = prepared[start] as PreparedStep;
  const batch = [first];
  if (!batchable(first, echo)) return batch;
  let chars = (first.body as SqlSection).sql.length;
  for (let i = start + 1; i < prepared.length && batch.length < size; i++) {
    const item = prepared[i] as PreparedStep;
    if (!batchable(item, echo)) break;
    chars += (item.body as SqlSection).sql.length;
    if (chars > MAX_BATCH_CHARS) break;
    batch.push(item);
  }
  return batch;
}

/** Loads every body before anything runs: a broken file stops the run before its first change. */
async function prepareSteps(steps: readonly Step[], echo: boolean): Promise<PreparedStep[]> {
  const bodies: RevisionBody[] = new Array(steps.length);
  let next = 0;
  const worker = async () => {
    while (next < steps.length) {
      const i = next++;
      bodies[i] = await loadRevisionBody((steps[i] as Step).revision);
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, steps.length) }, worker));
  const prepared: PreparedStep[] = [];
  for (const [i, step] of steps.entries()) {
    const file = step.revision;
    const body = bodies[i] as RevisionBody;
    const part = step.direction === "up" ? body.upgrade : body.downgrade;
    if (part === null) {
      throw new RevisionError("irreversible-revision", `revision ${file.id} (${file.relativePath}) has no downgrade${body.format === "sql" ? " section" : " function"}, so it cannot be reverted`, {
        hint:
          body.format === "sql"
            ? `Add a \`-- athanor:downgrade\` section to ${file.relativePath}, or downgrade to a target above ${file.id}.`
            : `Add \`async downgrade({ sql }) { ... }\` to ${file.relativePath}, or downgrade to a target above ${file.id}.`,
        details: { revision: file.id, file: file.relativePath },
      });
    }
    let statements: SqlStatement[] | null = null;
    if (body.format === "sql" && (echo || !file.transactional)) {
      const { splitStatements } = await import("../lint/parse.js");
      statements = await splitStatements((part as SqlSection).sql, (part as SqlSection).line, { file: file.relativePath });
    }
    prepared.push({ step, file, body: part, statements });
  }
  return prepared;
}

/** Runs prepared steps; holds what every step shares. */
class StepRunner {
  private readonly tables: VersionTables;
  /** Statements run one by one, per revision (observability: `statements` of revision-end). */
  private readonly statementCounts = new Map<PreparedStep, number>();

  constructor(private readonly options: ExecutePlanOptions) {
    this.tables = versionTables(options.env.versionTable);
  }

  private get session(): Session {
    return this.options.session;
  }

  /** One revision in its own transaction, or outside any for a non-transactional one. */
  async runStep(item: PreparedStep, index: number, total: number): Promise<void> {
    const started = performance.now();
    this.emitStart(item, index, total);
    let sentOffset: number | undefined;
    try {
      if (!item.file.transactional) {
        await this.runOutsideTransaction(item, started);
      } else if (typeof item.body === "function") {
        await this.runFunctionInTransaction(item, item.body, started, lazyCommit(index, total));
      } else if (this.options.env.echo && item.statements !== null) {
        await this.runEchoedInTransaction(item, item.statements, started, lazyCommit(index, total));
      } else {
        this.emitStatements(item);
        sentOffset = codePoints("BEGIN;\n");
        await this.session.exec(`BEGIN;\n${item.body.sql}\n;\n${this.bookkeeping(item, ROUND_TRIP_TIMING)}\n${lazyCommit(index, total)}COMMIT;`);
      }
    } catch (error) {
      throw await this.fail(item, error, started, { single: false, sentOffset });
    }
    this.emitEnd(item, started, "success");
  }

  /**
   * Several quick SQL revisions in one round trip, each still in its own transaction:
   * `BEGIN; <mark start>; <section>; <rows>; COMMIT; BEGIN; ...`. The server stops at the
   * first error, so the revisions before it are committed and the rest never ran. Their
   * events are emitted once the round trip is back, with the durations the server measured.
   */
  async runBatch(items: readonly PreparedStep[], firstIndex: number, total: number, completed: Step[]): Promise<void> {
    const started = performance.now();
    let text = "";
    let offset = 0;
    const sectionOffsets: number[] = [];
    for (const [k, item] of items.entries()) {
      const head = `BEGIN;\n${MARK_REVISION_START}\n`;
      const sql = (item.body as SqlSection).sql;
      const tail = `\n;\n${this.bookkeeping(item, MARKED_TIMING)}\n${lazyCommit(firstIndex + k, total)}COMMIT;\n`;
      offset += codePoints(head);
      sectionOffsets.push(offset);
      offset += codePoints(sql) + codePoints(tail);
      text += head + sql + tail;
    }
    try {
      await this.session.exec(text);
    } catch (error) {
      await this.session.exec("ROLLBACK").catch(() => {});
      const failedAt = failedMemberFromPosition(error, sectionOffsets) ?? (await this.firstNotCommitted(items));
      const done = items.slice(0, failedAt);
      await this.emitCommitted(done, firstIndex, total);
      completed.push(...done.map((item) => item.step));
      const failing = items[failedAt] ?? (items[items.length - 1] as PreparedStep);
      this.emitStart(failing, firstIndex + failedAt, total);
      throw await this.fail(failing, error, started, { single: false, sentOffset: sectionOffsets[failedAt] });
    }
    await this.emitCommitted(items, firstIndex, total);
    completed.push(...items.map((item) => item.step));
  }

  /** Index of the first batch member whose change is not committed (its version row says). */
  private async firstNotCommitted(items: readonly PreparedStep[]): Promise<number> {
    try {
      const result = await this.session.query<{ revision: string }>(`SELECT revision FROM ${this.tables.versions} WHERE revision = ANY($1::text[])`, [items.map((item) => item.file.id)]);
      const present = new Set(result.rows.map((row) => row.revision));
      const index = items.findIndex((item) => (item.step.direction === "up" ? !present.has(item.file.id) : present.has(item.file.id)));
      return index === -1 ? items.length - 1 : index;
    } catch {
      return 0;
    }
  }

  /** revision-start and revision-end of batch members that committed, with the durations in their history rows. */
  private async emitCommitted(items: readonly PreparedStep[], firstIndex: number, total: number): Promise<void> {
    if (items.length === 0) return;
    const durations = new Map<string, number>();
    try {
      const result = await this.session.query<{ revision: string; duration_ms: number | null }>(
        `SELECT DISTINCT ON (revision) revision, duration_ms FROM ${this.tables.history} WHERE revision = ANY($1::text[]) AND outcome = 'success' ORDER BY revision, id DESC`,
        [items.map((item) => item.file.id)],
      );
      for (const row of result.rows) if (row.duration_ms !== null) durations.set(row.revision, Number(row.duration_ms));
    } catch {
      // Durations are for people; the run itself succeeded.
    }
    for (const [k, item] of items.entries()) {
      this.emitStart(item, firstIndex + k, total);
      this.emitEnd(item, performance.now(), "success", undefined, durations.get(item.file.id) ?? 0);
    }
  }

  /** The whole plan in one transaction: one BEGIN, every revision and its rows, one COMMIT. */
  async runSingleTransaction(prepared: readonly PreparedStep[], completed: Step[]): Promise<void> {
    const { signal } = this.options;
    await this.session.exec("BEGIN");
    let current: PreparedStep | null = null;
    let started = performance.now();
    const done: Step[] = [];
    try {
      for (const [index, item] of prepared.entries()) {
        if (signal?.aborted) throw interrupted(signal);
        current = item;
        started = performance.now();
        this.emitStart(item, index, prepared.length);
        if (typeof item.body === "function") {
          await this.callFunction(item, item.body);
          await this.session.exec(this.bookkeeping(item, measuredTiming(performance.now() - started)));
        } else if (this.options.env.echo && item.statements !== null) {
          await this.runStatements(item, item.statements);
          await this.session.exec(this.bookkeeping(item, measuredTiming(performance.now() - started)));
        } else {
          this.emitStatements(item);
          await this.session.exec(`${item.body.sql}\n;\n${this.bookkeeping(item, ROUND_TRIP_TIMING)}`);
        }
        this.emitEnd(item, started, "success");
        done.push(item.step);
      }
      current = null;
      if (signal?.aborted) throw interrupted(signal);
      await this.session.exec("COMMIT");
    } catch (error) {
      // COMMIT itself may fail (a deferred constraint): blame the last revision.
      const blamed = current ?? prepared[prepared.length - 1];
      if (blamed === undefined) throw error;
      throw await this.fail(blamed, error, started, { single: true, sentOffset: typeof blamed.body === "function" ? undefined : 0 });
    }
    completed.push(...done);
  }

  private async runFunctionInTransaction(item: PreparedStep, fn: MigrationFunction, started: number, beforeCommit: string): Promise<void> {
    await this.session.exec("BEGIN");
    await this.callFunction(item, fn);
    if (this.options.signal?.aborted) throw interrupted(this.options.signal);
    await this.session.exec(`${this.bookkeeping(item, measuredTiming(performance.now() - started))}\n${beforeCommit}COMMIT;`);
  }

  /**
   * A non-transactional revision: its row says `started` before the first statement, and
   * `applied` (or is deleted, going down) after the last. A failure in between leaves it
   * `started`, which blocks later runs until `athanor resolve`.
   */
  private async runOutsideTransaction(item: PreparedStep, started: number): Promise<void> {
    const { file, step } = item;
    await this.session.exec(
      step.direction === "up"
        ? insertVersionRowSql(this.tables, this.options.identity, file.id, file.checksum, "started", ROUND_TRIP_TIMING)
        : startVersionRowSql(this.tables, file.id),
    );
    if (typeof item.body === "function") {
      await this.callFunction(item, item.body);
    } else {
      await this.runStatements(item, item.statements ?? []);
    }
    const timing = measuredTiming(performance.now() - started);
    const row = step.direction === "up" ? finishVersionRowSql(this.tables, this.options.identity, file.id, file.checksum, timing) : deleteVersionRowSql(this.tables, file.id);
    await this.session.exec(`BEGIN;\n${row}\n${insertHistorySql(this.tables, this.options.identity, { direction: step.direction, revision: file.id, outcome: "success" }, timing)}\nCOMMIT;`);
  }

  /**
   * `echo: true` (observability): the section's statements one round trip each inside
   * the revision's transaction, so each is logged with its own duration.
   */
  private async runEchoedInTransaction(item: PreparedStep, statements: readonly SqlStatement[], started: number, beforeCommit: string): Promise<void> {
    await this.session.exec("BEGIN");
    await this.runStatements(item, statements);
    if (this.options.signal?.aborted) throw interrupted(this.options.signal);
    await this.session.exec(`${this.bookkeeping(item, measuredTiming(performance.now() - started))}\n${beforeCommit}COMMIT;`);
  }

  /** Split statements one by one; a failure names its statement. */
  private async runStatements(item: PreparedStep, statements: readonly SqlStatement[]): Promise<void> {
    for (const statement of statements) {
      if (this.options.signal?.aborted) throw interrupted(this.options.signal);
      try {
        await this.timed(item, statement.text, statement.line, () => this.session.exec(statement.text));
      } catch (error) {
        throw withStatement(error, statement);
      }
    }
  }

  /** Runs one statement: counted for the revision-end event, and (echo) logged with its duration once it ran. */
  private async timed<T>(item: PreparedStep, sql: string, line: number | null, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    this.statementCounts.set(item, (this.statementCounts.get(item) ?? 0) + 1);
    try {
      return await run();
    } finally {
      this.emitStatement(item, sql, line, performance.now() - started);
    }
  }

  /** Calls a TypeScript revision's function with `sql` bound to the session. */
  private async callFunction(item: PreparedStep, fn: MigrationFunction): Promise<void> {
    const context: MigrationContext = { sql: this.sqlFor(item), environment: this.options.env.name };
    await fn(context);
  }

  /** The `sql` tag given to TypeScript revisions: bound parameters, on this session. */
  private sqlFor(item: PreparedStep): MigrationSql {
    const session = this.session;
    const sql = (async (strings: TemplateStringsArray, ...values: unknown[]) => {
      let text = strings[0] ?? "";
      for (let i = 0; i < values.length; i++) text += `$${i + 1}${strings[i + 1] ?? ""}`;
      try {
        const result = await this.timed(item, text, null, () => session.query<Record<string, unknown>>(text, values));
        return result.rows;
      } catch (error) {
        throw withStatement(error, { text, line: null });
      }
    }) as MigrationSql;
    sql.unsafe = async (text: string) => {
      try {
        await this.timed(item, text, null, () => session.exec(text));
      } catch (error) {
        throw withStatement(error, { text, line: null });
      }
    };
    return sql;
  }

  /** The version row and the history row of a step that succeeded. */
  private bookkeeping(item: PreparedStep, timing: StepTiming): string {
    const { file, step } = item;
    const row =
      step.direction === "up"
        ? insertVersionRowSql(this.tables, this.options.identity, file.id, file.checksum, "applied", timing)
        : deleteVersionRowSql(this.tables, file.id);
    return `${row}\n${insertHistorySql(this.tables, this.options.identity, { direction: step.direction, revision: file.id, outcome: "success" }, timing)}`;
  }

  /**
   * Turns a failure into the error to throw: rolls back, names the statement and its
   * line, records a failed history row, emits revision-end.
   */
  private async fail(item: PreparedStep, error: unknown, started: number, how: FailureContext): Promise<AthanorError> {
    const { signal } = this.options;
    // Outside a transaction ROLLBACK only warns; inside one it ends it.
    await this.session.exec("ROLLBACK").catch(() => {});
    let failure: AthanorError;
    if (signal?.aborted) {
      failure = interrupted(signal);
      if (!item.file.transactional) {
        failure = new InterruptedError(failure instanceof InterruptedError ? failure.signal : "SIGINT", {
          hint: `Revision ${item.file.id} is non-transactional and was interrupted: it stays recorded as started. Check the database, then run \`athanor resolve ${item.file.id} --applied\` or \`--rolled-back\`.`,
        });
      }
    } else if (isAthanorError(error) && !(error instanceof DatabaseError)) {
      failure = error;
    } else {
      failure = await this.describeFailure(item, error, how);
    }
    const durationMs = performance.now() - started;
    const message = scrubSecrets(failure.message, this.options.env.secrets);
    await this.session
      .exec(insertHistorySql(this.tables, this.options.identity, { direction: item.step.direction, revision: item.file.id, outcome: "failed", error: message }, measuredTiming(durationMs)))
      .catch(() => {});
    this.emitEnd(item, started, signal?.aborted ? "interrupted" : "failed", failure);
    return failure;
  }

  /** A DatabaseError that names the revision, its file, the statement and its line. */
  private async describeFailure(item: PreparedStep, error: unknown, how: FailureContext): Promise<DatabaseError> {
    const { file, step } = item;
    const secrets = this.options.env.secrets;
    const located = locatedOf(error);
    const dbError = isAthanorError(located.error) ? located.error : null;
    const serverMessage = scrubSecrets(
      dbError?.message ?? (located.error instanceof Error ? located.error.message : String(located.error)),
      secrets,
    );
    const sqlstate = typeof dbError?.details["sqlstate"] === "string" ? dbError.details["sqlstate"] : undefined;
    let statement: { text: string; line: number | null } | null = located.statement;
    if (statement === null && typeof item.body !== "function") {
      statement = await this.findFailingStatement(item, item.body, dbError, sqlstate, how);
    }
    const where = statement?.line != null ? `${file.relativePath}:${statement.line}` : file.relativePath;
    const verb = step.direction === "up" ? "upgrade" : "downgrade";
    const lost = isConnectionLoss(located.error, sqlstate);
    const lines = [`revision ${file.id} (${file.message || "no message"}) failed to ${verb} at ${where}: ${lost ? `the connection to the server was lost (${serverMessage})` : serverMessage}`];
    if (statement !== null) lines.push(`  statement: ${abbreviate(maskPasswords(statement.text))}`);
    const serverHint = dbError?.hint;
    const stateHint = !file.transactional
      ? `Revision ${file.id} is non-transactional: the statements before the failing one stay done and it is recorded as started. Fix the database and the file, then run \`athanor resolve ${file.id} --applied\` or \`--rolled-back\`.`
      : lost
        ? `The server restarted, failed over, ended the session or became unreachable: PostgreSQL rolled back the open transaction (${how.single ? "the whole plan" : `revision ${file.id}`}), unless its COMMIT had already reached the server${how.single ? "" : "; the revisions before it stay applied"}. Once the server is back, \`athanor status\` shows where the database stands; run \`athanor ${verb}\` again.`
        : how.single
        ? "The whole plan ran in one transaction and was rolled back: nothing was applied."
        : `Revision ${file.id} was rolled back; the revisions before it stay applied. Fix ${where} and run \`athanor ${verb}\` again.`;
    return new DatabaseError("migration-failed", lines.join("\n"), {
      hint: serverHint ? `${scrubSecrets(serverHint, secrets)} ${stateHint}` : stateHint,
      details: {
        revision: file.id,
        file: file.relativePath,
        direction: step.direction,
        line: statement?.line ?? null,
        statement: statement === null ? null : scrubSecrets(maskPasswords(statement.text), secrets),
        ...(sqlstate === undefined ? {} : { sqlstate }),
        ...(dbError?.details["detail"] !== undefined ? { detail: dbError.details["detail"] } : {}),
      },
    });
  }

  /**
   * Which statement of an SQL section failed: from the server's error position when it
   * gives one, else by running the statements one by one in a transaction that is rolled
   * back (not for timeouts, cancellations, lost connections or a single-transaction plan).
   */
  private async findFailingStatement(
    item: PreparedStep,
    section: SqlSection,
    dbError: AthanorError | null,
    sqlstate: string | undefined,
    how: FailureContext,
  ): Promise<{ text: string; line: number | null } | null> {
    let statements: readonly SqlStatement[] | null = item.statements;
    const split = async (): Promise<readonly SqlStatement[] | null> => {
      if (statements !== null) return statements;
      try {
        const { splitStatements } = await import("../lint/parse.js");
        statements = await splitStatements(section.sql, section.line, { file: item.file.relativePath });
      } catch (error) {
        if (error instanceof RevisionError && "line" in error && typeof error.line === "number") {
          const text = section.sql.split("\n")[error.line - section.line] ?? "";
          statements = [{ text: text.trim(), line: error.line, endLine: error.line, kind: "unknown", ast: {} } as SqlStatement];
        } else {
          statements = null;
        }
      }
      return statements;
    };
    const position = dbError?.details["position"];
    if (typeof position === "number" && Number.isFinite(position) && how.sentOffset !== undefined) {
      const line = lineAtPosition(section, position - 1 - how.sentOffset);
      if (line !== null) {
        const all = await split();
        const hit = all?.find((s) => s.line <= line && line <= s.endLine) ?? all?.filter((s) => s.line <= line).pop();
        return { text: hit?.text ?? section.sql.split("\n")[line - section.line]?.trim() ?? "", line: hit?.line ?? line };
      }
    }
    if (how.single || (sqlstate !== undefined && FAILED_SQLSTATE_NO_RERUN.test(sqlstate))) return null;
    const all = await split();
    if (all === null || all.length === 0) return null;
    if (all.length === 1) return { text: (all[0] as SqlStatement).text, line: (all[0] as SqlStatement).line };
    // Run them again, one round trip each, inside a transaction that is always rolled back.
    let culprit: SqlStatement | null = null;
    try {
      await this.session.exec("BEGIN");
      for (const statement of all) {
        if (this.options.signal?.aborted) break;
        try {
          await this.session.exec(statement.text);
        } catch {
          culprit = statement;
          break;
        }
      }
    } catch {
      culprit = null;
    } finally {
      await this.session.exec("ROLLBACK").catch(() => {});
    }
    return culprit === null ? null : { text: culprit.text, line: culprit.line };
  }

  private emitStart(item: PreparedStep, index: number, total: number): void {
    this.options.emit({
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

  private emitEnd(item: PreparedStep, started: number, outcome: "success" | "failed" | "interrupted", error?: unknown, durationMs?: number): void {
    this.options.emit({
      type: "revision-end",
      revision: item.file.id,
      message: item.file.message,
      file: item.file.relativePath,
      direction: item.step.direction,
      durationMs: Math.round(durationMs ?? performance.now() - started),
      ...this.statementsOf(item),
      outcome,
      ...(error === undefined ? {} : { error: toEventError(error) }),
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
    this.options.emit({ type: "statement", revision: item.file.id, file: item.file.relativePath, line, sql, ...(durationMs === undefined ? {} : { durationMs: Math.round(durationMs * 100) / 100 }) });
  }
}

/** How a failed revision ran: in a single-transaction plan or not, and what preceded its SQL in the text sent. */
interface FailureContext {
  readonly single: boolean;
  /** Code points sent before the section's SQL in the same query string (to map the error position); undefined when not sent that way. */
  readonly sentOffset: number | undefined;
}

/**
 * True when the failure is the loss of the connection rather than the SQL: SQLSTATE
 * class 08 (connection exception), 57P01-57P03 (server shutting down, crashed, not
 * accepting connections), or the driver's own socket errors, which carry no SQLSTATE.
 */
function isConnectionLoss(error: unknown, sqlstate: string | undefined): boolean {
  if (sqlstate !== undefined) return /^08|^57P0[123]$/.test(sqlstate) || /^E(CONNRESET|PIPE|CONNREFUSED|TIMEDOUT)$/.test(sqlstate);
  const message = error instanceof Error ? error.message : String(error);
  return /Connection terminated|connection (was )?closed|server closed the connection|Client has encountered a connection error|not queryable/i.test(message);
}

/** A driver error together with the statement that raised it (when the executor knows). */
class StatementFailure extends Error {
  constructor(
    readonly error: unknown,
    readonly statement: { text: string; line: number | null },
  ) {
    super(error instanceof Error ? error.message : String(error));
  }
}

function withStatement(error: unknown, statement: { text: string; line: number | null }): unknown {
  if (error instanceof StatementFailure) return error;
  if (isAthanorError(error) && !(error instanceof DatabaseError)) return error;
  return new StatementFailure(error, statement);
}

function locatedOf(error: unknown): { error: unknown; statement: { text: string; line: number | null } | null } {
  return error instanceof StatementFailure ? { error: error.error, statement: error.statement } : { error, statement: null };
}

/** Marks when a batched revision starts (a transaction-local setting), for its duration. */
const MARK_REVISION_START = "SELECT set_config('athanor.started', extract(epoch FROM clock_timestamp())::text, true);";

/** Timing of a batched revision, from its mark. */
const MARKED_TIMING: StepTiming = {
  startedAt: "to_timestamp(current_setting('athanor.started')::double precision)",
  durationMs: "((extract(epoch FROM clock_timestamp()) - current_setting('athanor.started')::double precision) * 1000)::integer",
};

/** The batch member the server's error position falls in, when it gives one. */
function failedMemberFromPosition(error: unknown, sectionOffsets: readonly number[]): number | null {
  const position = isAthanorError(error) ? error.details["position"] : undefined;
  if (typeof position !== "number" || !Number.isFinite(position)) return null;
  let member: number | null = null;
  for (const [k, offset] of sectionOffsets.entries()) if (offset <= position - 1) member = k;
  return member;
}

/**
 * Every revision but the plan's last commits without waiting for its WAL flush: the
 * last commit's flush (and synchronous replication) covers every earlier commit, because
 * WAL is written in order. A crash in between loses whole revisions together with
 * their version rows, never half of one, and the run has not reported success. This
 * keeps a plan of many small revisions close to one transaction (`psql -1`).
 */
function lazyCommit(index: number, total: number): string {
  return index < total - 1 ? "SET LOCAL synchronous_commit = off;\n" : "";
}

function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
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
/** `CREATE ROLE app PASSWORD '...'` → `PASSWORD '***'`: a revision's literal password stays out of messages and history. */
export function maskPasswords(text: string): string {
  return text.replace(/(PASSWORD\s+)(E?'(?:[^']|'')*')/gi, "$1'***'");
}

function abbreviate(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 197)}...` : flat;
}
