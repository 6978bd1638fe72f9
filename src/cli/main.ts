/**
 * The CLI: parses argv with commander, runs one command, renders errors, returns the
 * exit status of DESIGN.md §5. `main(argv, io)` never calls process.exit, so tests
 * call it in-process; bin.ts wires it to the real process.
 */
import { Command, CommanderError, Option } from "commander";
import { AthanorError, ExitStatus, isAthanorError } from "../errors.js";
import { knownSecrets, registerVariableSecrets } from "../secrets/redact.js";
import { loadCommandModules } from "./commands/index.js";
import { CommandContext, parseLockWait, type CliIO, type GlobalOptions } from "./runtime.js";
import { VERSION } from "../version.js";
import { errorReportOf, formatErrorDocument, wantsJson, wantsJsonLogs, writeErrorReport } from "./error-report.js";
import { guardProcessExit } from "./exit-guard.js";
import { withConsoleOnStderr } from "./json-console.js";
import { closest } from "../config/suggest.js";
import { asksOnlyForVersion, findCommandName } from "./command-name.js";

/** A command's handler: positional arguments and the command's own options. */
export type CommandHandler = (ctx: CommandContext, options: Record<string, unknown>, args: string[]) => Promise<number | void>;

/** Wraps a handler into a commander action. Registered by each module in commands/. */
export type ActionFactory = (handler: CommandHandler) => (...commanderArgs: unknown[]) => Promise<void>;

export type CommandModule = (program: Command, action: ActionFactory) => void;

/** What commander reported for a parsing problem, kept for `--json` (which needs it on stdout). */
interface ParseReport {
  message?: string;
}

/** A long option a user may type for a real one: Alembic-style and spelled-out names. */
const OPTION_SYNONYMS: Readonly<Record<string, string>> = { "--environment": "--env", "--name": "--env" };

/**
 * Adds "(Did you mean --env?)" to commander's unknown-option error when commander found
 * no suggestion itself: it compares with visible options only and knows no synonyms.
 */
function withOptionSuggestion(text: string, program: Command): string {
  const unknown = /unknown option '([^'=]+)/.exec(text)?.[1];
  if (unknown === undefined || text.includes("Did you mean")) return text;
  const flags = [program, ...program.commands].flatMap((command) => command.options.map((option) => option.long).filter((flag): flag is string => flag !== undefined));
  const match = closest(unknown, [...flags, ...Object.keys(OPTION_SYNONYMS)]);
  if (match === undefined) return text;
  return `${text.trimEnd()}\n(Did you mean ${OPTION_SYNONYMS[match] ?? match}?)\n`;
}

function buildProgram(io: CliIO, setStatus: (status: number) => void, commandModules: readonly CommandModule[], report: ParseReport): Command {
  const program = new Command("athanor");
  program
    .description("Database schema migrations for TypeScript and PostgreSQL, with environments as a first-class idea.")
    .version(VERSION, "-V, --version", "print the version")
    .option("-e, --env <name>", "environment to use (default: ATHANOR_ENV, ENVIRONMENT, defaultEnvironment, development)")
    .option("--config <file>", "config file (default: athanor.config.* found walking up)")
    .option("--json", "machine-readable output on stdout (logs go to stderr)")
    .addOption(new Option("--log-format <format>", "log format on stderr").choices(["text", "json"]).default("text"))
    .option("-q, --quiet", "print only errors and results")
    .option("-v, --verbose", "print more detail (and the stack of internal errors)")
    .option("-y, --yes", "answer yes to the confirmation of a protected environment (for non-interactive runs)")
    .option("--no-color", "no colours in the output")
    .option("--lock-wait <duration>", "how long to wait for the migration lock (seconds, or 90s, 2m)", "60")
    .option("--ci", "CI mode: no prompts, no colours, no animation (also when CI=true)")
    .option("--target <name>", "a fleet environment: run on this target only (repeatable; globs such as 'eu-*')", (value: string, previous: string[]) => [...previous, value], [] as string[])
    .showHelpAfterError("(run `athanor --help` for the list of commands and options)")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(knownSecrets.scrub(text)),
      writeErr: (text) => io.stderr.write(knownSecrets.scrub(text)),
      outputError: (text, write) => {
        const shown = withOptionSuggestion(text, program);
        report.message = shown.replace(/^error: /, "").trim().replace(/\s*\n\s*/g, " ");
        write(shown);
      },
    });

  const action: ActionFactory = (handler) => async (...commanderArgs) => {
    const command = commanderArgs[commanderArgs.length - 1] as Command;
    const options = command.opts();
    const args = commanderArgs.slice(0, -2).flatMap((arg) => (Array.isArray(arg) ? arg.map(String) : arg === undefined ? [] : [String(arg)]));
    const ctx = new CommandContext(io, globalOptions(program, io), command.name());
    const status = await handler(ctx, options, args);
    setStatus(status ?? ExitStatus.ok);
  };
  for (const register of commandModules) register(program, action);
  return program;
}

/**
 * What FORCE_COLOR says, as Node and chalk's supports-color read it: `0` or `false` turns
 * colours off even on a terminal; any other value (`1`, `true`, empty...) turns them on
 * even on a file or a pipe; unset: it says nothing (undefined).
 */
