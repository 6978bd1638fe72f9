/**
 * The command word of the CLI's arguments, without the parser: the launcher needs it to set
 * a command's V8 flags before it compiles any of the CLI (src/cli/start-flags.ts), and
 * main.ts to load only that command's modules. Kept apart so the launcher loads no more.
 */

/** Global options that take a value: their value is not the command's name. */
const GLOBAL_OPTIONS_WITH_VALUE: ReadonlySet<string> = new Set(["-e", "--env", "--config", "--log-format", "--lock-wait", "--target"]);

/** The command word of `argv` (global options and their values skipped): the first word that is neither an option nor an option's value; undefined with --help. */
export function findCommandName(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === "--help" || word === "-h") return undefined;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(word)) {
      i += 1;
      continue;
    }
    if (word.startsWith("-")) continue;
    return word;
  }
  return undefined;
}

/**
 * True when `argv` asks only for the version (`-V`/`--version`, no command word, no help):
 * commander prints it before any command is looked at, so main.ts registers none and loads
 * none of their modules (every pack, ~40 ms, for one line).
 */
export function asksOnlyForVersion(argv: readonly string[]): boolean {
  return findCommandName(argv) === undefined && (argv.includes("--version") || argv.includes("-V")) && !argv.includes("--help") && !argv.includes("-h");
}
