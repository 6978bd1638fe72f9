/**
 * The CLI side of the production guards: the `--allow-dangerous` and `--no-backup`
 * options of `upgrade`, `downgrade`, `stamp` and `baseline` (`--no-backup` alone for
 * `repair` and `resolve`, which run no SQL to lint), and the guardrail options
 * built from the command's context (`--yes`, a terminal or not, CI mode, the prompt,
 * backup reports). The runtime applies them (src/guard/hook.ts).
 */
import type { Command } from "commander";
import type { BackupOutcome } from "../guard/backup.js";
import type { GuardrailOptions } from "../guard/hook.js";
import { canPrompt, terminalConfirmation } from "./prompt.js";
import type { CommandContext } from "./runtime.js";

/** Adds `--allow-dangerous` and `--no-backup` to a changing command. */
export function addGuardOptions(command: Command): Command {
  return addBackupOption(command.option("--allow-dangerous", "let a protected environment run changes the linter flags as dangerous (after review)"));
}

/** Adds `--no-backup` to a command that changes only version rows (nothing to lint). */
export function addBackupOption(command: Command): Command {
  return command.option("--no-backup", "skip the backup a protected environment with `backup` takes before changing anything");
}

function sizeText(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Reports a backup on stderr (a person's log; `--json` output stays on stdout). */
function reportBackup(ctx: CommandContext, outcome: BackupOutcome): void {
  // A skipped backup is said in the plan (shown before the confirmation).
  if (outcome.status === "skipped") return;
  if (ctx.globals.quiet) return;
  const { backup } = outcome;
  ctx.err(`backup: ${backup.path} (${sizeText(backup.sizeBytes)}, ${(outcome.durationMs / 1000).toFixed(1)} s${backup.kind === "dump" ? ", checked with pg_restore --list" : ""})`);
  for (const name of outcome.pruned) ctx.err(ctx.colors.dim(`backup: pruned ${name}`));
}

/**
 * The guardrail options of a CLI run: confirmation on the terminal (or `--yes`), the
 * linter gate (`--allow-dangerous`), the backup (`--no-backup`), identity and promotion
 * checks with the environments this command line resolves.
 * @param options the command's own options (commander's `opts()`)
 */
export function cliGuardrails(ctx: CommandContext, options: Record<string, unknown>): GuardrailOptions {
  return {
    yes: ctx.globals.yes,
    allowDangerous: options["allowDangerous"] === true,
    noBackup: options["backup"] === false,
    guardrails: {
      interactive: canPrompt(ctx),
      ci: ctx.globals.ci,
      ui: terminalConfirmation(ctx),
      resolveEnvironment: (name) => ctx.environment(name),
      directoryWait: ctx.directoryWait(),
      processEnv: ctx.io.env,
      onBackup: (outcome) => reportBackup(ctx, outcome),
    },
  };
}
