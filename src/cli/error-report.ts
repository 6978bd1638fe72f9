/**
 * How the error a command ends with is shown: a line and a hint on stderr (or one JSON
 * log line with `--log-format json`) and, with `--json`, the error document on stdout.
 * Every path that ends a command with an error goes through here — main.ts for what a
 * command throws, bin.ts for what ends the process behind the command's back — so the
 * document has one shape: `{"error":{"code","message","hint","exitStatus","details"}}`.
 * Everything is scrubbed of known secrets before and after serialisation.
 */
import type { AthanorError } from "../errors.js";
import { knownSecrets } from "../secrets/redact.js";
import { escapeControlCharactersInJson, escapeControlCharactersInLines as inert } from "../control-characters.js";
import { formatMessageLine } from "../observe/message-line.js";
import { VERSION } from "../version.js";

/** The error a command ended with. */
export interface ErrorReport {
  readonly code: string;
  readonly message: string;
  readonly hint: string | null;
  readonly exitStatus: number;
  readonly details?: Readonly<Record<string, unknown>> | undefined;
}

/** How to show it: which formats were asked for, and how the text form is worded. */
export interface ErrorReportOptions {
  /** `--json`: the error document on stdout. */
  readonly json: boolean;
  /** `--log-format json`: stderr carries one JSON line instead of the text. */
  readonly jsonLogs: boolean;
  /** The text form's first word; an athanor bug says `internal error`. */
  readonly label?: string | undefined;
  /** Text written after the hint in the text form (a bug's stack with --verbose). */
  readonly trailer?: string | undefined;
}

/** What an athanor error reports: its code, message, hint, exit status and details. */
export function errorReportOf(error: AthanorError): ErrorReport {
  return { code: error.code, message: error.message, hint: error.hint ?? null, exitStatus: error.exitStatus, details: error.details };
}

/** The error document of `--json`, as written to stdout (with its newline). */
export function formatErrorDocument(report: ErrorReport): string {
  const document = { error: { code: report.code, message: report.message, hint: report.hint, exitStatus: report.exitStatus, details: report.details ?? {} } };
  return knownSecrets.scrub(`${escapeControlCharactersInJson(JSON.stringify(document, (_key, value: unknown) => (typeof value === "string" ? knownSecrets.scrub(value) : value), 2))}\n`);
}

/** The final error as a JSON log line (`"event":"error"`). */
function formatErrorLogLine(report: ErrorReport): string {
  const fields = { code: report.code, hint: report.hint === null ? null : knownSecrets.scrub(report.hint), exitStatus: report.exitStatus };
  return knownSecrets.scrub(formatMessageLine({ level: "error", event: "error", msg: knownSecrets.scrub(report.message), toolVersion: VERSION, fields }));
}

/** Writes `report` to stderr (text or a JSON log line) and, with `--json`, its document to stdout. */
export function writeErrorReport(report: ErrorReport, io: { stdout: { write(text: string): unknown }; stderr: { write(text: string): unknown } }, options: ErrorReportOptions): void {
  if (options.jsonLogs) io.stderr.write(formatErrorLogLine(report));
  // A message may quote what a revision or the server said (a PR's SQL, a value): its lines stay, its escape sequences do not act.
  else io.stderr.write(knownSecrets.scrub(`${options.label ?? "error"}: ${inert(report.message)}\n${report.hint ? `  hint: ${inert(report.hint)}\n` : ""}${options.trailer ?? ""}`));
  if (options.json) io.stdout.write(formatErrorDocument(report));
}

/** `--json` on the command line. */
export function wantsJson(argv: readonly string[]): boolean {
  return argv.includes("--json");
}

/** `--log-format json` (or `--log-format=json`) on the command line: stderr carries JSON lines only. */
export function wantsJsonLogs(argv: readonly string[]): boolean {
  return argv.some((arg, i) => arg === "--log-format=json" || (arg === "--log-format" && argv[i + 1] === "json"));
}
