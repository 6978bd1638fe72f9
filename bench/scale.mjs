#!/usr/bin/env node
/**
 * Scale (issue #4): N revisions (default 1,000 and 10,000 side by side) in a linear chain.
 * Times whole `node bin/athanor.js` processes, median of 5 runs each:
 *   heads                    (no database: read headers, build the graph)
 *   upgrade head             (N one-table revisions on a fresh PostgreSQL database; peak RSS reported)
 *   current / status / upgrade head again (nothing to do, N applied)
 * and compares `heads` with Alembic's 1.3 s for 10,000 revisions (issue #4's figure,
 * measured on this machine kind; target: within 0.15x) and the no-op runs with Umzug's
 * 0.25 s no-op.
 *
 *   eval "$(bash ci/start-postgres.sh env)"; npm run build; node bench/scale.mjs [N...]
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const sizes = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
if (sizes.length === 0) sizes.push(1000, 10000);
const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) {
  console.error('DATABASE_URL is not set: eval "$(bash ci/start-postgres.sh env)" first');
  process.exit(2);
}
const bin = fileURLToPath(new URL("../bin/athanor.js", import.meta.url));
const hex = (i) => i.toString(16).padStart(12, "0");

async function admin(sql) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Runs the CLI once under /usr/bin/time; returns seconds and peak RSS (MB). */
function run(dir, env, args) {
  const started = performance.now();
  const result = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, bin, ...args], { cwd: dir, env, encoding: "utf8" });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`athanor ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  const rssKb = Number(result.stderr.trim().split("\n").pop());
  return { seconds, rssMb: rssKb / 1024 };
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
function timed(dir, env, args, times = 5) {
  const runs = Array.from({ length: times }, () => run(dir, env, args));
  return { seconds: median(runs.map((r) => r.seconds)), rssMb: Math.max(...runs.map((r) => r.rssMb)) };
}

for (const n of sizes) {
  const dir = await mkdtemp(join(tmpdir(), "athanor-scale-"));
  const name = `athanor_scale_${randomBytes(4).toString("hex")}`;
  try {
    await mkdir(join(dir, "migrations"));
    for (let i = 1; i <= n; i++) {
      const down = i === 1 ? [] : [`-- athanor:down ${hex(i - 1)}`];
      await writeFile(
        join(dir, "migrations", `${hex(i)}_t${i}.sql`),
        [`-- athanor:revision ${hex(i)}`, ...down, `-- athanor:message table ${i}`, "", "-- athanor:upgrade", `CREATE TABLE t${i} (id int);`, "", "-- athanor:downgrade", `DROP TABLE t${i};`, ""].join("\n"),
      );
    }
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ defaultEnvironment: "bench", environments: { bench: { url: "${BENCH_URL}" } } }));
    await admin(`CREATE DATABASE ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, BENCH_URL: url.toString(), OTEL_SDK_DISABLED: "true" };
    const heads = timed(dir, env, ["heads"]);
    const apply = run(dir, env, ["upgrade", "head"]);
    const current = timed(dir, env, ["current"]);
    const status = timed(dir, env, ["status"]);
    const noop = timed(dir, env, ["upgrade", "head"]);
    console.log(`${n} revisions`);
    console.log(`  heads                ${heads.seconds.toFixed(3)} s${n === 10000 ? `  (${(heads.seconds / 1.3).toFixed(3)}x Alembic's 1.3 s; target 0.15x)` : ""}`);
    console.log(`  upgrade head         ${apply.seconds.toFixed(3)} s, peak RSS ${apply.rssMb.toFixed(0)} MB (target < 80 MB for 1,000)`);
    for (const [label, value] of [["current", current], ["status", status], ["upgrade (no-op)", noop]]) {
      console.log(`  ${label.padEnd(20)} ${value.seconds.toFixed(3)} s${n === 10000 ? `  (${(value.seconds / 0.25).toFixed(2)}x Umzug's 0.25 s no-op)` : ""}`);
    }
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}
