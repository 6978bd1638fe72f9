/**
 * One `upgrade` or `downgrade` run, from the resolved environment to the committed
 * revisions (docs/architecture.md, "The flow of upgrade"): graph → lock → session →
 * applied state read under the lock → blocking problems → plan → guards
 * (`beforeExecute`) → version tables → execute → release → result. Also the dry run
 * (reads, plans, changes nothing, takes no lock) and offline SQL (no connection at all).
 */
import type { ResolvedEnvironment } from "../config/types.js";
import { driverLoaded, opensLocally } from "../dialects/open.js";
import { cancelRunning } from "../dialects/abortable-session.js";
import { nextTurn } from "../event-loop-turns.js";
import type { SharedLockConnections } from "../dialects/shared-locks.js";
import type { AbortSignalLike, Session } from "../dialects/types.js";
import { ConfigError, DatabaseError, InterruptedError, isAthanorError } from "../errors.js";
import { guardrailHook, type GuardrailOptions } from "../guard/hook.js";
import { readDatabaseIdentities, type RecordedIdentity } from "../guard/identity.js";
import { currentHeads, planDowngrade, planUpgrade } from "../plan/plan.js";
import type { Plan, Step } from "../plan/types.js";
import type { RevisionGraph } from "../revisions/graph.js";
import { loadRevisionGraph, projectCacheDir } from "../revisions/script-directory.js";
import { openLockedSession, openReadSession, runIdentity, type LockedSession } from "./connect.js";
import { eventEmitter, toEventError, type EventInput, type EventSink, type PlannedRevision, type RunCommand } from "./events.js";
import { Bookkeeping } from "./bookkeeping.js";
import { CheckAhead } from "./check-ahead.js";
import { checkUpgradeInText } from "./check-section.js";
import { executePlan, preparePlan, type PreparedStep } from "./execute.js";
import { renderOfflineScript } from "./offline.js";
import { waitForReplicas, type WalSample } from "./replica-lag.js";
import { assertRunnable } from "./problems.js";
import { assertStandardStrings } from "./standard-strings.js";
import { hashAppliedFiles } from "./hash-applied.js";
import { ownStatements } from "./timeout-errors.js";
import { EMPTY_STATE, readAppliedState, readAppliedSummary, type AppliedState, type AppliedSummary } from "./version-table.js";

/** What a guard sees before anything changes. */
export interface MigrationHookContext {
  readonly env: ResolvedEnvironment;
  readonly command: RunCommand;
  /** The migration session; the lock is held. */
  readonly session: Session;
  readonly graph: RevisionGraph;
  /** The version rows as read under the lock (empty when the table does not exist yet). */
  readonly state: AppliedState;
  /** Applied heads before the run. */
  readonly current: readonly string[];
  /**
   * What will run (for `stamp`: `up` steps are recorded, `down` steps are removed, nothing
   * runs; `repair` and `resolve` have no step).
   */
  readonly plan: Plan;
  /**
   * What the command changes besides the plan's steps, one line each, for the
   * confirmation: the rows a `stamp` drops or refreshes, the checksums `repair` stores,
   * the row `resolve` settles.
   */
  readonly otherChanges?: readonly string[] | undefined;
  readonly signal: AbortSignalLike | undefined;
  readonly emit: (event: EventInput) => void;
}

/**
 * A guard run after planning, with the lock held, before the first change: confirmation,
 * backup, linter gate, environment identity... It refuses by throwing (RefusedError, exit 3).
 * It is called even when the plan is empty (and may ignore that case).
 */
export type BeforeExecute = (context: MigrationHookContext) => Promise<void> | void;

/**
 * What the built-in guardrails see: the hook context, whose state may be the
 * {@link AppliedSummary} alone on a run with nothing to do on an unprotected environment
 * without hooks of the caller's own (the guardrails read rows only for `stamp`, which
 * always reads them all).
 */
export interface GuardrailContext extends Omit<MigrationHookContext, "state"> {
  readonly state: AppliedState | AppliedSummary;
  /** The database's identity records, read ahead under the lock (see {@link runMigration}); the guard reads them itself otherwise. */
  readonly identities?: Promise<readonly RecordedIdentity[]> | undefined;
}

