#!/usr/bin/env node
/**
 * athanor against its peers on the same generated history, in the same run (issue #15):
 *   apply 1,000 one-table revisions          vs `psql -1 -f` of the same statements (paired runs)
 *   `heads` on 10,000 revisions              vs `alembic heads` (warm; and both tools' first run)
 *   no-op `upgrade head`, 10,000 applied     vs Umzug `up` with nothing pending
 *   `current`, 10,000 applied                vs Umzug's last executed migration
 *   `history` on 10,000                      vs `alembic history`
 *   peak RSS applying 10,000 from empty
 *   start-up: `heads` on one revision        vs `node -e 0`, and a script that prints a line
 *                                            (and with the TypeScript config `init` writes, for the record)
 * Every figure is a whole-process median; the ratios are what to read (the machine may be shared).
 *
 * Needs (this script installs nothing): `npm run build`; DATABASE_URL pointing at a
 * PostgreSQL server (`npm run bench` starts a new one; alone: `eval "$(bash ci/start-postgres.sh start)"`,
 * one no test run is using: a run's DROP DATABASEs slow, for minutes, every file created on the same
 * file system, which the apply row's CREATE TABLEs are (step 1)); `psql`; Umzug (the npm
 * devDependency `umzug`); Alembic with psycopg2 for a Python 3 (Debian:
 * `apt-get install -y python3-alembic python3-psycopg2`). A missing peer is skipped with a line saying so.
 *
 *   node bench/peers.mjs [--apply N] [--size N] [--runs N] [--pairs N (at least 5, default 7)] [--no-rss] [--only apply]
 *
 * `--only apply` runs the apply row alone (step 1, about a minute): for measuring a change
 * to the apply path without the 10,000-revision rows.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { athanor, bin, freshDatabase, psqlConnection, loadAverage, median, otherConnections, processEnv, root, run, timed, writeAlembicProject, writeAthanorProject, writeUmzugProject } from "./lib.mjs";

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}
const applyCount = option("apply", 1000);
const size = option("size", 10_000);
const runs = option("runs", 5);
/** Paired apply runs (athanor and psql on fresh databases), after one unmeasured pair. */
const pairs = Math.max(5, option("pairs", 7));
const measureRss = !process.argv.includes("--no-rss");
const onlyIndex = process.argv.indexOf("--only");
const only = onlyIndex === -1 ? null : process.argv[onlyIndex + 1];
if (only !== null && only !== "apply") {
  console.error(`--only takes "apply" (the one row that can run alone), not ${JSON.stringify(only)}`);
  process.exit(2);
}

/** A Python 3 that can import alembic and psycopg2, or null. */
function findAlembicPython() {
  for (const python of ["python3", "/usr/bin/python3"]) {
    const probe = spawnSync(python, ["-c", "import alembic, psycopg2"], { stdio: "ignore" });
    if (probe.status === 0) return python;
  }
  return null;
}
function hasPsql() {
  return spawnSync("psql", ["--version"], { stdio: "ignore" }).status === 0;
}
async function hasUmzug() {
  try {
    await import("umzug");
    return true;
  } catch {
    return false;
  }
}

const rows = [];
const row = (workload, athanorValue, peer, peerValue, unit = "s") => {
  const fmt = (v) => (unit === "s" ? `${v.toFixed(3)} s` : `${v.toFixed(0)} MB`);
  rows.push([workload, fmt(athanorValue), peer === null ? "" : peerValue === null ? `${peer}: skipped` : `${peer} ${fmt(peerValue)}`, peerValue ? `${(athanorValue / peerValue).toFixed(2)}x` : ""]);
  console.log(`  ${workload.padEnd(44)} ${rows.at(-1).slice(1).filter(Boolean).join("  ")}`);
};
const skip = (why) => console.log(`  (skipped: ${why})`);

