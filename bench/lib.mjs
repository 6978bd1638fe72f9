/**
 * What the benchmarks share: the server, fresh databases, one generated history written
 * for athanor (SQL revisions), Alembic (version scripts) and Umzug (SQL migrations), and
 * whole-process timing with peak RSS.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import pg from "pg";

export const root = fileURLToPath(new URL("..", import.meta.url));
export const bin = join(root, "bin/athanor.js");

/** The server URL from DATABASE_URL; exits 2 without it. */
export function serverUrl() {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is not set: run `npm run bench` (it starts a server), or eval "$(bash ci/start-postgres.sh start)" first');
    process.exit(2);
  }
  return url;
}

/**
 * Starts a new PostgreSQL server with ci/start-postgres.sh (a free port on 127.0.0.1, a
 * directory of its own): `{ url, stop() }`. A server of its own: no test run's clients or
 * DROP DATABASEs on it while the apply row runs (bench/peers.mjs, step 1).
 */
export function startServer() {
  const dir = join(tmpdir(), `athanor-bench-pg-${randomBytes(4).toString("hex")}`);
  const env = { ...process.env, PG_TEST_PORT: "auto", PG_TEST_DIR: dir };
  const script = join(root, "ci/start-postgres.sh");
  const started = spawnSync("bash", [script, "start"], { env, encoding: "utf8" });
  const url = /DATABASE_URL='?([^'\s]+)/.exec(started.stdout)?.[1];
  if (started.status !== 0 || url === undefined) throw new Error(`could not start a PostgreSQL server: ${withoutPassword(started.stderr.slice(-1000))}`);
  return { url, stop: () => spawnSync("bash", [script, "stop"], { env, encoding: "utf8" }) };
}

/** How many other client connections the server has (each DDL commit is work for every one of them). */
export async function otherConnections() {
  const { rows } = await admin("SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
  return rows[0].n;
}

export async function admin(sql) {
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A new empty database on the server: `{ name, url, drop() }`. */
export async function freshDatabase(prefix = "athanor_bench") {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Revision i's id (1-based), 12 hex characters. */
export const revisionId = (i) => i.toString(16).padStart(12, "0");
/** Revision i's statement: one table. */
export const statement = (i) => `CREATE TABLE bench_${i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());`;

/**
 * Writes n revisions in a linear chain as athanor SQL revisions in `dir/migrations`, with
 * `dir/athanor.config.json` (environment `bench`, URL from BENCH_URL), and the same
 * statements in `dir/all.sql` for psql.
 */
export async function writeAthanorProject(dir, n) {
  const migrations = join(dir, "migrations");
  await mkdir(migrations, { recursive: true });
  const all = [];
  for (let i = 1; i <= n; i += 1) {
    const header = [`-- athanor:revision ${revisionId(i)}`, ...(i > 1 ? [`-- athanor:down ${revisionId(i - 1)}`] : []), `-- athanor:message table ${i}`];
    await writeFile(join(migrations, `${revisionId(i)}_table_${i}.sql`), `${header.join("\n")}\n\n-- athanor:upgrade\n${statement(i)}\n\n-- athanor:downgrade\nDROP TABLE bench_${i};\n`);
    all.push(statement(i));
  }
  await writeFile(join(dir, "all.sql"), `${all.join("\n")}\n`);
  await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ defaultEnvironment: "bench", environments: { bench: { url: "${BENCH_URL}" } } }));
}

