/**
 * The driver boundary (DESIGN.md §2): one small interface that the engine, the
 * introspection and `check` use, implemented for node-postgres and PGlite. The core
 * imports no driver; drivers are loaded lazily by `openSession`.
 */

export interface QueryResult<Row> {
  rows: Row[];
  /** Rows touched by the last statement, when the driver says. */
  affectedRows?: number;
}

export interface Session {
  readonly kind: "postgres" | "pglite";
  /** One statement with bound parameters ($1, $2...). */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
  /** One or more statements, no parameters (simple query protocol), in one round trip. */
  exec(sql: string): Promise<void>;
  /** Server version number, e.g. 150018 for 15.18 (`server_version_num`). */
  serverVersion(): Promise<number>;
  /**
   * The backend process id the server announced when the connection opened
   * (BackendKeyData), or null when the driver has none. A connection pooler announces
   * an id of its own, so it differs from `pg_backend_pid()` (src/run/pooler.ts).
   */
  announcedBackendPid?(): number | null;
  /** Cancel the statement running on this session (SIGINT/SIGTERM). Best effort. */
  cancel(): Promise<void>;
  close(): Promise<void>;
}
