/**
 * The environment's `lockTimeout` and `statementTimeout` as the `SET` statements of a
 * migration session: the online run sends them on its session, the offline script
 * (`--sql`) starts with them, so both run the revisions under the same limits.
 */
import type { ResolvedEnvironment } from "../config/types.js";

/**
 * `SET lock_timeout = …` / `SET statement_timeout = …` (milliseconds), each without its
 * semicolon; none for a timeout the environment leaves unset (the server's own applies).
 * @example
 * timeoutSettings({ lockTimeoutMs: 5000, statementTimeoutMs: null }); // ["SET lock_timeout = 5000"]
 */
export function timeoutSettings(env: Pick<ResolvedEnvironment, "lockTimeoutMs" | "statementTimeoutMs">): string[] {
  const settings: string[] = [];
  if (env.lockTimeoutMs !== null) settings.push(`SET lock_timeout = ${Math.round(env.lockTimeoutMs)}`);
  if (env.statementTimeoutMs !== null) settings.push(`SET statement_timeout = ${Math.round(env.statementTimeoutMs)}`);
  return settings;
}