/** The same history as Alembic version scripts in `dir/versions`, with `dir/alembic.ini` and `dir/env.py` (URL from BENCH_URL). */
export async function writeAlembicProject(dir, n) {
  const versions = join(dir, "versions");
  await mkdir(versions, { recursive: true });
  await writeFile(join(dir, "alembic.ini"), "[alembic]\nscript_location = .\n");
  await writeFile(
    join(dir, "env.py"),
    [
      "import os",
      "from alembic import context",
      "from sqlalchemy import create_engine",
      "engine = create_engine(os.environ['BENCH_URL'].replace('postgresql://', 'postgresql+psycopg2://', 1))",
      "with engine.connect() as connection:",
      "    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)",
      "    with context.begin_transaction():",
      "        context.run_migrations()",
      "",
    ].join("\n"),
  );
  await writeFile(join(dir, "script.py.mako"), "");
  for (let i = 1; i <= n; i += 1) {
    await writeFile(
      join(versions, `${revisionId(i)}_table_${i}.py`),
      [
        `"""table ${i}"""`,
        "from alembic import op",
        `revision = "${revisionId(i)}"`,
        `down_revision = ${i > 1 ? `"${revisionId(i - 1)}"` : "None"}`,
        "branch_labels = None",
        "depends_on = None",
        "",
        "def upgrade():",
        `    op.execute("""${statement(i)}""")`,
        "",
        "def downgrade():",
        `    op.execute("DROP TABLE bench_${i}")`,
        "",
      ].join("\n"),
    );
  }
}

/** The same history as Umzug migrations: one SQL file per migration in `dir/umzug` (up only: Umzug's `down` is not measured). */
export async function writeUmzugProject(dir, n) {
  const migrations = join(dir, "umzug");
  await mkdir(migrations, { recursive: true });
  for (let i = 1; i <= n; i += 1) await writeFile(join(migrations, `${revisionId(i)}_table_${i}.sql`), `${statement(i)}\n`);
}

/** Text with the password of any `scheme://user:password@` URL in it replaced by `***`. */
export const withoutPassword = (text) => String(text).replace(/(\/\/[^:/?#@\s]*:)[^@/?#\s]*@/g, "$1***@");

/**
 * psql's arguments for a database URL: the URL without its password, which goes in
 * PGPASSWORD instead, so no password is on a child's command line (visible in `ps`).
 */
export function psqlConnection(url) {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = "";
  return { url: parsed.toString(), env: { ...process.env, PGPASSWORD: password } };
}

/**
 * Runs a command once under /usr/bin/time: `{ seconds, rssMb, cpuSeconds, stdout }`
 * (`cpuSeconds`: user + system time of the process); throws on a non-zero exit.
 */
export function run(command, args, { cwd, env }) {
  const started = performance.now();
  const result = spawnSync("/usr/bin/time", ["-f", "%M %U %S", command, ...args], { cwd, env, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`${command} ${args.map(withoutPassword).join(" ")} exited ${result.status}: ${withoutPassword(result.stderr.slice(-2000))}`);
  const [rssKb, user, system] = result.stderr.trim().split("\n").pop().split(" ").map(Number);
  return { seconds, rssMb: rssKb / 1024, cpuSeconds: user + system, stdout: result.stdout };
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** `times` runs; median seconds and the largest peak RSS. `before` runs before each (not timed). */
export function timed(command, args, options, times = 5, before = () => {}) {
  const runs = [];
  for (let i = 0; i < times; i += 1) {
    before();
    runs.push(run(command, args, options));
  }
  return { seconds: median(runs.map((r) => r.seconds)), rssMb: Math.max(...runs.map((r) => r.rssMb)) };
}

/** athanor's CLI as a process: `node bin/athanor.js ...args`. */
export const athanor = (args) => [process.execPath, [bin, ...args]];

/** The environment the processes get: no OpenTelemetry, nothing inherited but PATH and HOME. */
export function processEnv(url) {
  return { PATH: process.env.PATH, HOME: process.env.HOME, BENCH_URL: url ?? "", OTEL_SDK_DISABLED: "true" };
}

/** The load average, for the note next to every figure. */
export async function loadAverage() {
  const { loadavg, cpus } = await import("node:os");
  return `load average ${loadavg().map((x) => x.toFixed(2)).join(", ")} on ${cpus().length} cores`;
}
