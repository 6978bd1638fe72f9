/**
 * A shadow PGlite in a worker thread, so that two shadows work at once on the machine's
 * second core (`revision --autogenerate` on a large declared schema: see
 * src/commands/autogenerate.ts). PGlite runs its statements synchronously: in this thread
 * it blocks the event loop for the whole of a long script, in a worker it does not.
 *
 * The worker only hosts PGlite: it answers `query`, `exec` and `execProtocol` messages
 * with PGlite's own results (errors as their plain fields), and everything else
 * (introspection, scripts, error wrapping) stays in this thread on a Session made by
 * `sessionOverPglite`, as for an in-process PGlite. Its code is a plain JavaScript text
 * run with `eval`, not a module file: the same code works from the build and from the
 * TypeScript sources (tests), which a worker cannot load.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { PgliteConnection } from "../dialects/pglite-session.js";
import { sessionOverPglite } from "../dialects/pglite-session.js";
import { driverErrorGuard } from "../dialects/driver-errors.js";
import type { Session } from "../dialects/types.js";
import { PGLITE_MEMORY_PARAMS, installedPgliteBuild, pgliteTemplatePath, readCachedTemplate, readShippedTemplate, type PgliteTemplate } from "../dialects/pglite-template.js";
import { pgliteContrib } from "./shadow-pglite.js";

/** What the worker is given to start PGlite. */
interface WorkerStart {
  /** Path of PGlite's CommonJS module. */
  readonly pglite: string;
  /** [export name, path of its contrib module (CommonJS)]. */
  readonly extensions: readonly (readonly [string, string])[];
  readonly startParams: readonly string[];
  /** A data-directory template (tar), or null (PGlite then runs initdb). */
  readonly template: Uint8Array | null;
  /** Whether `template` is gzipped: the worker inflates it, not this thread. */
  readonly gzipped: boolean;
  /** Scripts run once PGlite has started, before it answers (see WorkerShadowOptions.scripts). */
  readonly scripts: readonly string[];
}

/** The worker's side. Plain JavaScript (see the module comment); messages are `{ id, op, ... }`. */
const WORKER_CODE = `
const { parentPort, workerData } = require("node:worker_threads");
// PGlite reads loadDataDir with arrayBuffer(): hand it the bytes as they are (as pglite-template.ts does).
class TarBlob extends Blob {
  constructor(tar) { super([]); this.tar = tar; }
  arrayBuffer() { return Promise.resolve(this.tar); }
}
const plainError = (error) => {
  const fields = { message: error && error.message !== undefined ? String(error.message) : String(error) };
  for (const key of ["code", "detail", "hint", "position", "severity"]) if (error && typeof error[key] === "string") fields[key] = error[key];
  return fields;
};
let db;
const handle = async (message) => {
  try {
    let result = null;
    if (message.op === "query") {
      const r = await db.query(message.sql, message.params);
      result = { rows: r.rows, affectedRows: r.affectedRows };
    } else if (message.op === "exec") {
      await db.exec(message.sql);
    } else if (message.op === "execProtocol") {
      const r = await db.execProtocol(message.bytes, { throwOnError: false });
      result = { messages: r.messages.map((m) => (m instanceof Error ? { name: "error", ...plainError(m) } : { name: m.name, text: m.text, fields: m.fields })) };
    } else if (message.op === "close") {
      await db.close().catch(() => {});
    }
    parentPort.postMessage({ id: message.id, result });
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: plainError(error) });
  }
};
// PGlite starts when the owner says "start" (it may hold the start back while another
// PGlite starts in its own thread: two starts at once compete for the same cores); the
// other requests come after the answer to it (id 0).
let askStart;
const startAsked = new Promise((resolve) => (askStart = resolve));
parentPort.on("message", (message) => (message.op === "start" ? askStart() : handle(message)));
(async () => {
  await startAsked;
  try {
    // require: PGlite ships CommonJS builds (the files require.resolve gives the main
    // thread), and this eval'd code then needs no module loader at all.
    const { PGlite } = require(workerData.pglite);
    const extensions = {};
    for (const [name, path] of workerData.extensions) extensions[name] = require(path)[name];
    const options = { startParams: workerData.startParams, extensions };
    if (workerData.template !== null) {
      const tar = workerData.gzipped ? require("node:zlib").gunzipSync(workerData.template) : workerData.template;
      options.loadDataDir = new TarBlob(tar.buffer.slice(tar.byteOffset, tar.byteOffset + tar.byteLength));
    }
    db = new PGlite(options);
    await db.waitReady;
    await db.query("SELECT 1");
  } catch (error) {
    parentPort.postMessage({ id: 0, error: plainError(error) });
    return;
  }
  // One exec each, as runScript sends them; the first that fails is rolled back (as
  // runScript does) and the rest are left to the owner, who runs that one again to say where it fails.
  let scriptsRun = 0;
  for (const sql of workerData.scripts) {
    try {
      await db.exec(sql);
      scriptsRun += 1;
    } catch {
      await db.exec("ROLLBACK").catch(() => {});
      break;
    }
  }
  parentPort.postMessage({ id: 0, result: scriptsRun });
})();
`;

