/**
 * Projects and databases for the migration engine's tests: a temporary directory with
 * an athanor.config.json and revision files, and the two engines the tests loop over —
 * a fresh PostgreSQL database per test, or a schema of its own in one shared in-memory
 * PGlite instance (PGlite takes ~2 s to start: one per test file).
 */
import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { loadConfigFile } from "../../src/config/load.js";
import { resolveEnvironment } from "../../src/config/resolve.js";
import type { ResolvedEnvironment } from "../../src/config/types.js";
import { openSession } from "../../src/dialects/open.js";
import type { Session } from "../../src/dialects/types.js";
import { createPostgresDatabase, tempDir } from "./databases.js";

/** An SQL revision file. */
export interface SqlRevision {
  id: string;
  /** Parent id(s); null or absent for a root. */
  down?: string | readonly string[] | null;
  message?: string;
  upgrade: string;
  /** Absent: the file has no downgrade section. */
  downgrade?: string;
  transactional?: boolean;
  branchLabels?: readonly string[];
  /** File name (default `<id>_<slug>.sql`). */
  file?: string;
}

/** The text of an SQL revision file. */
export function sqlRevisionText(spec: SqlRevision): string {
  const lines = [`-- athanor:revision ${spec.id}`];
  const down = spec.down === undefined || spec.down === null ? [] : typeof spec.down === "string" ? [spec.down] : spec.down;
  if (down.length > 0) lines.push(`-- athanor:down ${down.join(", ")}`);
  lines.push(`-- athanor:message ${spec.message ?? `revision ${spec.id}`}`);
  if (spec.transactional === false) lines.push("-- athanor:transaction false");
  if (spec.branchLabels !== undefined && spec.branchLabels.length > 0) lines.push(`-- athanor:branch-labels ${spec.branchLabels.join(", ")}`);
  lines.push("", "-- athanor:upgrade", spec.upgrade.trimEnd(), "");
  if (spec.downgrade !== undefined) lines.push("-- athanor:downgrade", spec.downgrade.trimEnd(), "");
  return lines.join("\n");
}

/** A temporary project directory. */
export interface EngineProject {
  readonly dir: string;
  readonly migrationsDir: string;
  /** Writes an SQL revision; returns its file name. */
  write(spec: SqlRevision): Promise<string>;
  /** Writes any file into the migrations directory. */
  writeFile(name: string, text: string): Promise<void>;
  removeFile(name: string): Promise<void>;
  /** Writes athanor.config.json with these environments. */
  configure(environments: Record<string, Record<string, unknown>>): Promise<void>;
  /** Resolves an environment of the current config. */
  env(name: string, processEnv?: Record<string, string | undefined>): Promise<ResolvedEnvironment>;
  remove(): Promise<void>;
}

export async function createEngineProject(): Promise<EngineProject> {
  const { dir, remove } = await tempDir("athanor-engine-");
  const migrationsDir = join(dir, "migrations");
  await mkdir(migrationsDir);
  return {
    dir,
    migrationsDir,
    async write(spec) {
      const name = spec.file ?? `${spec.id}_${(spec.message ?? "revision").replace(/[^a-z0-9]+/gi, "_").toLowerCase()}.sql`;
      await writeFile(join(migrationsDir, name), sqlRevisionText(spec));
      return name;
    },
    async writeFile(name, text) {
      await writeFile(join(migrationsDir, name), text);
    },
    async removeFile(name) {
      await rm(join(migrationsDir, name), { force: true });
    },
    async configure(environments) {
      await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", defaultEnvironment: Object.keys(environments)[0], environments }, null, 2));
    },
    async env(name, processEnv = { PATH: process.env["PATH"] }) {
      return resolveEnvironment(await loadConfigFile(join(dir, "athanor.config.json")), { environment: name, processEnv });
    },
    remove,
  };
}

