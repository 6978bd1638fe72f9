#!/usr/bin/env node
/**
 * PGlite's start alone (after `npm run build`), each case in a fresh process under
 * /usr/bin/time -v (wall, CPU, peak RSS, the process's start-up included) with an empty
 * template cache:
 *   - the shipped template, in memory: autogenerate's shadow database (openShadowSession);
 *   - the shipped template, on disk: a new `pglite://./dir` database (the quickstart);
 *   - initdb (no shipped template, no cache): what every first run cost before.
 * Each case starts the database, runs `SELECT 1` and closes it.
 *
 *   node bench/pglite-start.mjs [--runs N]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const runsIndex = process.argv.indexOf("--runs");
const runs = runsIndex === -1 ? 3 : Number(process.argv[runsIndex + 1]);
const start = fileURLToPath(new URL("../dist/dialects/pglite-start.js", import.meta.url));
const template = fileURLToPath(new URL("../dist/dialects/pglite-template.js", import.meta.url));
const shadow = fileURLToPath(new URL("../dist/autogenerate/shadow.js", import.meta.url));

/** The child's script: one start, printing where the database came from. */
const cases = {
  "shadow (in memory), shipped template": `
    const { openShadowSession } = await import(${JSON.stringify(shadow)});
    const session = await openShadowSession({ cacheDir: process.env.CACHE });
    await session.query("SELECT 1");
    await session.close();`,
  "new database on disk, shipped template": `
    const { startPglite } = await import(${JSON.stringify(start)});
    const { shippedTemplateDir } = await import(${JSON.stringify(template)});
    const { db, origin } = await startPglite({ dataDir: process.env.WORK + "/db", cacheDir: process.env.CACHE, shippedDir: shippedTemplateDir() });
    if (origin !== "shipped") throw new Error(origin);
    await db.query("SELECT 1");
    await db.close();`,
  "new database on disk, initdb (before)": `
    const { startPglite } = await import(${JSON.stringify(start)});
    const { db, origin } = await startPglite({ dataDir: process.env.WORK + "/db", cacheDir: null, shippedDir: null });
    if (origin !== "initdb") throw new Error(origin);
    await db.query("SELECT 1");
    await db.close();`,
};

function timed(script) {
  const work = mkdtempSync(join(tmpdir(), "athanor-pglite-start-"));
  try {
    const env = { ...process.env, WORK: work, CACHE: join(work, "cache") };
    const result = spawnSync("/usr/bin/time", ["-v", process.execPath, "--input-type=module", "-e", script], { env, encoding: "utf8" });
    if (result.status !== 0) throw new Error(result.stderr.slice(-2000));
    const field = (label) => Number(new RegExp(`${label}: ([\\d.:]+)`).exec(result.stderr)?.[1] ?? NaN);
    const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\d+):([\d.]+)/.exec(result.stderr);
    return {
      wall: wall === null ? NaN : Number(wall[1]) * 60 + Number(wall[2]),
      cpu: field("User time \\(seconds\\)") + field("System time \\(seconds\\)"),
      mb: field("Maximum resident set size \\(kbytes\\)") / 1024,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((v) => v.toFixed(2)).join(" ")}; median of ${runs} runs`);
for (const [label, script] of Object.entries(cases)) {
  const results = Array.from({ length: runs }, () => timed(script));
  console.log(
    `${label.padEnd(42)} ${median(results.map((r) => r.wall)).toFixed(2).padStart(6)} s wall ${median(results.map((r) => r.cpu)).toFixed(2).padStart(6)} s CPU ${median(results.map((r) => r.mb)).toFixed(0).padStart(5)} MB peak`,
  );
}
console.log(`load average after: ${loadavg().map((v) => v.toFixed(2)).join(" ")}`);
