/**
 * The CLI side of fleet environments (issue #17): runs a command over the chosen targets
 * and prints, for each, one line naming it (text) or one entry with a `target` field
 * (`--json`), then a summary; one progress line for the whole fleet on a terminal; JSON
 * log lines and OpenTelemetry spans per target (their events carry `fleetTarget`). The
 * production confirmation is asked once for the fleet, naming how many targets.
 */
import type { AbortSignalLike } from "../dialects/types.js";
import { ExitStatus, isAthanorError } from "../errors.js";
import type { ResolvedEnvironment } from "../config/types.js";
import { currentFleet, fleetTargets, migrateFleet, stampFleet, statusFleet, type FleetResult, type FleetStatusReport } from "../commands/fleet.js";
import type { FleetCounts, TargetOutcome } from "../fleet/run.js";
import { confirmProtectedRun, type ConfirmationRequest } from "../guard/confirm.js";
import type { GuardrailOptions } from "../guard/hook.js";
import { createJsonLogSink } from "../observe/json-log.js";
import { createOtelSink, otelRegistered } from "../observe/otel.js";
import { formatFleetProgressLine } from "../observe/fleet-progress.js";
import { composeSinks } from "../observe/sinks.js";
import { targetSink, type EventSink } from "../run/events.js";
import type { MigrationResult } from "../run/migrate.js";
import type { StampResult } from "../commands/stamp.js";
import { knownSecrets, scrubSecrets } from "../secrets/redact.js";
import { VERSION } from "../version.js";
import { progressEnabled } from "./events.js";
import { canPrompt, terminalConfirmation } from "./prompt.js";
import { formatMs } from "./render-run.js";
import type { CommandContext } from "./runtime.js";
import { cliGuardrails } from "./guard-options.js";

