/**
 * While a command runs, `process.exit` (and `process.reallyExit`, which it calls) throw
 * a ProcessExitError naming the file that called them, instead of ending the process.
 * athanor loads and runs code it does not own — the config file, the settings module,
 * TypeScript and JavaScript revisions — and one stray `process.exit(0)` in it would
 * otherwise end a run with status 0, nothing applied and nothing said.
 *
 * The error travels like any other failure of that code: a config or a settings module
 * fails to load, a revision fails (its transaction is rolled back and a "failed" history
 * row is written). Calls that come from Node itself (no frame outside `node:` modules,
 * e.g. the end of an unsettled top-level await) still exit. bin.ts exits through
 * {@link originalExit}, saved before anything was replaced.
 *
 * Not covered: `process.abort()`, `process.kill(process.pid, ...)`, a `process.exitCode`
 * set by loaded code (bin.ts overwrites it with the command's status when the command
 * ends), and loaded code that catches the ProcessExitError and carries on.
 */
import { ProcessExitError } from "../errors.js";
import { stackFrames } from "./stack-frames.js";

type ExitFunction = (code?: string | number | null) => never;

interface ProcessExits {
  exit: ExitFunction;
  reallyExit?: (code?: number) => never;
}

const processExits = process as unknown as ProcessExits;

let depth = 0;
let saved: { exit: ExitFunction; reallyExit: ((code?: number) => never) | undefined } | null = null;

const exitAtLoad = processExits.exit;

/**
 * Ends the process as `process.exit` did before any command replaced it (the real
 * `exit` calls `process.reallyExit`, so both are put back first).
 */
export function originalExit(code?: number): never {
  restore();
  return exitAtLoad.call(process, code);
}

function restore(): void {
  if (saved !== null) {
    processExits.exit = saved.exit;
    if (saved.reallyExit !== undefined) processExits.reallyExit = saved.reallyExit;
    saved = null;
  }
  depth = 0;
}

/** The first frame of `error`'s stack that is not Node's own: who called process.exit. */
function callerFile(error: Error): string | null {
  return stackFrames(error.stack)[0]?.file ?? null;
}

function guarded<Args extends unknown[]>(real: (...args: Args) => never, requested: (args: Args) => string | number | null): (...args: Args) => never {
  const replacement = (...args: Args): never => {
    const probe: { stack?: string } = {};
    Error.captureStackTrace(probe, replacement);
    const file = callerFile(probe as Error);
    // Node itself ending the process (an unsettled top-level await, a fatal error path).
    if (file === null) return real(...args);
    throw new ProcessExitError(file, requested(args));
  };
  return replacement;
}

/**
 * Replaces `process.exit` and `process.reallyExit` until the returned function is
 * called. Nested and concurrent calls share one replacement (in-process tests run
 * several `main` calls); the last release restores the originals.
 */
export function guardProcessExit(): () => void {
  if (depth === 0) {
    const exit = processExits.exit;
    const reallyExit = processExits.reallyExit;
    saved = { exit, reallyExit };
    processExits.exit = guarded<[code?: string | number | null]>((...args) => exit.apply(process, args), (args) => args[0] ?? null);
    if (reallyExit !== undefined) processExits.reallyExit = guarded<[code?: number]>((...args) => reallyExit.apply(process, args), (args) => args[0] ?? null);
  }
  depth += 1;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (depth === 0) return;
    depth -= 1;
    if (depth === 0) restore();
  };
}
