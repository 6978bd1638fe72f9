/**
 * The shadow database: an in-memory PGlite (PostgreSQL 18 in WASM) in this process,
 * where a declared schema or a chain of revisions is applied and then introspected. No
 * second server is needed (Atlas and Prisma need one to diff).
 */
import { abortableSession, readInterrupted } from "../dialects/abortable-session.js";
import type { AbortSignalLike, Session } from "../dialects/types.js";
import { InterruptedError, isAthanorError } from "../errors.js";
import { ShadowReplayError } from "./errors.js";
import { introspect } from "./introspect.js";
import { defaultShadowCacheDir, pgliteContrib, startShadowPglite } from "./shadow-pglite.js";
import { shadowServerOf, startShadowServer, type ShadowServer } from "./shadow-server.js";
import { startShadowPgliteInWorker } from "./shadow-worker.js";
import { shippedTemplateDir } from "../dialects/pglite-template.js";
import type { QualifiedName, SchemaModel } from "./model.js";
import { copyFromStdinAt } from "../dialects/copy-from-stdin.js";
import { quoteIdent } from "../dialects/sql.js";
import { identifierValue, lineAt, splitStatements, tokenize } from "../sql/lexer.js";
import type { SplitStatement, Token } from "../sql/lexer.js";

/** The upgrade SQL of one revision, with where it sits in its file. */
export interface RevisionSql {
  /** The revision id, for messages. */
  readonly id: string;
  /** The upgrade section's SQL text. */
  readonly sql: string;
  /** 1-based line of the file at which `sql` starts. */
  readonly startLine: number;
  /** The revision's file (relative path preferred), for messages. */
  readonly file: string;
  /** False for a `transaction false` revision: its statements run one by one, each committing (default true). */
  readonly transactional?: boolean;
}

/** Options shared by the functions that use a shadow database. */
export interface ShadowOptions {
  /** Schemas to introspect afterwards (default `["public"]`). */
  readonly schemas?: readonly string[];
  /** Tables to leave out of the model. */
  readonly exclude?: readonly QualifiedName[];
  /**
   * An open, empty session to use instead of starting a new PGlite (it is left open;
   * see `resetShadow`). Starting PGlite costs about 2 s and several hundred MB.
   */
  readonly session?: Session;
}

/** Options of a new shadow database. */
export interface ShadowSessionOptions {
  /**
   * Extensions the SQL will create (`CREATE EXTENSION citext`). PGlite ships contrib
   * extensions as separate bundles that must be loaded when it starts; names it does not
   * ship are ignored here (the CREATE EXTENSION then fails with a clear error).
   */
  readonly extensions?: readonly string[];
  /**
   * Where the pristine data-dir template is cached (start-up 0.6 s instead of 2.5 s);
   * null disables the cache. Default: defaultShadowCacheDir() (`ATHANOR_CACHE_DIR`,
   * `$XDG_CACHE_HOME/athanor` or `~/.cache/athanor`).
   */
  readonly cacheDir?: string | null;
  /**
   * A PostgreSQL server (`shadowUrl`) to hold the shadow instead of PGlite: a fresh
   * database is created there and dropped when the session closes (see shadow-server.ts).
   */
  readonly server?: ShadowServer | null | undefined;
  /** Secrets to scrub from the shadow server's errors. */
  readonly secrets?: readonly string[];
  /**
   * Roles the SQL grants to (see rolesNamedBy): a shadow PGlite has only its own roles, so
   * these are created there (NOLOGIN) when it starts. A `shadowUrl` server's roles are its
   * own (cluster-wide): nothing is created there.
   */
  readonly roles?: readonly string[];
  /**
   * Host the PGlite in a worker thread (shadow-worker.ts), so that it works while this
   * thread runs another PGlite. Ignored with `server`.
   */
  readonly inWorker?: boolean;
  /**
   * With `inWorker`: the worker thread is spawned at once, but its PGlite starts only once
   * this settles (when another shadow's start, which would compete for the cores, is over).
   */
  readonly startAfter?: Promise<unknown>;
  /**
   * SIGINT/SIGTERM: cancels the shadow's running statement (a `shadowUrl` server) or ends
   * its worker thread, and makes its calls reject with InterruptedError, so that the
   * comparison stops and the shadow is closed (a server's shadow database dropped).
   */
  readonly signal?: AbortSignalLike | undefined;
}

