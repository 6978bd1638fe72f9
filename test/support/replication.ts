/**
 * A primary and a streaming standby for tests: the primary from {@link startExtraServer},
 * the standby copied from it by `pg_basebackup -R` (run as the postgres OS user, as
 * ci/start-postgres.sh runs initdb) and started on another free port of 127.0.0.1.
 * The standby reports its replay position every second (`wal_receiver_status_interval`),
 * so `replicaLag` sees it catch up promptly.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { queryUrl } from "./databases.js";
import { startExtraServer, type ExtraServer } from "./extra-server.js";
import { freePort } from "./faults.js";

const run = promisify(execFile);

function pgBin(name: string): string {
  const versions = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql").sort((a, b) => Number(a) - Number(b)) : [];
  const last = versions[versions.length - 1];
  if (last === undefined) throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql");
  return join("/usr/lib/postgresql", last, "bin", name);
}

/** Runs a PostgreSQL program as the postgres OS user when we are root (the server refuses root). */
async function asPostgres(program: string, args: readonly string[]): Promise<string> {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const [file, argv] = root ? ["runuser", ["-u", "postgres", "--", pgBin(program), ...args]] : [pgBin(program), [...args]];
  const { stdout } = await run(file, argv, { cwd: "/", encoding: "utf8" });
  return stdout;
}

/** A primary with one streaming standby. */
export interface Replication {
  readonly primary: ExtraServer;
  /** Admin URL of the standby (same role and password as the primary's). */
  readonly standbyUrl: string;
  readonly standbyPort: number;
  /** Waits until the standby has replayed everything the primary wrote so far. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** `pg_ctl promote`: the standby becomes a primary (waits until it accepts writes). */
  promote(): Promise<void>;
  /** Stops the standby (and the primary) and removes their directories (idempotent). */
  stop(): Promise<void>;
}

async function until(what: () => Promise<boolean>, timeoutMs: number, label: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await what().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts a primary and a standby streaming from it (about 4 s). Pair with `stop()` in `afterAll`. */
export async function startReplication(options: { readonly standbyConfig?: readonly string[] } = {}): Promise<Replication> {
  const primary = await startExtraServer();
  const dir = join(tmpdir(), `athanor-standby-${randomBytes(6).toString("hex")}`);
  const data = join(dir, "data");
  const port = await freePort();
  let standbyStarted = false;
  const stopStandby = async () => {
    if (standbyStarted) await asPostgres("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => {});
    standbyStarted = false;
    await run("rm", ["-rf", dir]).catch(() => {});
  };
  try {
    await run("install", ["-d", "-o", "postgres", "-g", "postgres", "-m", "700", dir]);
    // Over the primary's Unix socket (trust for local connections): no password on any command line.
    await asPostgres("pg_basebackup", ["-h", primary.dir, "-p", String(primary.port), "-U", "postgres", "-D", data, "-R", "-X", "stream", "--no-sync"]);
    const settings = [`-p ${port}`, `-k ${dir}`, "-c listen_addresses=127.0.0.1", "-c hot_standby=on", "-c max_connections=200", "-c wal_receiver_status_interval=1s", "-c fsync=off", ...(options.standbyConfig ?? [])].join(" ");
    // max_connections as the primary's (ci/start-postgres.sh): a standby may not have fewer.
    await asPostgres("pg_ctl", ["-D", data, "-l", join(dir, "server.log"), "-o", settings, "-w", "-t", "60", "start"]).catch(async (error: unknown) => {
      const log = await readFile(join(dir, "server.log"), "utf8").catch(() => "");
      throw new Error(`the standby did not start: ${String(error)}\n${log.slice(-2000)}`);
    });
    standbyStarted = true;
  } catch (error) {
    await stopStandby();
    await primary.stop();
    throw error;
  }
  const url = new URL(primary.url);
  url.port = String(port);
  const standbyUrl = url.toString();
  const replication: Replication = {
    primary,
    standbyUrl,
    standbyPort: port,
    async caughtUp(timeoutMs = 30_000) {
      await until(async () => {
        const rows = await queryUrl<{ done: boolean }>(primary.url, "SELECT count(*) > 0 AND bool_and(replay_lsn >= pg_current_wal_lsn()) AS done FROM pg_stat_replication WHERE state = 'streaming'");
        return rows[0]?.done === true;
      }, timeoutMs, "the standby to catch up");
    },
    async promote() {
      await asPostgres("pg_ctl", ["-D", data, "-w", "-t", "60", "promote"]);
      await until(async () => (await queryUrl<{ r: boolean }>(standbyUrl, "SELECT pg_is_in_recovery() AS r"))[0]?.r === false, 30_000, "the promoted standby");
    },
    async stop() {
      await stopStandby();
      await primary.stop();
    },
  };
  try {
    await replication.caughtUp();
  } catch (error) {
    await replication.stop();
    throw error;
  }
  return replication;
}