function heads(ids: readonly string[]): string {
  return ids.length === 0 ? "base" : ids.join(", ");
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** An error as a fleet entry carries it (no stack, no secret). */
function errorOf(error: unknown): { code: string; message: string; hint: string | null; exitStatus: number } {
  if (isAthanorError(error)) return { code: error.code, message: error.message, hint: error.hint ?? null, exitStatus: error.exitStatus };
  return { code: "internal", message: error instanceof Error ? error.message : String(error), hint: null, exitStatus: ExitStatus.failed };
}

/**
 * The exit status of a fleet run: 0 when every target succeeded; the interruption's
 * (130/143) when a signal stopped it; 1 when any target failed or was skipped.
 */
export function fleetExitStatus(outcomes: readonly TargetOutcome<unknown>[], signal: AbortSignalLike | undefined): number {
  if (signal?.aborted === true) {
    const interrupted = outcomes.find((outcome) => outcome.status === "failed" && isAthanorError(outcome.error) && outcome.error.code === "interrupted");
    if (interrupted?.status === "failed" && isAthanorError(interrupted.error)) return interrupted.error.exitStatus;
    return signal.reason === "SIGTERM" ? ExitStatus.sigterm : ExitStatus.sigint;
  }
  return outcomes.every((outcome) => outcome.status === "ok") ? ExitStatus.ok : ExitStatus.failed;
}

/** The fleet's live display: the progress line (terminal only) and the revisions counted from events. */
class FleetDisplay {
  #revisions = 0;
  #counts: FleetCounts = { total: 0, done: 0, running: 0, failed: 0 };
  #drawn = false;
  readonly #started = Date.now();
  readonly #enabled: boolean;

  constructor(
    readonly ctx: CommandContext,
    readonly env: ResolvedEnvironment,
  ) {
    this.#enabled = progressEnabled(ctx);
  }

  get revisions(): number {
    return this.#revisions;
  }

  /** Counts an applied (or reverted) revision. */
  readonly countEvents: EventSink = (event) => {
    if (event.type === "revision-end" && event.outcome === "success") {
      this.#revisions += 1;
      this.#draw();
    }
  };

  update(counts: FleetCounts): void {
    this.#counts = counts;
    this.#draw();
  }

  /** Prints a line above the progress line. */
  line(text: string): void {
    this.clear();
    this.ctx.out(text);
    this.#draw();
  }

  clear(): void {
    if (!this.#drawn) return;
    this.ctx.io.stderr.write("\r\u001b[2K");
    this.#drawn = false;
  }

  #draw(): void {
    if (!this.#enabled) return;
    const columns = (this.ctx.io.stderr as { columns?: unknown }).columns;
    const width = typeof columns === "number" && columns > 0 ? columns - 1 : 100;
    const text = formatFleetProgressLine({ environment: this.env.name, ...this.#counts, revisions: this.#revisions, elapsedMs: Date.now() - this.#started }, width);
    this.ctx.io.stderr.write(knownSecrets.scrub(`\r\u001b[2K${text}`));
    this.#drawn = true;
  }
}

/**
 * The sink of each target's run: JSON log lines (`--log-format json`) and OpenTelemetry
 * spans, each event naming the target, plus the fleet display's revision count. One JSON
 * sink and one OpenTelemetry sink serve every target (they key runs by target).
 */
async function targetSinks(ctx: CommandContext, env: ResolvedEnvironment, display: FleetDisplay): Promise<(target: ResolvedEnvironment) => EventSink> {
  const scrub = (text: string): string => scrubSecrets(knownSecrets.scrub(text), env.secrets);
  const jsonLog = ctx.globals.logFormat === "json" ? await createJsonLogSink({ write: (line) => ctx.io.stderr.write(scrub(line)), level: env.logLevel, toolVersion: VERSION, scrub }) : null;
  const otel = otelRegistered() ? await createOtelSink({ toolVersion: VERSION, scrub }, ctx.io.env) : null;
  const shared = composeSinks(jsonLog, otel, display.countEvents);
  return (target) => targetSink(shared, target.targetName ?? target.name);
}

/**
 * Shows a protected fleet's plan (the command and its targets), with `--yes` too, and
 * asks the production confirmation once for the whole fleet unless `--yes` answers it.
 * Refuses (exit 3) where nobody can answer.
 */
async function confirmFleet(ctx: CommandContext, env: ResolvedEnvironment, command: "upgrade" | "downgrade" | "stamp", target: string, targets: readonly ResolvedEnvironment[]): Promise<void> {
  if (!env.protected || targets.length === 0) return;
  const names = targets.map((entry) => entry.targetName ?? entry.name);
  const shown = names.length <= 10 ? names.join(", ") : `${names.slice(0, 10).join(", ")} and ${names.length - 10} more`;
  const request: ConfirmationRequest = {
    environment: env.name,
    url: `a fleet of ${plural(targets.length, "target")}`,
    command,
    target,
    current: [],
    steps: [],
    backup: env.backup === null ? { skipped: "no backup configured" } : { dir: env.backup.dir },
    allowedDangerous: 0,
    otherChanges: [`targets of ${env.name}: ${shown}`],
    fleetTargets: targets.length,
  };
  const ui = terminalConfirmation(ctx);
  // The plan is shown whether or not a person can answer, and with --yes (as for one database).
  ui.showPlan(request);
  if (ctx.globals.yes) return;
  await confirmProtectedRun(true, request, { yes: false, interactive: canPrompt(ctx), ci: ctx.globals.ci }, ui);
}

/**
 * The guardrails of each target's run: confirmed (once, for the fleet, by
 * {@link confirmFleet}), so no plan is shown per target; identity, promotion gate, linter
 * gate and backup still apply to each.
 */
function targetGuardrails(ctx: CommandContext, options: Record<string, unknown>): GuardrailOptions {
  const guard = cliGuardrails(ctx, options);
  const hooks = guard.guardrails;
  return { ...guard, yes: true, guardrails: hooks === false || hooks === undefined ? hooks : { ...hooks, ui: { showPlan: () => {}, askEnvironmentName: () => Promise.resolve(null) } } };
}

/**
 * A target's stamp result in the fleet's `--json`: without its own `target` (the revision
 * target, the document's `to`) and `environment` (the fleet's), which spread after the
 * entry's `target` replaced the fleet target's name.
 */
function stampFields(value: StampResult): Record<string, unknown> {
  const { target: _revisionTarget, environment: _fleet, ...fields } = value;
  return fields;
}

/** The `--json` entry of one target's outcome: `target`, `status`, then the command's fields or the error. */
function outcomeEntry<T>(outcome: TargetOutcome<T>, fields: (value: T) => Record<string, unknown>): Record<string, unknown> {
  if (outcome.status === "ok") return { target: outcome.target, status: "ok", ...fields(outcome.value), durationMs: outcome.durationMs };
  if (outcome.status === "failed") return { target: outcome.target, status: "failed", error: errorOf(outcome.error), durationMs: outcome.durationMs };
  return { target: outcome.target, status: "skipped", reason: outcome.reason };
}

function summaryOf(result: FleetResult<unknown>, revisions: number): Record<string, number> {
  const count = (status: string) => result.outcomes.filter((outcome) => outcome.status === status).length;
  return { targets: result.outcomes.length, succeeded: count("ok"), failed: count("failed"), skipped: count("skipped"), revisions };
}

/** The text line of a failed or skipped target. */
function problemLine(ctx: CommandContext, outcome: TargetOutcome<unknown>): string {
  const c = ctx.colors;
  if (outcome.status === "skipped") return `${c.dim("-")} ${c.bold(outcome.target)}: ${outcome.reason === "stopped" ? "not started (an earlier target failed; onFailure is stop)" : "not started (interrupted)"}`;
  if (outcome.status !== "failed") return "";
  const error = errorOf(outcome.error);
  return `${c.red("✗")} ${c.bold(outcome.target)}: ${error.message}${error.hint === null ? "" : `\n    hint: ${error.hint}`}`;
}

/** The closing line: how many targets did what. */
function summaryLine(ctx: CommandContext, env: ResolvedEnvironment, verb: string, result: FleetResult<unknown>, revisions: number): string {
  const s = summaryOf(result, revisions);
  const tail = `${plural(s.revisions ?? 0, "revision")} in ${formatMs(result.durationMs)}`;
  const text = `${verb} ${env.name}: ${s.succeeded} of ${plural(s.targets ?? 0, "target")} done${s.failed ? `, ${s.failed} failed` : ""}${s.skipped ? `, ${s.skipped} not started` : ""}; ${tail}`;
  return s.failed || s.skipped ? ctx.colors.red(text) : ctx.colors.green(text);
}

/** `upgrade`/`downgrade` (also `--sql`, `--dry-run`) over a fleet. Returns the exit status. */
export async function runFleetMigrate(ctx: CommandContext, env: ResolvedEnvironment, verb: "upgrade" | "downgrade", target: string, options: Record<string, unknown>): Promise<number> {
  const targets = await fleetTargets(env, ctx.globals.targets);
  const sql = options["sql"] === true;
  const dryRun = options["dryRun"] === true;
  const display = new FleetDisplay(ctx, env);
  if (!sql && !dryRun) await confirmFleet(ctx, env, verb, target, targets);
  const eventsFor = sql ? () => undefined : await targetSinks(ctx, env, display);
  let result: FleetResult<MigrationResult>;
  try {
    result = await migrateFleet(env, {
      command: verb,
      target,
      sql,
      dryRun,
      singleTransaction: options["singleTransaction"] === true,
      lockWaitMs: ctx.globals.lockWaitMs,
      signal: ctx.signal,
      listed: targets,
      eventsFor,
      ...(sql || dryRun ? {} : targetGuardrails(ctx, options)),
      onChange: (counts, _name, outcome) => {
        display.update(counts);
        // Each target's line as it ends (the progress line stays below them on a terminal).
        if (outcome !== undefined && !ctx.globals.json && !sql) {
          const text = migrateLine(ctx, verb, dryRun, outcome as TargetOutcome<MigrationResult>);
          if (text !== null) display.line(text);
        }
      },
    });
  } finally {
    display.clear();
  }
  if (ctx.globals.json) {
    ctx.json({
      environment: env.name,
      command: verb,
      to: target,
      mode: sql ? "offline" : dryRun ? "dry-run" : "online",
      targets: result.outcomes.map((outcome) =>
        outcomeEntry(outcome, (value) => ({ before: value.before, current: value.current, plan: value.plan, completed: value.completed, ...(value.sql === null ? {} : { sql: value.sql }) })),
      ),
      summary: summaryOf(result, display.revisions),
      durationMs: result.durationMs,
    });
    return fleetExitStatus(result.outcomes, ctx.signal);
  }
  if (sql) {
    for (const outcome of result.outcomes) {
      if (outcome.status === "ok") ctx.io.stdout.write(knownSecrets.scrub(`-- target: ${outcome.target}\n${outcome.value.sql ?? ""}\n`));
      else ctx.err(problemLine(ctx, outcome));
    }
  } else {
    // Targets never started were not announced as they ended.
    for (const outcome of result.outcomes) if (outcome.status === "skipped") ctx.out(problemLine(ctx, outcome));
  }
  if (!sql && !(ctx.globals.quiet && result.outcomes.every((outcome) => outcome.status === "ok"))) ctx.out(summaryLine(ctx, env, dryRun ? `dry run of ${verb} on` : verb, result, display.revisions));
  return fleetExitStatus(result.outcomes, ctx.signal);
}

/** The line of one target that ended: done, failed (with the hint); null when quiet and done. */
function migrateLine(ctx: CommandContext, verb: "upgrade" | "downgrade", dryRun: boolean, outcome: TargetOutcome<MigrationResult>): string | null {
  const c = ctx.colors;
  if (outcome.status !== "ok") return problemLine(ctx, outcome);
  if (ctx.globals.quiet) return null;
  const value = outcome.value;
  if (dryRun) return `${c.bold(outcome.target)}: ${value.plan.length === 0 ? `nothing to ${verb} (at ${heads(value.before)})` : `${plural(value.plan.length, "revision")} to ${verb} (from ${heads(value.before)} to ${heads(value.current)})`}`;
  return `${c.green("✓")} ${c.bold(outcome.target)}: ${value.completed.length === 0 ? `nothing to ${verb}, at ${heads(value.current)}` : `${verb === "upgrade" ? "upgraded" : "downgraded"} to ${heads(value.current)} (${plural(value.completed.length, "revision")}, ${formatMs(outcome.durationMs)})`}`;
}

/** `stamp` over a fleet. */
export async function runFleetStamp(ctx: CommandContext, env: ResolvedEnvironment, revisions: readonly string[], options: Record<string, unknown>): Promise<number> {
  const targets = await fleetTargets(env, ctx.globals.targets);
  const target = revisions.length === 0 ? "head" : revisions.join(" ");
  await confirmFleet(ctx, env, "stamp", target, targets);
  const display = new FleetDisplay(ctx, env);
  const eventsFor = await targetSinks(ctx, env, display);
  let result: FleetResult<StampResult>;
  try {
    result = await stampFleet(env, {
      target: revisions.length === 0 ? "head" : revisions,
      purge: options["purge"] === true,
      lockWaitMs: ctx.globals.lockWaitMs,
      signal: ctx.signal,
      listed: targets,
      eventsFor,
      ...targetGuardrails(ctx, options),
      onChange: (counts) => display.update(counts),
    });
  } finally {
    display.clear();
  }
  if (ctx.globals.json) {
    ctx.json({ environment: env.name, command: "stamp", to: target, targets: result.outcomes.map((outcome) => outcomeEntry(outcome, stampFields)), summary: summaryOf(result, 0), durationMs: result.durationMs });
    return fleetExitStatus(result.outcomes, ctx.signal);
  }
  for (const outcome of result.outcomes) {
    if (outcome.status !== "ok") ctx.out(problemLine(ctx, outcome));
    else if (!ctx.globals.quiet) ctx.out(`${ctx.colors.green("✓")} ${ctx.colors.bold(outcome.target)}: stamped at ${heads(outcome.value.current)} (was ${heads(outcome.value.before)})`);
  }
  ctx.out(summaryLine(ctx, env, "stamp", result, 0));
  return fleetExitStatus(result.outcomes, ctx.signal);
}

/** `current` over a fleet: one line per target. */
export async function runFleetCurrent(ctx: CommandContext, env: ResolvedEnvironment): Promise<number> {
  const result = await currentFleet(env, { targets: ctx.globals.targets, signal: ctx.signal, directoryWait: ctx.directoryWait() });
  if (ctx.globals.json) {
    ctx.json({ environment: env.name, targets: result.outcomes.map((outcome) => outcomeEntry(outcome, (value) => ({ current: value.current }))) });
    return fleetExitStatus(result.outcomes, ctx.signal);
  }
  const width = Math.max(...result.outcomes.map((outcome) => outcome.target.length));
  for (const outcome of result.outcomes) {
    if (outcome.status !== "ok") ctx.out(problemLine(ctx, outcome));
    else ctx.out(`${ctx.colors.bold(outcome.target.padEnd(width))}  ${outcome.value.current.length === 0 ? "no revision applied" : outcome.value.current.join(", ")}`);
  }
  return fleetExitStatus(result.outcomes, ctx.signal);
}

/** The fleet status table: targets per state, the ones behind by name, problems by target. */
export function renderFleetStatus(report: FleetStatusReport, ctx: CommandContext): string[] {
  const c = ctx.colors;
  const lines: string[] = [];
  const total = report.targets.length;
  lines.push(`${c.bold(report.environment)}: fleet of ${plural(total, "target")}`);
  const order = ["up-to-date", "behind", "ahead", "diverged", "unfinished", "unreachable", "error"];
  const width = Math.max(...order.map((state) => state.length));
  for (const state of order) {
    const count = report.states[state] ?? 0;
    if (count === 0) continue;
    const named = state === "up-to-date" ? [] : report.targets.filter((entry) => entry.state === state).map((entry) => entry.target);
    const shown = named.length <= 20 ? named.join(", ") : `${named.slice(0, 20).join(", ")} and ${named.length - 20} more`;
    const paint = state === "up-to-date" ? c.green : state === "behind" || state === "ahead" ? c.yellow : c.red;
    lines.push(`  ${paint(state.padEnd(width))}  ${String(count).padStart(String(total).length)}${shown === "" ? "" : `  ${shown}`}`);
  }
  for (const entry of report.targets) {
    for (const problem of entry.problems) lines.push(`  ${c.red("•")} ${entry.target}: ${problem.code}: ${problem.message.split("\n")[0] ?? ""}`);
  }
  return lines;
}

/** `status` of a fleet environment. Exit 5 unless every target is up to date without problems. */
export async function runFleetStatus(ctx: CommandContext, env: ResolvedEnvironment, timeoutMs: number | undefined): Promise<number> {
  const report = await statusFleet(env, { targets: ctx.globals.targets, signal: ctx.signal, timeoutMs });
  if (ctx.globals.json) ctx.json(report);
  else for (const text of renderFleetStatus(report, ctx)) ctx.out(text);
  return report.targets.every((entry) => entry.state === "up-to-date" && entry.problems.length === 0) ? ExitStatus.ok : ExitStatus.problem;
}
