#!/usr/bin/env node
/**
 * `npm test`: runs vitest against a real PostgreSQL server. When DATABASE_URL is not
 * set (a fresh machine), it starts a throwaway server itself with ci/start-postgres.sh
 * (installed from Debian packages when missing; needs root, as on CI) on a free port
 * chosen at start and in a directory of its own, so two runs on one machine never share
 * or stop each other's server, and stops it afterwards. `.ci/run` starts the server
 * first, so this only runs vitest.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const script = fileURLToPath(new URL("../ci/start-postgres.sh", import.meta.url));
const env = { ...process.env };
let started = false;

if (!env.DATABASE_URL) {
  env.PG_TEST_PORT ??= "auto";
  delete env.PG_TEST_DIR; // the script makes a unique one and prints it
  console.error("[npm test] DATABASE_URL is not set: starting a throwaway PostgreSQL on a free port of 127.0.0.1");
  const exports = execFileSync("bash", [script, "start"], { env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  // The script prints `export A=1 B='2'` lines.
  for (const match of exports.matchAll(/([A-Z_]+)=('([^']*)'|(\S+))/g)) env[match[1]] = match[3] ?? match[4];
  started = true;
  console.error(`[npm test] PostgreSQL on 127.0.0.1:${env.PGPORT}, data in ${env.PG_TEST_DIR}`);
}

const result = spawnSync(process.execPath, [fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url)), "run", ...process.argv.slice(2)], { cwd: root, env, stdio: "inherit" });
if (started) execFileSync("bash", [script, "stop"], { env, stdio: ["ignore", "ignore", "inherit"] });
process.exit(result.status ?? 1);
