/** Telling a lost connection from a failed statement (pure). */
import type { AthanorError } from "../errors.js";
import { thrownMessage } from "./thrown.js";

/** The SQLSTATE an athanor error carries in its details (a server's error), or undefined. */
export function sqlstateOf(error: AthanorError | null): string | undefined {
  const sqlstate = error?.details["sqlstate"];
  return typeof sqlstate === "string" ? sqlstate : undefined;
}

/** {@link isConnectionLoss} of one of athanor's errors, by the SQLSTATE it carries. */
export function isLostConnection(error: AthanorError): boolean {
  return isConnectionLoss(error, sqlstateOf(error));
}

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
