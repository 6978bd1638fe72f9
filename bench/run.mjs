#!/usr/bin/env node
/**
 * All benchmarks in one command (`npm run bench`, after `npm run build`, with
 * DATABASE_URL pointing at a PostgreSQL server, e.g. `eval "$(bash ci/start-postgres.sh start)"`):
 *   upgrade.mjs       1,000 revisions: athanor vs psql -1 -f on the same server (ratio)
 *   scale.mjs         heads / upgrade / current / status / no-op at 1,000 and 10,000 revisions, peak memory
 *   autogenerate.mjs  autogenerate on a 500-table declared schema (PGlite start-up included)
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

for (const [script, args] of [["upgrade.mjs", []], ["scale.mjs", []], ["autogenerate.mjs", ["--dist"]]]) {
  console.log(`\n== ${script}`);
  const result = spawnSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