/**
 * Starts an empty in-memory PGlite database (PostgreSQL 18), with the contrib extensions
 * asked for. Close it with `session.close()`.
 */
export async function openShadowSession(options: ShadowSessionOptions = {}): Promise<Session> {
  return (await openShadow(options, [])).session;
}

/**
 * A shadow PGlite in a worker thread (options.inWorker is implied) that replays the
 * revisions as soon as it has started, without a message from this thread (which may be
 * busy meanwhile in a long statement of another PGlite: compareOnTwoShadows). Only the
 * leading revisions that run in one transaction and hold no COPY ... FROM STDIN are
 * replayed there, and none when roles are to be created first (this thread creates them
 * once the worker has answered). The replay stops at a failing revision (rolled back); the
 * caller replays the rest with replayRevisions, which runs that one again and says where
 * it fails.
 * @returns the session and how many of `upgrades`, from the first, it replayed
 */
export async function openShadowReplaying(options: ShadowSessionOptions, upgrades: readonly RevisionSql[]): Promise<{ readonly session: Session; readonly replayed: number }> {
  return openShadow({ ...options, inWorker: true }, upgrades);
}

async function openShadow(options: ShadowSessionOptions, upgrades: readonly RevisionSql[]): Promise<{ readonly session: Session; readonly replayed: number }> {
  const opened = await openShadowUnguarded(options, upgrades);
  if (options.signal?.aborted) {
    await opened.session.close();
    throw readInterrupted(options.signal, SHADOW_STOPPED);
  }
  // A worker's PGlite cannot cancel a statement: its thread is ended instead (the session is closed next anyway).
  const stop = options.inWorker === true && !options.server ? (session: Session) => session.close() : undefined;
  return { ...opened, session: abortableSession(opened.session, options.signal, { stopped: SHADOW_STOPPED, stop }) };
}

/** What an interrupted comparison says. */
const SHADOW_STOPPED = "the schema comparison stopped and its shadow was closed (a shadowUrl shadow database dropped); nothing else was changed";

async function openShadowUnguarded(options: ShadowSessionOptions, upgrades: readonly RevisionSql[]): Promise<{ readonly session: Session; readonly replayed: number }> {
  if (options.server) return { session: await startShadowServer(options.server, options.secrets ?? []), replayed: 0 };
  const cacheDir = options.cacheDir === undefined ? defaultShadowCacheDir() : options.cacheDir;
  const extensions = [...new Set(options.extensions ?? [])];
  const roles = options.roles ?? [];
  // A COPY ... FROM STDIN would wait for its data inside PGlite for ever: the session
  // refuses it (src/dialects/pglite-session.ts), so that revision and the rest are left to it.
  const last = upgrades.findIndex((u) => u.transactional === false || copyFromStdinAt(u.sql) !== -1);
  const scripts = roles.length > 0 ? [] : upgrades.slice(0, last === -1 ? upgrades.length : last).map((u) => u.sql);
  const { session, scriptsRun } =
    options.inWorker === true
      ? await startShadowPgliteInWorker(extensions, cacheDir, shippedTemplateDir(), { startAfter: options.startAfter, scripts })
      : { session: await startShadowPglite(extensions, cacheDir), scriptsRun: 0 };
  try {
    await createRoles(session, roles);
  } catch (error) {
    await session.close();
    throw error;
  }
  return { session, replayed: scriptsRun };
}

