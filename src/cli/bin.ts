/**
 * The process entry point: real streams, signals, exit status. SIGINT/SIGTERM abort
 * the running command (which cancels its statement, rolls back, records a failed
 * history row and releases the lock); a second signal says so in one line and exits
 * within a second (the first one's cleanup usually records the run by then), a third at once.
 *
 * While `main` runs, `process.exit` belongs to athanor (src/cli/exit-guard.ts): this
 * file exits through `originalExit`. If the process ends before `main` returned — loaded
 * code left a promise that never settles and nothing else to wait for, which Node ends
 * with status 13 and no word, or with a `process.exitCode` that code set — the `exit`
 * listener below says so and makes the status 1. A promise rejected with nothing waiting
 * for it, or an exception thrown outside any promise chain, ends the process at once with
 * one line and status 1 instead of Node's stack trace.
 */
import { ExitStatus, isAthanorError } from "../errors.js";
import { main } from "./main.js";
import { findCommandName } from "./command-name.js";
import { nodeFlagGiven, wasmFlagsGiven } from "./start-flags.js";
import { originalExit } from "./exit-guard.js";
import { createRequire } from "node:module";
import { setMaxListeners } from "node:events";
import { flushTelemetry } from "../observe/otel.js";
import { fileURLToPath } from "node:url";
import { errorReportOf, wantsJson, wantsJsonLogs, writeErrorReport, type ErrorReport } from "./error-report.js";
import { stackFrames } from "./stack-frames.js";
import { formatMessageLine } from "../observe/message-line.js";
import { VERSION } from "../version.js";
import { processOutput } from "./process-output.js";
import { knownSecrets } from "../secrets/redact.js";
import { planTransactionOpen } from "../run/plan-transaction.js";
import { setV8Flags } from "./v8-flags.js";
import { runSignalNote } from "./signal-note.js";

let finished = false;
const argv = process.argv.slice(2);
const reportOptions = { json: wantsJson(argv), jsonLogs: wantsJsonLogs(argv) };

/**
 * Ends the process at once with status 1, after reporting `report` as a command's error is
 * reported (a line and a hint, the document under --json). For what loaded code does
 * behind the command's back: a revision still running is rolled back as its connection
 * closes (the server frees the migration lock with it; a PGlite lock file names a dead
 * process, which the next run takes over), and nothing more is recorded.
 */
function stopAtOnce(report: Omit<ErrorReport, "exitStatus">, text: { label?: string; trailer?: string } = {}): never {
  finished = true;
  writeErrorReport({ ...report, exitStatus: ExitStatus.failed }, output, { ...reportOptions, ...text });
  return originalExit(ExitStatus.failed);
}

/** What stopping at once leaves: inside a plan's single transaction, nothing of the run; else what was reported. */
function stoppedHint(): string {
  return planTransactionOpen()
    ? "athanor stopped at once inside the plan's single transaction (--single-transaction), which is rolled back as its connection closes: no revision of this run stays, not even those reported; `athanor status` shows where the database stands"
    : "athanor stopped at once: the revisions it reported as applied stay, one it was still running is rolled back as its connection closes; `athanor status` shows where the database stands";
}

/** The first line of an error's message, for a one-line report. */
function firstLine(reason: unknown): string {
  const message = reason instanceof Error ? reason.message : String(reason);
  return message.split("\n")[0] ?? "";
}

/**
 * A promise rejected with nothing waiting for it (loaded code: a revision's floating
 * `Promise.reject`, a callback that throws into a promise) ended the process with Node's
 * stack trace. It still ends it, with status 1, but says what it was in one line.
 */
process.on("unhandledRejection", (reason: unknown) => {
  stopAtOnce({
    code: "unhandled-rejection",
    message: `a promise rejected and nothing was waiting for it (code athanor loaded: a revision, the config or the settings module?): ${firstLine(reason)}`,
    hint: `await every promise in that code (a missing await?). ${stoppedHint()}`,
  });
});

/**
 * An exception thrown outside any promise chain — in a timer's or an event's callback, an
 * EventEmitter's 'error' event with no listener — ended the process with Node's stack
 * trace. It still ends it, with status 1, in one line that names the loaded file it came
 * from when its stack shows one; otherwise it is athanor's bug, shown as one (with its stack under --verbose).
 */