/** One database for one test, on either engine. */
export interface EngineDatabase {
  readonly dialect: "postgres" | "pglite";
  /** What goes into the environment's config: url and version table. */
  readonly envConfig: Record<string, unknown>;
  /** The schema where the revisions' unqualified tables land and the version tables live. */
  readonly schema: string;
  /** A session the caller passes to library functions (PGlite), or undefined (PostgreSQL opens its own). */
  readonly session: Session | undefined;
  /** Runs SQL for assertions (another connection on PostgreSQL). */
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  drop(): Promise<void>;
}

/** The engines the tests loop over. */
export interface Engine {
  readonly dialect: "postgres" | "pglite";
  /** A fresh database (PostgreSQL) or a fresh schema in the shared PGlite instance. */
  database(): Promise<EngineDatabase>;
  close(): Promise<void>;
}

/** A fresh PostgreSQL database per call. */
export function postgresEngine(): Engine {
  return {
    dialect: "postgres",
    async database() {
      const db = await createPostgresDatabase("athanor_engine");
      const client = new pg.Client({ connectionString: db.url });
      client.on("error", () => {});
      await client.connect();
      return {
        dialect: "postgres",
        envConfig: { url: db.url },
        schema: "public",
        session: undefined,
        async query<Row>(sql: string, params?: unknown[]) {
          return (await client.query(sql, params)).rows as Row[];
        },
        async drop() {
          await client.end().catch(() => {});
          await db.drop();
        },
      };
    },
    async close() {},
  };
}

/** One in-memory PGlite instance; each database is a schema of its own, made the search path. */
export function pgliteEngine(): Engine {
  let shared: Promise<Session> | undefined;
  return {
    dialect: "pglite",
    async database() {
      shared ??= openSession({ kind: "pglite", dataDir: null });
      const session = await shared;
      const schema = `t_${randomBytes(4).toString("hex")}`;
      await session.exec(`CREATE SCHEMA ${schema}; SET search_path = ${schema};`);
      return {
        dialect: "pglite",
        envConfig: { url: "pglite://memory", versionTable: { schema } },
        schema,
        session,
        async query<Row>(sql: string, params?: unknown[]) {
          return (await session.query<Row>(sql, params)).rows;
        },
        async drop() {
          await session.exec(`SET search_path = public; DROP SCHEMA ${schema} CASCADE;`);
        },
      };
    },
    async close() {
      if (shared !== undefined) await (await shared).close();
    },
  };
}

/**
 * Runs `body` with a new project whose environment `test` is a new database of `engine`,
 * and `runSession(env)`: the session a run on it is given (PGlite's shared instance, or one
 * new connection to the PostgreSQL database). Closes that connection, drops the database
 * and removes the project afterwards, whatever `body` did.
 */
export async function withEngineProject<T>(engine: Engine, body: (project: EngineProject, db: EngineDatabase, runSession: (env: ResolvedEnvironment) => Promise<Session>) => Promise<T>): Promise<T> {
  const project = await createEngineProject();
  const db = await engine.database();
  let own: Session | undefined;
  try {
    await project.configure({ test: db.envConfig });
    return await body(project, db, async (env) => db.session ?? (own ??= await openSession(env.target, { writable: true })));
  } finally {
    await own?.close();
    await db.drop();
    await project.remove();
  }
}

/** Distinct 12-hex revision ids for a test: `ids(3)` → ["a00000000001", ...]. */
export function ids(count: number, prefix = "a"): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(11, "0")}`);
}

/** Names of the tables in a schema. */
export async function tablesIn(db: EngineDatabase): Promise<string[]> {
  const rows = await db.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", [db.schema]);
  return rows.map((row) => row.name);
}

/** Version rows, oldest first. */
export async function versionRows(db: EngineDatabase): Promise<{ revision: string; state: string; checksum: string }[]> {
  return db.query(`SELECT revision, state, checksum FROM "${db.schema}".athanor_version ORDER BY applied_at, revision`);
}

/** History rows, in order. */
export async function historyRows(db: EngineDatabase): Promise<{ direction: string; revision: string | null; outcome: string; error: string | null; note: string | null; environment: string }[]> {
  return db.query(`SELECT direction, revision, outcome, error, note, environment FROM "${db.schema}".athanor_version_history ORDER BY id`);
}
