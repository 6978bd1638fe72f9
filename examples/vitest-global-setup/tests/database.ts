/**
 * The test files' view of the database the global setup migrated: a client of their own
 * (pg for PostgreSQL; for PGlite, a copy of the migrated template in a directory of
 * their own), and `close()` to remove it.
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { inject } from "vitest";

export interface TestDatabase {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

export async function openTestDatabase(): Promise<TestDatabase> {
  const url = inject("databaseUrl");
  if (url.startsWith("pglite://")) {
    const copy = await mkdtemp(join(tmpdir(), "app-test-db-"));
    await cp(url.slice("pglite://".length), copy, { recursive: true });
    const { PGlite } = await import("@electric-sql/pglite");
    const db = new PGlite(copy);
    return {
      query: async <Row>(sql: string, params?: unknown[]) => (await db.query<Row>(sql, params)).rows,
      close: async () => {
        await db.close();
        await rm(copy, { recursive: true, force: true });
      },
    };
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    query: async <Row>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as Row[],
    close: () => client.end(),
  };
}