/** Creates the roles that do not exist yet (NOLOGIN: they only hold privileges on the shadow). */
async function createRoles(session: Session, roles: readonly string[]): Promise<void> {
  if (roles.length === 0) return;
  const existing = await session.query<{ rolname: string }>("SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY($1::text[])", [[...roles]]);
  const have = new Set(existing.rows.map((r) => r.rolname));
  for (const role of roles) if (!have.has(role)) await session.exec(`CREATE ROLE ${quoteIdent(role)} NOLOGIN`);
}

const extensionWord = /\bEXTENSION\b/i;

/** The last text split by statementsOf, and its statements. */
let lastSplit: { readonly text: string; readonly statements: readonly SplitStatement[] } | null = null;

/**
 * The statements of a text (splitStatements), kept for the last text: rolesNamedBy and
 * extensionsCreatedBy read the same declared schema one after the other (a split of
 * 700 kB costs ~0.1 s).
 */
function statementsOf(text: string): readonly SplitStatement[] {
  if (lastSplit?.text !== text) lastSplit = { text, statements: splitStatements(text) };
  return lastSplit.statements;
}

/**
 * A word that every statement rolesNamedBy reads must hold (GRANT, REVOKE, ALTER DEFAULT
 * PRIVILEGES, CREATE/ALTER POLICY, OWNER TO): a text without one names no role.
 */
const roleWords = /\b(GRANT|REVOKE|PRIVILEGES|POLICY|OWNER)\b/i;

/** Role names that are keywords of a role specification, not roles. */
const roleKeywords = new Set(["public", "current_user", "session_user", "current_role", "group", "user", "role"]);

/**
 * The roles that GRANT, REVOKE, ALTER DEFAULT PRIVILEGES, CREATE/ALTER POLICY and
 * `OWNER TO` statements in the SQL texts name (unquoted values, sorted): the roles a
 * shadow PGlite must have for the SQL to run. PUBLIC and CURRENT_USER-like words are not roles.
 */
export function rolesNamedBy(texts: readonly string[]): string[] {
  const roles = new Set<string>();
  for (const text of texts) {
    // Splitting and tokenizing a whole declared schema costs ~0.3 s at 500 tables: only a
    // text, and then a statement, that has one of the words looked for below at all is read.
    if (!roleWords.test(text)) continue;
    for (const statement of statementsOf(text)) {
      if (!roleWords.test(statement.sql)) continue;
      const words = tokenize(statement.sql).filter((t) => t.kind !== "space" && t.kind !== "comment");
      const upper = (i: number): string => (words[i]?.kind === "word" ? (words[i] as Token).text.toUpperCase() : "");
      const first = `${upper(0)} ${upper(1)}`;
      const policy = first === "CREATE POLICY" || first === "ALTER POLICY";
      const lists = first.startsWith("GRANT ") || first.startsWith("REVOKE ") || first === "ALTER DEFAULT" || policy;
      // A policy's expressions (USING, WITH CHECK) may hold FROM: its roles come before them.
      const end = policy ? words.findIndex((_, i) => upper(i) === "USING" || upper(i) === "WITH") : -1;
      for (let i = 0; i < (end < 0 ? words.length : end); i++) {
        const word = upper(i);
        const startsList =
          (lists && (word === "TO" || word === "FROM")) || (lists && word === "ROLE" && upper(i - 1) === "FOR") || (lists && word === "USER" && upper(i - 1) === "FOR") || (word === "TO" && upper(i - 1) === "OWNER");
        if (!startsList) continue;
        // A comma-separated list of role names (GROUP may precede one).
        for (let k = i + 1; k < words.length; k++) {
          const token = words[k] as Token;
          if (token.kind === "word" && token.text.toUpperCase() === "GROUP") continue;
          const name = identifierValue(token);
          if (name === null) break;
          if (token.kind === "quoted-ident" || !roleKeywords.has(name.toLowerCase())) roles.add(name);
          if (words[k + 1]?.text !== ",") break;
          k++;
        }
      }
    }
  }
  return [...roles].sort();
}

