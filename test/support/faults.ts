/**
 * Fault injection for the reliability tests (test/faults-*.test.ts): a seeded random
 * source whose seed is printed, runners of the real binary that can be killed at any
 * moment, waits on database conditions, a PgBouncer started from a test, and a
 * throwaway PostgreSQL server of the test's own (for restarts).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { BIN, type CliResult } from "./cli.js";
import { createPostgresDatabase, serverUrl, type TestDatabase } from "./databases.js";
import { createEngineProject, type EngineProject } from "./engine-project.js";

const run = promisify(execFile);

/** mulberry32: a small seeded generator, so a failing trial is replayed from its printed seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The base seed of a test file: FAULT_SEED when set (to replay a run), else the clock. */
export function baseSeed(): number {
  const fromEnv = process.env["FAULT_SEED"];
  return fromEnv !== undefined && /^\d+$/.test(fromEnv) ? Number(fromEnv) : Date.now() % 2 ** 31;
}

/** A running `athanor` process. */
export interface RunningCli {
  readonly child: ChildProcess;
  readonly startedAt: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited; `status` is 128 + signal number for a killed process. */
  readonly done: Promise<CliResult & { signal: NodeJS.Signals | null; durationMs: number }>;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2 };

/** Starts `node bin/athanor.js <argv>` (needs `npm run build`). */
export function startCli(argv: readonly string[], cwd: string, env: Record<string, string | undefined>, timeoutMs = 90_000): RunningCli {
  const startedAt = Date.now();
  const child = spawn(process.execPath, [BIN, ...argv], { cwd, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null; durationMs: number }>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 0) : 0), stdout, stderr, signal, durationMs: Date.now() - startedAt });
    });
  });
  return { child, startedAt, stdout: () => stdout, stderr: () => stderr, done };
}

