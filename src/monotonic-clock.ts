/**
 * Milliseconds on a monotonic clock, for durations: `process.hrtime`, which needs no
 * module. `performance` (node:perf_hooks, or the global of the same name) loads about ten
 * of Node's own modules at its first use, ~1–2 ms of the start of every command that
 * imported it (round 12).
 */
export function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e3 + nanoseconds / 1e6;
}
