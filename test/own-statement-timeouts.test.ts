/**
 * A server timeout met by athanor's own statement (here the state query, kept waiting by
 * a lock the test holds on the version table) names the timeout, the setting that set it
 * and what athanor was doing, instead of the bare "canceling statement due to lock
 * timeout"; a revision's own SQL that meets it still names the revision. PostgreSQL, in-process CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { baseEnv, runCli } from "./support/cli.js";
import { createPostgresDatabase, queryUrl, tempDir, type TestDatabase } from "./support/databases.js";

const R1 = "c7c7c7c7c701";
const R2 = "c7c7c7c7c702";

describe("timeouts met by athanor's own statements (PostgreSQL)", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-own-timeouts-"));
    db = await createPostgresDatabase("athanor_own_timeouts");
    await mkdir(join(dir, "migrations"));
    await writeFile(
      join(dir, "athanor.config.json"),
      JSON.stringify({
        environments: {
          development: { url: db.url },
          locks: { url: db.url, lockTimeout: "200ms" },
          statements: { url: db.url, statementTimeout: "200ms" },
        },
      }),
    );
    await writeFile(join(dir, "migrations", `${R1}_first.sql`), [`-- athanor:revision ${R1}`, "-- athanor:message first", "-- athanor:upgrade", "CREATE TABLE blocker (x int);", ""].join("\n"));
    const first = await runCli(["upgrade"], { cwd: dir, env: baseEnv() });
    expect(first.status, first.stderr).toBe(0);
    // Pending: it waits for a lock on `blocker` when the test holds one.
    await writeFile(join(dir, "migrations", `${R2}_waits.sql`), [`-- athanor:revision ${R2}`, `-- athanor:down ${R1}`, "-- athanor:message waits", "-- athanor:upgrade", "LOCK TABLE blocker IN ACCESS EXCLUSIVE MODE;", ""].join("\n"));
  });
  afterAll(async () => {
    await db.drop();
    await remove();
  });

  /** Runs `upgrade` on `environment` while another session holds ACCESS EXCLUSIVE on `table`. */
  async function upgradeWhileLocked(environment: string, table: string): Promise<{ status: number; stderr: string }> {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query("BEGIN");
      await holder.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      return await runCli(["--env", environment, "upgrade"], { cwd: dir, env: baseEnv() });
    } finally {
      await holder.query("ROLLBACK").catch(() => {});
      await holder.end();
    }
  }

  it("lockTimeout: the state query's error names lock_timeout, environments.<name>.lockTimeout and the version table", async () => {
    const result = await upgradeWhileLocked("locks", "athanor_version");
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain(
      "error: while reading the version table public.athanor_version, athanor's own statement was cancelled by the lock_timeout (200 ms, from environments.locks.lockTimeout): canceling statement due to lock timeout",
    );
    expect(result.stderr).toContain("raise environments.locks.lockTimeout in the config file");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("statementTimeout: the same, naming statement_timeout and environments.<name>.statementTimeout", async () => {
    const result = await upgradeWhileLocked("statements", "athanor_version");
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain(
      "error: while reading the version table public.athanor_version, athanor's own statement was cancelled by the statement_timeout (200 ms, from environments.statements.statementTimeout): canceling statement due to statement timeout",
    );
    expect(result.stderr).toContain("raise environments.statements.statementTimeout in the config file");
  });

  it("a timeout the environment does not set (the database's default) says so and which key sets one", async () => {
    const name = new URL(db.url).pathname.slice(1);
    await queryUrl(db.url, `ALTER DATABASE "${name}" SET lock_timeout = 200`);
    try {
      const result = await upgradeWhileLocked("development", "athanor_version");
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr).toContain("athanor's own statement was cancelled by the server's own lock_timeout (environments.development.lockTimeout is not set, so athanor sets none)");
      expect(result.stderr).toContain("set environments.development.lockTimeout in the config file");
    } finally {
      await queryUrl(db.url, `ALTER DATABASE "${name}" RESET lock_timeout`);
    }
  });

  it("the bookkeeping after a revision's SQL (its history row) meets lockTimeout: the revision's recording is named, with the setting, not its last statement", async () => {
    // SHARE lets the state query read and stops the history row's INSERT.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    let result: { status: number; stderr: string };
    try {
      await holder.query("BEGIN");
      await holder.query("LOCK TABLE athanor_version_history IN SHARE MODE");
      result = await runCli(["--env", "locks", "upgrade"], { cwd: dir, env: baseEnv() });
    } finally {
      await holder.query("ROLLBACK").catch(() => {});
      await holder.end();
    }
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain(
      `error: revision ${R2} (waits) failed to upgrade at ${R2}_waits.sql: recording it failed (athanor's own statement was cancelled by the lock_timeout (200 ms, from environments.locks.lockTimeout): canceling statement due to lock timeout)`,
    );
    // Before, the position the server gave in the history INSERT was taken for the body's last statement.
    expect(result.stderr).not.toContain("statement: LOCK TABLE blocker");
    expect(result.stderr).toContain("raise environments.locks.lockTimeout in the config file");
    expect(await queryUrl(db.url, "SELECT revision FROM athanor_version")).toEqual([{ revision: R1 }]);
  });

  it("a revision's own SQL that meets the timeout still names the revision, not athanor's own statement", async () => {
    const result = await upgradeWhileLocked("statements", "blocker");
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain(`error: revision ${R2} (waits) failed to upgrade at ${R2}_waits.sql:5: canceling statement due to statement timeout`);
    expect(result.stderr).not.toContain("athanor's own statement");
    expect(await queryUrl(db.url, "SELECT revision FROM athanor_version")).toEqual([{ revision: R1 }]);
  });
});
