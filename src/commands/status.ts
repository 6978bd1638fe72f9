/**
 * `athanor status`: every environment of the config at once (DESIGN.md §5), in
 * parallel, each with its own timeout. One environment that cannot be reached or read
 * becomes an entry with `state: "unreachable"` or `"error"` and its problem; one whose
 * url uses variables nothing sets is `"not-configured"` with the variables to set. None
 * hides the others. Read-only.
 */
import type { LoadedConfig } from "../config/load.js";
import { resolveEnvironment } from "../config/resolve.js";
import type { ResolvedEnvironment } from "../config/types.js";
import { abortableSession, untilAborted } from "../dialects/abortable-session.js";
import { openSession } from "../dialects/open.js";
import type { AbortSignalLike } from "../dialects/types.js";
import { promotionStatus } from "../guard/promotion.js";
import { InterruptedError, isAthanorError } from "../errors.js";
import type { RevisionGraph } from "../revisions/graph.js";
import { loadRevisionGraph, projectCacheDir } from "../revisions/script-directory.js";
import { redactUrl } from "../secrets/redact.js";
import { notConfigured } from "./not-configured.js";
import { getStatus, DEFAULT_STATUS_TIMEOUT_MS, STATUS_STOPPED, type StatusEntry, type StatusState } from "./status-entry.js";

export type { StatusEntry, StatusProblem, StatusState } from "./status-entry.js";

/** The document `status --json` prints: `{"environments":[...]}`. */
export interface StatusReport {
  readonly environments: readonly StatusEntry[];
}

/** Options of {@link status}. */
export interface StatusAllOptions {
  /** The process environment variables resolve from (default `process.env`). */
  readonly processEnv?: Readonly<Record<string, string | undefined>> | undefined;
  /** How long each environment may take to answer (default 5 s). */
  readonly timeoutMs?: number | undefined;
  /** Which environments, by name (default: all, in the config's order). */
  readonly environments?: readonly string[] | undefined;
  /**
   * Stops every reading (SIGINT/SIGTERM): running queries are cancelled and status rejects
   * with InterruptedError at once, instead of a report once the timeouts are over.
   */
  readonly signal?: AbortSignalLike | undefined;
}

/**
 * The status of every environment, in the config's order.
 * @example
 * const report = await status(await loadConfig({ cwd: process.cwd() }));
 * report.environments.filter((entry) => entry.state !== "up-to-date");
 */
export async function status(project: LoadedConfig, options: StatusAllOptions = {}): Promise<StatusReport> {
  return untilAborted(statusOf(project, options), options.signal, STATUS_STOPPED);
}

async function statusOf(project: LoadedConfig, options: StatusAllOptions): Promise<StatusReport> {
  const signal = options.signal;
  const names = options.environments ?? Object.keys(project.config.environments);
  const timeoutMs = options.timeoutMs ?? DEFAULT_STATUS_TIMEOUT_MS;
  const resolved = await Promise.allSettled(
    names.map((name) => resolveEnvironment(project, { environment: name, ...(options.processEnv === undefined ? {} : { processEnv: options.processEnv }) })),
  );
  // Every environment shares the migrations directory: read the graph once. When it is
  // broken, each environment reads it again and reports the error as its own problem.
  const first = resolved.find((result) => result.status === "fulfilled");
  const graph: RevisionGraph | undefined = first === undefined ? undefined : await loadRevisionGraph(first.value.migrationsDir, { cacheDir: projectCacheDir(first.value.rootDir) }).catch(() => undefined);
  const environments = await allSettledFirst(
    resolved.map(async (result, i): Promise<StatusEntry> =>
      result.status === "fulfilled"
        ? (result.value.fleet !== null ? fleetEntry(result.value, timeoutMs, signal) : getStatus(result.value, { timeoutMs, graph, signal })).catch((error: unknown) => {
            if (error instanceof InterruptedError) throw error;
            return { ...unresolvedEntry(project, result.value.name, error, graph), url: result.value.redactedUrl };
          })
        : unresolvedEntry(project, names[i] as string, result.reason, graph, options.processEnv),
    ),
  );
  return { environments: await withPromotionGates(project, resolved, environments, graph, options.processEnv, timeoutMs, signal) };
}

/**
 * Promise.all that waits for every promise before it rejects with the first failure (an
 * interruption): each reading, stopped by the same signal, finishes cancelling its query
 * instead of being left behind by the first one to stop.
 */
async function allSettledFirst<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failed !== undefined) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
}

/** How bad a state is, to summarise a fleet by its worst target. */
const SEVERITY: readonly StatusState[] = ["up-to-date", "not-configured", "behind", "ahead", "diverged", "unfinished", "unreachable", "error"];

/**
 * A fleet environment as one row of the overview: its targets read (src/commands/fleet.ts),
 * summarised by the worst state, with the targets that need attention named in its problems.
 */