process.on("uncaughtException", (error: unknown) => {
  const stack = error instanceof Error ? error.stack : undefined;
  // athanor's own files (its dist/ and the packages it bundles or depends on): a frame elsewhere is code it loaded.
  const ownRoot = fileURLToPath(new URL("../..", import.meta.url));
  const origin = stackFrames(stack).find((frame) => !frame.file.startsWith(ownRoot));
  if (origin !== undefined) {
    const where = `${origin.file}${origin.line === null ? "" : `:${String(origin.line)}`}`;
    stopAtOnce({
      code: "uncaught-exception",
      message: `${where} threw an exception outside any promise chain (in a timer's or an event's callback?): ${firstLine(error)}`,
      hint: `catch it where it is thrown, or listen for the emitter's 'error' event, or turn the callback into a promise that the code awaits. ${stoppedHint()}`,
    });
  }
  const verbose = argv.includes("--verbose") || argv.includes("-v");
  stopAtOnce(
    { code: "internal", message: `uncaught exception: ${firstLine(error)}`, hint: `this is a bug in athanor; please report it${verbose ? "" : " (run again with --verbose for the stack)"}` },
    { label: "internal error", trailer: verbose && stack !== undefined ? `${stack}\n` : "" },
  );
});

/**
 * Output that cannot be written — a reader that went away (`athanor upgrade | head`, a log
 * shipper that died: EPIPE), a full disk — never stops the command where it is: exiting
 * there ended an upgrade between two revisions with status 0. The rest of that stream's
 * output is dropped and the command runs to its end; its status stands, except that
 * output lost for another reason than a closed reader makes a success status 1.
 * Regular files and /dev/null are written directly, pipes, sockets and terminals through
 * Node's stream (src/cli/process-output.ts).
 */
let lostOutput: { readonly stream: "stdout" | "stderr"; readonly code: string } | null = null;
const output = processOutput(
  (stream, code) => {
    lostOutput ??= { stream, code };
  },
  // What loaded code writes to process.stdout/stderr itself: masked, and off stdout under --json.
  { scrub: (text) => knownSecrets.scrub(text), divertStdout: reportOptions.json },
);

// First in line, before Node's own listener that turns an unsettled top-level await into status 13.
process.prependListener("exit", () => {
  if (finished) return;
  finished = true;
  // With --json the error is a document on stdout, as every other (a pipe or file: written at once).
  writeErrorReport(
    {
      code: "unsettled",
      message: "athanor stopped before the command finished: nothing was left to wait for (a promise in the config, the settings module or a revision that never settles?)",
      hint: "make sure every promise in that code settles; nothing after the last message was done",
      exitStatus: ExitStatus.failed,
    },
    output,
    reportOptions,
  );
  process.exitCode = ExitStatus.failed;
});

/** After a second signal, how long the cleanup the first one started may take to record the interrupted run. */
const SECOND_SIGNAL_GRACE_MS = 1_000;

/**
 * Ends the process at once after repeated signals, saying what that leaves unknown: a round
 * trip may have committed revisions whose lines were not printed yet (adv12 F5: three quick
 * signals left 64 revisions recorded as applied past the last line printed).
 */
function exitNow(signal: string, status: number): never {
  finished = true;
  signalNote(`${signal}: exiting now, without waiting for the run to stop: revisions after the last one reported may have committed; \`athanor status\` shows where the database stands`);
  return originalExit(status);
}

/** A line about a signal on stderr: text, or a JSON line under --log-format json. */
function signalNote(text: string): void {
  output.stderr.write(reportOptions.jsonLogs ? formatMessageLine({ level: "warn", event: "message", msg: text, toolVersion: VERSION }) : `${text}\n`);
}

/** The commands that run no revision and take no lock: a signal has only their query (or their shadow's) to stop. */
const READING_COMMANDS: ReadonlySet<string> = new Set(["current", "check", "status", "diff", "revision", "log", "history", "lint"]);

let controller: AbortController | undefined;

/**
 * The controller SIGINT and SIGTERM trip, made when a command first asks for its signal or a
 * signal comes: an AbortController and its listener limit cost ~0.8 ms of every start-up
 * (Node loads its AbortController's module on first use), and `heads` never asks.
 */
function abortController(): AbortController {
  if (controller === undefined) {
    controller = new AbortController();
    // Every part of a command listens to this one signal (each environment of `status`, each
    // target of a fleet, each session) and stops listening when done: no limit, no false leak warning.
    setMaxListeners(0, controller.signal);
  }
  return controller;
}