/** A message from the worker: the answer to request `id`. */
interface Answer {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: Record<string, string>;
}

/** An Error carrying the driver's fields, as toDatabaseError reads them. */
function errorFrom(fields: Record<string, string>): Error {
  return Object.assign(new Error(fields["message"] ?? "PGlite failed in the worker"), fields);
}

/**
 * The data-directory template as a new in-memory PGlite starts from it (shipped, then
 * cached: src/dialects/pglite-start.ts), or null when there is none.
 */
async function readTemplate(cacheDir: string | null, shippedDir: string | null): Promise<PgliteTemplate | null> {
  const shipped = shippedDir === null ? null : await readShippedTemplate(shippedDir, await installedPgliteBuild());
  if (shipped !== null || cacheDir === null) return shipped;
  return readCachedTemplate(await pgliteTemplatePath(cacheDir));
}

const target = { kind: "pglite", dataDir: null } as const;

/** How the worker's PGlite starts. */
export interface WorkerShadowOptions {
  /**
   * The thread is spawned at once, but PGlite starts in it only once this settles: a
   * PGlite start is ~1 s of one core, and two at once (this one and another shadow's in
   * this thread) slow each other down.
   */
  readonly startAfter?: Promise<unknown> | undefined;
  /**
   * Scripts the worker runs, one exec each and in order, as soon as PGlite has started,
   * before it answers: they need no message from this thread, which may be busy meanwhile
   * in a long statement of its own PGlite (messages wait for it). The first that fails is
   * rolled back and ends them.
   */
  readonly scripts?: readonly string[] | undefined;
}

/** The worker's PGlite, started. */
export interface WorkerShadow {
  readonly session: Session;
  /** How many of the scripts ran without error (all of them, or the index of the one that failed). */
  readonly scriptsRun: number;
}

/**
 * Starts an in-memory PGlite in a worker thread, with the contrib extensions asked for,
 * from the template (or initdb when there is none), and returns a Session over it. The
 * session's `close` ends the worker.
 */
export async function startShadowPgliteInWorker(extensionNames: readonly string[], cacheDir: string | null, shippedDir: string | null, options: WorkerShadowOptions = {}): Promise<WorkerShadow> {
  const { startAfter } = options;
  const require = createRequire(import.meta.url);
  const { PGlite } = await import("@electric-sql/pglite");
  const extensions = extensionNames.flatMap((name): [string, string][] => {
    const moduleName = pgliteContrib.get(name);
    return moduleName === undefined ? [] : [[moduleName, require.resolve(`@electric-sql/pglite/contrib/${moduleName}`)]];
  });
  const template = await readTemplate(cacheDir, shippedDir);
  const data: WorkerStart = {
    pglite: require.resolve("@electric-sql/pglite"),
    extensions,
    startParams: [...PGlite.defaultStartParams, ...PGLITE_MEMORY_PARAMS],
    template: template?.bytes ?? null,
    gzipped: template?.gzipped ?? false,
    scripts: options.scripts ?? [],
  };
  const worker = new Worker(WORKER_CODE, { eval: true, workerData: data });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let failure: Error | null = null;
  const failAll = (error: Error): void => {
    failure ??= error;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };
  worker.on("message", (answer: Answer) => {
    const waiting = pending.get(answer.id);
    if (waiting === undefined) return;
    pending.delete(answer.id);
    if (answer.error !== undefined) waiting.reject(errorFrom(answer.error));
    else waiting.resolve(answer.result);
  });
  worker.on("error", (error) => failAll(error));
  worker.on("exit", (code) => failAll(new Error(`the shadow PGlite's worker thread ended (status ${code})`)));
  let nextId = 1;
  const call = (op: string, fields: Record<string, unknown> = {}): Promise<unknown> => {
    if (failure !== null) return Promise.reject(failure);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, op, ...fields });
    });
  };
  const ready = new Promise<unknown>((resolve, reject) => pending.set(0, { resolve, reject }));
  // postMessage is queued at once: the worker gets it even while this thread is then busy
  // in a long synchronous statement of its own PGlite.
  const start = (): void => worker.postMessage({ op: "start" });
  if (startAfter === undefined) start();
  else startAfter.then(start, start);
  let scriptsRun: number;
  try {
    scriptsRun = (await driverErrorGuard([], target)("connect", () => ready)) as number;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  let closed = false;
  const connection: PgliteConnection = {
    async query<Row>(sql: string, params?: unknown[]) {
      return (await call("query", { sql, params })) as { rows: Row[]; affectedRows?: number };
    },
    async exec(sql: string) {
      await call("exec", { sql });
    },
    async execProtocol(bytes: Uint8Array) {
      return (await call("execProtocol", { bytes })) as { messages: readonly unknown[] };
    },
    async close() {
      if (closed) return;
      closed = true;
      await call("close").catch(() => {});
      await worker.terminate();
    },
  };
  return { session: sessionOverPglite(connection, [], target), scriptsRun };
}
