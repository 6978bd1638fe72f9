/**
 * Opens a Session on a resolved database target. Drivers load lazily: a
 * `postgres://` run never loads PGlite (WASM, ~2 s and hundreds of MB), and PGlite
 * runs never load `pg`.
 */
import type { DatabaseTarget } from "../config/types.js";
import type { Session } from "./types.js";
import { toDatabaseError } from "./driver-errors.js";

export interface OpenSessionOptions {
  /** Shown in pg_stat_activity, so a waiting runner can name the lock holder. */
  applicationName?: string;
  /** Connect timeout in milliseconds (postgres only). */
  connectTimeoutMs?: number;
  /** Secrets to scrub from driver errors. */
  secrets?: readonly string[];
}

/** Connects to the target and returns a Session; driver errors become DatabaseError with secrets removed. */
export async function openSession(target: DatabaseTarget, options: OpenSessionOptions = {}): Promise<Session> {
  const secrets = options.secrets ?? [];
  try {
    if (target.kind === "postgres") {
      const { openPostgresSession } = await import("./postgres-session.js");
      return await openPostgresSession(target, options);
    }
    const { openPgliteSession } = await import("./pglite-session.js");
    return await openPgliteSession(target, options);
  } catch (error) {
    throw toDatabaseError(error, { secrets, action: "connect", target });
  }
}
