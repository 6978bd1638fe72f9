#!/usr/bin/env node
/**
 * All benchmarks in one command (`npm run bench`, after `npm run build`). Without
 * DATABASE_URL it starts a new PostgreSQL server for the run (ci/start-postgres.sh, a free
 * port on 127.0.0.1) and stops it at the end: no test run's clients or DROP DATABASEs on
 * it while the apply row runs (bench/peers.mjs, step 1). With DATABASE_URL set, that
 * server is used.
 *   peers.mjs         athanor vs psql, Umzug and Alembic on the same generated history (ratios),
 *                     peak RSS applying 10,000, start-up vs `node -e 0`
 *   scale.mjs         heads / history / current / status / no-op upgrade at 1,000, 10,000 and
 *                     30,000 revisions (100,000 with `npm run bench -- --full`), time per revision
 *   upgrade.mjs       1,000 revisions: athanor CLI and library vs psql -1 -f
 *   autogenerate.mjs  autogenerate on a 500-table declared schema (PGlite start-up included)
 *   fleet.mjs         100 databases on two servers × 20 revisions: fleet upgrade vs a shell loop;
 *                     1,000 tenant schemas × 5 revisions and their status (starts a second server)
 * Peers the machine lacks are skipped with a line saying so (see peers.mjs for what it needs).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startServer } from "./lib.mjs";

const full = process.argv.includes("--full") ? ["--full"] : [];
const server = process.env.DATABASE_URL ? null : startServer();
if (server !== null) console.log("a new PostgreSQL server for this run (DATABASE_URL is not set)");
let status = 0;
try {
  for (const [script, args] of [["peers.mjs", []], ["scale.mjs", full], ["upgrade.mjs", []], ["autogenerate.mjs", ["--dist"]], ["fleet.mjs", []]]) {
    console.log(`\n== ${script}`);
    const env = server === null ? process.env : { ...process.env, DATABASE_URL: server.url };
    const result = spawnSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], { stdio: "inherit", env });
    if (result.status !== 0) {
      status = result.status ?? 1;
      break;
    }
  }
} finally {
  server?.stop();
}
process.exit(status);
