/**
 * Every write to athanor's own tables — the version table, its history and its meta
 * table — goes through this module: creating them, recording a step (in the step's own
 * transaction), a failure, a stamp, a resolve, a repair, a meta value. The SQL text is
 * built by src/run/version-table.ts (pure); this module decides what is written together
 * and sends it through the session, so the commands never write bookkeeping themselves.
 */
import { ScriptFailure, type Session } from "../dialects/types.js";
import { DatabaseError } from "../errors.js";
import type { Step } from "../plan/types.js";
import {
  deallocateSql,
  deleteVersionRowSql,
  executeStepRecordSql,
  finishVersionRowSql,
  insertHistorySql,
  insertVersionRowSql,
  measuredTiming,
  prepareStepRecordSql,
  refreshVersionRowSql,
  startVersionRowSql,
  updateChecksumSql,
  upsertMetaSql,
  versionTables,
  versionTablesDdl,
  widenOutcomeCheckSql,
  type HistoryEntry,
  type RunIdentity,
  type StepTiming,
  type VersionTableName,
  type VersionTables,
} from "./version-table.js";
import { quoteIdent } from "../dialects/sql.js";
import { CAPTURE_BASELINE_SQL, parseBaseline, type BaselineRow, protectSql, restoreSql, statementTimeoutSql, type SessionBaseline } from "./session-state.js";
import { isLostConnection } from "./connection-loss.js";

/** Timing of a write that runs no migration (stamp, resolve, repair). */
const NO_DURATION: StepTiming = { startedAt: "clock_timestamp()", durationMs: "NULL" };

/** What {@link Bookkeeping.stamp} changes. */
export interface StampChanges {
  /** Revisions whose rows go, in this order. */
  readonly removed: readonly string[];
  /** Revisions recorded as applied, with their files' checksums. */
  readonly recorded: readonly { readonly revision: string; readonly checksum: string }[];
  /** Kept rows whose checksum becomes the file's and whose state becomes `applied`. */
  readonly refreshed: readonly { readonly revision: string; readonly checksum: string }[];
  /** Empty the version table first (`stamp --purge`). */
  readonly purge: boolean;
  /** The history row's revision column (the heads after the stamp) and note. */
  readonly heads: string | null;
  readonly note: string;
}

/** One checksum replaced by `repair`. */
export interface ChecksumRepair {
  readonly revision: string;
  readonly from: string;
  readonly to: string;
  readonly file: string;
}

/**
 * Records steps sent in scripts: `record(step)` gives the ONE statement that writes a
 * step's version and history rows, `release()` frees what `prepare` made on the session.
 */
export interface StepRecorder {
  record(step: Step): readonly string[];
  /**
   * The prepared statements may be gone (a revision may have run `DEALLOCATE`): every
   * later step is recorded with {@link Bookkeeping.stepDone}'s statements instead.
   */
  invalidate(): void;
  release(): Promise<void>;
}

/** What {@link Bookkeeping.probeTables} reads: the version tables' state. */
export interface TablesProbe {
  readonly schema_ok: boolean;
  readonly versions_ok: boolean;
  readonly history_ok: boolean;
  readonly meta_ok: boolean;
  readonly target_ok: boolean;
  readonly narrow_outcome: string | null;
}

/** Prepared statement names are unique per process and run, so a session the caller keeps can serve several runs. */
let preparedRuns = 0;

/** The writer of one environment's bookkeeping on one session. */
export class Bookkeeping {
  readonly tables: VersionTables;
  /** athanor's session state before any revision ran, read by {@link captureBaseline}; null until then. */
  private baseline: SessionBaseline | null = null;

  constructor(
    private readonly session: Session,
    private readonly versionTable: VersionTableName,
    private readonly identity: RunIdentity,
  ) {
    this.tables = versionTables(versionTable);
  }

