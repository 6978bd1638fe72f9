/**
 * What athanor knows about the server session of one PostgreSQL connection: the advisory
 * locks it took there (advisory-lock.ts) and whether, behind a proxy, the connection was
 * found to keep that server session (pooled-session.ts: only then is it reset before it ends).
 *
 * Kept in one object under a symbol on the session, not in WeakMaps keyed by the session:
 * the wrappers made of a session (`{ ...session, query }`: a fleet's shared lock connection,
 * shared-locks.ts) copy the reference, so a mark made through a wrapper is the one the raw
 * session's `close()` reads. Keyed by the object, a refusal noted on the wrapper left the raw
 * session marked, and its close reset another client's server session (adv16 A1).
 */
import type { Session } from "./types.js";

export interface ServerSessionState {
  /** Behind a proxy: found to keep one server session for as long as it is open (see pooled-session.ts). */
  keepsServerSession: boolean;
  /** How many times the session holds each of athanor's advisory keys (taken and not yet released). */
  readonly keysHeld: Map<string, number>;
  /**
   * Opens another connection to the same server, through the same proxy if any: what a
   * lock's release behind a pooler pins server sessions with (advisory-lock.ts). Null for a
   * session that cannot open one.
   */
  readonly openSpare: (() => Promise<SpareConnection>) | null;
}

/** A connection of its own beside a session (see {@link ServerSessionState.openSpare}). */
export interface SpareConnection {
  /** Its first statement waits a bounded time for a server connection (behind a pooler, the pool may be full). */
  query<Row>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Ends it. Never throws. */
  close(): Promise<void>;
}

const STATE: unique symbol = Symbol("athanor.server-session-state");

/** `session` with a state of its own, for the session implementation to return; `openSpare`: see {@link ServerSessionState.openSpare}. */
export function withServerSessionState<S extends object>(session: S, openSpare: (() => Promise<SpareConnection>) | null = null): S {
  return Object.assign(session, { [STATE]: freshState(openSpare) });
}

/** The state of `session` (or of the session it wraps); a fresh one, unshared, for a session made elsewhere. */
export function serverSessionState(session: Session): ServerSessionState {
  const holder = session as Session & { [STATE]?: ServerSessionState };
  return (holder[STATE] ??= freshState());
}

function freshState(openSpare: (() => Promise<SpareConnection>) | null = null): ServerSessionState {
  return { keepsServerSession: false, keysHeld: new Map(), openSpare };
}
