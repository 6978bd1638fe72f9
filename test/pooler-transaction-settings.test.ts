/**
 * A transaction-pooling PgBouncer: athanor refuses it (exit 2, lock-needs-session), but
 * its migration session, connecting while the lock connection checked the proxy, had
 * already sent its `SET lock_timeout / statement_timeout / client_connection_check_interval`.
 * Through transaction pooling those landed on a server connection that PgBouncer then gave
 * to the application's next transactions (it runs no reset query in that mode): a refused
 * run changed the application's timeouts (round 15, pool15). Behind a proxy the migration
 * session now sets them only once the lock is held. Needs `pgbouncer` (Debian package).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv, spawnCli } from "./support/cli.js";
import { createPostgresDatabase, serverUrl, tempDir, type TestDatabase } from "./support/databases.js";
import { connect, pgbouncerBinary, startPgBouncer, type Bouncer } from "./support/faults.js";

const installed = pgbouncerBinary() !== null;
if (!installed) console.log("[pooler-transaction-settings] pgbouncer is not installed: the test is skipped (apt-get install pgbouncer)");

const R1 = "a7a7a7a7a701";
/** Every server connection of the pool is seen by as many transactions at once. */
const POOL_SIZE = 2;

describe.skipIf(!installed)("a transaction-pooling PgBouncer", { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let bouncer: Bouncer;
  let dir: { dir: string; remove(): Promise<void> };

  beforeAll(async () => {
    db = await createPostgresDatabase("athanor_tx_settings");
    bouncer = await startPgBouncer(new URL(serverUrl()), { tx: { database: db.name, poolMode: "transaction", poolSize: POOL_SIZE } });
    dir = await tempDir("athanor-tx-settings-");
    await mkdir(join(dir.dir, "migrations"));
    await writeFile(join(dir.dir, "migrations", `${R1}_first.sql`), [`-- athanor:revision ${R1}`, "-- athanor:message first", "-- athanor:upgrade", "CREATE TABLE pooled (x int);", ""].join("\n"));
    await writeFile(join(dir.dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: bouncer.url("tx"), lockTimeout: "7s", statementTimeout: "13min" } } }));
  }, 60_000);
  afterAll(async () => {
    await bouncer?.stop();
    await db?.drop();
    await dir?.remove();
  });

  it("the refused run leaves none of its settings to the application's transactions", async () => {
    for (let run = 0; run < 3; run++) {
      const result = await spawnCli(["upgrade"], { cwd: dir.dir, env: baseEnv(), timeoutMs: 60_000 });
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toContain("transaction-pooling proxy");
    }
    // As many transactions at once as the pool has server connections: each one is seen.
    const clients = await Promise.all(Array.from({ length: POOL_SIZE }, () => connect(bouncer.url("tx"))));
    try {
      for (const client of clients) await client.query("BEGIN");
      const seen = await Promise.all(
        clients.map(async (client) => (await client.query("SELECT current_setting('lock_timeout') AS lock_timeout, current_setting('statement_timeout') AS statement_timeout, current_setting('client_connection_check_interval') AS check_interval")).rows[0]),
      );
      expect(seen).toEqual(Array.from({ length: POOL_SIZE }, () => ({ lock_timeout: "0", statement_timeout: "0", check_interval: "0" })));
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
  });
});
