/**
 * A server timeout met by one of athanor's own statements on the migration session (the
 * run lock, the state query, the version tables): the server says only "canceling
 * statement due to statement timeout", which names neither the setting that set it nor
 * what athanor was doing. The error says both, and how to raise it. A revision's own SQL
 * is not wrapped here: its failure names the revision (src/run/execute.ts).
 */
import type { ResolvedEnvironment } from "../config/types.js";
import { DatabaseError, isAthanorError } from "../errors.js";

/** The environment's timeouts as athanor sets them (src/run/timeouts.ts). */
export type TimeoutSettings = Pick<ResolvedEnvironment, "name" | "lockTimeoutMs" | "statementTimeoutMs">;

/** Which of the server's timeouts a driver error is, from its SQLSTATE and message; null for any other error. */
export function serverTimeout(error: unknown): "statement_timeout" | "lock_timeout" | null {
  if (!isAthanorError(error)) return null;
  const sqlstate = error.details["sqlstate"];
  // 57014 is any cancel (a user's, athanor's own on SIGINT); 55P03 also a NOWAIT refusal: the message tells them apart.
  if (sqlstate === "57014" && /statement timeout/.test(error.message)) return "statement_timeout";
  if (sqlstate === "55P03" && /lock timeout/.test(error.message)) return "lock_timeout";
  return null;
}

/**
 * Runs one of athanor's own steps (`doing`: "reading the version table public.athanor_version");
 * a server timeout it meets is rethrown naming the timeout, the setting and the step.
 */
export async function ownStatements<T>(env: TimeoutSettings, doing: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw namedTimeout(error, env, doing);
  }
}

/** `error` as {@link ownStatements} reports it: a server timeout named, anything else unchanged. */
export function namedTimeout(error: unknown, env: TimeoutSettings, doing: string): unknown {
  const setting = serverTimeout(error);
  if (setting === null) return error;
  const { source, remedy, configKey, valueMs } = timeoutSource(setting, env);
  const message = (error as DatabaseError).message;
  return new DatabaseError(setting === "statement_timeout" ? "statement-timeout" : "lock-timeout-setting", `while ${doing}, athanor's own statement was cancelled by ${source}: ${message}`, {
    hint: `${remedy}, then run the command again.`,
    details: { ...(error as DatabaseError).details, setting, configKey, valueMs, doing },
    cause: error,
  });
}

/**
 * Where a timeout came from (`the lock_timeout (200 ms, from environments.production.lockTimeout)`,
 * or the server's own when the environment sets none) and how to give athanor more time.
 */
export function timeoutSource(setting: "statement_timeout" | "lock_timeout", env: TimeoutSettings): { source: string; remedy: string; configKey: string; valueMs: number | null } {
  const key = setting === "statement_timeout" ? "statementTimeout" : "lockTimeout";
  const valueMs = setting === "statement_timeout" ? env.statementTimeoutMs : env.lockTimeoutMs;
  const configKey = `environments.${env.name}.${key}`;
  const source = valueMs === null ? `the server's own ${setting} (${configKey} is not set, so athanor sets none)` : `the ${setting} (${valueMs} ms, from ${configKey})`;
  const cause =
    setting === "lock_timeout"
      ? "Another session holds a lock athanor needs (pg_locks and pg_stat_activity show which): let it finish, or"
      : "It waited that long for a lock another session holds (pg_locks and pg_stat_activity show which) or the server was that slow: let that session finish, or";
  const raise =
    valueMs === null
      ? `set ${configKey} in the config file (a duration, e.g. "30s"; \${VAR} works) to give migrations their own ${setting}, or change the role's or database's default (ALTER ROLE ... SET ${setting})`
      : `raise ${configKey} in the config file (a duration, e.g. "30s"; \${VAR} works)`;
  return { source, remedy: `${cause} ${raise}`, configKey, valueMs };
}
