/**
 * Real databases for tests: a fresh PostgreSQL database on the server that `.ci/run`
 * starts (DATABASE_URL), or a PGlite one. No mocks.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/** The admin URL of the test server; tests that need it fail loudly when it is missing. */
export function serverUrl(): string {
  const url = process.env["DATABASE_URL"];
  if (!url) throw new Error("DATABASE_URL is not set: run the tests through `npm test` after `eval \"$(bash ci/start-postgres.sh start)\"` (see .ci/run)");
  return url;
}

export interface TestDatabase {
  /** A postgres:// URL of a new, empty database. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates an empty database with a random name on the test server. */
export async function createPostgresDatabase(prefix = "athanor_test"): Promise<TestDatabase> {
  const admin = new URL(serverUrl());
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(admin.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A temporary directory removed by the returned function. */
export async function tempDir(prefix = "athanor-test-"): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** One SQL query on a URL, with a connection of its own. */
export async function queryUrl<Row extends Record<string, unknown>>(url: string, sql: string, params: readonly unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  try {
    return (await client.query<Row>(sql, params as unknown[])).rows;
  } finally {
    await client.end().catch(() => {});
  }
}
