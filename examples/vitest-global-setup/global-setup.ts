/**
 * Vitest global setup: before the suite, a fresh database migrated to head with
 * athanor's library API (in this process, no CLI); after it, the database is removed.
 *
 * - TEST_DATABASE_URL set (a PostgreSQL server on which this role may CREATE DATABASE):
 *   a new database `app_test_<random>` on that server, dropped at the end.
 * - unset: PGlite (embedded PostgreSQL, nothing to install) in a temporary directory,
 *   removed at the end. Test files run in parallel worker processes and a PGlite
 *   directory has one user at a time, so this one is a template: each test file opens
 *   a copy of it (tests/database.ts).
 *
 * Tests read the URL with `inject("databaseUrl")`.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { loadConfig, resolveEnvironment, upgrade } from "athanor";

declare module "vitest" {
  export interface ProvidedContext {
    /** `postgresql://...` of the migrated database, or `pglite://<dir>` of the migrated template. */
    databaseUrl: string;
    /** The revisions the database is at (its heads). */
    migratedTo: string[];
  }
}

/** A new empty database and how to remove it. */
interface FreshDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

async function createPostgresDatabase(serverUrl: string): Promise<FreshDatabase> {
  const name = `app_test_${randomBytes(4).toString("hex")}`;
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  // WITH (FORCE): connections a test left open do not keep the database alive.
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

async function createPgliteDirectory(): Promise<FreshDatabase> {
  const dir = await mkdtemp(join(tmpdir(), "app-test-pglite-"));
  return { url: `pglite://${join(dir, "template")}`, drop: () => rm(dir, { recursive: true, force: true }) };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = process.env["TEST_DATABASE_URL"];
  const database = server ? await createPostgresDatabase(server) : await createPgliteDirectory();
  try {
    const config = await loadConfig({ cwd: fileURLToPath(new URL(".", import.meta.url)) });
    // The process environment wins over every .env file: TEST_DATABASE_URL names the fresh database.
    const env = await resolveEnvironment(config, { environment: "testing", processEnv: { ...process.env, TEST_DATABASE_URL: database.url } });
    const result = await upgrade(env, { target: "head" });
    project.provide("databaseUrl", database.url);
    project.provide("migratedTo", [...result.current]);
  } catch (error) {
    await database.drop();
    throw error;
  }
  return () => database.drop();
}
