#!/usr/bin/env node
/**
 * Autogenerate speed: a declared schema of N tables (default 500; 10 columns, an index
 * and a foreign key each) is loaded into a fresh in-memory PGlite, introspected, diffed
 * against an empty database and rendered to upgrade/downgrade SQL. PGlite's start-up is
 * included in the total. Target: under 5 s for 500 tables.
 *
 * How it runs: it loads the TypeScript sources of src/autogenerate/ through jiti (already
 * a dependency), so no build is needed:
 *
 *   node bench/autogenerate.mjs            # 500 tables
 *   node bench/autogenerate.mjs 1000       # another size
 *   node bench/autogenerate.mjs --dist     # use dist/ instead (after `npm run build`)
 *   node bench/autogenerate.mjs --turbofan # let V8 tier PGlite's WASM up to TurboFan (the CLI
 *                                          # compiles it with Liftoff only, as this bench does by default)
 *   node bench/autogenerate.mjs --schema test/fixtures/real-schemas/pagila/pagila-schema.sql
 *                                          # a real schema instead of the generated one
 *   node bench/autogenerate.mjs --schema pagila      # the real schemas of the tests, by name:
 *   node bench/autogenerate.mjs --schema danbooru    # pagila, danbooru (Rails structure.sql, 65 tables)
 *   node bench/autogenerate.mjs --schema structure1000  # a generated Rails-style structure.sql of
 *                                          # 1,000 tables (test/support/structure-sql.mjs; any N works)
 *
 * danbooru creates pgstattuple, which PGlite does not ship: that line is left out, as in
 * test/autogenerate-real-schemas.test.ts.
 *
 * When DATABASE_URL is set (eval "$(bash ci/start-postgres.sh env)"), it also creates a
 * throwaway database on that server, applies the same schema there and times
 * `introspectTarget` + the diff against the declared model (the `diff` command's work),
 * then drops the database.
 *
 * The shadow PGlite starts from a cached dump of a pristine data directory when there is
 * one (made on the first run, in ATHANOR_CACHE_DIR or ~/.cache/athanor): 0.6 s instead of
 * 2.4 s. `ATHANOR_CACHE_DIR=off node bench/autogenerate.mjs` measures the cold start.
 *
 * After the total, the round trip that `revision --autogenerate` runs before writing is
 * timed too, as the command runs it into an empty folder: the shadow that held the
 * declared schema is emptied (resetShadow, RESET ALL) or, from FRESH_SHADOW_FROM_TABLES
 * tables on, closed and replaced by a fresh PGlite (src/commands/autogenerate.ts); then
 * the upgrade applied, introspected, diffed; the downgrade applied, introspected, diffed.
 * `--reset` or `--fresh` forces one way, to compare them. The peak resident set size is printed.
 *
 * Output: one line per phase and a total, in milliseconds.
 */
import { setFlagsFromString } from "node:v8";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { randomBytes } from "node:crypto";

const args = process.argv.slice(2);
const useDist = args.includes("--dist");
// As the CLI runs `revision --autogenerate` and `diff` (src/cli/bin.ts): PGlite's WASM compiled with Liftoff only.
if (!args.includes("--turbofan")) setFlagsFromString("--liftoff-only");
const tables = Number(args.find((a) => /^\d+$/.test(a)) ?? 500);
/** How the round trip gets its empty shadow: as the command decides (by size), or forced. */
const emptying = args.includes("--reset") ? "reset" : args.includes("--fresh") ? "fresh" : "command";
const schemaIndex = args.indexOf("--schema");
/** The real schemas of test/fixtures/real-schemas/, by name. */
const realSchemas = {
  pagila: "test/fixtures/real-schemas/pagila/pagila-schema.sql",
  danbooru: "test/fixtures/real-schemas/danbooru/structure.sql",
};
const schemaArg = schemaIndex >= 0 ? args[schemaIndex + 1] : undefined;
/** `structureN`: the generated Rails-style structure.sql of N tables. */
const structureTables = /^structure(\d+)$/.exec(schemaArg ?? "")?.[1];
const realSchema = schemaArg === undefined || structureTables !== undefined ? undefined : (realSchemas[schemaArg] ?? schemaArg);