console.log(`peers, ${await loadAverage()} at the start; the server has ${await otherConnections()} other client connections`);
const python = only === "apply" ? null : findAlembicPython();
if (python === null && only === null) skip("Alembic: no python3 can import alembic and psycopg2 (apt-get install -y python3-alembic python3-psycopg2)");
const umzug = only === "apply" ? false : await hasUmzug();
if (!umzug && only === null) skip("Umzug: the `umzug` package is not installed (npm install)");
const psql = hasPsql();
if (!psql) skip("psql: not on PATH");

const work = await mkdtemp(join(tmpdir(), "athanor-peers-"));
try {
  // 1. Apply N revisions vs psql -1 -f, paired runs on fresh databases, after one
  // unmeasured warm-up pair, the pairs alternating which tool runs first.
  //
  // No database is dropped until every run of the row is done. A DROP DATABASE unlinks
  // the ~5,000 files of 1,000 tables (heap, TOAST table and index, primary key, sequence),
  // and ext4 without a journal (this VM's root file system) will not reuse an inode freed
  // in the last 60 s (360 s while its inode-table block is not yet written back): every
  // file created meanwhile scans past them, reading each one's inode-table block
  // (`recently_deleted()` in the kernel's ext4/ialloc.c). Dropping each run's database
  // before the next run made the next run's 5,000 file creations pay for it: the same
  // `psql -1 -f` took 1.1-1.4 s with no recent drop and 1.8-2.8 s after one, the difference
  // kernel time in the PostgreSQL backend, varying with where and when the files freed
  // before it lay. Both tools create the same files, so the penalty is no one's: it was
  // noise added to both sides of every pair, larger than the gap measured (README,
  // "Performance"). Kept until the end, each run creates its files with no freed inode of
  // this row in its way. This favours neither tool: the penalty was paid per file created
  // (the same for both), and without it psql's time falls more than athanor's fixed
  // start-up, so the ratio is, if anything, stricter. Deletions before the row (a test
  // run, a server stopped just before) still slow its first runs: the warm-up pair takes
  // the worst of it, and the alternating order spreads the rest over both tools.
  //
  // The warm-up runs athanor twice: its first run in a project builds no header cache and
  // its second fills it (README, "Header cache"), so every measured run reads a filled one.
  {
    const dir = join(work, "apply");
    await writeAthanorProject(dir, applyCount);
    const databases = [];
    const keptDatabase = async () => {
      const db = await freshDatabase();
      databases.push(db);
      return db;
    };
    const psqlRun = async () => {
      const db = await keptDatabase();
      const connection = psqlConnection(db.url);
      return run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", join(dir, "all.sql"), connection.url], { cwd: dir, env: connection.env });
    };
    const athanorRun = async () => {
      const db = await keptDatabase();
      return run(...athanor(["--quiet", "upgrade", "head"]), { cwd: dir, env: processEnv(db.url) });
    };
    try {
      // The unmeasured warm-up pair, and athanor's run that fills its header cache.
      if (psql) await psqlRun();
      await athanorRun();
      await athanorRun();
      const ratios = [];
      const mine = [];
      const mineCpu = [];
      const theirs = [];
      for (let i = 0; i < pairs; i += 1) {
        const psqlFirst = i % 2 === 0;
        const before = psql && psqlFirst ? await psqlRun() : null;
        const ours = await athanorRun();
        const after = psql && !psqlFirst ? await psqlRun() : null;
        const theirsRun = before ?? after;
        mine.push(ours.seconds);
        mineCpu.push(ours.cpuSeconds);
        if (theirsRun !== null) {
          theirs.push(theirsRun.seconds);
          ratios.push(ours.seconds / theirsRun.seconds);
        }
      }
      row(`apply ${applyCount} one-table revisions`, median(mine), "psql -1 -f", psql ? median(theirs) : null);
      console.log(`    athanor's CPU time (user + system) median ${median(mineCpu).toFixed(3)} s`);
      if (ratios.length > 0) console.log(`    ${ratios.length} paired ratios (after a warm-up pair; pairs 1, 3, ... ran psql first) ${ratios.map((r) => r.toFixed(2)).join(", ")} (median ${median(ratios).toFixed(2)}x)`);
    } finally {
      for (const db of databases) await db.drop();
    }
  }

  // The other rows: skipped with `--only apply`.
  if (only === null) {
    // The N-revision history for the read-only rows, written for all three tools.
    const dir = join(work, "history");
    await writeAthanorProject(dir, size);
    if (python !== null) await writeAlembicProject(dir, size);
    if (umzug) await writeUmzugProject(dir, size);
    const db = await freshDatabase();
    try {
      const env = { ...processEnv(db.url), UMZUG_DIR: join(dir, "umzug") };
      const cache = join(dir, ".athanor");
      const cold = () => spawnSync("rm", ["-rf", cache]);
      // A run that finds no cache leaves an empty one; the next fills it (README, "Header cache").
      const warm = () => {
        run(...athanor(["heads"]), { cwd: dir, env });
        run(...athanor(["heads"]), { cwd: dir, env });
      };
      // The second run: an empty cache, which it fills.
      const seen = () => {
        cold();
        run(...athanor(["heads"]), { cwd: dir, env });
      };
      // Files just written are too recent to cache (racy window): age them past it.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      warm();

      const alembic = (args) => [python, ["-m", "alembic", "-c", join(dir, "alembic.ini"), ...args]];
      const alembicHeads = python === null ? null : timed(...alembic(["heads"]), { cwd: dir, env }, 3).seconds;
      row(`heads, ${size} revisions (header cache)`, timed(...athanor(["heads"]), { cwd: dir, env }, runs).seconds, "alembic heads", alembicHeads);
      const firstRun = timed(...athanor(["heads"]), { cwd: dir, env }, runs, cold).seconds;
      row(`heads, ${size} revisions (no cache: first run)`, firstRun, "alembic heads", alembicHeads);
      // Alembic's own first run: a CI checkout has no __pycache__, so Python compiles every
      // version script (and writes its bytecode) before `heads` answers. The row above
      // compares athanor's first run with Alembic's warm one, the stricter reading.
      const pycache = join(dir, "versions", "__pycache__");
      const alembicFirst = python === null ? null : timed(...alembic(["heads"]), { cwd: dir, env }, 3, () => spawnSync("rm", ["-rf", pycache])).seconds;
      row(`heads, ${size} revisions (first run, both tools)`, firstRun, "alembic heads, no __pycache__", alembicFirst);
      row(`heads, ${size} revisions (second run: fills the cache)`, timed(...athanor(["heads"]), { cwd: dir, env }, runs, seen).seconds, "alembic heads", alembicHeads);
      warm();
      const alembicHistory = python === null ? null : timed(...alembic(["history"]), { cwd: dir, env }, 3).seconds;
      row(`history, ${size} revisions`, timed(...athanor(["history"]), { cwd: dir, env }, runs).seconds, "alembic history", alembicHistory);

      // N applied: recorded with `stamp` (athanor) and straight into Umzug's table, no tables created.
      run(...athanor(["--quiet", "--yes", "stamp", "head"]), { cwd: dir, env });
      if (umzug) {
        const client = new (await import("pg")).default.Client({ connectionString: db.url });
        await client.connect();
        await client.query("CREATE TABLE umzug_meta (name text PRIMARY KEY)");
        await client.query("INSERT INTO umzug_meta (name) SELECT lpad(to_hex(i), 12, '0') || '_table_' || i || '.sql' FROM generate_series(1, $1::int) AS i", [size]);
        await client.end();
        const check = run(process.execPath, [join(root, "bench/umzug-runner.mjs"), "up"], { cwd: dir, env });
        if (check.stdout.trim() !== "0 applied") throw new Error(`Umzug's state is not ${size} applied: ${check.stdout}`);
      }
      const umzugUp = umzug ? timed(process.execPath, [join(root, "bench/umzug-runner.mjs"), "up"], { cwd: dir, env }, runs).seconds : null;
      // Unmeasured: the cache was filled by `heads`, whose lines hold no upgrade check, and the
      // first upgrade reads every SQL file once to add it (README, "Header cache"). The row is
      // what every upgrade after that costs.
      run(...athanor(["--quiet", "upgrade", "head"]), { cwd: dir, env });
      row(`no-op upgrade head, ${size} applied`, timed(...athanor(["--quiet", "upgrade", "head"]), { cwd: dir, env }, runs).seconds, "Umzug up", umzugUp);
      const umzugCurrent = umzug ? timed(process.execPath, [join(root, "bench/umzug-runner.mjs"), "current"], { cwd: dir, env }, runs).seconds : null;
      row(`current, ${size} applied`, timed(...athanor(["current"]), { cwd: dir, env }, runs).seconds, "Umzug executed", umzugCurrent);
    } finally {
      await db.drop();
    }

    // Peak RSS applying N from empty (one run: it is long).
    if (measureRss) {
      const fresh = await freshDatabase();
      try {
        const applied = run(...athanor(["--quiet", "upgrade", "head"]), { cwd: dir, env: processEnv(fresh.url) });
        row(`peak RSS, apply ${size} from empty (${applied.seconds.toFixed(1)} s)`, applied.rssMb, null, null, "MB");
      } finally {
        await fresh.drop();
      }
    }

    // Start-up: heads on a one-revision project vs bare Node, interleaved; and vs the floor
    // of any Node CLI: a script file that prints one line (Node's module loader and stdout
    // stream, which `node -e 0` never sets up).
    {
      const one = join(work, "one");
      await writeAthanorProject(one, 1);
      const hello = join(work, "hello.cjs");
      await writeFile(hello, 'process.stdout.write("000000000001 (head) (base) table 1\\n");\n');
      // The same project with the TypeScript config `athanor init` writes (loaded through jiti):
      // what a new project's start-up is, reported beside the row (the target is the JSON one's).
      const typed = join(work, "one-ts");
      await writeAthanorProject(typed, 1);
      await rm(join(typed, "athanor.config.json"));
      await writeFile(join(typed, "athanor.config.ts"), 'import { defineConfig } from "athanor";\n\nexport default defineConfig({ defaultEnvironment: "bench", environments: { bench: { url: "${BENCH_URL}" } } });\n');
      // Files changed in the last second are read, not cached (the header cache's racy window,
      // src/revisions/header-cache.ts): the projects age past it before the two warm-up runs
      // (the first leaves an empty cache, the second fills it), so every measured run is the
      // warm `heads` of a project whose files are older than a second, as a user's are.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      for (const cwd of [one, typed]) for (let i = 0; i < 2; i += 1) run(...athanor(["heads"]), { cwd, env: processEnv() });
      const mine = [];
      const mineTyped = [];
      const node = [];
      const script = [];
      const clock = (args, cwd) => {
        const started = performance.now();
        // The same environment for all three: an inherited NODE_EXTRA_CA_CERTS or NODE_OPTIONS
        // costs every Node start (40–50 ms for the CA file in this sandbox), and measured on
        // one side only it made this row read 0.96–0.99x when it was 1.6–1.8x (round 10).
        spawnSync(process.execPath, args, { cwd, env: processEnv(), stdio: "ignore" });
        return (performance.now() - started) / 1000;
      };
      for (let i = 0; i < 4 * runs; i += 1) {
        node.push(clock(["-e", "0"], one));
        script.push(clock([hello], one));
        mine.push(clock([bin, "heads"], one));
        mineTyped.push(clock([bin, "heads"], typed));
      }
      row("start-up: heads, one revision", median(mine), "node -e 0", median(node));
      row("start-up: heads, one revision", median(mine), "node hello.cjs (prints a line)", median(script));
      row("start-up: heads, TypeScript config (init's)", median(mineTyped), "node -e 0", median(node));
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
console.log(`peers, ${await loadAverage()} at the end`);
