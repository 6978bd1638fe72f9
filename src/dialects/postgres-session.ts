/** Session over one node-postgres client (one connection, never a pool: migrations are serial). */
import pg from "pg";
import type { DatabaseTarget } from "../config/types.js";
import type { OpenSessionOptions } from "./open.js";
import type { QueryResult, Session } from "./types.js";
import { driverErrorGuard } from "./driver-errors.js";

type PostgresTarget = Extract<DatabaseTarget, { kind: "postgres" }>;

// Return int8/numeric as strings (the default) but parse nothing else lazily: keep pg's defaults.

export async function openPostgresSession(target: PostgresTarget, options: OpenSessionOptions): Promise<Session> {
  const client = new pg.Client({
    connectionString: target.connectionString,
    application_name: options.applicationName ?? "athanor",
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  });
  // An idle client whose server goes away emits 'error'; without a listener Node crashes the process.
  client.on("error", () => {});
  await client.connect();
  const secrets = options.secrets ?? [];
  let versionNum: number | undefined;
  const wrap = driverErrorGuard(secrets, target);
  return {
    kind: "postgres",
    async query<Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
      return wrap("query", async () => {
        const result = await client.query(sql, params as unknown[] | undefined);
        return { rows: result.rows as Row[], affectedRows: result.rowCount ?? 0 };
      });
    },
    async exec(sql: string): Promise<void> {
      await wrap("exec", () => client.query(sql));
    },
    async serverVersion(): Promise<number> {
      if (versionNum === undefined) {
        const result = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
        versionNum = Number(result.rows[0]?.v ?? 0);
      }
      return versionNum;
    },
    announcedBackendPid(): number | null {
      const pid = (client as unknown as { processID?: number | null }).processID;
      return typeof pid === "number" ? pid : null;
    },
    async cancel(): Promise<void> {
      // pg cancels through a second connection that sends a CancelRequest for this backend.
      const pid = (client as unknown as { processID?: number }).processID;
      if (pid === undefined) return;
      const canceller = new pg.Client({ connectionString: target.connectionString, connectionTimeoutMillis: 5_000 });
      canceller.on("error", () => {});
      try {
        await canceller.connect();
        await canceller.query("SELECT pg_cancel_backend($1)", [pid]);
      } catch {
        // Best effort: the statement may already be done.
      } finally {
        await canceller.end().catch(() => {});
      }
    },
    async close(): Promise<void> {
      await client.end().catch(() => {});
    },
  };
}
