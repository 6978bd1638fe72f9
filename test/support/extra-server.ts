/**
 * A second (third, ...) throwaway PostgreSQL server for tests that need more than the one
 * `.ci/run` starts: fleets spread over two servers, a primary and its standby. Started
 * with ci/start-postgres.sh on a free port of 127.0.0.1 chosen at start, in a directory
 * of its own, so concurrent test runs never meet; `stop()` removes it.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const script = fileURLToPath(new URL("../../ci/start-postgres.sh", import.meta.url));

export interface ExtraServer {
  /** Admin URL (role postgres, database postgres) on 127.0.0.1. */
  readonly url: string;
  readonly port: number;
  /** The server's directory: `data/` (PGDATA), the Unix socket and `server.log`. */
  readonly dir: string;
  /** Stops the server and deletes its directory (idempotent). */
  stop(): Promise<void>;
}

function exportsOf(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const match of text.matchAll(/([A-Z_]+)=('([^']*)'|(\S+))/g)) values[match[1]!] = match[3] ?? match[4] ?? "";
  return values;
}

/** Starts a new server (about 2 s). Always pair it with `stop()` in an `afterAll`. */
export async function startExtraServer(): Promise<ExtraServer> {
  // A new unique name: the script creates the directory itself, owned by the postgres user
  // (a root-owned 0700 parent such as mkdtemp's would keep that user out).
  const dir = join(tmpdir(), `athanor-extra-pg-${randomBytes(6).toString("hex")}`);
  const env = { ...process.env, PG_TEST_PORT: "auto", PG_TEST_DIR: dir };
  const { stdout } = await run("bash", [script, "start"], { env, encoding: "utf8" });
  const values = exportsOf(stdout);
  const url = values["DATABASE_URL"];
  const port = Number(values["PGPORT"]);
  if (!url || !Number.isInteger(port)) throw new Error(`start-postgres.sh printed no DATABASE_URL/PGPORT: ${stdout}`);
  let stopped = false;
  return {
    url,
    port,
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await run("bash", [script, "stop"], { env, encoding: "utf8" });
    },
  };
}
