/** Session over an embedded PGlite database (a directory on disk, or memory). */
import type { DatabaseTarget } from "../config/types.js";
import type { OpenSessionOptions } from "./open.js";
import { copyFromStdinAt } from "./copy-from-stdin.js";
import { driverErrorGuard } from "./driver-errors.js";
import { transactionMethods } from "./script.js";
import { checkOpened, OPENED_FACTS_COLUMNS, openedFacts, searchPathValue } from "./session-checks.js";
import { serverNotice, type NoticeMessageLike } from "./server-notice.js";
import type { QueryResult, ServerNotice, Session } from "./types.js";
import { directoryOpenRequest, lockDataDirectory } from "./pglite-lock-file.js";
import { markHoldsDirectory } from "./pglite-lock-path.js";
import { startPglite } from "./pglite-start.js";
import { pgliteCacheDir, shippedTemplateDir } from "./pglite-template.js";

type PgliteTarget = Extract<DatabaseTarget, { kind: "pglite" }>;

/** The protocol messages of `execProtocol` this module reads. */
interface ProtocolMessage {
  readonly name: string;
  readonly text?: unknown;
  /** A DataRow's values (text format). */
  readonly fields?: readonly unknown[];
}

/** How long a session waits for another process that has the directory open, unless told (the CLI's `--lock-wait` default). */
const DEFAULT_DIRECTORY_WAIT_MS = 60_000;

/**
 * Opens a PGlite database. A data directory is locked first (its lock file: one process
 * at a time, readers included, see pglite-lock-file.ts) and stays locked until the
 * session closes; a database in memory belongs to this process and needs no lock.
 */
export async function openPgliteSession(target: PgliteTarget, options: OpenSessionOptions): Promise<Session> {
  const dataDir = target.dataDir;
  if (dataDir === null) return openPgliteUnlocked(target, options);
  const request =
    options.directoryLock ??
    directoryOpenRequest(dataDir, options.lockWaitMs ?? DEFAULT_DIRECTORY_WAIT_MS, {
      signal: options.signal,
      onWait: (holder) => options.onLockWait?.(holder?.description ?? "another process (it let go while we looked)"),
    });
  const release = await lockDataDirectory(dataDir, request, options.applicationName ?? "athanor");
  let session: Session;
  try {
    session = await openPgliteUnlocked(target, options);
  } catch (error) {
    await release();
    throw error;
  }
  const close = session.close;
  const locked: Session = {
    ...session,
    async close() {
      try {
        await close();
      } finally {
        await release();
      }
    },
  };
  markHoldsDirectory(locked, dataDir);
  return locked;
}

async function openPgliteUnlocked(target: PgliteTarget, options: OpenSessionOptions): Promise<Session> {
  const session = await openPglite(target, options);
  const schema = options.searchPath ?? null;
  if (schema === null) return session;
  try {
    // One backend for the whole session: a session-level SET holds for every statement.
    const result = await session.query<Record<string, unknown>>(`SELECT set_config('search_path', $2, false), ${OPENED_FACTS_COLUMNS}`, [schema, searchPathValue(schema)]);
    checkOpened(openedFacts(result.rows[0]), options, target.dataDir ?? "pglite://memory");
  } catch (error) {
    await session.close();
    throw error;
  }
  return session;
}

async function openPglite(target: PgliteTarget, options: OpenSessionOptions): Promise<Session> {
  // A new database starts from a template instead of running initdb (pglite-start.ts).
  const { db } = await startPglite({ dataDir: target.dataDir, cacheDir: pgliteCacheDir(), shippedDir: shippedTemplateDir() });
  return sessionOverPglite(db, options.secrets ?? [], target);
}

/** PGlite's per-statement option for the server's notices. */
interface PgliteNoticeOptions {
  readonly onNotice?: (message: NoticeMessageLike) => void;
}

/**
 * What a Session needs of PGlite: a PGlite instance, or one hosted in a worker thread
 * (src/autogenerate/shadow-worker.ts).
 */
export interface PgliteConnection {
  /** `options.onNotice` hears the statement's notices (a connection in a worker thread may ignore it: no function crosses to it). */
  query<Row>(sql: string, params?: unknown[], options?: PgliteNoticeOptions): Promise<{ rows: Row[]; affectedRows?: number }>;
  exec(sql: string, options?: PgliteNoticeOptions): Promise<unknown>;
  /** Only called with `throwOnError: false`: the error comes back as one of the messages. */
  execProtocol(message: Uint8Array, options: { throwOnError: false }): Promise<{ readonly messages: readonly unknown[] }>;
  close(): Promise<void>;
  /** PGlite's own backend's IsTransactionBlock (absent for one in a worker thread). */
  isInTransaction?(): boolean;
}