let signals = 0;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    signals += 1;
    const status = signal === "SIGINT" ? ExitStatus.sigint : ExitStatus.sigterm;
    if (signals === 1) {
      // Said at once: the cleanup can take a while (PGlite finishes its running statement first), and silence reads as a hang.
      const stopping = runSignalNote() ?? (READING_COMMANDS.has(command)
        ? "the running query is cancelled (a PGlite one, in this process, finishes first) and a shadow closed"
        : "the running statement is cancelled and its revision rolled back and recorded as interrupted (one whose SQL catches the cancel runs to its end), athanor sends no further revision and releases the lock; the last message says what committed");
      signalNote(`${signal}: stopping: ${stopping} (${signal === "SIGINT" ? "press Ctrl-C again" : "send SIGTERM again"} to exit within ${SECOND_SIGNAL_GRACE_MS / 1000} s without waiting for that)`);
    } else if (signals === 2) {
      signalNote(`${signal} again: exiting within ${SECOND_SIGNAL_GRACE_MS / 1000} s, whether or not the rollback is recorded by then (the server rolls back an open transaction and frees the lock when the connection closes)`);
      setTimeout(() => exitNow(signal, status), SECOND_SIGNAL_GRACE_MS);
    } else {
      exitNow(signal, status);
    }
    abortController().abort(signal);
  });
}

// --liftoff-only, for the commands that may run PGlite, is set by the launcher before it
// compiles the CLI (src/cli/start-flags.ts); the flags below depend on what the command reads.
const command = findCommandName(argv) ?? "";

/**
 * From this size of declared SQL (1 MiB, ~740 tables of a Rails-style structure.sql),
 * `revision --autogenerate` and `diff` let V8 tier PGlite's WASM up to TurboFan again,
 * once the declared schema is read and before a shadow runs it: the shadow then runs its
 * DDL three times (load, the round trip's upgrade and downgrade), long enough for the
 * faster code to repay its compilation. Measured on the quiet 2-core machine, whole
 * `revision --autogenerate` into an empty folder, Liftoff → TurboFan: 500 tables 9.7–9.9 s
 * → 9.5–13.3 s (no gain), 750 tables 14.2 → 12.7 s, 1,000 tables 18.5 → 15.4 s, for
 * 80–120 MB more peak memory. `--liftoff-only` implied the two tiering flags off, so they
 * are set back on with it.
 */
const TURBOFAN_FROM_CHARS = 1024 * 1024;

/**
 * The commands whose memory grows with the history (the read-only ones, and `upgrade`
 * and `downgrade`, which hold the graph and the plan while revisions run), and the size of the
 * migrations directory (its own `stat` size, ~52 bytes an entry on ext4: 64 KiB is
 * about 1,200 revisions) from which their young generation is kept at its initial size
 * (1 MB semi-spaces, `--semi-space-growth-factor=1`), set before the directory is
 * listed. Without it, V8 grows the young generation to 16 MB semi-spaces while
 * thousands of revisions survive their first collections, which costs memory and,
 * measured, time: at 10,000 revisions `heads`, `history`, `current` and `status` take
 * 6–10 % less CPU and 9–21 MB less peak RSS with it; `heads` on 100,000 peaks at
 * ~148 MB instead of ~173 MB. Applying 10,000 revisions from empty peaked at 105–110 MB
 * with 16 MB semi-spaces and at 74–81 MB with it, for no more CPU (docs/runtime.md, "Memory
 * while a long plan runs"); at 1,000 revisions (below the threshold) nothing changes.
 * Below the threshold (or on a file system whose directories do not grow) nothing
 * changes, and node:v8 is not even loaded for `heads`.
 */
const SMALL_YOUNG_GENERATION_COMMANDS: ReadonlySet<string> = new Set(["heads", "history", "branches", "show", "graph", "current", "status", "upgrade", "downgrade"]);
const SMALL_YOUNG_GENERATION_FROM_BYTES = 64 * 1024;

/**
 * The working directory, or null when it no longer exists (deleted, or moved away, while
 * the shell stayed in it: `process.cwd()` fails with ENOENT). Every relative path athanor
 * resolves starts there, so no command can run.
 */
function currentDirectory(): string | null {
  try {
    return process.cwd();
  } catch (error) {
    if ((error as NodeJS.ErrnoException | null)?.code === "ENOENT") return null;
    throw error;
  }
}

/**
 * Sets the V8 flags that depend on the size of what the command reads, before it reads it:
 * the TurboFan flags for a large declared schema, the small young generation for a large
 * migrations directory (see the constants above).
 */
