/** Telling a lost connection from a failed statement (pure). */
import { thrownMessage } from "./thrown.js";

/**
 * True when the failure is the loss of the connection rather than the SQL: SQLSTATE
 * class 08 (connection exception), 57P01-57P03 (server shutting down, crashed, not
 * accepting connections), 57P05 (the session ended by idle_session_timeout), or the driver's own socket errors, which carry no SQLSTATE.
 */
export function isConnectionLoss(error: unknown, sqlstate: string | undefined): boolean {
  if (sqlstate !== undefined) return /^08|^57P0[1235]$/.test(sqlstate) || /^E(CONNRESET|PIPE|CONNREFUSED|TIMEDOUT)$/.test(sqlstate);
  const message = thrownMessage(error);
  return /Connection terminated|connection (was )?closed|server closed the connection|Client has encountered a connection error|not queryable/i.test(message);
}
