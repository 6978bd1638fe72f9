/**
 * A protocol-level CancelRequest (what libpq's PQcancel sends): a new socket to the server
 * that carries only the backend's key and is closed by the server once handled. The
 * postmaster handles it before authentication and before any connection limit, so it still
 * reaches a session when no connection can be opened to run `pg_cancel_backend` (a role's
 * `CONNECTION LIMIT` or `max_connections` reached, among others by the run's own connections).
 * It cannot close the stop gate: a revision that catches the cancel is not kept from being
 * followed by the next of its round trip.
 */
import pg from "pg";
import type { PostgresHost } from "../config/types.js";

/** The part of pg's Connection this module uses (its own typings do not declare them). */
interface CancelConnection {
  readonly stream: NodeJS.EventEmitter & { destroy(): void };
  connect(port: number | string, host?: string): void;
  cancel(processID: number, secretKey: number): void;
  on(event: "connect" | "end" | "error", listener: () => void): void;
}

/** How long the server may take to handle the request and close the socket. */
const CANCEL_REQUEST_WAIT_MS = 5_000;

/**
 * Sends a CancelRequest for the backend `processID` / `secretKey` (the key the connection
 * was given at start-up: behind PgBouncer, the pooler's own, which it forwards) to `host`.
 * Resolves once the server closed the socket, or after {@link CANCEL_REQUEST_WAIT_MS};
 * never rejects (a cancel is best effort: the statement may be done).
 */
export function sendCancelRequest(host: PostgresHost, processID: number, secretKey: number): Promise<void> {
  const connection = new (pg as unknown as { Connection: new () => CancelConnection }).Connection();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      connection.stream.destroy();
      resolve();
    };
    const timer = setTimeout(done, CANCEL_REQUEST_WAIT_MS);
    connection.on("connect", () => connection.cancel(processID, secretKey));
    connection.on("end", done);
    connection.on("error", done);
    // A host starting with `/` is a Unix-socket directory, as libpq reads it.
    if (host.host.startsWith("/")) connection.connect(`${host.host}/.s.PGSQL.${host.port}`);
    else connection.connect(host.port, host.host);
  });
}
