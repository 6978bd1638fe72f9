/**
 * The shadow database on a real PostgreSQL server (`shadowUrl`), for teams that want the
 * server's exact behaviour (its version, its extensions) rather than PGlite's. Each
 * shadow is a fresh database, `athanor_shadow_<random>`, created through the database the
 * URL names and dropped when the shadow is closed, so runs in parallel never meet and
 * nothing is left behind. A database rather than a schema: the declared schema may create
 * schemas and extensions of its own, and `resetShadow` empties whole databases.
 */
import { randomBytes } from "node:crypto";
import { canonicalUrl } from "../config/url.js";
import type { DatabaseTarget } from "../config/types.js";
import { openSession } from "../dialects/open.js";
import { quoteIdent } from "../dialects/sql.js";
import type { Session } from "../dialects/types.js";
import { isAthanorError } from "../errors.js";
import { ShadowServerError } from "./errors.js";

/** A PostgreSQL target, as `shadowUrl` resolves to. */
export type ShadowServer = Extract<DatabaseTarget, { kind: "postgres" }>;

/** What each session of {@link startShadowServer} runs on, for messages (no password). */
const described = new WeakMap<Session, string>();

/**
 * Where a shadow session runs, when it is one of {@link startShadowServer}'s: a failure's
 * hint must name the server the SQL ran on, not PGlite. Undefined for any other session.
 */
export function shadowServerOf(session: Session): string | undefined {
  return described.get(session);
}

/** `user@host:port/database`, without the password, as the shadow server is named in messages. */
function nameOf(server: ShadowServer, host: { readonly host: string; readonly port: number }): string {
  const at = host.host.startsWith("/") ? `${host.host} (socket), port ${host.port}` : `${host.host.includes(":") ? `[${host.host}]` : host.host}:${host.port}`;
  return `${server.user}@${at}/${server.database}`;
}

/**
 * Creates a fresh database on the server and opens a session on it; closing the session
 * drops the database.
 * @throws ShadowServerError (exit 2) when the server cannot be reached or the role may not create a database.
 */
export async function startShadowServer(server: ShadowServer, secrets: readonly string[] = []): Promise<Session> {
  const name = `athanor_shadow_${randomBytes(6).toString("hex")}`;
  const admin = await openSession(server, { applicationName: "athanor-shadow", secrets }).catch((error: unknown) => {
    throw shadowError(`cannot connect to the shadow server (shadowUrl): ${messageOf(error)}`, error);
  });
  await dropStaleShadows(admin);
  try {
    await admin.exec(`CREATE DATABASE ${quoteIdent(name)}`);
    // Marks it as athanor's, with its age: a later comparison drops it if this process is killed before it can.
    await admin.exec(`COMMENT ON DATABASE ${quoteIdent(name)} IS '${SHADOW_MARK} ${new Date().toISOString()}'`);
  } catch (error) {
    await admin.close();
    throw shadowError(`cannot create the shadow database ${name} on the shadow server (shadowUrl): ${messageOf(error)}`, error);
  }
  const host = server.hosts[0] ?? { host: server.host, port: server.port };
  const target: ShadowServer = {
    ...server,
    database: name,
    connectionString: canonicalUrl({ host, user: server.user, password: server.password, database: name, params: server.params }),
  };
  let shadow: Session;
  try {
    shadow = await openSession(target, { applicationName: "athanor-shadow", secrets });
  } catch (error) {
    // The connection's failure is the one to report; a failure to drop as well would hide it.
    await dropDatabase(admin, name).catch(() => {});
    throw shadowError(`cannot connect to the shadow database ${name}: ${messageOf(error)}`, error);
  }
  const session: Session = {
    kind: shadow.kind,
    capabilities: shadow.capabilities,
    query: <Row>(sql: string, params?: readonly unknown[]) => shadow.query<Row>(sql, params),
    exec: (sql) => shadow.exec(sql),
    runScript: (parts, options) => shadow.runScript(parts, options),
    transaction: (work, options) => shadow.transaction(work, options),
    rollback: () => shadow.rollback(),
    lock: (request) => shadow.lock(request),
    serverVersion: () => shadow.serverVersion(),
    cancel: () => shadow.cancel(),
    close: async () => {
      await shadow.close();
      await dropDatabase(admin, name);
    },
  };
  described.set(session, `an empty database (${name}, dropped afterwards) on the shadow server of shadowUrl, ${nameOf(server, host)}, with that role's rights`);
  return session;
}

/** The start of the comment athanor puts on each shadow database it creates, followed by the creation time. */
const SHADOW_MARK = "athanor shadow created";

/**
 * Drops the shadow databases a killed athanor left behind (kill -9, a lost machine): only
 * those athanor made (named athanor_shadow_<12 hex digits>, with its comment), created more
 * than an hour ago (no comparison takes that long), with no connection. Without FORCE: one
 * that someone connects to meanwhile, or that another role owns, stays (best effort).
 */
async function dropStaleShadows(admin: Session): Promise<void> {
  try {
    const stale = await admin.query<{ datname: string }>(
      `SELECT d.datname FROM pg_catalog.pg_database d
        CROSS JOIN LATERAL (SELECT pg_catalog.shobj_description(d.oid, 'pg_database') AS comment) c
        WHERE d.datname ~ '^athanor_shadow_[0-9a-f]{12}$'
          AND CASE WHEN c.comment ~ ('^' || $1::text || ' [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?Z$')
                   THEN substring(c.comment FROM length($1::text) + 2)::timestamptz < now() - interval '1 hour' ELSE false END
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.datname = d.datname)`,
      [SHADOW_MARK],
    );
    for (const { datname } of stale.rows) await admin.exec(`DROP DATABASE IF EXISTS ${quoteIdent(datname)}`).catch(() => {});
  } catch {
    // Best effort: a leftover costs disk, not the comparison.
  }
}

/**
 * Drops the shadow database and closes the admin session. The command waits for the drop
 * (PostgreSQL 15's DROP DATABASE forces a checkpoint, ~0.2 s after 500 tables): a database
 * left behind on a shared server is reported, naming it, not left unsaid.
 * @throws ShadowServerError (exit 2) when the database could not be dropped.
 */
async function dropDatabase(admin: Session, name: string): Promise<void> {
  try {
    await admin.exec(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
  } catch (error) {
    throw new ShadowServerError(`cannot drop the shadow database ${name} on the shadow server (shadowUrl): ${messageOf(error)}`, {
      hint: `It is left on the server: drop it by hand (DROP DATABASE ${quoteIdent(name)}) once nothing is connected to it.`,
    });
  } finally {
    await admin.close();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function shadowError(message: string, cause: unknown): ShadowServerError {
  const sqlstate = isAthanorError(cause) ? cause.details["sqlstate"] : undefined;
  return new ShadowServerError(message, {
    hint:
      sqlstate === "42501"
        ? "The shadowUrl role needs CREATEDB (ALTER ROLE name CREATEDB): athanor creates a fresh database for each comparison and drops it afterwards."
        : "Check shadowUrl (a PostgreSQL server and a database to connect through, e.g. postgres, with a role that has CREATEDB), or remove it to use the in-memory PGlite.",
    details: typeof sqlstate === "string" ? { sqlstate } : {},
  });
}
