/**
 * The process entry point: real streams, signals, exit status. SIGINT/SIGTERM abort
 * the running command (which cancels its statement, rolls back and releases the lock);
 * a second signal exits at once.
 */
import { ExitStatus } from "../errors.js";
import { main } from "./main.js";
import { flushTelemetry } from "../observe/otel.js";

// A reader that goes away (`athanor history | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const controller = new AbortController();
let signals = 0;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    signals += 1;
    if (signals > 1) process.exit(signal === "SIGINT" ? ExitStatus.sigint : ExitStatus.sigterm);
    controller.abort(signal);
  });
}

const status = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
});
// OpenTelemetry (when loaded): buffered spans and metrics leave before the process does.
await flushTelemetry();
process.exitCode = status;
// Open handles (a PGlite worker, a pool) must not keep a finished command alive.
setImmediate(() => process.exit(status)).unref();
