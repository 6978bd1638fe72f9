/** Session over one node-postgres client (one connection, never a pool: migrations are serial). */
import pg from "pg";
import type { PostgresHost } from "../config/types.js";
import { DatabaseError } from "../errors.js";
import type { OpenSessionOptions } from "./open.js";
import type { QueryResult, Session } from "./types.js";
import { driverErrorGuard } from "./driver-errors.js";
import { fitsSessionAttrs, postgresClientConfig, type PostgresTarget } from "./postgres-client-config.js";

// Return int8/numeric as strings (the default) but parse nothing else lazily: keep pg's defaults.

/** A client for one host of the target; the URL's own application_name wins, as it did when pg parsed the URL. */
function newClient(target: PostgresTarget, host: PostgresHost, options: OpenSessionOptions): pg.Client {
  const client = new pg.Client({
    application_name: options.applicationName ?? "athanor",
    ...postgresClientConfig(target, host),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  });
  // An idle client whose server goes away emits 'error'; without a listener Node crashes the process.
  client.on("error", () => {});
  return client;
}

/**
 * libpq's host list walk: hosts in order, the first that answers and fits
 * `target_session_attrs` wins (`prefer-standby`: a standby, else any). Returns the client and its host.
 */
async function connectFitting(target: PostgresTarget, options: OpenSessionOptions): Promise<{ client: pg.Client; host: PostgresHost }> {
  const passes = target.targetSessionAttrs === "prefer-standby" ? (["standby", "any"] as const) : ([target.targetSessionAttrs] as const);
  let lastError: unknown;
  for (const pass of passes) {
    for (const host of target.hosts) {
      const client = newClient(target, host, options);
      try {
        await client.connect();
      } catch (error) {
        lastError = error;
        continue;
      }
      if (pass === "any") return { client, host };
      const result = await client.query<{ ro: string; standby: boolean }>("SELECT current_setting('transaction_read_only') AS ro, pg_is_in_recovery() AS standby");
      const row = result.rows[0];
      if (row !== undefined && fitsSessionAttrs(pass, { readOnly: row.ro === "on", standby: row.standby })) return { client, host };
      await client.end().catch(() => {});
    }
  }
  if (lastError !== undefined && target.hosts.length === 1) throw lastError;
  const tried = target.hosts.map((host) => `${host.host}:${host.port}`).join(", ");
  throw new DatabaseError("no-fitting-server", `none of the hosts ${tried} accepted a connection that is ${target.targetSessionAttrs} (target_session_attrs)`, {
    hint: target.targetSessionAttrs === "any" ? "Check that at least one host is up." : "Check which host is the primary (pg_is_in_recovery()), or change target_session_attrs in the URL.",
    details: { hosts: tried, targetSessionAttrs: target.targetSessionAttrs },
  });
}

export async function openPostgresSession(target: PostgresTarget, options: OpenSessionOptions): Promise<Session> {
  const { client, host } = await connectFitting(target, options);
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
      const canceller = newClient(target, host, { connectTimeoutMs: 5_000 });
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
