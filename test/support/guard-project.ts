/**
 * A project for the production-guard tests: a temporary directory with an
 * athanor.config.json, a migrations directory, and PostgreSQL databases owned by a role
 * whose password is distinctive (`S3cr3t-p@ss:w/rd#x`), so a test can look for it in
 * every output, file name and child command line.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { createPostgresDatabase, serverUrl, tempDir, type TestDatabase } from "./databases.js";

/** The password of the guard tests' role: `@`, `:`, `/` and `#` all need encoding in a URL. */
export const GUARD_PASSWORD = "S3cr3t-p@ss:w/rd#x";

/** A login role with {@link GUARD_PASSWORD}, and a function that drops it. */
export async function createGuardRole(): Promise<{ name: string; drop(): Promise<void> }> {
  const name = `athanor_guard_${randomBytes(4).toString("hex")}`;
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    await client.query(`CREATE ROLE "${name}" LOGIN PASSWORD '${GUARD_PASSWORD.replace(/'/g, "''")}'`);
  } finally {
    await client.end();
  }
  return {
    name,
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl() });
      await c.connect();
      try {
        await c.query(`DROP ROLE IF EXISTS "${name}"`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A database owned by `role` (so the role can create tables and pg_dump can read them). */
export async function createOwnedDatabase(role: string): Promise<TestDatabase> {
  const db = await createPostgresDatabase("athanor_guard");
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query(`ALTER DATABASE "${db.name}" OWNER TO "${role}"`);
    await client.query(`ALTER SCHEMA public OWNER TO "${role}"`);
  } finally {
    await client.end();
  }
  return db;
}

/** Runs SQL on a database as the server's admin. */
export async function adminQuery<Row extends Record<string, unknown> = Record<string, unknown>>(database: string, sql: string, params: unknown[] = []): Promise<Row[]> {
  const url = new URL(serverUrl());
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return (await client.query<Row>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Host and port of the test server. */
export function serverAddress(): { host: string; port: number } {
  const url = new URL(serverUrl());
  return { host: url.hostname, port: Number(url.port || 5432) };
}

/** The URL template of a database reached as the guard role, the password from `${DB_PASSWORD}`. */
export function guardUrlTemplate(role: string, database: string): string {
  const { host, port } = serverAddress();
  return `postgresql://${role}:\${DB_PASSWORD}@${host}:${port}/${database}`;
}

/** One revision file. */
export interface RevisionSpec {
  id: string;
  down: string | null;
  message: string;
  upgrade: string;
  downgrade?: string;
  /** Extra header lines, e.g. `-- athanor:allow drop-table`. */
  header?: string[];
}

/** Writes an SQL revision file into `migrationsDir`. */
export async function writeRevision(migrationsDir: string, spec: RevisionSpec, index: number): Promise<string> {
  const lines = [`-- athanor:revision ${spec.id}`];
  if (spec.down !== null) lines.push(`-- athanor:down ${spec.down}`);
  lines.push(`-- athanor:message ${spec.message}`, ...(spec.header ?? []), "", "-- athanor:upgrade", spec.upgrade, "", "-- athanor:downgrade", spec.downgrade ?? "SELECT 1;", "");
  const file = join(migrationsDir, `${String(index).padStart(4, "0")}_${spec.id}.sql`);
  await writeFile(file, lines.join("\n"));
  return file;
}

/** A temporary project: config (JSON), migrations, and its cleanup. */
export interface GuardProject {
  dir: string;
  migrationsDir: string;
  writeConfig(environments: Record<string, Record<string, unknown>>, extra?: Record<string, unknown>): Promise<void>;
  remove(): Promise<void>;
}

/** Creates an empty project directory with a `migrations/` folder. */
export async function createGuardProject(): Promise<GuardProject> {
  const { dir, remove } = await tempDir("athanor-guard-");
  const migrationsDir = join(dir, "migrations");
  await mkdir(migrationsDir);
  return {
    dir,
    migrationsDir,
    async writeConfig(environments, extra = {}) {
      await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments, ...extra }, null, 2));
    },
    remove,
  };
}
