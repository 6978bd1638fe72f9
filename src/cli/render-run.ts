/**
 * The text renderer of the changing commands' events (DESIGN.md §7, text logs for
 * people): one line per revision, `upgrade 3f2a9c1d0b7e add orders table (12 ms)`, the
 * echoed statements (`echo: true`), and a note while waiting for the lock. Revision lines
 * go to stdout, or to stderr when stdout carries a `--json` document.
 */
import { escapeControlCharactersInLines as inert } from "../control-characters.js";
import type { EventSink, MigrationEvent, StepDirection } from "../run/events.js";
import type { CommandContext } from "./runtime.js";
import { formatReplicaWait } from "../observe/progress.js";
import { LOCK_WAIT_SIGNAL_NOTE, runSignalNote, setSignalNote } from "./signal-note.js";

/** `12 ms`, `1.4 s`, `2 min 5 s`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1000)} s`;
}

/** `upgrade` / `downgrade`. */
export function verbOf(direction: StepDirection): string {
  return direction === "up" ? "upgrade" : "downgrade";
}

/** The renderer; pass it to `createEventSink`. */
export function renderRunEvents(ctx: CommandContext): EventSink {
  const c = ctx.colors;
  const line = (text: string) => (ctx.globals.json ? ctx.err(text) : ctx.out(text));
  // The note a signal gets during the lock wait says that nothing ran; the run's own once the lock is held.
  let runNote: string | null | undefined;
  // The server's notices of the revision running, printed under its line once it ends.
  let notices: Extract<MigrationEvent, { type: "notice" }>[] = [];
  const noticeLines = (omitted: number | undefined): string[] => {
    const lines = notices.map((notice) => {
      const text = [`${notice.severity}: ${notice.message}`, ...(notice.detail === undefined ? [] : [`DETAIL: ${notice.detail}`]), ...(notice.hint === undefined ? [] : [`HINT: ${notice.hint}`])];
      const indented = `    ${inert(text.join("\n")).replace(/\n/g, "\n      ")}`;
      return notice.severity === "WARNING" ? c.yellow(indented) : c.dim(indented);
    });
    if (omitted !== undefined) lines.push(c.dim(`    (${omitted} more notice${omitted === 1 ? "" : "s"} of the server not shown)`));
    notices = [];
    return lines;
  };
  return (event: MigrationEvent) => {
    switch (event.type) {
      case "lock-wait":
        if (runNote === undefined) runNote = runSignalNote();
        setSignalNote(LOCK_WAIT_SIGNAL_NOTE);
        if (!ctx.globals.quiet) ctx.err(c.yellow(`waiting up to ${formatMs(event.waitMs)} for the migration lock, held by ${event.holder}`));
        return;
      case "lock-acquired":
        if (runNote !== undefined) setSignalNote(runNote);
        return;
      case "replica-wait":
        if (!ctx.globals.quiet) ctx.err(event.done ? c.dim(formatReplicaWait(event)) : c.yellow(formatReplicaWait(event)));
        return;
      case "statement":
        if (!ctx.globals.quiet) ctx.err(c.dim(`    ${event.line === null ? "" : `${event.file}:${event.line}  `}${inert(event.sql).replace(/\n/g, "\n    ")}${event.durationMs === undefined ? "" : `  (${formatMs(event.durationMs)})`}`));
        return;
      case "notice":
        if (!ctx.globals.quiet) notices.push(event);
        return;
      case "revision-end": {
        const text = `${verbOf(event.direction)} ${event.revision} ${inert(event.message)}`.trimEnd();
        const took = event.durationMs === null ? "duration unknown" : formatMs(event.durationMs);
        const heard = ctx.globals.quiet ? [] : noticeLines(event.noticesOmitted);
        if (event.outcome === "success") {
          if (!ctx.globals.quiet) {
            line(`${text} ${c.dim(`(${took})`)}`);
            for (const notice of heard) line(notice);
          }
        } else {
          ctx.err(c.red(`${event.outcome === "interrupted" ? "INTERRUPTED" : "FAILED"} ${text} (${took})`));
          for (const notice of heard) ctx.err(notice);
        }
        return;
      }
      default:
        return;
    }
  };
}