/** Polls `what` every 25 ms until it holds; throws after `timeoutMs`. */
export async function until(what: () => Promise<boolean> | boolean, timeoutMs = 20_000, label = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await what()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${label} not reached within ${timeoutMs} ms`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A plain pg client for assertions, ended by `end()`. */
export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/** True when one of athanor's sessions in the client's database waits on a lock (a table lock another session holds). */
export async function athanorWaitsOnLock(client: pg.Client): Promise<boolean> {
  const result = await client.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'athanor %' AND wait_event_type = 'Lock'");
  return result.rowCount === 1;
}

/** A database of its own, a project whose two revisions `a` then `b` each create a table (environment `development` from DATABASE_URL), and a client to look with. */
export interface TwoTableProject {
  readonly project: EngineProject;
  readonly db: TestDatabase;
  readonly observer: pg.Client;
  stop(): Promise<void>;
}

export async function startTwoTableProject(prefix: string, a: string, b: string): Promise<TwoTableProject> {
  const project = await createEngineProject();
  const db = await createPostgresDatabase(prefix);
  await project.write({ id: a, message: "a", upgrade: "CREATE TABLE a (x int);", downgrade: "DROP TABLE a;" });
  await project.write({ id: b, down: a, message: "b", upgrade: "CREATE TABLE b (x int);", downgrade: "DROP TABLE b;" });
  await project.configure({ development: { url: "${DATABASE_URL}" } });
  const observer = await connect(db.url);
  return {
    project,
    db,
    observer,
    async stop() {
      await observer.end();
      await db.drop();
      await project.remove();
    },
  };
}

/** Advisory locks held or awaited in the client's database. */
export async function advisoryLocks(client: pg.Client): Promise<number> {
  const result = await client.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
  );
  return result.rows[0]?.n ?? -1;
}

/** Backends of athanor runs (application_name `athanor ...`) in the client's database. */
export async function athanorBackends(client: pg.Client): Promise<{ pid: number; application_name: string; state: string | null; query: string }[]> {
  const result = await client.query<{ pid: number; application_name: string; state: string | null; query: string }>(
    "SELECT pid, application_name, state, query FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'athanor %' AND pid <> pg_backend_pid()",
  );
  return result.rows;
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Runs a command as the `postgres` OS user when we are root (PostgreSQL and PgBouncer refuse root). */
function asPostgres(command: string, args: readonly string[]): { file: string; args: string[] } {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  return root ? { file: "runuser", args: ["-u", "postgres", "--", command, ...args] } : { file: command, args: [...args] };
}

/** Where PgBouncer is installed, or null. */
export function pgbouncerBinary(): string | null {
  for (const candidate of ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer"]) if (existsSync(candidate)) return candidate;
  return null;
}

/** A PgBouncer started by a test. */
export interface Bouncer {
  readonly port: number;
  /** A URL through the bouncer to the alias `database` (see {@link startPgBouncer}). */
  url(alias: string): string;
  stop(): Promise<void>;
}

/**
 * Starts PgBouncer on 127.0.0.1 and a port of its own, with config and auth file in a
 * temporary directory. Each alias maps to a database of the test server with a pool mode;
 * `settings` add to (or override) its `[pgbouncer]` section, e.g. `{ server_reset_query: "" }`.
 */
export async function startPgBouncer(
  server: URL,
  aliases: Record<string, { database: string; poolMode: "session" | "transaction" | "statement"; poolSize?: number }>,
  settings: Record<string, string | number> = {},
): Promise<Bouncer> {
  const binary = pgbouncerBinary();
  if (binary === null) throw new Error("pgbouncer is not installed (apt-get install pgbouncer; .ci/run installs it)");
  const dir = await mkdtemp(join(tmpdir(), "athanor-pgbouncer-"));
  await chmod(dir, 0o755);
  const port = await freePort();
  const user = decodeURIComponent(server.username);
  const password = decodeURIComponent(server.password);
  const databases = Object.entries(aliases)
    .map(([alias, spec]) => `${alias} = host=${server.hostname} port=${server.port || 5432} dbname=${spec.database} pool_mode=${spec.poolMode}${spec.poolSize === undefined ? "" : ` pool_size=${spec.poolSize}`}`)
    .join("\n");
  const ini = `[databases]
${databases}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = ${join(dir, "userlist.txt")}
pool_mode = transaction
max_client_conn = 200
default_pool_size = 20
server_round_robin = 0
ignore_startup_parameters = extra_float_digits,options
${Object.entries(settings).map(([name, value]) => `${name} = ${value}`).join("\n")}
`;
  await writeFile(join(dir, "pgbouncer.ini"), ini, { mode: 0o644 });
  await writeFile(join(dir, "userlist.txt"), `"${user}" "${password.replace(/"/g, '""')}"\n`, { mode: 0o644 });
  const { file, args } = asPostgres(binary, [join(dir, "pgbouncer.ini")]);
  const child = spawn(file, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  const url = (alias: string) => {
    const u = new URL(server.toString());
    u.port = String(port);
    u.pathname = `/${alias}`;
    return u.toString();
  };
  const first = Object.keys(aliases)[0] as string;
  try {
    await until(async () => {
      if (child.exitCode !== null) throw new Error(`pgbouncer exited: ${stderr}`);
      try {
        const c = await connect(url(first));
        await c.end();
        return true;
      } catch {
        return false;
      }
    }, 15_000, "pgbouncer accepting connections");
  } catch (error) {
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    url,
    async stop() {
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(5_000).then(() => child.kill("SIGKILL"))]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A test database of its own behind a PgBouncer of its own (see {@link startPooledDatabase}). */
export interface PooledDatabase {
  readonly db: TestDatabase;
  readonly bouncer: Bouncer;
  /** A client connected to the database directly, not through the bouncer. */
  readonly direct: pg.Client;
  /** Ends the client, stops the bouncer and drops the database. */
  stop(): Promise<void>;
}

/**
 * Creates a database named from `prefix`, starts a PgBouncer whose `aliases` (given the
 * database's name) map to it, and connects a client directly: the set-up every pooler test
 * shares. `settings`: see {@link startPgBouncer}.
 */
export async function startPooledDatabase(prefix: string, aliases: (database: string) => Parameters<typeof startPgBouncer>[1], settings: Record<string, string | number> = {}): Promise<PooledDatabase> {
  const db = await createPostgresDatabase(prefix);
  let bouncer: Bouncer | undefined;
  try {
    bouncer = await startPgBouncer(new URL(serverUrl()), aliases(db.name), settings);
    const direct = await connect(db.url);
    const started = bouncer;
    return {
      db,
      bouncer: started,
      direct,
      async stop() {
        await direct.end().catch(() => {});
        await started.stop();
        await db.drop();
      },
    };
  } catch (error) {
    await bouncer?.stop();
    await db.drop();
    throw error;
  }
}

function pgBinDir(): string {
  const versions = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql").sort((a, b) => Number(a) - Number(b)) : [];
  const last = versions[versions.length - 1];
  if (last === undefined) throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql");
  return join("/usr/lib/postgresql", last, "bin");
}

/** A PostgreSQL server of the test's own (ci/start-postgres.sh with another port and directory). */
export interface OwnServer {
  readonly url: string;
  /** `pg_ctl restart -m immediate`: a crash of the server, then crash recovery. */
  restartImmediate(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOwnServer(port: number, dir: string): Promise<OwnServer> {
  const script = new URL("../../ci/start-postgres.sh", import.meta.url).pathname;
  const env = { ...process.env, PG_TEST_PORT: String(port), PG_TEST_DIR: dir, PG_TEST_DURABLE: "1" };
  const { stdout } = await run("bash", [script, "start"], { env });
  const match = /DATABASE_URL='([^']+)'/.exec(stdout);
  if (match === null || match[1] === undefined) throw new Error(`start-postgres.sh printed no DATABASE_URL: ${stdout}`);
  const url = match[1];
  const data = join(dir, "data");
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100`;
  return {
    url,
    async restartImmediate() {
      const { file, args } = asPostgres(join(pgBinDir(), "pg_ctl"), ["-D", data, "-l", join(dir, "server.log"), "-o", opts, "-m", "immediate", "-w", "-t", "60", "restart"]);
      await run(file, args, { cwd: "/" });
    },
    async stop() {
      await run("bash", [script, "stop"], { env }).catch(() => {});
    },
  };
}

/** True when `text` holds a JavaScript stack frame (`    at fn (file:1:2)`). */
export function hasStack(text: string): boolean {
  return /^\s+at .+(:\d+:\d+\)?|\(native\))$/m.test(text);
}
