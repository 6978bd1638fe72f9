/**
 * Commands over a fleet environment (issue #17): `upgrade`, `downgrade` (and `--sql`,
 * `--dry-run`), `stamp`, `current`, `status` and `check` on every target, or on those
 * `targets` patterns choose. The revision graph is read once and shared; each target runs
 * the one-database command with its own lock, version and history rows
 * (src/fleet/run.ts schedules them). No printing: the CLI renders the outcomes.
 */
import { abortableSession, untilAborted } from "../dialects/abortable-session.js";
import { oneAtATime } from "../dialects/shared-locks.js";
import type { AbortSignalLike } from "../dialects/types.js";
import type { LoadedConfig } from "../config/load.js";
import { resolveEnvironment } from "../config/resolve.js";
import type { DatabaseTarget, ResolvedEnvironment } from "../config/types.js";
import { databaseMissing, openSession, sharedLockConnections } from "../dialects/open.js";
import type { Session } from "../dialects/types.js";
import { InterruptedError, isAthanorError } from "../errors.js";
import { listFleetTargets } from "../fleet/list.js";
import { runOverFleet, type FleetCounts, type TargetOutcome } from "../fleet/run.js";
import { selectTargets } from "../fleet/targets.js";
import type { RevisionGraph } from "../revisions/graph.js";
import { loadRevisionGraph, projectCacheDir } from "../revisions/script-directory.js";
import { applicationName, type DirectoryWait } from "../run/connect.js";
import type { EventSink } from "../run/events.js";
import { runMigration, type MigrationResult, type RunMigrationOptions } from "../run/migrate.js";
import { checkSteps, type EnvironmentCheckReport } from "./check.js";
import { current, type CurrentResult } from "./current.js";
import { stamp, type StampOptions, type StampResult } from "./stamp.js";
import { getStatus, DEFAULT_STATUS_TIMEOUT_MS, STATUS_STOPPED, type StatusEntry } from "./status-entry.js";

/** What every fleet command returns: one outcome per chosen target, in the fleet's order. */
export interface FleetResult<T> {
  readonly environment: string;
  readonly outcomes: readonly TargetOutcome<T>[];
  readonly durationMs: number;
}

/** Options every fleet command takes. */
export interface FleetOptions {
  /** `--target` patterns (globs); none means every target. */
  readonly targets?: readonly string[] | undefined;
  readonly signal?: AbortSignalLike | undefined;
  /** Told whenever a target starts or ends (the progress line). */
  readonly onChange?: ((counts: FleetCounts, target: string, outcome?: TargetOutcome<unknown>) => void) | undefined;
  /** Targets already listed (e.g. counted for the confirmation); listed here otherwise. */
  readonly listed?: readonly ResolvedEnvironment[] | undefined;
  /** Overrides the environment's `parallel` (tests, benchmarks). */
  readonly parallel?: number | undefined;
}

/**
 * The targets a fleet command runs on: listed (config, directory query or tenant
 * schemas) and chosen by the `--target` patterns.
 * @throws ConfigError `unknown-target` when a pattern matches nothing
 */
export async function fleetTargets(env: ResolvedEnvironment, patterns: readonly string[] = []): Promise<ResolvedEnvironment[]> {
  return selectTargets(env.name, await listFleetTargets(env), patterns);
}

/** Runs `work` on the chosen targets with the fleet's parallelism, canaries and failure policy. */
export async function overFleet<T>(env: ResolvedEnvironment, options: FleetOptions, work: (target: ResolvedEnvironment) => Promise<T>, policy?: Partial<{ canary: number; onFailure: "stop" | "continue" }>): Promise<FleetResult<T>> {
  const started = Date.now();
  const targets = options.listed ?? (await fleetTargets(env, options.targets));
  const fleet = env.fleet;
  const outcomes = await runOverFleet(
    targets,
    work,
    {
      parallel: options.parallel ?? fleet?.parallel ?? 4,
      canary: policy?.canary ?? fleet?.canary ?? 0,
      onFailure: policy?.onFailure ?? fleet?.onFailure ?? "stop",
      signal: options.signal,
      onChange: options.onChange,
      // A target locked by another runner is reported, and does not hold up the others.
      stopsFleet: (error) => !(isAthanorError(error) && error.code === "lock-timeout"),
    },
    (target) => target.targetName ?? target.name,
  );
  return { environment: env.name, outcomes, durationMs: Date.now() - started };
}

/** Options of {@link migrateFleet}: a run's, plus the fleet's and a sink per target. */
export interface MigrateFleetOptions extends Omit<RunMigrationOptions, "events" | "session" | "graph" | "sharedLocks">, FleetOptions {
  /** The event sink of one target's run (its log lines and spans). */
  readonly eventsFor?: ((target: ResolvedEnvironment) => EventSink | undefined) | undefined;
  readonly graph?: RevisionGraph | undefined;
}