/** A built-in guard: it accepts a {@link GuardrailContext}, so it is also a {@link BeforeExecute}. */
export type Guardrail = (context: GuardrailContext) => Promise<void> | void;

/**
 * The guards of a run, in order: the guardrails of DESIGN.md §6 (unless
 * `guardrails: false`), then the caller's own (`beforeExecute`).
 */
export function guardsFor(env: ResolvedEnvironment, options: GuardrailOptions & { readonly beforeExecute?: readonly BeforeExecute[] | undefined }): BeforeExecute[] {
  const builtIn = guardrailHook(env, options);
  return [...(builtIn === null ? [] : [builtIn]), ...(options.beforeExecute ?? [])];
}

/**
 * Options of {@link runMigration}. The guardrails (`yes`, `allowDangerous`, `noBackup`,
 * `guardrails`) apply by default: a protected environment is refused without `yes: true`.
 */
export interface RunMigrationOptions extends GuardrailOptions {
  readonly command: "upgrade" | "downgrade";
  /** As the user wrote it (`head`, `-1`, `3f2a`, ...). For offline SQL, `A:B` starts at A. */
  readonly target: string;
  /** Print the SQL instead of running it (no connection). */
  readonly sql?: boolean | undefined;
  /** Connect, read, plan, change nothing (no lock, no table created). */
  readonly dryRun?: boolean | undefined;
  readonly singleTransaction?: boolean | undefined;
  /** How long to wait for the migration lock (default 60 s). */
  readonly lockWaitMs?: number | undefined;
  readonly signal?: AbortSignalLike | undefined;
  readonly events?: EventSink | undefined;
  /** Guards of the caller's own, run after the guardrails. */
  readonly beforeExecute?: readonly BeforeExecute[] | undefined;
  /** A graph already built from `env.migrationsDir`. */
  readonly graph?: RevisionGraph | undefined;
  /** A session the caller owns (not closed here), e.g. an in-memory PGlite database. */
  readonly session?: Session | undefined;
  /** Lock connections shared by a fleet's targets on one database (each target keeps its own lock). */
  readonly sharedLocks?: SharedLockConnections | undefined;
}

/** What a run did. */
export interface MigrationResult {
  readonly environment: string;
  readonly command: "upgrade" | "downgrade";
  readonly mode: "online" | "offline" | "dry-run";
  readonly target: string;
  /** The revisions of the plan, in order. */
  readonly plan: readonly PlannedRevision[];
  /** Ids of the revisions that ran (committed); empty for a dry run and offline SQL. */
  readonly completed: readonly string[];
  /** Applied heads before the run. */
  readonly before: readonly string[];
  /** Applied heads after the run (for a dry run and offline SQL: what they would be). */
  readonly current: readonly string[];
  /** The script, for offline SQL; null otherwise. */
  readonly sql: string | null;
  readonly durationMs: number;
}

/** The default lock wait (DESIGN.md §5: `--lock-wait` defaults to 60 s). */
export const DEFAULT_LOCK_WAIT_MS = 60_000;

/** Revisions of a plan, as events and results list them. */
export function plannedRevisions(plan: Plan): PlannedRevision[] {
  return plan.steps.map((step) => ({
    revision: step.revision.id,
    message: step.revision.message,
    file: step.revision.relativePath,
    direction: step.direction,
    transactional: step.revision.transactional,
  }));
}

/** The applied set after a plan's steps. */
function appliedAfter(applied: ReadonlySet<string>, steps: readonly Step[]): Set<string> {
  const after = new Set(applied);
  for (const step of steps) {
    if (step.direction === "up") after.add(step.revision.id);
    else after.delete(step.revision.id);
  }
  return after;
}

/**
 * Runs an upgrade or a downgrade of one environment.
 * @throws DatabaseError (1) a revision failed · ConfigError/RevisionError (2) bad target or
 * graph · RefusedError (3) a guard refused · LockTimeoutError (4) · ProblemError (5) the
 * version rows block the run · InterruptedError (130/143)
 * @example
 * const result = await runMigration(env, { command: "upgrade", target: "head", yes: true });
 * result.completed; // ["3f2a9c1d0b7e", ...]
 */
