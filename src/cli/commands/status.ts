/**
 * `athanor status [--json] [--timeout DURATION]`: every environment at once, one row each
 * (name, redacted database, current revision, pending count, state with a colour and a
 * symbol, problems). Exit 0 when every environment is up to date without problems,
 * 5 otherwise (behind, ahead, diverged, unreachable, error, or any problem); an
 * environment not configured yet (its variables unset) reads so and does not fail it.
 */
import type { CommandModule } from "../main.js";
import { parseDuration } from "../../config/duration.js";
import { status, statusNeedsAttention, type StatusEntry, type StatusReport, type StatusState } from "../../commands/status.js";
import { ExitStatus } from "../../errors.js";
import { promotionRefusal } from "../../guard/promotion-wording.js";
import type { Colors, CommandContext } from "../runtime.js";

/** How each state reads without colour: a symbol and the word. */
export const STATE_SYMBOLS: Readonly<Record<StatusState, string>> = {
  "up-to-date": "✓",
  behind: "↑",
  ahead: "↓",
  diverged: "≠",
  unfinished: "◐",
  unreachable: "✗",
  error: "!",
  "not-configured": "○",
};

/** The state as the table's cell words it. */
function stateLabel(state: StatusState): string {
  return `${STATE_SYMBOLS[state]} ${state === "not-configured" ? "not configured yet" : state}`;
}

function paintState(c: Colors, state: StatusState): (text: string) => string {
  if (state === "up-to-date") return c.green;
  if (state === "behind" || state === "ahead") return c.yellow;
  if (state === "not-configured") return c.dim;
  return c.red;
}

/** `db.internal:5432/prod`, `pglite ./.athanor/dev`, `pglite (memory)`: where, without user or password. */
export function databaseLabel(url: string): string {
  if (url === "") return "-";
  const pglite = /^pglite:\/\/(.*)$/i.exec(url);
  if (pglite) return (pglite[1] ?? "") === "memory" || pglite[1] === "" ? "pglite (memory)" : `pglite ${pglite[1]}`;
  try {
    const parsed = new URL(url);
    if (/^postgres/i.test(parsed.protocol)) return `${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  } catch {
    // A template that did not resolve (`${DB_HOST}`): show it as written, already redacted.
  }
  return url;
}

function currentLabel(entry: StatusEntry): string {
  if (!entry.reachable || entry.state === "error") return "-";
  if (entry.current.length === 0) return "(empty)";
  // Several heads (a branched database) stay on one row: the first two, then a count.
  return entry.current.length <= 2 ? entry.current.join(",") : `${entry.current.slice(0, 2).join(",")} +${entry.current.length - 2}`;
}

function pendingLabel(entry: StatusEntry): string {
  return !entry.reachable || entry.state === "error" ? "-" : String(entry.pending);
}

/** Which revisions the gate blocks and why, in the words of the gate's own refusal (src/guard/promotion-wording.ts). */
function blockedLabel(gate: NonNullable<StatusEntry["promotion"]>): string {
  return `refuses: ${gate.source} ${promotionRefusal(gate, (ids) => ids.join(", "))}`;
}

/** The table: one row per environment, problems indented under their row. */
export function renderStatusTable(report: StatusReport, c: Colors): string[] {
  const rows = report.environments.map((entry) => ({
    entry,
    cells: [entry.name, databaseLabel(entry.url), currentLabel(entry), pendingLabel(entry), stateLabel(entry.state)],
  }));
  const header = ["ENVIRONMENT", "DATABASE", "CURRENT", "PENDING", "STATE"];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row.cells[i] as string).length)));
  const line = (cells: readonly string[], paint?: (text: string) => string): string =>
    cells
      .map((cell, i) => {
        const padded = i === 3 ? cell.padStart(widths[i] as number) : i === cells.length - 1 ? cell : cell.padEnd(widths[i] as number);
        return i === cells.length - 1 && paint ? paint(padded) : i === 0 ? c.bold(padded) : padded;
      })
      .join("  ")
      .trimEnd();
  const lines = [c.dim(header.map((title, i) => (i === 3 ? title.padStart(widths[i] as number) : title.padEnd(widths[i] as number))).join("  ").trimEnd())];
  const indent = " ".repeat((widths[0] as number) + 2);
  for (const { entry, cells } of rows) {
    lines.push(line(cells, paintState(c, entry.state)));
    // The promotion gate (promoteFrom): whether what would run next is allowed.
    const gate = entry.promotion;
    if (gate !== undefined && gate.next.length > 0) {
      const verdict = gate.sourceError !== null ? c.red(`cannot be checked: ${gate.sourceError}`) : gate.allowed ? c.green("allows it") : c.red(blockedLabel(gate));
      lines.push(`${indent}${c.dim("→")} next: ${gate.next.length} revision${gate.next.length === 1 ? "" : "s"}; promotion gate from ${gate.source} ${verdict}`);
    }
    for (const problem of entry.problems) {
      const [first, ...rest] = problem.message.split("\n");
      // Not configured yet is what to do next, not a fault: no red bullet, no code.
      if (problem.code === "not-configured") lines.push(`${indent}${c.dim("→")} ${first ?? ""}`);
      else lines.push(`${indent}${c.red("•")} ${problem.code}: ${first ?? ""}`);
      for (const more of rest) lines.push(`${indent}  ${more}`);
    }
  }
  const unconfigured = report.environments.filter((entry) => entry.state === "not-configured").length;
  const configured = report.environments.length - unconfigured;
  const attention = report.environments.filter((entry) => entry.state !== "not-configured" && (entry.state !== "up-to-date" || entry.problems.length > 0)).length;
  if (report.environments.length > 0) {
    const later = unconfigured === 0 ? "" : `; ${unconfigured} not configured yet`;
    lines.push("");
    lines.push(
      attention === 0
        ? c.green(unconfigured === 0 ? `${STATE_SYMBOLS["up-to-date"]} all ${configured} environments are up to date` : `${STATE_SYMBOLS["up-to-date"]} ${configured} of ${report.environments.length} up to date${later}`)
        : c.yellow(`${attention} of ${report.environments.length} environment${report.environments.length === 1 ? "" : "s"} need${attention === 1 ? "s" : ""} attention${later}`),
    );
  }
  return lines;
}

async function runStatus(ctx: CommandContext, options: Record<string, unknown>): Promise<number> {
  const project = await ctx.project();
  const timeoutMs = typeof options["timeout"] === "string" ? parseDuration(options["timeout"], "s", "--timeout") : undefined;
  // `--env FLEET status` (or `--target`): the fleet's own table, target by target.
  if (ctx.globals.env !== undefined || ctx.globals.targets.length > 0) {
    const env = await ctx.environment();
    if (env.fleet !== null) return (await import("../fleet.js")).runFleetStatus(ctx, env, timeoutMs);
  }
  const report = await status(project, { processEnv: ctx.io.env, timeoutMs, signal: ctx.signal });
  if (ctx.globals.json) ctx.json(report);
  else for (const text of renderStatusTable(report, ctx.colors)) ctx.out(text);
  return statusNeedsAttention(report) ? ExitStatus.problem : ExitStatus.ok;
}

export const registerStatus: CommandModule = (program, action) => {
  program
    .command("status")
    .description("every environment at once: current revision, pending count, state, problems (exit 5 unless all are up to date)")
    .option("--timeout <duration>", "how long each environment may take to answer (seconds, or 500ms, 10s)", "5")
    .action(action((ctx, options) => runStatus(ctx, options)));
};