function forcedColor(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  return value !== "0" && value.toLowerCase() !== "false";
}

function globalOptions(program: Command, io: CliIO): GlobalOptions {
  const raw = program.opts();
  const ci = raw["ci"] === true || io.env["CI"] === "true" || io.env["CI"] === "1";
  // NO_COLOR counts when it is set and not empty (no-color.org).
  const colorRequested = raw["color"] !== false && (io.env["NO_COLOR"] ?? "") === "" && !ci;
  const globals: GlobalOptions = {
    json: raw["json"] === true,
    logFormat: raw["logFormat"] === "json" ? "json" : "text",
    quiet: raw["quiet"] === true,
    verbose: raw["verbose"] === true,
    yes: raw["yes"] === true,
    color: colorRequested && (forcedColor(io.env["FORCE_COLOR"]) ?? Boolean(io.stdout.isTTY)),
    lockWaitMs: parseLockWait(typeof raw["lockWait"] === "string" ? raw["lockWait"] : undefined),
    ci,
    targets: Array.isArray(raw["target"]) ? raw["target"].filter((value): value is string => typeof value === "string") : [],
  };
  if (typeof raw["env"] === "string") globals.env = raw["env"];
  if (typeof raw["config"] === "string") globals.config = raw["config"];
  return globals;
}

/** Renders an error for a person (stderr) and, with --json, as a JSON document on stdout. */
function reportError(error: AthanorError, io: CliIO, json: boolean, jsonLogs: boolean): void {
  writeErrorReport(errorReportOf(error), io, { json, jsonLogs });
}

/** Why help was shown instead of a command: none given, or `help` named an unknown one. */
function missingCommandMessage(argv: readonly string[], program: Command): string {
  const name = findCommandName(argv);
  const asked = name === "help" ? argv[argv.indexOf("help") + 1] : undefined;
  if (asked === undefined) return "no command given";
  const match = closest(asked, program.commands.map((command) => command.name()));
  return `unknown command '${asked}'${match === undefined ? "" : ` (Did you mean ${match}?)`}`;
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and returns the exit status.
 * @example
 * const status = await main(["--env", "testing", "check"], { stdout: process.stdout, ... });
 */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  // Loaded code (config, settings, revisions) cannot end the process behind the command's back.
  const releaseExit = guardProcessExit();
  try {
    return await runMain(argv, io);
  } finally {
    releaseExit();
  }
}

async function runMain(argv: readonly string[], io: CliIO): Promise<number> {
  // Before any config module runs: an error it throws may quote what it read from the environment.
  registerVariableSecrets(io.env);
  let status: number = ExitStatus.ok;
  const report: ParseReport = {};
  const json = wantsJson(argv);
  const jsonLogs = wantsJsonLogs(argv);
  const verbose = argv.includes("--verbose") || argv.includes("-v");
  let program: Command | undefined;
  try {
    // Inside the try: a command's module that cannot be loaded (a pack an install lost,
    // src/cli/launch.ts) is reported like the command's own errors.
    const built = buildProgram(
      io,
      (value) => {
        status = value;
      },
      asksOnlyForVersion(argv) ? [] : await loadCommandModules(findCommandName(argv)),
      report,
    );
    program = built;
    const parse = () => built.parseAsync([...argv], { from: "user" });
    // The console loaded code uses writes to stderr raw: its text is scrubbed on the way.
    await (json ? withConsoleOnStderr({ write: (text: string) => io.stderr.write(knownSecrets.scrub(text)) }, parse) : parse());
    return status;
  } catch (error) {
    if (error instanceof CommanderError && program !== undefined) {
      // Help asked for (`--help`, `help`, `help upgrade`) and version exit 0; every parsing
      // problem is a usage error, and so is help shown because no command was given or
      // `help` named none that exists (commander then exits 1: DESIGN.md §5 says 2).
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.executeSubCommandAsync") return ExitStatus.ok;
      if (error.exitCode === 0) return ExitStatus.ok;
      const message = error.code === "commander.help" ? missingCommandMessage(argv, program) : (report.message ?? error.message.replace(/^error: /, ""));
      if (error.code === "commander.help") io.stderr.write(knownSecrets.scrub(`error: ${message}\n`));
      if (json) io.stdout.write(formatErrorDocument({ code: "usage", message, hint: "Run `athanor --help` for the list of commands and options.", exitStatus: ExitStatus.usage, details: { commander: error.code } }));
      return ExitStatus.usage;
    }
    if (isAthanorError(error)) {
      reportError(error, io, json, jsonLogs);
      return error.exitStatus;
    }
    // Not an athanor error: a bug. Say so plainly; the stack only with --verbose.
    const message = error instanceof Error ? error.message : String(error);
    const hint = "this is a bug in athanor; please report it";
    const trailer = verbose && error instanceof Error && error.stack ? `${error.stack}\n` : "";
    writeErrorReport({ code: "internal", message, hint: verbose ? hint : `${hint} (run again with --verbose for the stack)`, exitStatus: ExitStatus.failed }, io, { json, jsonLogs, label: "internal error", trailer });
    return ExitStatus.failed;
  }
}
