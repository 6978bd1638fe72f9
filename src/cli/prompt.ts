/**
 * The confirmation of a protected run, on the terminal: the plan rendered on stderr (so
 * `--json` output on stdout stays one document), then a prompt asking for the
 * environment's name (@clack/prompts). The guard decides when to ask; this module only
 * shows and asks. It is never called without a terminal: on a closed or piped stdin
 * clack would never resolve.
 */
import type { Readable, Writable } from "node:stream";
import type { ConfirmationRequest, ConfirmationUI } from "../guard/confirm.js";
import type { CommandContext } from "./runtime.js";

const VERB = { up: "apply ", down: "revert", stamp: "stamp " } as const;

/** The plan of a protected run as lines of text (colours from the context). */
export function renderConfirmationPlan(ctx: CommandContext, request: ConfirmationRequest): string[] {
  const c = ctx.colors;
  const lines: string[] = [];
  const count = request.steps.length;
  lines.push(`${c.bold(c.red("protected environment"))} ${c.bold(request.environment)}  ${c.dim(request.url)}`);
  const current = `(current: ${request.current.length === 0 ? "none" : request.current.join(", ")})`;
  if (request.fleetTargets !== undefined) {
    const targets = `${request.fleetTargets} target${request.fleetTargets === 1 ? "" : "s"}`;
    lines.push(`${request.command} to ${request.target} on ${targets}: each target's revisions are planned under its own lock once this is confirmed`);
  } else if (request.command === "repair" || request.command === "resolve") {
    // `repair` and `resolve` have no target and no revision to run: their changes are the lines below.
    lines.push(`${request.command}: version rows only, no migration runs ${current}`);
  } else {
    lines.push(`${request.command} to ${request.target}: ${count} revision${count === 1 ? "" : "s"} ${current}`);
  }
  for (const step of request.steps) {
    lines.push(`  ${step.direction === "down" ? c.yellow(VERB.down) : VERB[step.direction]} ${c.bold(step.revision)}  ${step.file}${step.message ? `  ${c.dim(step.message)}` : ""}`);
    for (const finding of step.findings) {
      const level = finding.severity === "danger" ? c.red("danger ") : c.yellow("warning");
      lines.push(`           ${level} ${finding.rule} (line ${finding.line})${finding.statement ? `: ${finding.statement}` : ""}`);
      lines.push(`                   ${c.dim(finding.message)}`);
      lines.push(`                   ${c.dim(`safe: ${finding.safe}`)}`);
    }
    if (step.notLinted) lines.push(`           ${c.dim(`not linted: ${step.notLintedReason ?? "TypeScript revision"}`)}`);
  }
  for (const change of request.otherChanges ?? []) lines.push(`  ${change}`);
  if (request.allowedDangerous > 0) lines.push(c.yellow(`${request.allowedDangerous} dangerous change${request.allowedDangerous === 1 ? "" : "s"} allowed by --allow-dangerous`));
  const backup = request.backup;
  lines.push("dir" in backup ? `backup: to ${backup.dir} before the first change` : backup.skipped === "--no-backup" ? c.yellow("backup: skipped (--no-backup)") : `backup: none (${backup.skipped})`);
  return lines;
}

function asWritable(stream: CommandContext["io"]["stderr"]): Writable | undefined {
  return typeof (stream as Partial<Writable>).on === "function" && typeof (stream as Partial<Writable>).once === "function" ? (stream as Writable) : undefined;
}

/** Where a prompt can be seen: stderr when it is a terminal, else stdout when it is; null when neither is. */
function promptOutput(ctx: CommandContext): Writable | null {
  if (ctx.io.stderr.isTTY) return asWritable(ctx.io.stderr) ?? null;
  if (ctx.io.stdout.isTTY) return asWritable(ctx.io.stdout) ?? null;
  return null;
}

/**
 * True when a person can be asked: stdin is a terminal, not CI mode, and the prompt has a
 * terminal to be drawn on (with both outputs redirected, a prompt would wait unseen).
 */
export function canPrompt(ctx: CommandContext): boolean {
  return ctx.interactive && promptOutput(ctx) !== null;
}

/**
 * The terminal side of the confirmation: shows the plan on stderr and asks for the
 * environment's name with @clack/prompts (loaded only when a prompt is needed).
 */
export function terminalConfirmation(ctx: CommandContext): ConfirmationUI {
  return {
    showPlan(request) {
      if (ctx.globals.quiet && ctx.globals.yes) return;
      ctx.err(renderConfirmationPlan(ctx, request).join("\n"));
    },
    async askEnvironmentName(request) {
      // Never prompt without a terminal: clack on a closed stdin never resolves.
      const output = promptOutput(ctx);
      if (!ctx.interactive || output === null) return null;
      const { text, isCancel } = await import("@clack/prompts");
      // CliIO's input is structural (the public types need no @types/node); here it is Node's stream.
      const input = ctx.io.stdin as Readable;
      // Ctrl-D (end of input) cancels, as Ctrl-C does: clack reads the terminal in raw mode,
      // where it is one more key, which it ignored (the prompt waited for ever).
      const endOfInput = new AbortController();
      const onData = (chunk: Buffer | string): void => {
        if (String(chunk).includes("\u0004")) endOfInput.abort();
      };
      const onEnd = (): void => endOfInput.abort();
      input.on("data", onData);
      input.once("end", onEnd);
      try {
        const answer = await text({
          message: `Type the environment's name ("${request.environment}") to ${request.command} it, anything else cancels`,
          input,
          output,
          signal: ctx.signal ? AbortSignal.any([ctx.signal, endOfInput.signal]) : endOfInput.signal,
        });
        if (isCancel(answer) || typeof answer !== "string") return null;
        return answer;
      } finally {
        input.off("data", onData);
        input.off("end", onEnd);
        // A "data" listener set the terminal flowing: left so, it keeps the process from exiting.
        input.pause();
      }
    },
  };
}
