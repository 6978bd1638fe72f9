/**
 * The V8 flags a command starts with, which the launcher (src/cli/launch.ts) sets before it
 * compiles any of the CLI's packs. V8 stamps a code cache with the flags in force and
 * rejects it under others; a pack compiled before a flag is set and run after it can only
 * keep the cache taken before its code ran, without the functions the command compiled
 * since. Decided from the arguments alone, every pack of these commands is compiled under
 * the flags it runs under, and its cache holds what the command ran (a warm one-revision
 * `current`: ~278 M instructions on the main thread with the bundle's cache taken before
 * it ran, ~254 M with this). The flags that depend on what a command reads (the size of
 * its migrations directory or of its declared schema) are set later, by bin.ts.
 */

/**
 * The commands where PGlite's WASM (9 MB) is compiled with Liftoff only. V8 compiles it
 * with Liftoff at once and, by default, also with TurboFan on background threads, which
 * for a run of seconds costs more than it saves, on a 2-core machine in time as well:
 * - commands that run revisions or read their state: quickstart `upgrade` on a new
 *   database, 3.4 s of CPU and 265 MB peak with TurboFan, 1.9 s and 160 MB with Liftoff alone;
 * - autogenerate (`revision --autogenerate`, `diff`, whose shadow runs the declared
 *   schema, the revisions and the round trip): danbooru's first autogenerate 5.3–5.6 s of
 *   CPU and 465–540 MB peak with TurboFan, 3.8 s and 385–390 MB with Liftoff alone; pagila
 *   3.7 s / 444 MB → 2.0 s / 339 MB. A large declared schema is the exception: from
 *   TURBOFAN_FROM_CHARS of SQL the tier-up pays for itself (bin.ts).
 * `revision` without --autogenerate loads no PGlite. `baseline` is not measured and keeps the default.
 */
const LIFTOFF_ONLY_COMMANDS: ReadonlySet<string> = new Set(["upgrade", "downgrade", "current", "stamp", "resolve", "repair", "status", "check", "revision", "diff"]);

/** True when the user gave Node a flag matching `pattern` (on the command line or in NODE_OPTIONS): theirs is kept. */
export function nodeFlagGiven(pattern: RegExp): boolean {
  return [...process.execArgv, process.env["NODE_OPTIONS"] ?? ""].some((flag) => pattern.test(flag));
}

/** True when the user set V8's WebAssembly compilers themselves: athanor sets none of those flags then. */
export function wasmFlagsGiven(): boolean {
  return nodeFlagGiven(/liftoff|wasm/);
}

/** The V8 flags `command` (the CLI's command word: findCommandName) starts with, or "" for none (`heads`, which then never loads node:v8). */
export function startV8Flags(command: string | undefined): string {
  return LIFTOFF_ONLY_COMMANDS.has(command ?? "") && !wasmFlagsGiven() ? "--liftoff-only" : "";
}