/**
 * `upgrade`/`downgrade` (online, `--dry-run` or `--sql`) on every chosen target. The
 * graph is read once. A target's failure (a revision, its lock not free within
 * `lockWaitMs`, a guard) is its outcome; the others run as the failure policy says.
 * @example
 * const result = await migrateFleet(env, { command: "upgrade", target: "head", yes: true });
 * result.outcomes.filter((outcome) => outcome.status === "failed");
 */
export async function migrateFleet(env: ResolvedEnvironment, options: MigrateFleetOptions): Promise<FleetResult<MigrationResult>> {
  const graph = options.graph ?? (await loadRevisionGraph(env.migrationsDir));
  // Dry runs and offline scripts change nothing: no canary, no reason to stop early.
  const changes = options.sql !== true && options.dryRun !== true;
  // Targets on one database (tenant schemas) hold their own locks on one lock connection.
  const sharedLocks = sharedLockConnections();
  try {
    return await overFleet(env, options, (target) => runMigration(target, { ...options, graph, events: options.eventsFor?.(target), sharedLocks }), changes ? undefined : { canary: 0, onFailure: "continue" });
  } finally {
    await sharedLocks.close();
  }
}

/** `stamp` on every chosen target. */
export async function stampFleet(env: ResolvedEnvironment, options: Omit<StampOptions, "events" | "session"> & FleetOptions & { readonly eventsFor?: ((target: ResolvedEnvironment) => EventSink | undefined) | undefined }): Promise<FleetResult<StampResult>> {
  const graph = options.graph ?? (await loadRevisionGraph(env.migrationsDir));
  return overFleet(env, options, (target) => stamp(target, { ...options, graph, events: options.eventsFor?.(target) }));
}

/**
 * Read sessions shared by the targets on one database (tenant schemas, or several
 * targets naming the same database): a read needs no search_path, as every query names
 * the version table's schema. One session per database, opened on first use.
 */
class SharedSessions {
  readonly #sessions = new Map<string, Promise<Session | null>>();

  constructor(
    readonly command: string,
    readonly connectTimeoutMs?: number,
    /** How a PGlite directory another process has open is waited for (`--lock-wait`). */
    readonly wait: DirectoryWait = {},
  ) {}

  get(env: ResolvedEnvironment): Promise<Session | null> {
    const key = targetKey(env.target);
    let session = this.#sessions.get(key);
    if (session === undefined) {
      session = databaseMissing(env.target)
        ? Promise.resolve(null)
        : // Targets read in parallel: their statements are queued on the shared connection
          // (node-postgres must not be handed a query while another runs).
          openSession(env.target, { applicationName: applicationName(this.command, env), secrets: env.secrets, ...(this.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: this.connectTimeoutMs }), ...this.wait })
            .then(oneAtATime)
            // A signal cancels the statement running on the shared connection, as for one environment's reading.
            .then((opened) => abortableSession(opened, this.wait.signal, { stopped: `${this.command} stopped: its query was cancelled; it changes nothing` }));
      // A failed connection is the failure of every target on that database: not retried per target.
      this.#sessions.set(key, session);
    }
    return session;
  }

  async close(): Promise<void> {
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(all.map((pending) => pending.then((session) => session?.close(), () => {}).catch(() => {})));
  }
}

function targetKey(target: DatabaseTarget): string {
  return target.kind === "pglite" ? `pglite:${target.dataDir ?? "memory"}` : `postgres:${target.connectionString}`;
}

/** `current` on every chosen target. */
export async function currentFleet(env: ResolvedEnvironment, options: FleetOptions & { readonly connectTimeoutMs?: number | undefined; readonly directoryWait?: DirectoryWait | undefined } = {}): Promise<FleetResult<CurrentResult>> {
  const graph = await loadRevisionGraph(env.migrationsDir, { cacheDir: projectCacheDir(env.rootDir), checksums: false });
  const sessions = new SharedSessions("current", options.connectTimeoutMs, options.directoryWait);
  try {
    return await overFleet(env, options, async (target) => {
      const session = await sessions.get(target);
      return current(target, session === null ? { graph } : { graph, session });
    }, { canary: 0, onFailure: "continue" });
  } finally {
    await sessions.close();
  }
}

/** A fleet's status: every target's entry, and the count of targets per state. */
export interface FleetStatusReport {
  readonly environment: string;
  readonly targets: readonly (StatusEntry & { readonly target: string })[];
  /** Targets per state (`up-to-date`, `behind`, ...). */
  readonly states: Readonly<Record<string, number>>;
  /** The names of the targets that are behind. */
  readonly behind: readonly string[];
}

