/**
 * The command word of a command line, read without commander: main.ts loads only that
 * command's module, and the launcher (src/cli/launch.ts) keys its code cache's refreshes by it.
 */

/** Global options that take a value: their value is not the command's name. */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(["-e", "--env", "--config", "--log-format", "--lock-wait", "--target"]);

/** The command word of `argv` (global options and their values skipped), or undefined. */
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
