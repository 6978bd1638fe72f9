/** Session over an embedded PGlite database (a directory on disk, or memory). */
import { mkdir } from "node:fs/promises";
import type { PGlite } from "@electric-sql/pglite";
import type { DatabaseTarget } from "../config/types.js";
import type { OpenSessionOptions } from "./open.js";
import type { QueryResult, Session } from "./types.js";
import { driverErrorGuard } from "./driver-errors.js";

type PgliteTarget = Extract<DatabaseTarget, { kind: "pglite" }>;

export async function openPgliteSession(target: PgliteTarget, options: OpenSessionOptions): Promise<Session> {
  const { PGlite } = await import("@electric-sql/pglite");
  if (target.dataDir !== null) await mkdir(target.dataDir, { recursive: true });
  const db = target.dataDir === null ? new PGlite() : new PGlite(target.dataDir);
  await db.waitReady;
  return sessionOverPglite(db, options.secrets ?? [], target);
}

/**
 * A Session over a PGlite instance that is already open (the shadow database of
 * autogenerate opens its own, with extensions and a starting data directory).
 */
export function sessionOverPglite(db: PGlite, secrets: readonly string[], target: PgliteTarget): Session {
  const wrap = driverErrorGuard(secrets, target);
  return {
    kind: "pglite",
    async query<Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
      return wrap("query", async () => {
        const result = await db.query<Row>(sql, params as unknown[] | undefined);
        return { rows: result.rows, affectedRows: result.affectedRows ?? 0 };
      });
    },
    async exec(sql: string): Promise<void> {
      await wrap("exec", () => db.exec(sql));
    },
    async serverVersion(): Promise<number> {
      const result = await db.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
      return Number(result.rows[0]?.v ?? 0);
    },
    async cancel(): Promise<void> {
      // PGlite runs in this process: there is nothing to cancel from outside a statement.
    },
    async close(): Promise<void> {
      await db.close().catch(() => {});
    },
  };
}