export async function runMigration(env: ResolvedEnvironment, options: RunMigrationOptions): Promise<MigrationResult> {
  checkRunRequest(options);
  const started = Date.now();
  const emit = eventEmitter(options.events, env.name);
  const command: RunCommand = options.command;
  const mode = options.sql ? "offline" : options.dryRun ? "dry-run" : "online";
  emit({ type: "command-start", command, url: env.redactedUrl, mode });
  const completedSteps: Step[] = [];
  let planned: Plan | null = null;
  try {
    let result: MigrationResult;
    if (options.sql) {
      result = await runOffline(env, await graphOf(env, options), options, emit, started);
    } else if (options.dryRun) {
      result = await runDry(env, await graphOf(env, options), options, emit, started);
    } else {
      const ownGuards = options.beforeExecute ?? [];
      // The caller's guards may look at any row, and a protected environment compares every
      // checksum: those read every row at once. Any other run reads the summary (ids and
      // unfinished rows), and every row only when its plan has steps.
      const allRows = env.protected || ownGuards.length > 0;
      const { graph, locked, read, checkedAhead } = await graphAndLockedSession(env, options, emit, (session) => ownStatements(env, reading(env), () => (allRows ? readAppliedState(session, env.versionTable) : readAppliedSummary(session, env.versionTable))));
      let failed = true;
      try {
        const session = locked.session;
        let state: AppliedState | AppliedSummary = read ?? EMPTY_STATE;
        let runnable = await planRunnable(env, graph, state, options);
        if (runnable === null) {
          state = (await ownStatements(env, reading(env), () => readAppliedState(session, env.versionTable))) ?? EMPTY_STATE;
          runnable = (await planRunnable(env, graph, state, options)) as RunnablePlan;
        }
        const { before } = runnable;
        planned = runnable.plan;
        emitPlan(emit, command, planned, before, options.singleTransaction === true);
        // Before the guards (a backup, a confirmation) and the first change, and only when something will run.
        if (planned.steps.length > 0) await assertStandardStrings(session, env.redactedUrl);
        const guardrail = guardrailHook(env, options);
        const identity = runIdentity(env);
        const bookkeeping = new Bookkeeping(session, env.versionTable, identity);
        // Read ahead, under the lock, while this thread checks the plan's files below: the
        // identity records the guardrail decides from, and the version tables' state (unless
        // a guard runs first that may create them: a protected environment's records its
        // identity, and the caller's own may do anything). Only reads; what they find is
        // decided on after the check, in the same order as ever.
        // One after the other: a session runs one query at a time (pg warns when one is queued behind another).
        const identities = guardrail === null ? undefined : readAhead(readDatabaseIdentities(session));
        const tables = planned.steps.length > 0 && !env.protected && ownGuards.length === 0 ? readAhead((identities ?? Promise.resolve()).catch(() => {}).then(() => bookkeeping.probeTables())) : undefined;
        // Before the guards and the first change: a revision that cannot run is refused here.
        // Checks the header cache holds are taken from it: executePlan checks those sections again as it sends them.
        const prepared = await preparePlan(planned, { echo: env.echo, singleTransaction: options.singleTransaction === true, cachedChecks: true }, await checkedAhead?.finish());
        // A signal that came during the check stops the run before the guards (which may record
        // the environment's identity in the database) and before its first change.
        if (planned.steps.length > 0 && options.signal?.aborted) throw interruptedBeforeChanges(options.signal, false);
        const context: GuardrailContext = { env, command, session, graph, state, current: before, plan: planned, signal: options.signal, emit };
        await guardrail?.({ ...context, identities });
        if (ownGuards.length > 0) {
          if (!("byId" in state)) throw new Error("internal: the caller's guards must see every version row");
          const full: MigrationHookContext = { ...context, state };
          for (const guard of ownGuards) await guard(full);
        }
        if (planned.steps.length > 0) {
          // A signal that came during the guards stops the run here, before its first revision:
          // the version tables are not created, nor anything prepared (unless the guardrails of a
          // protected environment, recording its identity, created them).
          if (options.signal?.aborted) throw interruptedBeforeChanges(options.signal, guardrail !== null && env.protected);
          await ownStatements(env, `creating the version tables beside ${tableName(env)}`, () => bookkeeping.ensureTables(tables));
          await executePlan({
            env,
            session,
            prepared,
            identity,
            signal: options.signal,
            emit,
            progress: { completed: completedSteps },
            betweenRevisions: replicaPause(env, session, options.signal, emit),
          });
        }
        // The plan's list is built when asked for (--json), once: the CLI's text output never
        // reads it, and 10,000 entries made at the end of a run were part of its peak memory.
        const ran = planned;
        let revisions: PlannedRevision[] | undefined;
        result = {
          environment: env.name,
          command: options.command,
          mode,
          target: options.target,
          get plan() {
            return (revisions ??= plannedRevisions(ran));
          },
          completed: completedSteps.map((step) => step.revision.id),
          before,
          current: completedSteps.length === 0 ? before : currentHeads(graph, appliedAfter(state.ids, completedSteps)),
          sql: null,
          durationMs: Date.now() - started,
        };
        failed = false;
      } finally {
        // A release failure after a successful run is reported, saying what the run did; after a failure, the first error wins.
        if (failed) await locked.close().catch(() => {});
        else await locked.close({ idle: true }).catch((error: unknown) => {
          throw afterCompletedRun(error, completedSteps);
        });
      }
    }
    emit({ type: "command-end", command, durationMs: Date.now() - started, outcome: "success", completed: result.completed.length, current: result.current });
    return result;
  } catch (error) {
    const interrupted = isAthanorError(error) && error.code === "interrupted";
    emit({ type: "command-end", command, durationMs: Date.now() - started, outcome: interrupted ? "interrupted" : "failed", completed: completedSteps.length, error: toEventError(error) });
    throw error;
  }
}

