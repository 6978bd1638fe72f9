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
  const configured = env["ATHANOR_CACHE_DIR"];
  if (configured !== undefined) return configured === "" || configured === "off" ? null : configured;
  const base = env["XDG_CACHE_HOME"] || join(homedir(), ".cache");
  return join(base, "athanor");
}