/** The extensions that `CREATE EXTENSION` statements in the SQL texts create (names unquoted). */
export function extensionsCreatedBy(texts: readonly string[]): string[] {
  const names = new Set<string>();
  for (const text of texts) {
    // Tokenizing is only needed to tell a statement from a string or a comment: a text,
    // then a statement, without the word creates none.
    if (!extensionWord.test(text)) continue;
    for (const statement of statementsOf(text)) {
      if (!extensionWord.test(statement.sql)) continue;
      const words = tokenize(statement.sql).filter((t) => t.kind !== "space" && t.kind !== "comment");
      for (let i = 0; i + 2 < words.length; i++) {
        if (words[i]?.text.toUpperCase() !== "CREATE" || words[i + 1]?.text.toUpperCase() !== "EXTENSION") continue;
        let k = i + 2;
        if (words[k]?.text.toUpperCase() === "IF" && words[k + 1]?.text.toUpperCase() === "NOT" && words[k + 2]?.text.toUpperCase() === "EXISTS") k += 3;
        const name = words[k] ? identifierValue(words[k] as Token) : null;
        if (name !== null) names.add(name);
      }
    }
  }
  return [...names].sort();
}

/**
 * Whether any table or materialized view of the shadow has a page of data (its main
 * fork is not empty; a table whose rows were all deleted still counts, which only errs
 * on the safe side). The schema model describes no rows, so two shadows whose models are
 * equal are in the same state only when neither holds any: a downgrade's
 * `ALTER ... SET NOT NULL` or type change meets the rows, not the model.
 */
export async function shadowHoldsRows(session: Session): Promise<boolean> {
  const { rows } = await session.query<{ holds: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
        AND pg_catalog.pg_relation_size(c.oid) > 0) AS holds`,
  );
  return rows[0]?.holds === true;
}

/**
 * Removes the rows of every table of the shadow (TRUNCATE ... RESTART IDENTITY CASCADE:
 * the sequences its columns own start again, as on a shadow where the rows were never
 * inserted) and returns whether the shadow then holds none (shadowHoldsRows). The schema
 * is left as it was: TRUNCATE fires no row trigger, rule or event trigger. Nothing is
 * done (false) when a TRUNCATE trigger exists, whose code could change anything, when a
 * materialized view holds rows (it cannot be truncated), or when the TRUNCATE fails.
 */
export async function clearShadowRows(session: Session): Promise<boolean> {
  const { rows } = await session.query<{ name: string; kind: string; truncate_trigger: boolean }>(
    `SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS name, c.relkind AS kind,
            EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE (t.tgtype & 32) <> 0) AS truncate_trigger
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'm') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
       AND pg_catalog.pg_relation_size(c.oid) > 0`,
  );
  if (rows.length === 0) return true;
  if (rows.some((r) => r.truncate_trigger || r.kind === "m")) return false;
  try {
    await session.exec(`TRUNCATE TABLE ${rows.map((r) => r.name).join(", ")} RESTART IDENTITY CASCADE`);
  } catch {
    return false;
  }
  return !(await shadowHoldsRows(session));
}

/**
 * Where every sequence of the shadow stands (its `last_value` and `is_called`, by name),
 * as one text to compare with another shadow's. The schema model leaves positions out,
 * but a downgrade's `ALTER SEQUENCE ... MAXVALUE` checks the current value ("RESTART value
 * (100) cannot be greater than MAXVALUE (50)"), so two shadows whose models are equal run
 * it alike only when their sequences stand alike too (checkRoundTrip).
 */
export async function sequencePositions(session: Session): Promise<string> {
  // One query_to_xml call per sequence, in one statement: a UNION ALL of one SELECT per
  // sequence took PostgreSQL 15 0.3-0.7 s to plan at 500 sequences (each call here plans a
  // one-table SELECT: ~15 ms for all 500), and pg_sequence_last_value() hides last_value
  // when is_called is false, which a RESTART or setval(..., false) sets.
  const { rows } = await session.query<{ name: string; position: string }>(
    `SELECT n.nspname || '.' || c.relname AS name,
            pg_catalog.query_to_xml(pg_catalog.format('SELECT last_value, is_called FROM %I.%I', n.nspname, c.relname), false, false, '')::text AS position
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'S' AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'`,
  );
  const field = (xml: string, name: string): string => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1] ?? "";
  return rows
    .map((r) => `${r.name} ${field(r.position, "last_value")} ${field(r.position, "is_called")}`)
    .sort()
    .join("\n");
}