/**
 * A query started before its answer is needed: its failure is kept for whoever awaits it
 * later, and is not an unhandled rejection when the run fails first and never does.
 */
function readAhead<T>(query: Promise<T>): Promise<T> {
  query.catch(() => {});
  return query;
}

/**
 * A failure to release the lock after every step of the plan committed: the message says
 * so, and the details list them, so the output does not read as a failed run.
 */
function afterCompletedRun(error: unknown, completed: readonly Step[]): unknown {
  if (!(error instanceof DatabaseError)) return error;
  const ids = completed.map((step) => step.revision.id);
  const done = ids.length === 0 ? "the run itself had nothing to apply" : `the run itself finished: ${ids.length === 1 ? `revision ${ids[0]} was` : `all ${ids.length} revisions of the plan were`} committed`;
  return new DatabaseError(error.code, `${error.message}; ${done}`, { hint: error.hint, details: { ...error.details, completed: ids }, cause: error.cause });
}

/**
 * The interruption of a run before its first revision. `identityRecorded`: the guardrails of
 * a protected environment ran, and recorded its name in the database (creating the version
 * tables if they were missing), which the message must not deny.
 */
function interruptedBeforeChanges(signal: AbortSignalLike, identityRecorded: boolean): InterruptedError {
  const reason = InterruptedError.interruptionOf(signal.reason);
  const what = identityRecorded
    ? "before the first revision: no revision ran; the guardrails had recorded this environment's name in the database (creating athanor's version tables if they were missing); the lock was released"
    : "before the first change: no revision ran, nothing was changed, and the lock was released";
  return new InterruptedError(reason, { message: `${InterruptedError.describe(reason)} ${what}` });
}

/**
 * The state read under the lock, stopped by `signal`: its statement is cancelled where the
 * session can (a read waiting on a table lock another session holds would otherwise wait as
 * long as that session), and a read that ends after the signal, in error or not, ends the
 * run before anything changed (never a run with nothing to do that exits 0 after a signal).
 * The listener goes when the read settles: the revisions' own interruption is execute.ts's.
 */