async function fleetEntry(env: ResolvedEnvironment, timeoutMs: number, signal: AbortSignalLike | undefined): Promise<StatusEntry> {
  const { statusFleet } = await import("./fleet.js");
  const report = await statusFleet(env, { timeoutMs, signal });
  const worst = report.targets.reduce<StatusState>((state, entry) => (SEVERITY.indexOf(entry.state) > SEVERITY.indexOf(state) ? entry.state : state), "up-to-date");
  const counts = Object.entries(report.states).map(([state, count]) => `${count} ${state}`).join(", ");
  const attention = report.targets.filter((entry) => entry.state !== "up-to-date" || entry.problems.length > 0);
  return {
    name: env.name,
    url: `fleet of ${report.targets.length} target${report.targets.length === 1 ? "" : "s"}`,
    reachable: report.targets.every((entry) => entry.reachable),
    // The targets' current heads when they all agree (a fleet moving together), else none.
    current: report.targets.every((entry) => entry.current.join() === report.targets[0]?.current.join()) ? (report.targets[0]?.current ?? []) : [],
    heads: report.targets[0]?.heads ?? [],
    pending: Math.max(0, ...report.targets.map((entry) => entry.pending)),
    state: worst,
    problems: attention.length === 0 ? [] : [{ code: "fleet", message: `${counts}; needing attention: ${attention.slice(0, 10).map((entry) => entry.target).join(", ")}${attention.length > 10 ? ` and ${attention.length - 10} more` : ""} (athanor --env ${env.name} status)` }],
  };
}

/**
 * Adds the promotion gate (src/guard/promotion.ts) to each reachable environment with
 * `promoteFrom`: what `upgrade heads` would apply next and whether its source lets it.
 */
async function withPromotionGates(
  project: LoadedConfig,
  resolved: readonly PromiseSettledResult<ResolvedEnvironment>[],
  entries: readonly StatusEntry[],
  graph: RevisionGraph | undefined,
  processEnv: Readonly<Record<string, string | undefined>> | undefined,
  timeoutMs: number,
  signal: AbortSignalLike | undefined,
): Promise<StatusEntry[]> {
  return allSettledFirst(
    entries.map(async (entry, i) => {
      const result = resolved[i];
      if (graph === undefined || result?.status !== "fulfilled" || result.value.promoteFrom === null || !entry.reachable || entry.state === "error") return entry;
      const promotion = await promotionStatus(result.value, graph, entry.current, {
        resolveEnvironment: (name) => resolveEnvironment(project, { environment: name, ...(processEnv === undefined ? {} : { processEnv }) }),
        // The per-environment timeout bounds the source's reading too, a wait for its PGlite directory included.
        openSourceSession: async (source) =>
          abortableSession(await openSession(source.target, { secrets: source.secrets, searchPath: source.searchPath, applicationName: "athanor status", connectTimeoutMs: timeoutMs, lockWaitMs: timeoutMs, signal }), signal, { stopped: STATUS_STOPPED }),
      }).catch((error: unknown) => {
        if (error instanceof InterruptedError) throw error;
        return null;
      });
      return promotion === null ? entry : { ...entry, promotion };
    }),
  );
}

/**
 * True when `status` should exit 5: an environment is not up to date or has a problem.
 * An environment not configured yet (its variables unset, as in a fresh project) does not
 * count: `check --env NAME` reports it as a failure for the one who runs that environment.
 */
export function statusNeedsAttention(report: StatusReport): boolean {
  return report.environments.some((entry) => entry.state !== "not-configured" && (entry.state !== "up-to-date" || entry.problems.length > 0));
}

/** The entry of an environment that could not be resolved (unset variable, bad URL...) or read. */
function unresolvedEntry(project: LoadedConfig, name: string, error: unknown, graph: RevisionGraph | undefined, processEnv?: Readonly<Record<string, string | undefined>>): StatusEntry {
  const template = project.config.environments[name]?.url;
  const unread = {
    name,
    // The template as written (variables unexpanded), with any literal password masked.
    url: typeof template === "string" ? redactUrl(template) : "",
    reachable: false,
    current: [],
    heads: graph?.heads() ?? [],
    pending: 0,
  };
  const unconfigured = notConfigured(project, name, error, processEnv);
  if (unconfigured !== null) {
    return { ...unread, state: "not-configured", problems: [{ code: "not-configured", message: unconfigured.message }], unsetVariables: unconfigured.variables };
  }
  const problem = isAthanorError(error)
    ? { code: error.code, message: error.hint === undefined ? error.message : `${error.message} — ${error.hint}` }
    : { code: "internal", message: error instanceof Error ? error.message : String(error) };
  return { ...unread, state: "error", problems: [problem] };
}

