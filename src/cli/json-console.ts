/**
 * With `--json`, stdout holds one JSON document. Code athanor loads and runs — a config
 * file, a settings module, TypeScript and JavaScript revisions — may print progress with
 * `console.log` ("backfilling..."), which would land in the middle of that document and
 * break every reader of it. While such a command runs, the global console writes
 * everything to stderr instead, as the human-readable output already does; athanor's own
 * document is written to the stdout stream it was given, not through the console.
 *
 * Loaded code that writes to `process.stdout` directly is diverted to stderr by the
 * CLI's output (src/cli/process-output.ts), unless stdout is a terminal.
 */
import { createRequire } from "node:module";

/** Runs `command` with the global console writing to stderr, then puts the console back. */
export async function withConsoleOnStderr<T>(stderr: { write(text: string): unknown }, command: () => Promise<T>): Promise<T> {
  const saved = globalThis.console;
  // With ignoreErrors off, Console only calls write(): the CLI's stderr is a direct writer or
  // process.stderr (src/cli/process-output.ts), a test's any writer. Neither throws on a failed
  // write (the CLI's report it once and drop the rest), so there is no error for Console to ignore.
  const stream = stderr as NodeJS.WritableStream;
  // node:console only under --json (it is a module of its own to load: ~0.1 ms of every start-up otherwise).
  const { Console } = createRequire(import.meta.url)("node:console") as typeof import("node:console");
  globalThis.console = new Console({ stdout: stream, stderr: stream, ignoreErrors: false });
  try {
    return await command();
  } finally {
    globalThis.console = saved;
  }
}