async function readUnlessStopped<T>(session: Session, signal: AbortSignalLike | undefined, read: () => Promise<T>): Promise<T> {
  if (signal === undefined) return read();
  const onAbort = (): void => void cancelRunning(session).catch(() => {});
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    if (signal.aborted) throw interruptedBeforeChanges(signal, false);
    const value = await read();
    if (signal.aborted) throw interruptedBeforeChanges(signal, false);
    return value;
  } catch (error) {
    throw signal.aborted ? interruptedBeforeChanges(signal, false) : error;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * The library's request checked before anything is read: JavaScript callers (and casts) can
 * pass what the types forbid, which otherwise surfaced as a bare TypeError deep in the plan
 * or ran as a command that does not exist.
 */
function checkRunRequest(options: RunMigrationOptions): void {
  const command: unknown = options.command;
  if (command !== "upgrade" && command !== "downgrade") {
    throw new ConfigError("unknown-command", `runMigration's command must be "upgrade" or "downgrade", not ${JSON.stringify(command) ?? String(command)}`, {
      hint: "Call upgrade(env) or downgrade(env, { target }), or pass command: \"upgrade\" or \"downgrade\".",
    });
  }
  const target: unknown = options.target;
  if (typeof target !== "string" || target.trim() === "") {
    throw new ConfigError("target-missing", `${command} needs a target revision, and ${typeof target === "string" ? "it is empty" : "none was given"}`, {
      hint: command === "downgrade" ? 'Name where to go down to, e.g. downgrade(env, { target: "-1" }) or { target: "base" }.' : 'Name the target, e.g. { target: "head" } (upgrade(env) defaults to it).',
    });
  }
}

/** What the state query is doing, for a timeout's message. */
function reading(env: Pick<ResolvedEnvironment, "versionTable">): string {
  return `reading the version table ${tableName(env)}`;
}

function tableName(env: Pick<ResolvedEnvironment, "versionTable">): string {
  return `${env.versionTable.schema}.${env.versionTable.table}`;
}

/** `replicaLag`: the wait for the standbys between two revisions, or undefined without it. */
function replicaPause(env: ResolvedEnvironment, session: Session, signal: AbortSignalLike | undefined, emit: (event: EventInput) => void): ((next: PreparedStep) => Promise<void>) | undefined {
  const limit = env.replicaLag;
  if (limit === null) return undefined;
  const samples: WalSample[] = [];
  return (next) => waitForReplicas(session, samples, { maxMs: limit.maxMs, waitMs: limit.waitMs, next: next.file.id, signal, emit });
}

/** The plan from the applied heads already computed (`current`): they are not computed again. */
function plan(graph: RevisionGraph, state: AppliedSummary, options: Pick<RunMigrationOptions, "command" | "target">, current: readonly string[]): Plan {
  return options.command === "upgrade" ? planUpgrade(graph, state.ids, options.target, current) : planDowngrade(graph, state.ids, options.target, current);
}

function emitPlan(emit: (event: EventInput) => void, command: RunCommand, planned: Plan, current: readonly string[], singleTransaction: boolean): void {
  emit({ type: "plan", command, direction: planned.direction, target: planned.target, current, revisions: plannedRevisions(planned), singleTransaction });
}

/**
 * The graph, read with the header cache: checksums are hashed in the same read only for
 * a protected environment, which always compares them (see {@link comparesChecksums});
 * elsewhere a file is hashed when its checksum is first asked for. An upgrade checks the
 * SQL files it reads for the cache, and keeps the outcome there (src/revisions/section-check.ts):
 * its plan's check then reads only what no scan has checked.
 */
function graphOf(env: ResolvedEnvironment, options: Pick<RunMigrationOptions, "graph" | "command">): Promise<RevisionGraph> {
  if (options.graph !== undefined) return Promise.resolve(options.graph);
  return loadRevisionGraph(env.migrationsDir, { cacheDir: projectCacheDir(env.rootDir), checksums: env.protected, checkSection: options.command === "upgrade" ? checkUpgradeInText : undefined });
}

/**
 * Reads the migrations directory while the lock is taken, the session opened and the
 * version rows read with `read` (all under the lock; the scan yields every millisecond,
 * so those round trips progress while it runs): the first connect does not wait for the
 * scan, nor the state query for the graph. A broken directory is still the error
 * reported: the lock wait is abandoned and the session closed first. An upgrade on a
 * server checks revisions while the rest is awaited (`checkedAhead`, src/run/check-ahead.ts).
 */
async function graphAndLockedSession<T>(
  env: ResolvedEnvironment,
  options: RunMigrationOptions,
  emit: (event: EventInput) => void,
  read: (session: Session) => Promise<T>,
): Promise<{ graph: RevisionGraph; locked: LockedSession; read: T; checkedAhead: CheckAhead | null }> {
  const abandon = new AbortController();
  // The caller's signal (an AbortSignalLike, so not AbortSignal.any's input) aborts the wait too.
  const caller = options.signal;
  const follow = (): void => abandon.abort(caller?.reason);
  if (caller?.aborted === true) follow();
  else caller?.addEventListener("abort", follow, { once: true });
  const signal = abandon.signal;
  const locking = openLockedSession(env, { command: options.command, lockWaitMs: options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS, signal, emit, session: options.session, sharedLocks: options.sharedLocks });
  // Handled below in both outcomes; this keeps a failure while the scan runs from counting as unhandled.
  locking.then(
    () => caller?.removeEventListener("abort", follow),
    () => caller?.removeEventListener("abort", follow),
  );
  const reading = locking.then((locked) => readUnlessStopped(locked.session, caller, () => read(locked.session)));
  reading.catch(() => {});
  let graph: RevisionGraph;
  try {
    // The scan is synchronous between its batches: the connection's first packets leave
    // before it starts, and its round trips are answered between the batches.
    if (options.session === undefined && options.graph === undefined) {
      await driverLoaded(env.target);
      // One turn of the event loop: the connects that waited for the driver are sent.
      await nextTurn();
    }
    graph = await graphOf(env, options);
  } catch (error) {
    abandon.abort("SIGINT");
    await locking.then((locked) => reading.then(() => {}, () => {}).finally(() => locked.close())).catch(() => {});
    throw error;
  }
  // In-process PGlite is busy, not waiting, while it opens: checking ahead would only add to it.
  const checkedAhead = options.command === "upgrade" && !opensLocally(env.target) ? new CheckAhead(graph, env.echo) : null;
  const stopChecking = () => checkedAhead?.stop();
  reading.then(stopChecking, stopChecking);
  const locked = await locking.catch((error: unknown) => {
    stopChecking();
    throw error;
  });
  try {
    return { graph, locked, read: await reading, checkedAhead };
  } catch (error) {
    await locked.close().catch(() => {});
    throw error;
  }
}

/**
 * Whether a run compares the applied revisions' checksums with their files (DESIGN.md
 * §4: an edited applied revision stops a run): always on a protected environment, and
 * on any other when the plan has steps to run. A run with nothing to do on an
 * unprotected environment changes nothing, so it does not read every applied file;
 * `check` and `status` still report an edit there.
 */
export function comparesChecksums(env: Pick<ResolvedEnvironment, "protected">, planned: Plan): boolean {
  return env.protected || planned.steps.length > 0;
}

/** The applied heads before a run, and its plan. */
interface RunnablePlan {
  readonly before: string[];
  readonly plan: Plan;
}

/**
 * The applied heads and the plan, after the checks that block a run: the version rows'
 * own problems (an unfinished or unknown revision) before planning, then the checksums
 * when {@link comparesChecksums} says so. Null when they must be compared and `state` is
 * the summary alone: read every row, and plan again.
 */
async function planRunnable(env: ResolvedEnvironment, graph: RevisionGraph, state: AppliedState, options: Pick<RunMigrationOptions, "command" | "target" | "signal">): Promise<RunnablePlan>;
async function planRunnable(env: ResolvedEnvironment, graph: RevisionGraph, state: AppliedSummary | AppliedState, options: Pick<RunMigrationOptions, "command" | "target" | "signal">): Promise<RunnablePlan | null>;
async function planRunnable(env: ResolvedEnvironment, graph: RevisionGraph, state: AppliedSummary | AppliedState, options: Pick<RunMigrationOptions, "command" | "target" | "signal">): Promise<RunnablePlan | null> {
  assertRunnable(graph, state, { checksums: false });
  const before = currentHeads(graph, state.ids);
  const planned = plan(graph, state, options, before);
  if (comparesChecksums(env, planned)) {
    if (!("byId" in state)) return null;
    // The files are hashed with turns of the event loop: a signal is handled meanwhile.
    await hashAppliedFiles(graph, state.ids, options.signal);
    assertRunnable(graph, state);
  }
  return { before, plan: planned };
}

/** Reads the state (without the lock), plans, changes nothing. */
async function runDry(env: ResolvedEnvironment, graph: RevisionGraph, options: RunMigrationOptions, emit: (event: EventInput) => void, started: number): Promise<MigrationResult> {
  const session = options.session ?? (await openReadSession(env, `${options.command} --dry-run`, {
      lockWaitMs: options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS,
      signal: options.signal,
      onLockWait: (holder) => emit({ type: "lock-wait", holder, waitMs: options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS }),
    }));
  let state: AppliedState;
  let runnable: RunnablePlan;
  try {
    state = session === null ? EMPTY_STATE : ((await readAppliedState(session, env.versionTable)) ?? EMPTY_STATE);
    runnable = await planRunnable(env, graph, state, options);
    emitPlan(emit, options.command, runnable.plan, runnable.before, options.singleTransaction === true);
    // As the real run: a session with standard_conforming_strings off is refused when something would run.
    if (session !== null && runnable.plan.steps.length > 0) await assertStandardStrings(session, env.redactedUrl);
  } finally {
    if (options.session === undefined) await session?.close();
  }
  const { before, plan: planned } = runnable;
  // The refusals of the real run before anything runs (as runOffline): a dry run that
  // prints a plan and exits 0 for a plan the real run refuses says the wrong thing.
  await preparePlan(planned, { echo: false, singleTransaction: options.singleTransaction === true });
  return {
    environment: env.name,
    command: options.command,
    mode: "dry-run",
    target: options.target,
    plan: plannedRevisions(planned),
    completed: [],
    before,
    current: currentHeads(graph, appliedAfter(state.ids, planned.steps)),
    sql: null,
    durationMs: Date.now() - started,
  };
}

/**
 * Offline SQL: the start is `base` for an upgrade unless the target is `A:B`; a
 * downgrade needs `A:B` (the database is not read, so where it stands must be said).
 * The plan is refused as an online run would refuse it.
 */
async function runOffline(env: ResolvedEnvironment, graph: RevisionGraph, options: RunMigrationOptions, emit: (event: EventInput) => void, started: number): Promise<MigrationResult> {
  const { from, to } = splitRange(options.target, options.command);
  let applied = new Set<string>();
  if (from !== "base") {
    const { resolveTarget } = await import("../revisions/targets.js");
    const start = resolveTarget(graph, from, []);
    if (start.kind === "revisions") applied = graph.ancestors(start.ids, { inclusive: true });
  }
  const state = { ids: applied } as Pick<AppliedState, "ids">;
  const before = currentHeads(graph, state.ids);
  const planned = options.command === "upgrade" ? planUpgrade(graph, state.ids, to) : planDowngrade(graph, state.ids, to);
  const singleTransaction = options.singleTransaction === true;
  emitPlan(emit, options.command, planned, before, singleTransaction);
  // The refusals of an online run, before a script is written: a `transaction false`
  // revision under --single-transaction, transaction control in a transactional revision.
  await preparePlan(planned, { echo: false, singleTransaction });
  const sql = await renderOfflineScript({ env, plan: planned, command: options.command, from, singleTransaction, graph });
  return {
    environment: env.name,
    command: options.command,
    mode: "offline",
    target: to,
    plan: plannedRevisions(planned),
    completed: [],
    before,
    current: currentHeads(graph, appliedAfter(state.ids, planned.steps)),
    sql,
    durationMs: Date.now() - started,
  };
}

/** `A:B` → from A to B; `B` → from base (upgrade only). */
export function splitRange(target: string, command: "upgrade" | "downgrade"): { from: string; to: string } {
  const colon = target.indexOf(":");
  if (colon === -1) {
    if (command === "downgrade") {
      throw new ConfigError("offline-range-required", `downgrade --sql needs a range FROM:TO (e.g. head:${target}), because offline mode does not read the database`, {
        hint: `Run \`athanor downgrade --sql <current revision>:${target}\`; \`athanor current\` shows the current revision.`,
        details: { target },
      });
    }
    return { from: "base", to: target };
  }
  const from = target.slice(0, colon).trim();
  const to = target.slice(colon + 1).trim();
  if (from === "" || to === "") {
    throw new ConfigError("invalid-range", `\`${target}\` is not a range: write FROM:TO, e.g. base:head`, { hint: "Both sides are targets: a revision id or prefix, head, base, a branch label.", details: { target } });
  }
  return { from, to };
}
