#!/usr/bin/env node
/**
 * Fleets (issue #17), on two local PostgreSQL servers (DATABASE_URL's, and a second one
 * this benchmark starts with ci/start-postgres.sh and stops at the end):
 *
 * 1. D databases spread over the two servers (default 100), R one-table revisions each
 *    (default 20): a shell loop running `node bin/athanor.js upgrade` once per database,
 *    versus `athanor --env fleet upgrade head` over the fleet. Target: fleet ≤ 0.25× the
 *    loop, peak RSS < 150 MB.
 * 2. T tenant schemas in one database (default 1,000), 5 revisions each, unqualified
 *    tables (they land in the tenant's schema through search_path): fleet `upgrade`
 *    (target ≤ 60 s), then fleet `status` (target ≤ 2 s).
 *
 *   eval "$(bash ci/start-postgres.sh start)"; npm run build; node bench/fleet.mjs [--small] [--databases D] [--revisions R] [--tenants T]
 *
 * `--small` (10 databases × 5 revisions, 50 tenants) checks that it works in a minute;
 * `--tenants-only` runs part 2 alone.
 * Output: one line per measurement, the ratio, and the load average.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { athanor, loadAverage, processEnv, revisionId, run, serverUrl, startServer, writeAthanorProject } from "./lib.mjs";

const argv = process.argv.slice(2);
const small = argv.includes("--small");
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(argv[i + 1]);
};
const databases = option("databases", small ? 10 : 100);
const revisions = option("revisions", small ? 5 : 20);
const tenants = option("tenants", small ? 50 : 1000);
const tenantRevisions = 5;
const tenantsOnly = argv.includes("--tenants-only");
const first = serverUrl();

async function on(server, sql) {
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

function withDatabase(server, name) {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

const second = startServer();
const dir = await mkdtemp(join(tmpdir(), "athanor-bench-fleet-"));
const created = [];
const tag = randomBytes(3).toString("hex");
try {
  if (!tenantsOnly) await databasesPart();

  async function databasesPart() {
  // 1. Databases over two servers.
  const targets = {};
  for (let i = 1; i <= databases; i += 1) {
    const server = i % 2 === 1 ? first : second.url;
    const name = `fleet_bench_${tag}_${i}`;
    await on(server, `CREATE DATABASE ${name}`);
    created.push([server, name]);
    targets[`db-${String(i).padStart(3, "0")}`] = withDatabase(server, name);
  }
  await writeAthanorProject(dir, revisions);
  await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { one: { url: "${BENCH_URL}" }, fleet: { targets, parallel: 8 } } }));

  // The shell loop: one process per database, one after the other.
  const loopStarted = performance.now();
  let loopRss = 0;
  for (const url of Object.values(targets)) {
    const [command, args] = athanor(["--env", "one", "--quiet", "upgrade", "head"]);
    loopRss = Math.max(loopRss, run(command, args, { cwd: dir, env: processEnv(url) }).rssMb);
  }
  const loopSeconds = (performance.now() - loopStarted) / 1000;
  console.log(`shell loop: ${databases} × athanor upgrade (${revisions} revisions each): ${loopSeconds.toFixed(1)} s, peak RSS ${loopRss.toFixed(0)} MB per process`);

  // Back to base over the fleet (timed too: downgrade exercises the same path), then the fleet upgrade.
  const [command, args] = athanor(["--env", "fleet", "--quiet", "downgrade", "base"]);
  const down = run(command, args, { cwd: dir, env: processEnv("") });
  console.log(`fleet downgrade base: ${down.seconds.toFixed(1)} s`);
  const [upCommand, upArgs] = athanor(["--env", "fleet", "--quiet", "upgrade", "head"]);
  const up = run(upCommand, upArgs, { cwd: dir, env: processEnv("") });
  console.log(`fleet upgrade head: ${databases} databases × ${revisions} revisions: ${up.seconds.toFixed(1)} s, peak RSS ${up.rssMb.toFixed(0)} MB`);
  console.log(`ratio fleet / shell loop: ${(up.seconds / loopSeconds).toFixed(3)} (target ≤ 0.25); peak RSS target < 150 MB`);
  }

  // 2. Tenant schemas in one database.
  const tenantDb = `fleet_bench_${tag}_tenants`;
  await on(first, `CREATE DATABASE ${tenantDb}`);
  created.push([first, tenantDb]);
  await on(withDatabase(first, tenantDb), `DO $$ BEGIN FOR i IN 1..${tenants} LOOP EXECUTE format('CREATE SCHEMA tenant_%s', lpad(i::text, 4, '0')); END LOOP; END $$;`);
  const tenantDir = join(dir, "tenants");
  await mkdir(join(tenantDir, "migrations"), { recursive: true });
  for (let i = 1; i <= tenantRevisions; i += 1) {
    const header = [`-- athanor:revision ${revisionId(i)}`, ...(i > 1 ? [`-- athanor:down ${revisionId(i - 1)}`] : []), `-- athanor:message tenant table ${i}`];
    await writeFile(join(tenantDir, "migrations", `${revisionId(i)}.sql`), `${header.join("\n")}\n\n-- athanor:upgrade\nCREATE TABLE t_${i} (id bigint PRIMARY KEY, name text NOT NULL);\n`);
  }
  await writeFile(
    join(tenantDir, "athanor.config.json"),
    JSON.stringify({ environments: { tenants: { url: withDatabase(first, tenantDb), tenantSchemas: "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'", parallel: 8 } } }),
  );
  const [tc, ta] = athanor(["--env", "tenants", "--quiet", "upgrade", "head"]);
  const tenantUp = run(tc, ta, { cwd: tenantDir, env: processEnv("") });
  console.log(`tenant schemas: ${tenants} × ${tenantRevisions} revisions: ${tenantUp.seconds.toFixed(1)} s (target ≤ 60 s), peak RSS ${tenantUp.rssMb.toFixed(0)} MB`);
  const [sc, sa] = athanor(["--env", "tenants", "status"]);
  const statusStarted = performance.now();
  const again = spawnSync(sc, sa, { cwd: tenantDir, env: processEnv(""), encoding: "utf8" });
  const statusSeconds = (performance.now() - statusStarted) / 1000;
  if (again.status !== 0) throw new Error(`status exited ${again.status}: ${again.stdout.slice(0, 500)}${again.stderr.slice(-500)}`);
  console.log(`tenant status: ${tenants} schemas: ${statusSeconds.toFixed(2)} s (target ≤ 2 s): ${again.stdout.split("\n").slice(0, 2).join(" | ")}`);
  console.log(await loadAverage());
} finally {
  for (const [server, name] of created) await on(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
  second.stop();
  await rm(dir, { recursive: true, force: true });
}