/**
 * Empties a shadow database so it can be used again: drops every schema except the
 * system ones (with everything in them) and creates `public` again, with initdb's owner and privileges.
 */
export async function resetShadow(session: Session): Promise<void> {
  await session.exec(`DO $athanor$
DECLARE s text;
BEGIN
  FOR s IN SELECT nspname FROM pg_catalog.pg_namespace
           WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
  END LOOP;
  CREATE SCHEMA public;
  -- As initdb makes it (its privileges are compared when the config asks).
  IF current_setting('server_version_num')::int >= 150000 THEN
    ALTER SCHEMA public OWNER TO pg_database_owner;
    GRANT USAGE ON SCHEMA public TO PUBLIC;
  ELSE
    GRANT ALL ON SCHEMA public TO PUBLIC;
  END IF;
END
$athanor$`);
}

/** Runs `work` on the given session, or on a new shadow (with `extensions`) that is closed afterwards. */
export async function withShadowSession<T>(session: Session | undefined, work: (session: Session) => Promise<T>, options: ShadowSessionOptions = {}): Promise<T> {
  if (session) return work(session);
  const shadow = await openShadowSession(options);
  let failed = true;
  try {
    const result = await work(shadow);
    failed = false;
    return result;
  } finally {
    await closeShadows([shadow], failed);
  }
}

/**
 * Closes shadow sessions, all at once, or waits for closes already under way (a promise):
 * closing a `shadowUrl` shadow drops its database (~0.2 s after 500 tables, see
 * shadow-server.ts), and the command exits only once every drop is over. A failure to close is thrown, unless the work on the shadows had failed
 * (`failed`): that failure is then the one the command reports.
 */
export async function closeShadows(closing: readonly (Session | Promise<void> | null)[], failed: boolean): Promise<void> {
  const results = await Promise.allSettled(closing.map(async (item) => (item instanceof Promise ? item : item?.close())));
  const rejected = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (rejected !== undefined && !failed) throw rejected.reason;
}

/**
 * Applies each revision's upgrade SQL in order to an empty shadow database and returns
 * the schema they produce: what the migrations say the database looks like, to compare
 * with the declared schema or with a live environment.
 *
 * @throws ShadowReplayError (exit 2) naming the revision, file and line of a failing statement.
 * @example
 * const model = await replayRevisions([{ id: "3f2a9c1d0b7e", sql: "CREATE TABLE t (id int);", startLine: 6, file: "migrations/3f2a9c1d0b7e_t.sql" }], { schemas: ["public"] });
 */
export async function replayRevisions(upgrades: readonly RevisionSql[], options: ShadowOptions = {}): Promise<SchemaModel> {
  return withShadowSession(options.session, async (session) => {
    for (const upgrade of upgrades) {
      const failure = upgrade.transactional === false ? await runStatements(session, upgrade.sql) : await runScript(session, upgrade.sql);
      if (failure === null) continue;
      const line = failure.offset === null ? null : upgrade.startLine + lineAt(upgrade.sql, failure.offset) - 1;
      const where = line === null ? upgrade.file : `${upgrade.file}:${line}`;
      throw new ShadowReplayError(upgrade.id, `revision ${upgrade.id} (${where}) fails on the shadow database: ${failure.message}`, { file: upgrade.file, line }, {
        hint: shadowHint(session, failure, `Each revision's upgrade is replayed in order on ${shadowName(session)}. Fix the statement, or the revision it depends on.`),
        details: failure.sqlstate === null ? {} : { sqlstate: failure.sqlstate },
      });
    }
    return introspect(session, { schemas: options.schemas ?? ["public"], exclude: options.exclude ?? [] });
  }, { extensions: extensionsCreatedBy(upgrades.map((u) => u.sql)) });
}

