/**
 * athanor's per-user cache folder (the PGlite template, the CLI's code cache). Its own
 * small module: the CLI launcher reads it before anything else is loaded.
 */
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * `ATHANOR_CACHE_DIR` (`off` or empty disables the cache: null), else
 * `$XDG_CACHE_HOME/athanor`, else `~/.cache/athanor`.
 */
export function athanorCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  return cacheDirUnder(env, homedir);
}

/**
 * {@link athanorCacheDir} with the home folder from `home`, called only when neither variable
 * names the folder: the CLI's launcher gives one that does not load node:os (~0.6 ms of every
 * start-up) when $HOME says it, and a bundle of this module that uses only this function
 * loads node:os not at all.
 */
export function cacheDirUnder(env: Readonly<Record<string, string | undefined>>, home: () => string): string | null {
  const configured = env["ATHANOR_CACHE_DIR"];
  if (configured !== undefined) return configured === "" || configured === "off" ? null : configured;
  const base = env["XDG_CACHE_HOME"] || join(home(), ".cache");
  return join(base, "athanor");
}
