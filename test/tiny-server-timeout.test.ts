/**
 * A database's statement_timeout of a millisecond cancels athanor's first statements on a
 * connection (its opening query, the lock connection's), sent before athanor sets any timeout
 * of its own; the run used to fail with the server's bare "canceling statement due to
 * statement timeout" (trust15 B). It now names the setting, where it is set, and the fix;
 * exit 1, nothing applied, no lock left. PostgreSQL, in-process CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv, runCli } from "./support/cli.js";
import { createPostgresDatabase, queryUrl, tempDir, type TestDatabase } from "./support/databases.js";

const R1 = "c9c9c9c9c901";

describe("a database's statement_timeout of 1 ms (PostgreSQL)", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-tiny-timeout-"));
    db = await createPostgresDatabase("athanor_tiny_timeout");
    await queryUrl(db.url, `ALTER DATABASE "${db.name}" SET statement_timeout = '1ms'`);
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: db.url } } }));
    await writeFile(join(dir, "migrations", `${R1}_first.sql`), [`-- athanor:revision ${R1}`, "-- athanor:message first", "-- athanor:upgrade", "CREATE TABLE first_t (x int);", ""].join("\n"));
  });
  afterAll(async () => {
    await db.drop();
    await remove();
  });

  it("upgrade names the setting, where it is set and the fix; exit 1, nothing applied, no lock left", async () => {
    const result = await runCli(["upgrade"], { cwd: dir, env: baseEnv() });
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/error: the server's statement_timeout \(1 ms, set for database athanor_tiny_timeout_\w+ \(ALTER DATABASE \.\.\. SET\)\) cancelled (athanor's first query on the connection|a statement of athanor's lock connection), before athanor sets any timeout of its own: canceling statement due to statement timeout/);
    expect(result.stderr).toContain(`Remove it (ALTER DATABASE "${db.name}" RESET statement_timeout) or raise it to seconds`);
    expect(result.stderr).not.toMatch(/^error: canceling statement/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // Read without the database's timeout (a startup option), which would cancel this query too;
    // this database's locks only (other test files' runs on the server hold their own).
    const url = new URL(db.url);
    url.searchParams.set("options", "-c statement_timeout=0");
    const after = await queryUrl(url.toString(), "SELECT to_regclass('first_t')::text AS t, (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS locks");
    expect(after).toEqual([{ t: null, locks: 0 }]);
  });
});