  /**
   * Creates the version tables when any is missing. Called by changing commands, under
   * the migration lock. Checks first, so an existing setup needs no CREATE privilege.
   * `probed`: that check read ahead by the caller ({@link probeTables}), who holds the lock
   * and has run nothing since that creates or changes the tables.
   */
  async ensureTables(probed: Promise<TablesProbe | undefined> = this.probeTables()): Promise<void> {
    const t = this.tables;
    const row = await probed;
    // A fleet run names its target in the history: the column is added (nullable, so older
    // rows and older athanor versions keep working) the first time a fleet needs it.
    const addTarget = (this.identity.target ?? null) !== null && row?.target_ok !== true ? [`ALTER TABLE ${t.history} ADD COLUMN IF NOT EXISTS target text;`] : [];
    // A history table made before the `started` outcome existed accepts it from now on
    // (older athanor versions never write it, and read it as any other outcome).
    const widen = row?.narrow_outcome != null ? [widenOutcomeCheckSql(t, row.narrow_outcome)] : [];
    if (row !== undefined && row.schema_ok && row.versions_ok && row.history_ok && row.meta_ok) {
      if (addTarget.length + widen.length > 0) await this.atomically([...addTarget, ...widen]);
      return;
    }
    let ddl = versionTablesDdl(this.versionTable);
    if (row?.schema_ok === true) ddl = ddl.replace(/^CREATE SCHEMA IF NOT EXISTS [^\n]*\n/, "");
    await this.atomically([ddl, ...addTarget]).catch((error: unknown) => {
      throw tablesNotCreated(error);
    });
  }

  /**
   * What {@link ensureTables} decides from: which of the schema and tables exist, and
   * whether the history table lacks the `target` column or has the old outcome check.
   * Read-only; a run may read it ahead (src/run/migrate.ts) and hand it to ensureTables.
   */
  async probeTables(): Promise<TablesProbe | undefined> {
    const t = this.tables;
    const result = await this.session.query<TablesProbe>(
      "SELECT to_regnamespace($1) IS NOT NULL AS schema_ok, to_regclass($2) IS NOT NULL AS versions_ok, to_regclass($3) IS NOT NULL AS history_ok, to_regclass($4) IS NOT NULL AS meta_ok, " +
        "EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass($3) AND attname = 'target' AND NOT attisdropped) AS target_ok, " +
        "(SELECT conname FROM pg_constraint WHERE conrelid = to_regclass($3) AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%outcome%' AND pg_get_constraintdef(oid) NOT LIKE '%started%' LIMIT 1) AS narrow_outcome",
      [quoteIdent(this.versionTable.schema), t.versions, t.history, t.meta],
    );
    return result.rows[0];
  }

  /**
   * The statements recording a step that succeeded (its version row, its history row),
   * one statement each, to run in the step's own transaction.
   */
  stepDone(step: Step, timing: StepTiming): string[] {
    const { revision: file, direction } = step;
    const row =
      direction === "up"
        ? insertVersionRowSql(this.tables, this.identity, file.id, file.checksum, "applied", timing)
        : deleteVersionRowSql(this.tables, file.id);
    return [row, insertHistorySql(this.tables, this.identity, { direction, revision: file.id, outcome: "success" }, timing)];
  }

  /**
   * Prepares, in one round trip, the statements that record a step (one per direction:
   * version row and history row in one statement), so that each revision of a script
   * carries one short `EXECUTE` instead of two INSERTs parsed and planned again. Where
   * PREPARE is refused, the recorder falls back to {@link stepDone}'s statements.
   */
  async stepRecorder(timing: StepTiming): Promise<StepRecorder> {
    const run = `${process.pid}_${++preparedRuns}`;
    const names = { up: `athanor_step_up_${run}`, down: `athanor_step_down_${run}` };
    try {
      await this.session.exec(
        [prepareStepRecordSql(this.tables, this.identity, names.up, "up", timing), prepareStepRecordSql(this.tables, this.identity, names.down, "down", timing)].join("\n"),
      );
    } catch {
      return { record: (step) => this.stepDone(step, timing), invalidate: () => {}, release: async () => {} };
    }
    let prepared = true;
    return {
      record: (step) => (prepared ? [executeStepRecordSql(names[step.direction], step.revision.id, step.revision.checksum)] : this.stepDone(step, timing)),
      invalidate: () => {
        prepared = false;
      },
      release: async () => {
        // Best effort: a lost connection took its prepared statements with it.
        await this.session.exec(`${deallocateSql(names.up)}\n${deallocateSql(names.down)}`).catch(() => {});
      },
    };
  }

