/**
 * `athanor log [-n N] [--json]`: the selected environment's run history, newest first.
 * Read-only; nothing run yet → "no history yet", exit 0.
 */
import type { CommandModule } from "../main.js";
import { DEFAULT_LOG_LIMIT, readRunLog, type RunLog, type RunLogEntry } from "../../commands/log.js";
import { escapeControlCharacters } from "../../control-characters.js";
import { ConfigError } from "../../errors.js";
import { formatDuration } from "../../observe/progress.js";
import type { Colors, CommandContext } from "../runtime.js";

/** `2026-01-02 10:04:05` (UTC) from an ISO time. */
function when(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return match ? `${match[1]} ${match[2]}` : iso;
}

/** `alice@ci-runner (db user app)`, or whatever part is known. */
function who(entry: RunLogEntry): string {
  const person = entry.osUser ?? entry.user;
  const place = entry.host === null ? "" : `@${entry.host}`;
  return `${person}${place}${entry.osUser !== null && entry.osUser !== entry.user ? ` as ${entry.user}` : ""}`;
}

/** The log as a table, newest first; a failed step's error and any note indented below it. */
export function renderRunLog(log: RunLog, c: Colors): string[] {
  if (log.entries.length === 0) return [`${c.bold(log.environment)}: no history yet${log.exists ? "" : ` (${log.table} does not exist: nothing was ever run here)`}`];
  const header = ["WHEN (UTC)", "ENVIRONMENT", "DIRECTION", "REVISION", "DURATION", "OUTCOME", "BY", "VERSION"];
  const rows = log.entries.map((entry) => ({
    entry,
    cells: [
      when(entry.startedAt),
      entry.environment,
      entry.direction,
      entry.revision ?? "-",
      entry.durationMs === null ? "-" : formatDuration(entry.durationMs),
      `${entry.outcome === "success" ? "✓" : entry.outcome === "started" ? "…" : "✗"} ${entry.outcome}`,
      who(entry),
      entry.toolVersion,
    ],
  }));
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row.cells[i] as string).length)));
  const pad = (cells: readonly string[]): string[] => cells.map((cell, i) => (i === 4 ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number)));
  const lines = [c.dim(pad(header).join("  ").trimEnd())];
  for (const { entry, cells } of rows) {
    const padded = pad(cells);
    padded[5] = entry.outcome === "success" ? c.green(padded[5] as string) : entry.outcome === "started" ? c.yellow(padded[5] as string) : c.red(padded[5] as string);
    lines.push(padded.join("  ").trimEnd());
    const indent = " ".repeat((widths[0] as number) + 2);
    // Rows may quote a revision's message or the server's error about a PR's data: escape sequences shown, not acted on.
    if (entry.error !== null) lines.push(`${indent}${c.red(escapeControlCharacters(entry.error.split("\n")[0] ?? ""))}`);
    if (entry.note !== null) lines.push(`${indent}${c.dim(escapeControlCharacters(entry.note))}`);
  }
  return lines;
}

function parseCount(value: unknown): number {
  if (value === undefined) return DEFAULT_LOG_LIMIT;
  const text = String(value);
  const hint = "Give a whole number, e.g. `athanor log -n 50` (0 shows every row).";
  if (!/^\d+$/.test(text)) throw new ConfigError("malformed-count", `-n: "${text}" is not a number of rows`, { hint });
  // Past 2^53 the number is no longer exact, and past 2^63 the database refuses it as a bigint.
  if (!Number.isSafeInteger(Number(text))) throw new ConfigError("malformed-count", `-n: ${text} is too large a number of rows`, { hint });
  return Number(text);
}

async function runLog(ctx: CommandContext, options: Record<string, unknown>): Promise<void> {
  const limit = parseCount(options["maxCount"]);
  const env = await ctx.environment();
  const log = await readRunLog(env, { limit, directoryWait: ctx.directoryWait() });
  if (ctx.globals.json) ctx.json(log);
  else for (const line of renderRunLog(log, ctx.colors)) ctx.out(line);
}

export const registerLog: CommandModule = (program, action) => {
  program
    .command("log")
    .description("the environment's run history, newest first: who ran what, where, when, how long, outcome")
    .option("-n, --max-count <n>", `show at most N runs (default ${DEFAULT_LOG_LIMIT}; 0 for all)`)
    .action(action((ctx, options) => runLog(ctx, options)));
};