async function load(modulePath) {
  if (useDist) return import(new URL(`../dist/${modulePath}.js`, import.meta.url).href);
  const { createJiti } = await import("jiti");
  const jiti = createJiti(import.meta.url);
  return jiti.import(new URL(`../src/${modulePath}.ts`, import.meta.url).pathname);
}

/** N tables, each: 10 columns, a foreign key to the previous table, one index. */
function generateSchema(count) {
  const lines = [];
  for (let i = 0; i < count; i++) {
    const parent = i === 0 ? 0 : i - 1;
    lines.push(
      `CREATE TABLE t${i} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  parent_id bigint REFERENCES t${parent} (id) ON DELETE CASCADE,
  name text NOT NULL,
  email varchar(200),
  amount numeric(12,2) NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'done')),
  created_at timestamptz NOT NULL DEFAULT now(),
  active boolean NOT NULL DEFAULT true,
  payload jsonb,
  counter integer
);
CREATE INDEX t${i}_created_idx ON t${i} (created_at);`,
    );
  }
  return lines.join("\n");
}

const timings = [];
/** CPU time of the whole process (user + system), in ms: wall times mean little on a busy machine. */
const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
async function time(label, work) {
  const start = performance.now();
  const cpuStart = cpuNow();
  const result = await work();
  timings.push([label, performance.now() - start, cpuNow() - cpuStart]);
  return result;
}

const [shadowModule, declaredModule, introspectModule, diffModule, renderModule, modelModule, compareModule, notComparedModule, commandModule] = await Promise.all(
  [
    "autogenerate/shadow",
    "autogenerate/declared",
    "autogenerate/introspect",
    "autogenerate/diff",
    "autogenerate/render",
    "autogenerate/model",
    "autogenerate/compare",
    "autogenerate/not-compared",
    "commands/autogenerate",
  ].map(load),
);

const dir = await mkdtemp(join(tmpdir(), "athanor-bench-"));
const schemaFile = join(dir, "schema.sql");
const schemaSql = realSchema
  ? (await import("node:fs")).readFileSync(realSchema, "utf8").replace(/^(CREATE EXTENSION IF NOT EXISTS pgstattuple|COMMENT ON EXTENSION pgstattuple)\b.*$/gm, "")
  : structureTables !== undefined
    ? (await import("../test/support/structure-sql.mjs")).generateStructureSql(Number(structureTables))
    : generateSchema(tables);
await writeFile(schemaFile, schemaSql);
const what = realSchema
  ? realSchema
  : structureTables !== undefined
    ? `a generated Rails-style structure.sql of ${structureTables} tables`
    : `${tables} tables (10 columns, 1 index, 1 foreign key each)`;