  /**
   * Reads athanor's session state before any revision runs (src/run/session-state.ts):
   * every revision that could change it is recorded with it, and the session put back to
   * it, by {@link asAthanorInTransaction}; non-transactional bookkeeping by {@link asAthanor}.
   */
  async captureBaseline(): Promise<void> {
    const result = await this.session.query<BaselineRow>(CAPTURE_BASELINE_SQL);
    const row = result.rows[0];
    this.baseline = row === undefined ? null : parseBaseline(row);
  }

  /**
   * The record of a revision that may have changed the session, sent in its transaction
   * after its statements: written as athanor's role with athanor's settings (`SET LOCAL`),
   * then followed by the restore of the session's state, which outlives the transaction
   * once it commits (a rollback undoes the revision's changes anyway). Unchanged before
   * {@link captureBaseline}.
   */
  asAthanorInTransaction(record: readonly string[]): readonly string[] {
    const baseline = this.baseline;
    return baseline === null ? record : [...protectSql(baseline), ...record, ...restoreSql(baseline)];
  }

  /**
   * Marks a non-transactional step as started before its first statement, committed on
   * its own: the version row (`started`, or an applied row turned `started` for a
   * downgrade) and a `started` history row, in one transaction. A failure, a killed
   * connection or a crash in between leaves both, which block later runs until
   * `athanor resolve` and tell `log` what began.
   */
  async stepStarting(step: Step): Promise<void> {
    const { revision: file, direction } = step;
    await this.asAthanor([
      direction === "up" ? insertVersionRowSql(this.tables, this.identity, file.id, file.checksum, "started", NO_DURATION) : startVersionRowSql(this.tables, file.id),
      insertHistorySql(this.tables, this.identity, { direction, revision: file.id, outcome: "started", note: "non-transactional: started; a later row says how it ended" }, NO_DURATION),
    ]);
  }

  /** Settles a non-transactional step that finished: its row and history, in one transaction. */
  async stepFinished(step: Step, durationMs: number): Promise<void> {
    const { revision: file, direction } = step;
    const timing = measuredTiming(durationMs);
    const row = direction === "up" ? finishVersionRowSql(this.tables, this.identity, file.id, file.checksum, timing) : deleteVersionRowSql(this.tables, file.id);
    await this.asAthanor([row, insertHistorySql(this.tables, this.identity, { direction, revision: file.id, outcome: "success" }, timing)]);
  }

  /**
   * A failed history row (after the step's transaction was rolled back). Best effort:
   * never throws (a lost connection writes nothing; a non-transactional step's `started`
   * row, committed before it ran, then says it never finished). True when it was written:
   * its commit, synchronous, flushed every commit of the session before it.
   */
  async stepFailed(step: Step, message: string, durationMs: number): Promise<boolean> {
    const entry: HistoryEntry = { direction: step.direction, revision: step.revision.id, outcome: "failed", error: message };
    const history = insertHistorySql(this.tables, this.identity, entry, measuredTiming(durationMs));
    return (step.revision.transactional ? this.session.exec(history) : this.asAthanor([history])).then(
      () => true,
      () => false,
    );
  }

  /**
   * Flushes the session's earlier commits (those made with `synchronous_commit = off`)
   * to the server's disk, where no bookkeeping row follows them: a transaction that takes
   * a transaction id commits with a WAL flush, which covers every commit before it.
   * Best effort: true when it committed.
   */
  async flushCommits(): Promise<boolean> {
    return this.session.transaction(async () => {
      await this.session.query("SELECT txid_current()");
    }).then(
      () => true,
      () => false,
    );
  }

