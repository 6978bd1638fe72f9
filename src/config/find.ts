/** Where a project's config file is: found by walking up from a directory. */
import { lstatSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The names a config file may have, in the order they are looked for. */
export const CONFIG_FILE_NAMES = ["athanor.config.ts", "athanor.config.mts", "athanor.config.js", "athanor.config.mjs", "athanor.config.json"] as const;

/** Walks up from `cwd` to the first directory holding a config file. */
export function findConfigFile(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    for (const name of CONFIG_FILE_NAMES) {
      const candidate = join(dir, name);
      if (present(candidate)) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * True unless nothing is at `path`. A name that is there but cannot be followed or read (a
 * symbolic link loop or to nowhere, a directory that may not be searched) counts: loading
 * it says what is wrong, where skipping it would report no config at all, or a parent's.
 */
function present(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}
