#!/usr/bin/env node
/**
 * The Umzug side of bench/peers.mjs, a process of its own like `athanor`: Umzug 3 with
 * the SQL migrations of `$UMZUG_DIR` (one file each, run on a node-postgres client, one
 * transaction per migration) and its executed list in a PostgreSQL table, as an
 * application using Umzug on PostgreSQL would set it up.
 *   node bench/umzug-runner.mjs up        apply what is pending (no-op when all are applied)
 *   node bench/umzug-runner.mjs current   print the last executed migration
 */
import { readFileSync } from "node:fs";
import pg from "pg";
import { Umzug } from "umzug";

const client = new pg.Client({ connectionString: process.env.BENCH_URL });
await client.connect();
await client.query("CREATE TABLE IF NOT EXISTS umzug_meta (name text PRIMARY KEY)");
const storage = {
  async executed() {
    return (await client.query("SELECT name FROM umzug_meta ORDER BY name")).rows.map((row) => row.name);
  },
  async logMigration({ name }) {
    await client.query("INSERT INTO umzug_meta (name) VALUES ($1)", [name]);
  },
  async unlogMigration({ name }) {
    await client.query("DELETE FROM umzug_meta WHERE name = $1", [name]);
  },
};
const umzug = new Umzug({
  migrations: {
    glob: ["*.sql", { cwd: process.env.UMZUG_DIR }],
    resolve: ({ name, path }) => ({
      name,
      up: async () => {
        await client.query("BEGIN");
        await client.query(readFileSync(path, "utf8"));
        await client.query("COMMIT");
      },
    }),
  },
  storage,
  logger: undefined,
});
try {
  if (process.argv[2] === "current") {
    const executed = await umzug.executed();
    console.log(executed.at(-1)?.name ?? "(none)");
  } else {
    const applied = await umzug.up();
    console.log(`${applied.length} applied`);
  }
} finally {
  await client.end();
}