  /** `stamp`: the version rows change as told, with one history row, in one transaction. */
  async stamp(changes: StampChanges): Promise<void> {
    const t = this.tables;
    await this.atomically([
      ...(changes.purge ? [`DELETE FROM ${t.versions};`] : changes.removed.map((id) => deleteVersionRowSql(t, id))),
      ...changes.recorded.map((r) => insertVersionRowSql(t, this.identity, r.revision, r.checksum, "applied", NO_DURATION)),
      ...changes.refreshed.map((r) => refreshVersionRowSql(t, r.revision, r.checksum)),
      insertHistorySql(t, this.identity, { direction: "stamp", revision: changes.heads, outcome: "success", note: changes.note }, NO_DURATION),
    ]);
  }

  /** `resolve`: an unfinished revision recorded as applied (with the file's checksum) or removed. */
  async resolve(revision: string, as: "applied" | "rolled-back", checksum: string): Promise<void> {
    const t = this.tables;
    const change = as === "applied" ? finishVersionRowSql(t, this.identity, revision, checksum, NO_DURATION) : deleteVersionRowSql(t, revision);
    await this.atomically([change, insertHistorySql(t, this.identity, { direction: "resolve", revision, outcome: "success", note: `resolved as ${as}` }, NO_DURATION)]);
  }

  /** `repair`: stored checksums replaced by the files', one history row each, in one transaction. */
  async repair(repairs: readonly ChecksumRepair[]): Promise<void> {
    const t = this.tables;
    await this.atomically(
      repairs.flatMap((r) => [
        updateChecksumSql(t, r.revision, r.to),
        insertHistorySql(t, this.identity, { direction: "repair", revision: r.revision, outcome: "success", note: `checksum ${r.from.slice(0, 12)} -> ${r.to.slice(0, 12)} (${r.file})` }, NO_DURATION),
      ]),
    );
  }

  /** Sets a meta value unless one is recorded (`overwrite: false`, e.g. the environment's identity). */
  async recordMeta(key: string, value: string, options: { readonly overwrite: boolean }): Promise<void> {
    await this.session.exec(upsertMetaSql(this.tables, key, value, options.overwrite));
  }

  /**
   * Statements in one transaction, written with settings athanor controls rather than
   * those a non-transactional revision may have left on the session: its statements run
   * outside any transaction, so a `SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`,
   * `SET default_transaction_read_only`, `SET ROLE`, `SET SESSION AUTHORIZATION` or a
   * timeout in it outlives it, and the bookkeeping written after it (its completion, its
   * failure) would fail or be written as another role. The session is put back as it was
   * when the plan began (`RESET ALL`, then the role and settings captured,
   * src/run/session-state.ts), at session level, so the next revision starts from there
   * too. `transaction_read_only` can be set because nothing ran yet in the transaction.
   */
  private async asAthanor(statements: readonly string[]): Promise<void> {
    const baseline = this.baseline;
    await this.atomically([...(baseline === null ? [] : statementTimeoutSql(baseline)), "SET LOCAL transaction_read_only = off;", ...(baseline === null ? [] : restoreSql(baseline)), ...statements]);
  }

  /** Statements in one transaction, one round trip. */
  private async atomically(statements: readonly string[]): Promise<void> {
    await this.session.runScript([{ prologue: [], body: statements.join("\n"), epilogue: [] }], { transactionPerPart: true }).catch((failure: unknown) => {
      throw failure instanceof ScriptFailure ? failure.error : failure;
    });
  }
}

/**
 * The version tables are created in one transaction: a connection lost meanwhile leaves
 * nothing behind (the server rolls it back), which the driver's bare message does not say.
 */
function tablesNotCreated(error: unknown): unknown {
  if (!(error instanceof DatabaseError)) return error;
  if (!isLostConnection(error)) return error;
  return new DatabaseError(error.code, `the connection to the server was lost while athanor created its version tables (${error.message})`, {
    hint: "Nothing was changed: the tables are created in one transaction, which the server rolled back. Once the server is back, run the command again.",
    details: error.details,
    cause: error,
  });
}
