#!/usr/bin/env node
/**
 * replicaLag on a real standby (issue 17): a primary and a streaming standby
 * (test/support/replication.ts: pg_basebackup -R, both throwaway, on free loopback ports);
 * one revision writes about 200 MB (CREATE TABLE AS), then three small revisions follow,
 * run by `athanor upgrade` with `replicaLag: { max: "1s" }` and JSON logs.
 *
 * Prints: the WAL the big revision wrote, each revision's duration, each wait for the
 * standby (from the `replica-wait` events), the total, and what an observer polling both
 * servers every 50 ms saw: the longest time between a revision's commit on the primary and
 * its table showing on the standby (the claim: within the limit plus one revision), how
 * many revisions the standby missed at once (revisions shorter than the limit may follow
 * each other unpaced), and the standby's largest replay gap in bytes.
 *
 *   npm run build && node bench/replica.mjs [MB]     # default 200
 *
 * Loads the test helper through jiti (already a dependency); needs root or the postgres
 * OS user, like ci/start-postgres.sh.
 */
import { spawn } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { bin } from "./lib.mjs";

const megabytes = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 200);
const { createJiti } = await import("jiti");
const jiti = createJiti(import.meta.url);
const { startReplication, queryUrl } = await jiti.import(new URL("../test/support/replication.ts", import.meta.url).pathname);

const replication = await startReplication();
const dir = await mkdtemp(join(tmpdir(), "athanor-bench-replica-"));
try {
  await queryUrl(replication.primary.url, "CREATE DATABASE app");
  await replication.caughtUp();
  const primaryUrl = Object.assign(new URL(replication.primary.url), { pathname: "/app" }).toString();
  const standbyUrl = Object.assign(new URL(replication.standbyUrl), { pathname: "/app" }).toString();
  await mkdir(join(dir, "migrations"));
  // ~1 kB per row: megabytes * 1000 rows is about that many MB of table (and of WAL).
  const revisions = [
    `CREATE TABLE big AS SELECT g, repeat(md5(g::text), 31) AS pad FROM generate_series(1, ${megabytes * 1000}) g;`,
    "CREATE TABLE small_1 (id int);",
    "CREATE TABLE small_2 (id int);",
    "CREATE TABLE small_3 (id int);",
  ];
  for (const [i, sql] of revisions.entries()) {
    const id = `b${i}`.padEnd(12, "0");
    const down = i === 0 ? "" : `-- athanor:down ${`b${i - 1}`.padEnd(12, "0")}\n`;
    await writeFile(join(dir, "migrations", `${id}.sql`), `-- athanor:revision ${id}\n${down}-- athanor:message r${i}\n\n-- athanor:upgrade\n${sql}\n`);
  }
  await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", defaultEnvironment: "bench", environments: { bench: { url: "${APP_URL}", replicaLag: { max: "1s", wait: "10min" } } } }));

  // Observer: revisions committed on the primary minus those visible on the standby, and the replay gap in bytes.
  const count = "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'athanor_version' AND tablename NOT LIKE 'athanor\\_%'";
  const primary = new pg.Client({ connectionString: primaryUrl });
  const standby = new pg.Client({ connectionString: standbyUrl });
  await primary.connect();
  await standby.connect();
  let running = true;
  let worstGap = 0;
  let worstBytes = 0;
  let worstLagMs = 0;
  const firstSeen = new Map();
  const observe = (async () => {
    while (running) {
      const p = (await primary.query(count)).rows[0].n;
      const bytes = Number((await primary.query("SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0)::float8 AS b FROM pg_stat_replication")).rows[0].b);
      const s = (await standby.query(count)).rows[0].n;
      const now = performance.now();
      for (let k = 1; k <= p; k++) if (!firstSeen.has(k)) firstSeen.set(k, now);
      worstGap = Math.max(worstGap, p - s);
      // Commit-to-visible lag: how long ago the oldest revision the standby does not show yet was seen committed.
      if (firstSeen.has(s + 1)) worstLagMs = Math.max(worstLagMs, now - firstSeen.get(s + 1));
      worstBytes = Math.max(worstBytes, bytes);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const walBefore = (await primary.query("SELECT pg_current_wal_lsn() AS l")).rows[0].l;
  const started = performance.now();
  const child = spawn(process.execPath, [bin, "--log-format", "json", "upgrade", "head"], { cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME, APP_URL: primaryUrl }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const status = await new Promise((resolve) => child.on("close", (code) => resolve(code)));
  const total = performance.now() - started;
  running = false;
  await observe;
  const wal = Number((await primary.query("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::float8 AS b", [walBefore])).rows[0].b);
  await primary.end();
  await standby.end();
  if (status !== 0) throw new Error(`athanor exited ${status}: ${stderr}`);
  const records = stderr.trim().split("\n").map((line) => JSON.parse(line));
  console.log(`replicaLag bench: ${megabytes} MB revision + 3 small, limit 1 s, ${(wal / 1_048_576).toFixed(0)} MB of WAL written`);
  for (const r of records) {
    if (r.event === "revision-end") console.log(`  revision ${r.revision} ${r.message}: ${r.durationMs} ms`);
    if (r.event === "replica-wait") console.log(`  ${r.msg} (waited ${r.waitedMs} ms${r.behindBytes ? `, ${(r.behindBytes / 1_048_576).toFixed(1)} MB to replay` : ""})`);
  }
  console.log(`  total ${total.toFixed(0)} ms (process start to exit)`);
  console.log(`  observer: largest commit-to-visible lag on the standby ${(worstLagMs / 1000).toFixed(2)} s (limit 1 s); at most ${worstGap} revision(s) missing at once; largest replay gap ${(worstBytes / 1_048_576).toFixed(1)} MB`);
} finally {
  await replication.stop();
  await rm(dir, { recursive: true, force: true });
}
