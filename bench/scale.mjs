#!/usr/bin/env node
/**
 * Scaling (issue #15, deliverables 5 and 6): N revisions in a linear chain, at 1,000,
 * 10,000 and 30,000 (and 100,000 with --full, or any sizes given). Times whole
 * `node bin/athanor.js` processes, median of --runs runs (default 3):
 *   heads (warm header cache), heads (no cache), history   no database
 *   current, status, upgrade head (no-op)                  N applied (recorded with `stamp head`)
 * and prints the time per revision, which must not grow with N, and the peak RSS of
 * `heads` (target at 100,000: under 150 MB).
 *
 *   eval "$(bash ci/start-postgres.sh start)"; npm run build; node bench/scale.mjs [--full] [--runs N] [N...]
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { athanor, freshDatabase, loadAverage, processEnv, run, timed, writeAthanorProject } from "./lib.mjs";

const args = process.argv.slice(2);
const runsIndex = args.indexOf("--runs");
const runs = runsIndex === -1 ? 3 : Number(args[runsIndex + 1]);
const sizes = args.filter((a, i) => /^\d+$/.test(a) && args[i - 1] !== "--runs").map(Number);
if (sizes.length === 0) sizes.push(1000, 10_000, 30_000, ...(args.includes("--full") ? [100_000] : []));

const commands = [
  ["heads", ["heads"], "warm"],
  ["heads (no cache)", ["heads"], "cold"],
  ["history", ["history"], "warm"],
  ["current", ["current"], "warm"],
  ["status", ["status"], "warm"],
  ["upgrade (no-op)", ["--quiet", "upgrade", "head"], "warm"],
];

console.log(`scale, ${await loadAverage()} at the start; median of ${runs} runs; µs per revision in brackets`);
const table = [];
/** µs per revision of each command (by label), in the order of `sizes`. */
const perRevision = new Map(commands.map(([label]) => [label, []]));
for (const n of sizes) {
  const dir = await mkdtemp(join(tmpdir(), "athanor-scale-"));
  const db = await freshDatabase("athanor_scale");
  try {
    await writeAthanorProject(dir, n);
    const env = processEnv(db.url);
    // Files just written are too recent for the header cache (racy window): age them past it.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    // A run that finds no header cache leaves an empty one; the next fills it.
    const warm = () => {
      run(...athanor(["heads"]), { cwd: dir, env });
      run(...athanor(["heads"]), { cwd: dir, env });
    };
    warm();
    run(...athanor(["--quiet", "--yes", "stamp", "head"]), { cwd: dir, env });
    const cells = [];
    let headsRss = 0;
    for (const [label, argv, cache] of commands) {
      const before = cache === "cold" ? () => spawnSync("rm", ["-rf", join(dir, ".athanor")]) : () => {};
      const result = timed(...athanor(argv), { cwd: dir, env }, runs, before);
      if (label.startsWith("heads")) headsRss = Math.max(headsRss, result.rssMb);
      cells.push(`${result.seconds.toFixed(3)} s (${((result.seconds * 1e6) / n).toFixed(0)})`);
      perRevision.get(label).push((result.seconds * 1e6) / n);
      if (cache === "cold") warm();
    }
    table.push([n.toLocaleString("en-US"), ...cells, `${headsRss.toFixed(0)} MB`]);
    console.log(`  ${table.at(-1).join(" | ")}`);
  } finally {
    await db.drop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}
console.log("");
console.log(`| revisions | ${commands.map(([label]) => label).join(" | ")} | heads peak RSS |`);
console.log(`|${"---|".repeat(commands.length + 2)}`);
for (const cells of table) console.log(`| ${cells.join(" | ")} |`);
// Superlinear growth shows as a time per revision that rises from one size to the next.
// Start-up is a fixed cost, so the time per revision should fall; a rise of more than
// 15 % (timing noise on a shared machine) between two sizes is reported.
console.log("");
let superlinear = false;
for (const [label, values] of perRevision) {
  const steps = values.slice(1).map((value, i) => value / values[i]);
  const worst = steps.length === 0 ? 1 : Math.max(...steps);
  if (worst > 1.15) superlinear = true;
  console.log(`  ${label.padEnd(18)} µs per revision ${values.map((v) => v.toFixed(0)).join(" → ")}  ${worst > 1.15 ? `RISES (×${worst.toFixed(2)} between two sizes)` : "no superlinear step"}`);
}
console.log(superlinear ? "scale: a time per revision rose with N (see above)" : "scale: no step worse than linear");
console.log(`scale, ${await loadAverage()} at the end`);