async function watchInputSizes(): Promise<void> {
  if (!wasmFlagsGiven() && (command === "diff" || (command === "revision" && process.argv.includes("--autogenerate")))) {
    const { observeDeclaredSchemaSize } = await import("../autogenerate/declared.js");
    observeDeclaredSchemaSize((chars) => {
      observeDeclaredSchemaSize(null);
      if (chars >= TURBOFAN_FROM_CHARS) setV8Flags("--no-liftoff-only --wasm-tier-up --wasm-dynamic-tiering", createRequire(import.meta.url));
    });
  }

  if (!nodeFlagGiven(/semi-space/) && SMALL_YOUNG_GENERATION_COMMANDS.has(command)) {
    const { observeDirectorySize } = await import("../revisions/script-directory.js");
    observeDirectorySize((bytes) => {
      if (bytes < SMALL_YOUNG_GENERATION_FROM_BYTES) return;
      observeDirectorySize(null);
      setV8Flags("--semi-space-growth-factor=1", createRequire(import.meta.url));
    });
  }
}

/**
 * The command's run, in a function rather than at the top level: the CLI is bundled as
 * CommonJS (scripts/build-cli.mjs), which has no top-level await. The `exit` listener
 * above still reports a run that ends before `main` returned.
 */
async function run(): Promise<void> {
  const cwd = currentDirectory();
  if (cwd === null) {
    finished = true;
    writeErrorReport(
      { code: "cwd-gone", message: "the current directory no longer exists (it was removed or moved while this shell was in it)", hint: "cd to the project again (`cd /path/to/project`), then rerun the command", exitStatus: ExitStatus.usage },
      output,
      reportOptions,
    );
    await output.flushed();
    originalExit(ExitStatus.usage);
  }
  try {
    await watchInputSizes();
  } catch (error) {
    // The modules it loads are the command's own: one that cannot be loaded (a pack an
    // install lost, src/cli/launch.ts) is reported as the command's error would be.
    if (!isAthanorError(error)) throw error;
    finished = true;
    writeErrorReport(errorReportOf(error), output, reportOptions);
    await output.flushed();
    originalExit(error.exitStatus);
  }

  const status = await main(argv, {
    stdout: output.stdout,
    stderr: output.stderr,
    // A getter: Node builds process.stdin (a tty or pipe stream, with their modules) on
    // first access, which only a prompt needs (~4 ms of every run's start-up otherwise).
    get stdin() {
      return process.stdin;
    },
    // What process.stdin.isTTY says, from the descriptor (node:tty is small once net is
    // loaded, which every command that can prompt has done for its database driver).
    stdinIsTTY: () => (createRequire(import.meta.url)("node:tty") as typeof import("node:tty")).isatty(0),
    env: process.env,
    cwd,
    get signal() {
      return abortController().signal;
    },
  });
  finished = true;
  // OpenTelemetry (when loaded): buffered spans and metrics leave before the process does.
  await flushTelemetry();
  // Everything written reaches the reader first: on a pipe or socket Node writes stdout
  // asynchronously, and exiting with writes queued cut `revision --autogenerate`'s summary
  // (and its "created revision" line) after ~12 kB when the reader was a child_process pipe.
  // It also waits for the tick on which a Node stream reports a failed write (a device such
  // as /dev/full): heard before the status is set, or a command whose output all comes at
  // its end exited 0.
  await output.flushed();
  process.exitCode = status === ExitStatus.ok && lostOutput !== null && lostOutput.code !== "EPIPE" ? ExitStatus.failed : status;
  if (lostOutput !== null && lostOutput.code !== "EPIPE") {
    // Under --json stdout holds one document: a lost stderr is told by the exit status alone.
    const other = lostOutput.stream === "stdout" ? output.stderr : reportOptions.json ? null : output.stdout;
    other?.write(`error: athanor's ${lostOutput.stream} could not be written (${lostOutput.code}): its output after that was lost; the command itself ran to its end (exit status ${String(process.exitCode)})\n`);
    await output.flushed();
  }
  // Open handles (a PGlite worker, a pool) must not keep a finished command alive. Exiting
  // here, even when nothing is left open, skips Node's teardown of the heap (freed page by
  // page: ~2 ms of a small `heads`) and what the event loop would still run before an exit
  // put off to its next turn (V8's idle-time scavenge: ~3 ms); everything the command
  // started has been awaited, and its output flushed, by now.
  originalExit(Number(process.exitCode));
}

void run();