/** The shadow a session runs on, as a hint names it: the `shadowUrl` server, or PGlite. */
export function shadowName(session: Session): string {
  return shadowServerOf(session) ?? "an empty in-memory PostgreSQL 18 (PGlite)";
}

/** Why a script failed, and where (0-based offset into the script) when that is known. */
export interface ScriptFailure {
  readonly message: string;
  readonly sqlstate: string | null;
  readonly offset: number | null;
}

/**
 * Runs a script in one round trip. On failure, the server's error position (1-based, in
 * characters of the whole script) gives the offset; an error without a position (e.g.
 * "already exists") is located by running the statements one at a time, which is
 * possible because a failed multi-statement script rolls back as one implicit transaction.
 */
export async function runScript(session: Session, sql: string): Promise<ScriptFailure | null> {
  try {
    await session.exec(sql);
    return null;
  } catch (error) {
    throwIfInterrupted(error);
    // A script with its own BEGIN leaves the session in an aborted transaction: end it (a warning otherwise).
    await rollback(session);
    const first = describeFailure(error, 0);
    if (first.offset !== null) return first;
    const statements = splitStatements(sql);
    if (statements.length <= 1) return { ...first, offset: statements[0]?.start ?? null };
    try {
      for (const statement of statements) {
        try {
          await session.exec(statement.sql);
        } catch (statementError) {
          throwIfInterrupted(statementError);
          const located = describeFailure(statementError, statement.start);
          return { ...located, offset: located.offset ?? statement.start };
        }
      }
      return first;
    } finally {
      await rollback(session);
    }
  }
}

/**
 * Runs a script's statements one at a time, each committing on its own, as the executor
 * runs a `transaction false` revision (e.g. ALTER TYPE ... ADD VALUE, then a use of it).
 */
export async function runStatements(session: Session, sql: string): Promise<ScriptFailure | null> {
  for (const statement of splitStatements(sql)) {
    try {
      await session.exec(statement.sql);
    } catch (error) {
      throwIfInterrupted(error);
      await rollback(session);
      const located = describeFailure(error, statement.start);
      return { ...located, offset: located.offset ?? statement.start };
    }
  }
  return null;
}

/** A signal's interruption is not the SQL's failure: it ends the comparison (src/dialects/abortable-session.ts). */
function throwIfInterrupted(error: unknown): void {
  if (error instanceof InterruptedError) throw error;
}

async function rollback(session: Session): Promise<void> {
  await session.rollback();
}

function describeFailure(error: unknown, base: number): ScriptFailure {
  if (isAthanorError(error)) {
    const position = error.details["position"];
    const sqlstate = error.details["sqlstate"];
    return {
      message: error.message,
      sqlstate: typeof sqlstate === "string" ? sqlstate : null,
      offset: typeof position === "number" && Number.isFinite(position) && position > 0 ? base + position - 1 : null,
    };
  }
  return { message: error instanceof Error ? error.message : String(error), sqlstate: null, offset: null };
}

/** The hint of a statement that fails on the shadow database; an extension PGlite lacks gets its own. */
export function shadowHint(session: Session, failure: ScriptFailure, general: string): string {
  if (shadowServerOf(session) === undefined && failure.sqlstate === "0A000" && /extension "[^"]*" is not available/.test(failure.message))
    return `PGlite (the shadow database) does not ship that extension; it ships these contrib ones: ${[...pgliteContrib.keys()].sort().join(", ")}. Set shadowUrl on the environment to use a PostgreSQL server that has it as the shadow, or keep the extension out of the declared schema (create it in a hand-written revision).`;
  return general;
}
