#!/usr/bin/env node
/**
 * All benchmarks in one command (`npm run bench`, after `npm run build`, with
 * DATABASE_URL pointing at a PostgreSQL server, e.g. `eval "$(bash ci/start-postgres.sh start)"`):
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

const full = process.argv.includes("--full") ? ["--full"] : [];
for (const [script, args] of [["peers.mjs", []], ["scale.mjs", full], ["upgrade.mjs", []], ["autogenerate.mjs", ["--dist"]], ["fleet.mjs", []]]) {
  console.log(`\n== ${script}`);
  const result = spawnSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
