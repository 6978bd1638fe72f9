/**
 * The V8 flags the CLI set while running (`v8.setFlagsFromString`: `--liftoff-only` for the
 * commands that may open PGlite, by the launcher before it compiles any pack; in bin.ts, the
 * young generation's size for a large directory, the TurboFan flags for a large schema).
 * V8 stamps a code cache with a hash of the flags in force when it was made and rejects it
 * under others, so the launcher names the code cache of a pack compiled after such a flag
 * with them too (src/cli/launch.ts): without that, `heads` and `current`, run in turn,
 * rejected and rewrote each other's cache of bundle-read.cjs at every run (adv12 F6).
 * The list lives on the global object under a registered symbol because the launcher and
 * the bundle are separate builds, each with its own copy of this module.
 */
const KEY = Symbol.for("athanor.v8-flags");

type Holder = { [KEY]?: string[] };

/**
 * Gives `flags` to V8 and notes them; `nodeRequire` loads node:v8, which only the commands
 * that set a flag load (`heads` starts without it). The launcher's and bin.ts's.
 */
export function setV8Flags(flags: string, nodeRequire: (id: string) => unknown): void {
  (nodeRequire("node:v8") as typeof import("node:v8")).setFlagsFromString(flags);
  recordV8Flags(flags);
}

/** Notes that `flags` were just given to V8. */
function recordV8Flags(flags: string): void {
  const holder = globalThis as Holder;
  (holder[KEY] ??= []).push(flags);
}

/** The flags given to V8 so far in this process, in order ("" when none). */
export function runtimeV8Flags(): string {
  return ((globalThis as Holder)[KEY] ?? []).join(" ");
}
