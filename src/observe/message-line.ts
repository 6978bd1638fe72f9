/**
 * With `--log-format json` every line on stderr is a JSON object: the events' lines come
 * from pino (json-log.ts), and the CLI's other messages (notes, warnings, the final
 * error) become lines of the same shape through {@link formatMessageLine}, without
 * loading pino.
 */
import { createRequire } from "node:module";
import { escapeControlCharactersInJson } from "../control-characters.js";
import type { LogRecordLevel } from "./log-record.js";

/** A message that is not a runtime event. */
export interface MessageLine {
  readonly level: LogRecordLevel;
  /** `message` for a note or warning, `error` for the error a command ended with. */
  readonly event: "message" | "error";
  readonly msg: string;
  readonly toolVersion: string;
  /** More fields, e.g. the error's `code`, `hint` and `exitStatus`. */
  readonly fields?: Readonly<Record<string, unknown>> | undefined;
}

let host: string | undefined;

// ANSI colour and cursor sequences: a JSON line carries plain text.
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;

/** Removes colour codes and trailing whitespace. */
export function plainText(text: string): string {
  return text.replace(ANSI, "").trimEnd();
}

/**
 * One JSON line (with its newline) in the field order of the event lines:
 * `level`, `pid`, `hostname`, `time`, `event`, `toolVersion`, the extra fields, `msg`.
 */
export function formatMessageLine(line: MessageLine, now: Date = new Date()): string {
  // node:os when first needed: loaded at start-up it cost ~0.6 ms of every command.
  host ??= (createRequire(import.meta.url)("node:os") as typeof import("node:os")).hostname();
  return `${escapeControlCharactersInJson(JSON.stringify({ level: line.level, pid: process.pid, hostname: host, time: now.toISOString(), event: line.event, toolVersion: line.toolVersion, ...line.fields, msg: plainText(line.msg) }))}\n`;
}