try {
  const totalStart = performance.now();
  const extensions = shadowModule.extensionsCreatedBy([schemaSql]);
  let session = await time("start PGlite (in memory)", () => shadowModule.openShadowSession({ extensions }));
  let open = true;
  let declared, sources, unmodelled, changes, upgrade, total, same, roundTrip, how;
  try {
    sources = await time("read schema file", () => declaredModule.readDeclaredSchema([schemaFile]));
    await time("load the declared schema into PGlite", () => declaredModule.applyDeclaredSchema(session, sources));
    declared = await time("introspect", () => introspectModule.introspect(session, { schemas: ["public"] }));
    unmodelled = await time("list what is not compared", () => notComparedModule.listUnmodelledObjects(session, ["public"]));
    changes = await time("diff (against an empty database)", () => diffModule.diffModels(modelModule.emptyModel(["public"]), declared));
    upgrade = await time("render upgrade + downgrade", () => [renderModule.renderScript(changes, "upgrade"), renderModule.renderScript(changes, "downgrade")]);
    total = performance.now() - totalStart;
    same = await time("diff (declared against itself)", () => diffModule.diffModels(declared, declared));

    // The round trip `revision --autogenerate` checks before writing, on an empty shadow
    // got as the command gets it (src/commands/autogenerate.ts: reusableAfter).
    const roundTripStart = performance.now();
    const reuse = emptying === "command" ? commandModule.reusableAfter({ model: declared, unmodelled }, sources) : emptying === "reset";
    how = reuse ? "shadow emptied" : "fresh shadow";
    if (reuse) {
      await time("round trip: empty the shadow", async () => {
        await shadowModule.resetShadow(session);
        await session.exec("RESET ALL; DISCARD TEMP");
      });
    } else {
      open = false;
      await session.close();
      session = await time("round trip: start a fresh PGlite", () => shadowModule.openShadowSession({ extensions }));
      open = true;
    }
    const before = await time("round trip: introspect the empty shadow", () => introspectModule.introspect(session, { schemas: ["public"] }));
    await time("round trip: apply the upgrade", () => session.exec(upgrade[0]));
    const upgraded = await time("round trip: introspect", () => introspectModule.introspect(session, { schemas: ["public"] }));
    const left = diffModule.diffModels(upgraded, declared);
    if (left.length !== 0) throw new Error(`the upgrade does not round-trip: ${left.map((c) => c.summary).join("; ")}`);
    await time("round trip: apply the downgrade", () => session.exec(upgrade[1]));
    const downgraded = await time("round trip: introspect again", () => introspectModule.introspect(session, { schemas: ["public"] }));
    const back = diffModule.diffModels(downgraded, before);
    if (back.length !== 0) throw new Error(`the downgrade does not round-trip: ${back.map((c) => c.summary).join("; ")}`);
    roundTrip = performance.now() - roundTripStart;
  } finally {
    if (open) await session.close();
  }

  console.log(`autogenerate, ${what}; ${changes.length} operations, ${upgrade[0].length} bytes of upgrade SQL`);
  for (const [label, ms, cpu] of timings) console.log(`  ${label.padEnd(40)} ${ms.toFixed(0).padStart(6)} ms  (CPU ${cpu.toFixed(0).padStart(6)} ms)`);
  console.log(`  ${"TOTAL load+introspect+diff+render".padEnd(40)} ${total.toFixed(0).padStart(6)} ms  (target < 5000 ms)`);
  console.log(`  ${`round trip (${how})`.padEnd(40)} ${roundTrip.toFixed(0).padStart(6)} ms`);
  console.log(`  ${"TOTAL + round trip".padEnd(40)} ${(total + roundTrip).toFixed(0).padStart(6)} ms`);
  console.log(`  CPU ${(process.cpuUsage().user / 1000).toFixed(0)} ms user, ${(process.cpuUsage().system / 1000).toFixed(0)} ms system (whole process)`);
  console.log(`  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB; load average ${(await import("node:os")).loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  if (same.length !== 0) throw new Error(`a model diffed against itself gave ${same.length} operations`);

  if (process.env.DATABASE_URL) await benchPostgres(declared);
} finally {
  await rm(dir, { recursive: true, force: true });
}

/** The same schema on the PostgreSQL server: introspection of a live database + drift diff. */
async function benchPostgres(declared) {
  const { default: pg } = await import("pg");
  const admin = process.env.DATABASE_URL;
  const name = `athanor_bench_${randomBytes(4).toString("hex")}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE "${name}"`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  try {
    const db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    await db.query(schemaSql);
    await db.end();
    const { parseDatabaseUrl } = await load("config/url");
    const { target } = parseDatabaseUrl(url.toString(), process.cwd(), "DATABASE_URL");
    const start = performance.now();
    const current = await compareModule.introspectTarget(target, ["public"]);
    const introspected = performance.now();
    const drift = compareModule.diffSchemas(current, declared);
    const done = performance.now();
    console.log(`PostgreSQL ${(await serverVersion(client)) ?? ""}: introspectTarget (connect + introspect + close) ${(introspected - start).toFixed(0)} ms, diff against the declared model ${(done - introspected).toFixed(0)} ms, ${drift.length} differences`);
    if (drift.length !== 0) throw new Error(`PostgreSQL and PGlite models differ: ${drift.map((c) => c.summary).join("; ")}`);
  } finally {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.end();
  }
}

async function serverVersion(client) {
  const result = await client.query("SHOW server_version");
  return result.rows[0]?.server_version;
}