/** `status` of a fleet: each chosen target read (in parallel, sessions shared per database). */
export async function statusFleet(env: ResolvedEnvironment, options: FleetOptions & { readonly timeoutMs?: number | undefined } = {}): Promise<FleetStatusReport> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_STATUS_TIMEOUT_MS;
  const graph = await loadRevisionGraph(env.migrationsDir, { cacheDir: projectCacheDir(env.rootDir) });
  // The timeout bounds a wait for a PGlite directory another process has open too, as for one environment's status.
  const sessions = new SharedSessions("status", timeoutMs, { lockWaitMs: timeoutMs, signal: options.signal });
  const { signal } = options;
  let result: FleetResult<StatusEntry>;
  try {
    const reading = overFleet(env, options, async (target) => {
      const session = await sessions.get(target).catch(() => undefined);
      // An unreachable database: getStatus opens (and fails) on its own, reporting it as the entry's state.
      return getStatus(target, session === undefined || session === null ? { graph, timeoutMs, signal } : { graph, timeoutMs, session, signal });
    }, { canary: 0, onFailure: "continue" });
    // Interrupted, the fleet's status is no report at all (not the targets read so far): exit 130/143.
    result = await untilAborted(reading, signal, STATUS_STOPPED);
  } finally {
    await sessions.close();
  }
  const targets = result.outcomes.map((outcome) => {
    if (outcome.status === "ok") return { ...outcome.value, name: env.name, target: outcome.target };
    const error = outcome.status === "failed" ? outcome.error : null;
    const problem = isAthanorError(error) ? { code: error.code, message: error.message } : { code: "internal", message: error instanceof Error ? error.message : String(error ?? "not read") };
    return { name: env.name, target: outcome.target, url: "", reachable: false, current: [], heads: graph.heads(), pending: 0, state: "error" as const, problems: [problem] };
  });
  const states: Record<string, number> = {};
  for (const entry of targets) states[entry.state] = (states[entry.state] ?? 0) + 1;
  return { environment: env.name, targets, states, behind: targets.filter((entry) => entry.state === "behind").map((entry) => entry.target) };
}

/** `check` of a fleet: the environment's own report, then one per chosen target (reachable, revisions). */
export async function checkFleet(project: LoadedConfig, name: string, options: FleetOptions & { readonly processEnv: Readonly<Record<string, string | undefined>>; readonly connectTimeoutMs?: number | undefined; readonly directoryWait?: DirectoryWait | undefined }): Promise<(EnvironmentCheckReport & { target: string })[]> {
  const env = await resolveEnvironment(project, { environment: name, processEnv: options.processEnv });
  const stopped = "check stopped: its query was cancelled; it changes nothing";
  const checking = overFleet(env, options, async (target): Promise<EnvironmentCheckReport & { target: string }> => {
    const report: EnvironmentCheckReport & { target: string } = { environment: env.name, target: target.targetName ?? env.name, url: target.redactedUrl, findings: [], ok: true, pending: [] };
    let session: Session | null = null;
    try {
      // The signal cancels the target's query (a version table another session locked), as for one environment's check.
      session = databaseMissing(target.target)
        ? null
        : abortableSession(await openSession(target.target, { secrets: target.secrets, connectTimeoutMs: options.connectTimeoutMs ?? 5_000, applicationName: "athanor check", ...(options.directoryWait ?? { lockWaitMs: options.connectTimeoutMs ?? 5_000 }) }), options.signal, { stopped });
      report.findings.push({ check: "reachable", status: session === null ? "warning" : "ok", message: session === null ? `the database ${target.redactedUrl} does not exist yet` : `connected to ${target.redactedUrl}` });
      for (const step of checkSteps) await step(target, session, report);
    } catch (error) {
      // An interruption is not a finding about the target: the check stops (130/143).
      if (!isAthanorError(error) || error instanceof InterruptedError) throw error;
      report.findings.push({ check: "reachable", status: "error", message: error.message, code: error.code, fix: error.hint ?? "Check the target's url, the server and the network." });
    } finally {
      await session?.close().catch(() => {});
    }
    report.ok = report.findings.every((finding) => finding.status !== "error");
    return report;
  }, { canary: 0, onFailure: "continue" });
  // Interrupted, the fleet's check is no report at all (not the targets read so far).
  const result = await untilAborted(checking, options.signal, stopped);
  return result.outcomes.map((outcome) =>
    outcome.status === "ok"
      ? outcome.value
      : { environment: env.name, target: outcome.target, url: null, findings: [{ check: "reachable", status: "error", message: outcome.status === "failed" && outcome.error instanceof Error ? outcome.error.message : "not checked" }], ok: false, pending: [] },
  );
}
