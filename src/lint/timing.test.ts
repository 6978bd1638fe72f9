/**
 * Measurements, printed (no assertions on time): how long the parser takes to load and
 * how long splitting and linting one revision takes.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { lintSql } from "./lint.js";
import { loadSqlParser, splitStatements } from "./parse.js";

const FIXTURES = new URL("../../test/fixtures/lint/", import.meta.url);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function fixtureScripts(): string[] {
  return ["hazards/", "safe/"].flatMap((folder) =>
    readdirSync(new URL(folder, FIXTURES))
      .filter((name) => name.endsWith(".sql"))
      .map((name) => readFileSync(new URL(`${folder}${name}`, FIXTURES), "utf8")),
  );
}

function averageMs(runs: number, fn: () => Promise<unknown>): Promise<number> {
  return (async () => {
    const start = performance.now();
    for (let i = 0; i < runs; i++) await fn();
    return (performance.now() - start) / runs;
  })();
}

it("measures parser load and per-script time", async () => {
  const loadStart = performance.now();
  await loadSqlParser();
  const loadMs = performance.now() - loadStart;

  // A fresh Node process: import + WebAssembly compile + instantiate, nothing cached.
  const cold = execFileSync(
    process.execPath,
    ["--input-type=module", "-e", "const t = performance.now(); const m = await import('libpg-query'); await m.loadModule(); process.stdout.write(String(performance.now() - t));"],
    { cwd: ROOT, encoding: "utf8" },
  );

  const scripts = fixtureScripts();
  for (let i = 0; i < 20; i++) for (const sql of scripts) await lintSql(sql); // warm up the JIT and the WASM heap
  const splitMs = await averageMs(50, async () => {
    for (const sql of scripts) await splitStatements(sql);
  });
  const lintMs = await averageMs(50, async () => {
    for (const sql of scripts) await lintSql(sql);
  });

  const big = Array.from(
    { length: 1000 },
    (_, i) => `ALTER TABLE t${i % 50} ADD COLUMN c${i} text DEFAULT 'x';\nCREATE INDEX CONCURRENTLY i${i} ON t${i % 50} (c${i});`,
  ).join("\n");
  const bigMs = await averageMs(5, () => lintSql(big, { transactional: false }));

  console.log(
    [
      `libpg-query load in this process (first splitStatements pays it): ${loadMs.toFixed(1)} ms`,
      `libpg-query load in a fresh node process: ${Number(cold).toFixed(1)} ms`,
      `splitStatements per fixture revision (${scripts.length} revisions, avg): ${(splitMs / scripts.length).toFixed(3)} ms`,
      `lintSql per fixture revision (split + rules, avg): ${(lintMs / scripts.length).toFixed(3)} ms`,
      `lintSql on 2,000 statements (${(big.length / 1024).toFixed(0)} KiB): ${bigMs.toFixed(1)} ms`,
    ].join("\n"),
  );
  expect(scripts.length).toBeGreaterThan(0);
});