/**
 * A Session over a PGlite instance that is already open (the shadow database of
 * autogenerate opens its own, with extensions and a starting data directory).
 */
export function sessionOverPglite(db: PgliteConnection, secrets: readonly string[], target: PgliteTarget): Session {
  const wrap = driverErrorGuard(secrets, target);
  // The server's notices go to whoever listens now (see Session.onNotice).
  let noticeListener: ((notice: ServerNotice) => void) | null = null;
  const noticeOptions = (): PgliteNoticeOptions | undefined => {
    const listener = noticeListener;
    return listener === null ? undefined : { onNotice: (message) => listener(serverNotice(message)) };
  };
  const exec = async (sql: string): Promise<void> => {
    await wrap("exec", async () => {
      // One simple query is one implicit transaction: refused before it is sent, nothing of it runs (as on PostgreSQL, where the COPY's failure rolls it all back).
      if (copyFromStdinAt(sql) !== -1) throw copyFromStdinRefused();
      await db.exec(sql, noticeOptions());
    });
  };
  return {
    kind: "pglite",
    // One backend in this process: advisory locks exclude nobody, and nothing runs
    // beyond the process (a killed runner takes its database engine with it).
    capabilities: { transactionalDdl: true, advisoryLocks: false, clientConnectionCheck: false, cancel: false, lazyCommit: false },
    async query<Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
      return wrap("query", async () => {
        if (copyFromStdinAt(sql) !== -1) throw copyFromStdinRefused();
        const result = await db.query<Row>(sql, params as unknown[] | undefined, noticeOptions());
        return { rows: result.rows, affectedRows: result.affectedRows ?? 0 };
      });
    },
    exec,
    ...transactionMethods(exec, (text, onTag, lastValue) =>
      wrap("exec", async () => {
        const { protocol } = await import("@electric-sql/pglite");
        // A script's parts commit one by one: what comes before a COPY FROM STDIN runs (its
        // tags counted), and the COPY fails where it stands, as on PostgreSQL.
        const copyAt = copyFromStdinAt(text);
        // execProtocol without throwOnError returns every message, so the CommandComplete
        // of each statement that ran before the ErrorResponse is seen.
        const result = await db.execProtocol(protocol.serialize.query(copyAt === -1 ? text : text.slice(0, copyAt)), { throwOnError: false });
        // The first row since the last statement's start (a CommandComplete ends each statement).
        let value: string | null = null;
        let first = true;
        for (const message of result.messages as readonly ProtocolMessage[]) {
          if (message.name === "commandComplete") {
            onTag(typeof message.text === "string" ? message.text : "");
            first = true;
          } else if (message.name === "dataRow" && first) {
            first = false;
            const field = message.fields?.[0];
            value = typeof field === "string" ? field : null;
          } else if (message.name === "rowDescription") {
            value = null;
          } else if (message.name === "notice") {
            // Among the tags, in the order the statements sent them (execProtocol keeps every message).
            noticeListener?.(serverNotice(message as NoticeMessageLike));
          } else if (message.name === "error") {
            throw message;
          }
        }
        if (copyAt !== -1) throw copyFromStdinRefused();
        return lastValue ? value : null;
      }),
      // PGlite's cluster is always UTF8 (its initdb and template), and it reports no ParameterStatus.
      () => "characters",
    ),
    onNotice(listener) {
      noticeListener = listener;
    },
    async lock() {
      // A data directory is locked (a file beside it) before it is opened and until it is closed: see openPgliteSession.
      return async () => {};
    },
    async serverVersion(): Promise<number> {
      const result = await db.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
      return Number(result.rows[0]?.v ?? 0);
    },
    ...(db.isInTransaction === undefined ? {} : { inTransaction: () => db.isInTransaction?.() === true }),
    async cancel(): Promise<string | null> {
      // PGlite runs in this process: there is nothing to cancel from outside a statement, and no gate.
      return null;
    },
    async close(): Promise<void> {
      await db.close().catch(() => {});
    },
  };
}

/**
 * What PGlite answers instead of running a `COPY ... FROM STDIN`: its in-process exec would
 * wait for the data inside WebAssembly, synchronously, for ever (src/dialects/copy-from-stdin.ts).
 * The fields PostgreSQL gives when a client refuses to send COPY data (SQLSTATE 57014).
 */
function copyFromStdinRefused(): Error {
  return Object.assign(new Error("COPY from stdin failed: athanor sends no COPY data (PGlite would wait for it for ever)"), { code: "57014", severity: "ERROR" });
}
