#!/usr/bin/env node
/**
 * Upgrade speed (issue #4): N one-table SQL revisions (default 1,000) applied by
 * `athanor upgrade` versus the same statements run by `psql -1 -f` on the same server.
 * Target: athanor within 1.2x of psql.
 *
 *   eval "$(bash ci/start-postgres.sh env)"; npm run build; node bench/upgrade.mjs [N]
 *
 * Each side gets a fresh database, dropped only once all three ran: a DROP DATABASE of
 * 1,000 tables frees ~5,000 inodes that ext4 without a journal will not reuse for up to
 * 6 minutes, and every file the next run created scanned past them (bench/peers.mjs,
 * step 1). athanor is timed twice: the whole CLI process
 * (`node bin/athanor.js upgrade`, Node start-up included) and the library call
 * `upgrade(env)` in this process (what a test suite's global setup pays).
 * Output: one line per measurement and the ratios.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { freshDatabase, psqlConnection, root, serverUrl, writeAthanorProject } from "./lib.mjs";

const count = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 1000);
serverUrl();

const dir = await mkdtemp(join(tmpdir(), "athanor-bench-"));
await writeAthanorProject(dir, count);

const results = {};
const databases = [];
const keptDatabase = async () => {
  const db = await freshDatabase();
  databases.push(db);
  return db;
};
try {
  // psql -1 -f: one transaction, one statement per round trip.
  {
    const db = await keptDatabase();
    const started = performance.now();
    const connection = psqlConnection(db.url);
    execFileSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", join(dir, "all.sql"), connection.url], { env: connection.env, stdio: ["ignore", "ignore", "inherit"] });
    results.psql = performance.now() - started;
  }
  // athanor CLI, a process of its own.
  {
    const db = await keptDatabase();
    const started = performance.now();
    const run = spawnSync(process.execPath, [join(root, "bin/athanor.js"), "--quiet", "--env", "bench", "upgrade"], { cwd: dir, env: { ...process.env, BENCH_URL: db.url }, stdio: ["ignore", "ignore", "inherit"] });
    results.cli = performance.now() - started;
    if (run.status !== 0) throw new Error(`athanor upgrade exited ${run.status}`);
  }
  // athanor in-process (library).
  {
    const db = await keptDatabase();
    const { loadConfigFile } = await import(join(root, "dist/config/load.js"));
    const { resolveEnvironment } = await import(join(root, "dist/config/resolve.js"));
    const { upgrade } = await import(join(root, "dist/commands/upgrade.js"));
    const env = await resolveEnvironment(await loadConfigFile(join(dir, "athanor.config.json")), { environment: "bench", processEnv: { BENCH_URL: db.url } });
    const started = performance.now();
    const result = await upgrade(env);
    results.library = performance.now() - started;
    if (result.completed.length !== count) throw new Error(`applied ${result.completed.length} of ${count}`);
  }
} finally {
  for (const db of databases) await db.drop();
  await rm(dir, { recursive: true, force: true });
}
const ms = (value) => `${value.toFixed(0)} ms`;
console.log(`${count} one-table revisions`);
console.log(`psql -1 -f          ${ms(results.psql)}`);
console.log(`athanor upgrade     ${ms(results.cli)}  (${(results.cli / results.psql).toFixed(2)}x psql, process start included)`);
console.log(`upgrade() library   ${ms(results.library)}  (${(results.library / results.psql).toFixed(2)}x psql)`);
