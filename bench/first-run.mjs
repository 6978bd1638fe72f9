#!/usr/bin/env node
/**
 * The first run, as a new user lives it: a fresh copy of this repository (the files git
 * tracks, no node_modules, no dist), `npm ci` (which builds, and makes the PGlite template
 * shipped in the package: PGlite's initdb runs there, once), then the quickstart's
 * `upgrade head` on PGlite in a fresh directory, measured with /usr/bin/time -v (wall
 * time and peak RSS, children included):
 *   1. with an empty PGlite template cache (the first run on a machine),
 *   2. again on another new directory.
 * Both start from the shipped template; the cache must stay empty (initdb would fill it).
 * Prints the figures and the machine's load average (the CI machine is shared).
 *
 *   node bench/first-run.mjs [--keep] [--offline]
 *
 * Targets (issue #14): upgrade < 3 s and < 400 MB on a fresh directory; `npm ci` to the
 * first applied revision < 30 s.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpus, loadavg, tmpdir } from "node:os";
import { mkdtempSync, readdirSync, rmSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const keep = process.argv.includes("--keep");
const offline = process.argv.includes("--offline");
const work = mkdtempSync(join(tmpdir(), "athanor-first-run-"));
const app = join(work, "athanor");
const cache = join(work, "cache");
mkdirSync(app);
mkdirSync(cache);

const load = () => loadavg().map((value) => value.toFixed(2)).join(" ");

/** Runs a command under /usr/bin/time -v: wall seconds, peak RSS in MB, exit status, output. */
function timed(command, args, cwd, env) {
  const result = spawnSync("/usr/bin/time", ["-v", command, ...args], { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(result.stderr);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr);
  // CPU seconds (user + system): what the run costs, whatever else shares the machine.
  const cpu = ["User time \\(seconds\\)", "System time \\(seconds\\)"].reduce((sum, label) => sum + Number(new RegExp(`${label}: ([\\d.]+)`).exec(result.stderr)?.[1] ?? NaN), 0);
  const seconds = wall === null ? NaN : Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
  return { status: result.status, seconds, cpu, mb: rss === null ? NaN : Number(rss[1]) / 1024, output: `${result.stdout}${result.stderr}` };
}

function check(step, result) {
  if (result.status !== 0) {
    console.error(`${step} failed (exit ${result.status}):\n${result.output.slice(-3000)}`);
    process.exit(1);
  }
}

const row = (label, result) => console.log(`${label.padEnd(44)} ${result.seconds.toFixed(2).padStart(7)} s wall  ${result.cpu.toFixed(2).padStart(7)} s CPU  ${result.mb.toFixed(0).padStart(5)} MB peak`);

try {
  console.log(`machine: ${cpus().length} CPUs, load average before ${load()}`);
  // A fresh clone: the tracked files of the working tree as they are now.
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root }).toString().split("\0").filter(Boolean);
  spawnSync("bash", ["-c", `tar -c --null -T - | tar -x -C ${JSON.stringify(app)}`], { cwd: root, input: files.join("\0") });

  const env = { ...process.env, ATHANOR_CACHE_DIR: cache };
  delete env.DATABASE_URL;
  const install = timed("npm", ["ci", "--no-audit", "--no-fund", ...(offline ? ["--offline"] : ["--prefer-offline"])], app, env);
  check("npm ci", install);
  const upgradeArgs = ["bin/athanor.js", "--config", "examples/quickstart/athanor.config.mjs", "upgrade", "head"];
  const first = timed(process.execPath, upgradeArgs, app, env);
  check("first upgrade", first);
  rmSync(join(app, "examples/quickstart/.athanor"), { recursive: true, force: true });
  const cached = timed(process.execPath, upgradeArgs, app, env);
  check("second upgrade", cached);
  if (readdirSync(cache).length !== 0) {
    console.error(`the template cache is not empty (initdb ran): ${readdirSync(cache).join(", ")}`);
    process.exit(1);
  }

  console.log("");
  row("npm ci (install and build)", install);
  row("upgrade head, new directory, empty cache", first);
  row("upgrade head, another new directory", cached);
  console.log(`${"npm ci -> first revision applied".padEnd(44)} ${(install.seconds + first.seconds).toFixed(2).padStart(7)} s`);
  console.log(`load average after: ${load()}`);
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
