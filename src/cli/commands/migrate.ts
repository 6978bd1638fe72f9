/**
 * `upgrade [TARGET]` and `downgrade TARGET`: apply or revert revisions, print the SQL
 * (`--sql`, offline), or show the plan (`--dry-run`).
 */
import type { Command } from "commander";
import { downgrade } from "../../commands/downgrade.js";
import { upgrade } from "../../commands/upgrade.js";
import type { ResolvedEnvironment } from "../../config/types.js";
import type { MigrationResult } from "../../run/migrate.js";
import { createEventSink } from "../events.js";
import { addGuardOptions, cliGuardrails } from "../guard-options.js";
import type { ActionFactory, CommandModule } from "../main.js";
import { formatMs, renderRunEvents, verbOf } from "../render-run.js";
import { PGLITE_RUN_SIGNAL_NOTE, setSignalNote } from "../signal-note.js";
import type { CommandContext } from "../runtime.js";

/** Runs one migrate command from the CLI and prints its outcome. */
async function runFromCli(ctx: CommandContext, verb: "upgrade" | "downgrade", target: string, options: Record<string, unknown>): Promise<number | void> {
  const env = await ctx.environment();
  if (env.fleet !== null) return (await import("../fleet.js")).runFleetMigrate(ctx, env, verb, target, options);
  // Said as a signal comes: on PGlite nothing already sent can be stopped.
  if (env.target.kind === "pglite" && options["sql"] !== true && options["dryRun"] !== true) setSignalNote(PGLITE_RUN_SIGNAL_NOTE);
  const common = { target, singleTransaction: options["singleTransaction"] === true, lockWaitMs: ctx.globals.lockWaitMs, signal: ctx.signal };
  const run = (extra: Parameters<typeof upgrade>[1]) => (verb === "upgrade" ? upgrade(env, { ...common, ...extra }) : downgrade(env, { ...common, ...extra, target }));
  if (options["sql"] === true) {
    const result = await run({ sql: true });
    if (ctx.globals.json) ctx.json(resultDocument(result));
    else ctx.io.stdout.write(result.sql ?? "");
    return;
  }
  const dryRun = options["dryRun"] === true;
  const events = await createEventSink(ctx, env, renderRunEvents(ctx));
  let result: MigrationResult;
  try {
    result = await run({ dryRun, events, ...(dryRun ? {} : cliGuardrails(ctx, options)) });
  } finally {
    events.close();
  }
  if (ctx.globals.json) {
    ctx.json(resultDocument(result));
    return;
  }
  if (dryRun) renderDryRun(ctx, env, result);
  else if (!ctx.globals.quiet) renderSummary(ctx, env, result);
}

/** The `--json` document of upgrade and downgrade. */
function resultDocument(result: MigrationResult): Record<string, unknown> {
  return {
    environment: result.environment,
    command: result.command,
    mode: result.mode,
    target: result.target,
    before: result.before,
    current: result.current,
    plan: result.plan,
    completed: result.completed,
    durationMs: result.durationMs,
    ...(result.sql === null ? {} : { sql: result.sql }),
  };
}

function heads(ids: readonly string[]): string {
  return ids.length === 0 ? "base" : ids.join(", ");
}

function renderDryRun(ctx: CommandContext, env: ResolvedEnvironment, result: MigrationResult): void {
  const c = ctx.colors;
  const count = result.plan.length;
  if (count === 0) {
    ctx.out(`dry run: nothing to ${result.command} on ${env.name} (at ${heads(result.before)}); nothing was changed`);
    return;
  }
  ctx.out(`dry run: ${count} revision${count === 1 ? "" : "s"} to ${result.command} on ${env.name} (from ${heads(result.before)} to ${heads(result.current)})`);
  for (const step of result.plan) {
    ctx.out(`  ${verbOf(step.direction)} ${c.bold(step.revision)} ${step.message}${step.transactional ? "" : c.yellow(" [non-transactional]")}  ${c.dim(step.file)}`);
  }
  ctx.out("nothing was changed");
}

function renderSummary(ctx: CommandContext, env: ResolvedEnvironment, result: MigrationResult): void {
  const count = result.completed.length;
  if (count === 0) {
    ctx.out(`nothing to ${result.command}: ${env.name} is at ${heads(result.current)}`);
    return;
  }
  const done = result.command === "upgrade" ? "upgraded" : "downgraded";
  ctx.out(`${done} ${env.name} to ${heads(result.current)}: ${count} revision${count === 1 ? "" : "s"} in ${formatMs(result.durationMs)}`);
}

function register(program: Command, action: ActionFactory, verb: "upgrade" | "downgrade"): void {
  const command = program.command(verb === "upgrade" ? "upgrade [target]" : "downgrade <target>");
  command
    .description(
      verb === "upgrade"
        ? "apply revisions up to TARGET (default: head); --sql prints the SQL instead, --dry-run shows the plan"
        : "revert revisions down to TARGET (base, -1, an id...); --sql prints the SQL (needs FROM:TO), --dry-run shows the plan",
    )
    .option("--sql", verb === "upgrade" ? "print the SQL script instead of running it, without connecting (TARGET may be FROM:TO)" : "print the SQL script instead of running it, without connecting (TARGET must be FROM:TO)")
    .option("--dry-run", "connect, read the state and show the plan; change nothing")
    .option("--single-transaction", "run the whole plan in one transaction");
  addGuardOptions(command);
  command.action(
    action(async (ctx, options, args) => {
      return runFromCli(ctx, verb, args[0] ?? "head", options);
    }),
  );
}

export const registerUpgrade: CommandModule = (program, action) => register(program, action, "upgrade");
export const registerDowngrade: CommandModule = (program, action) => register(program, action, "downgrade");
