/**
 * Lock connections shared by the targets of a fleet that live on one database (tenant
 * schemas, issue #17). Each target still takes its own advisory lock (its own key, its
 * version table's); what is shared is the connection that holds them: advisory locks
 * are per key, so one idle backend can hold the locks of a thousand schemas, and the
 * fleet saves a connection start (fork, authentication, checks) per target. The
 * backend ends with the runner's process, releasing every lock it holds, as before.
 */
import type { LockDatabaseOptions } from "./open.js";
import type { DatabaseTarget } from "../config/types.js";
import type { AbortSignalLike, LockRequest, ReleaseLock, Session } from "./types.js";

// Named here, not imported from postgres-client-config.ts: that module's declarations
// import node-postgres' types, which a user's project need not have (this type is
// reachable from the public RunMigrationOptions).
type PostgresTarget = Extract<DatabaseTarget, { kind: "postgres" }>;

/** Opens a lock connection named `applicationName` (errors already without secrets); `signal` ends its wait for a first answer. */
export type OpenLockSession = (target: PostgresTarget, applicationName: string, secrets: readonly string[], signal?: AbortSignalLike) => Promise<Session>;

/**
 * One lock connection per PostgreSQL database, opened on first use and closed by
 * {@link SharedLockConnections.close}. A key this process already holds (or is waiting
 * for) on a shared connection is taken on a dedicated connection instead: advisory locks
 * are re-entrant within a backend, so asking the same backend again would "succeed"
 * and two runs would hold one version table's lock.
 */
export class SharedLockConnections {
  readonly #connections = new Map<string, Promise<Session>>();
  readonly #keys = new Set<string>();

  constructor(readonly open: OpenLockSession) {}

  /**
   * Takes `request`'s lock on the shared connection of `target`'s database, or returns
   * null when that key is already in use here (the caller then takes it on a dedicated connection).
   */
  async lock(target: PostgresTarget, request: LockRequest, options: LockDatabaseOptions): Promise<ReleaseLock | null> {
    const database = target.connectionString;
    const inUse = `${database}\u0000${request.key}`;
    if (this.#keys.has(inUse)) return null;
    this.#keys.add(inUse);
    try {
      const { lockOnConnection, openLockConnection, releaseThen } = await import("./postgres-session.js");
      let connection = this.#connections.get(database);
      if (connection === undefined) {
        const secrets = options.secrets ?? [];
        // The run's signal (SIGINT/SIGTERM: one for every target) ends its waits, and the pooler check's, as for a dedicated lock connection.
        connection = openLockConnection(target, { open: (name, signal) => this.open(target, name, secrets, signal), applicationName: options.applicationName, signal: request.signal }).then(oneAtATime);
        this.#connections.set(database, connection);
        // A connection that failed to open is tried again by the next target, not cached.
        connection.catch(() => this.#connections.delete(database));
      }
      const unlock = await lockOnConnection(await connection, request, options.display);
      return releaseThen(unlock, () => void this.#keys.delete(inUse));
    } catch (error) {
      this.#keys.delete(inUse);
      throw error;
    }
  }

  /** Closes every shared connection (releasing whatever locks they still hold). */
  async close(): Promise<void> {
    const all = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(all.map((pending) => pending.then((session) => session.close(), () => {}).catch(() => {})));
  }
}


/**
 * The session with its statements queued one after the other: the targets' lock
 * requests (and their polls) share it concurrently, and the driver must not be handed a
 * statement while another is running.
 */
export function oneAtATime(session: Session): Session {
  let tail: Promise<unknown> = Promise.resolve();
  const queued = <T>(run: () => Promise<T>): Promise<T> => {
    const next = tail.then(run);
    tail = next.catch(() => {});
    return next;
  };
  return {
    ...session,
    query: <Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]) => queued(() => session.query<Row>(sql, params)),
    exec: (sql: string) => queued(() => session.exec(sql)),
  };
}
