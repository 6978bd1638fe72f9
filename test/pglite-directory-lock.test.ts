/**
 * A PGlite data directory is open in one process at a time, readers included: every
 * opener writes to it (recovery when it opens, a shutdown checkpoint when it closes), so
 * a `current` that opened the directory while an `upgrade` in another process ran could
 * roll back the upgrade it had just reported. Real directories, real child processes
 * (the built binary: `npm run build` first).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { loadConfigFile } from "../src/config/load.js";
import { resolveEnvironment } from "../src/config/resolve.js";
import type { ResolvedEnvironment } from "../src/config/types.js";
import { current } from "../src/commands/current.js";
import { upgrade } from "../src/commands/upgrade.js";
import { openSession } from "../src/dialects/open.js";
import type { Session } from "../src/dialects/types.js";
import { AthanorError } from "../src/errors.js";
import { lockFilePath } from "../src/run/lock.js";
import { BIN, baseEnv, type CliResult } from "./support/cli.js";
import { tempDir } from "./support/databases.js";

const FIRST = "b10000000001";
const SLOW = "b10000000002";

interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<CliResult>;
}

function start(argv: string[], cwd: string): Running {
  const child = spawn(process.execPath, [BIN, ...argv], { cwd, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const done = new Promise<CliResult>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? (signal === "SIGTERM" ? 143 : 128), stdout, stderr });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

function cli(argv: string[], cwd: string): Promise<CliResult> {
  return start(argv, cwd).done;
}

async function until(what: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await what()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("condition not reached in time");
}

async function revision(dir: string, id: string, down: string | null, upgradeSql: string, downgradeSql: string): Promise<void> {
  const text = [`-- athanor:revision ${id}`, ...(down === null ? [] : [`-- athanor:down ${down}`]), `-- athanor:message m${id}`, "", "-- athanor:upgrade", upgradeSql, "", "-- athanor:downgrade", downgradeSql, ""];
  await writeFile(join(dir, "migrations", `${id}_r.sql`), text.join("\n"));
}

/** The lock file's holder, or null when there is none. */
async function lockHolder(dataDir: string): Promise<{ pid: number; holder: string } | null> {
  const text = await readFile(lockFilePath(dataDir), "utf8").catch(() => null);
  if (text === null) return null;
  try {
    return JSON.parse(text) as { pid: number; holder: string };
  } catch {
    return null;
  }
}

describe("a PGlite directory is open in one process at a time", () => {
  let dir: string;
  let dataDir: string;
  let remove: () => Promise<void>;
  let env: ResolvedEnvironment;
  const opened: Session[] = [];

  beforeEach(async () => {
    ({ dir, remove } = await tempDir("athanor-pglite-dirlock-"));
    dataDir = join(dir, "db");
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: "pglite://./db" } } }));
    await revision(dir, FIRST, null, "CREATE TABLE big (x int, pad text);", "DROP TABLE big;");
    // Rows before and after a sleep: a reader that slipped in during the sleep once undid them all.
    await revision(
      dir,
      SLOW,
      FIRST,
      "INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 5000) g;\nSELECT pg_sleep(6);\nINSERT INTO big SELECT g, repeat('y', 200) FROM generate_series(1, 5000) g;",
      "DELETE FROM big;",
    );
    env = await resolveEnvironment(await loadConfigFile(join(dir, "athanor.config.json")), { environment: "development", processEnv: baseEnv() });
  });

  afterEach(async () => {
    for (const session of opened.splice(0)) await session.close();
    await remove();
  });

  async function openHere(): Promise<Session> {
    const session = await openSession(env.target, { applicationName: "athanor test (reader)", lockWaitMs: 0 });
    opened.push(session);
    return session;
  }

  /** Starts `upgrade` to SLOW and resolves once it holds the directory (its lock file names it) and runs the sleeping revision. */
  async function slowUpgrade(): Promise<Running> {
    expect((await cli(["upgrade", FIRST], dir)).status).toBe(0);
    const writer = start(["upgrade"], dir);
    await until(async () => (await lockHolder(dataDir))?.holder === "athanor upgrade (development)");
    return writer;
  }

  async function expectAllRows(): Promise<void> {
    const session = await openHere();
    const rows = await session.query<{ n: number }>("SELECT count(*)::int AS n FROM big");
    expect(rows.rows[0]?.n).toBe(10_000);
    const versions = await session.query<{ revision: string }>("SELECT revision FROM athanor_version ORDER BY revision");
    expect(versions.rows.map((row) => row.revision)).toEqual([FIRST, SLOW]);
    const history = await session.query<{ revision: string; outcome: string }>("SELECT revision, outcome FROM athanor_version_history WHERE direction = 'up' ORDER BY id");
    expect(history.rows.map((row) => `${row.revision} ${row.outcome}`)).toEqual([`${FIRST} success`, `${SLOW} success`]);
  }

  it("a `current` while an upgrade writes is refused with exit 4 after --lock-wait, naming the writer; the upgrade's rows all stay", async () => {
    const writer = await slowUpgrade();
    const refused = await cli(["--lock-wait", "1", "current"], dir);
    const written = await writer.done;
    expect(refused.status, refused.stderr).toBe(4);
    expect(refused.stderr).toContain(`the lock ${lockFilePath(dataDir)} of the PGlite database ${dataDir} is held by pid ${writer.child.pid} on ${hostname()} (athanor upgrade (development)`);
    expect(refused.stderr).toContain("gave up after waiting 1 s");
    expect(written.status, written.stderr).toBe(0);
    expect(written.stdout).toContain(`upgraded development to ${SLOW}`);
    expect(existsSync(lockFilePath(dataDir))).toBe(false);
    await expectAllRows();
  }, 180_000);

  it("a `current` while an upgrade writes waits for it, says for whom, and then reads what it committed", async () => {
    const writer = await slowUpgrade();
    const reader = start(["current"], dir);
    const read = await reader.done;
    const written = await writer.done;
    expect(written.status, written.stderr).toBe(0);
    expect(read.status, read.stderr).toBe(0);
    expect(read.stderr).toMatch(new RegExp(`waiting up to 60 s for the PGlite database, open in pid ${writer.child.pid} on .*athanor upgrade \\(development\\)`));
    expect(read.stdout).toContain(SLOW);
    await expectAllRows();
  }, 180_000);

  it("an upgrade while a reader has the directory open waits for it, or exits 4 naming it, and applies nothing meanwhile", async () => {
    expect((await cli(["upgrade", FIRST], dir)).status).toBe(0);
    const reader = await openHere();
    const refused = await cli(["--lock-wait", "1", "upgrade"], dir);
    expect(refused.status, refused.stderr).toBe(4);
    expect(refused.stderr).toContain(`the migration lock ${lockFilePath(dataDir)} is held by pid ${process.pid} on ${hostname()} (athanor test (reader)`);
    const versions = await reader.query<{ revision: string }>("SELECT revision FROM athanor_version");
    expect(versions.rows.map((row) => row.revision)).toEqual([FIRST]);

    const writer = start(["upgrade"], dir);
    await until(() => writer.stderr().includes("waiting up to 60 s for the migration lock"));
    await reader.close();
    const written = await writer.done;
    expect(written.status, written.stderr).toBe(0);
    await expectAllRows();
  }, 180_000);

  it("two readers do not have it open at once, in one process or two; SIGINT ends a waiting reader with 130", async () => {
    expect((await cli(["upgrade", FIRST], dir)).status).toBe(0);
    await openHere();
    const second = await openSession(env.target, { applicationName: "athanor test (second)", lockWaitMs: 200 }).then(
      (session) => {
        opened.push(session);
        return null;
      },
      (error: unknown) => error,
    );
    expect(second).toBeInstanceOf(AthanorError);
    expect((second as AthanorError).exitStatus).toBe(4);
    expect((second as AthanorError).message).toContain(`held by pid ${process.pid}`);

    const waiting = start(["current"], dir);
    await until(() => waiting.stderr().includes("waiting up to 60 s for the PGlite database"));
    waiting.child.kill("SIGINT");
    const interrupted = await waiting.done;
    expect(interrupted.status, interrupted.stderr).toBe(130);
    expect((await lockHolder(dataDir))?.pid).toBe(process.pid);
  }, 180_000);

  it("a lock file left by a dead process is taken over by a reader, and removed when it is done", async () => {
    expect((await cli(["upgrade", FIRST], dir)).status).toBe(0);
    await writeFile(lockFilePath(dataDir), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), startedAt: "2020-01-01T00:00:00Z", holder: "athanor upgrade (dead)" }));
    const read = await cli(["--lock-wait", "1", "current"], dir);
    expect(read.status, read.stderr).toBe(0);
    expect(read.stdout).toContain(FIRST);
    expect(existsSync(lockFilePath(dataDir))).toBe(false);
  }, 180_000);

  it("the library: a session holds the lock until it is closed; a run on it needs no second lock", async () => {
    const session = await openHere();
    expect((await lockHolder(dataDir))?.holder).toBe("athanor test (reader)");
    // The caller's session is the migration session: the directory's lock is already its own.
    const applied = await upgrade(env, { target: FIRST, session, lockWaitMs: 0 });
    expect(applied.completed).toEqual([FIRST]);
    const refused = await current(env, { lockWaitMs: 0 }).then(
      () => null,
      (error: unknown) => error,
    );
    expect((refused as AthanorError).exitStatus).toBe(4);
    await session.close();
    expect(existsSync(lockFilePath(dataDir))).toBe(false);
    expect((await current(env, { lockWaitMs: 0 })).current).toEqual([FIRST]);
    expect(existsSync(lockFilePath(dataDir))).toBe(false);
  }, 180_000);
});

describe("pglite://memory", () => {
  it("takes no lock", async () => {
    const first = await openSession({ kind: "pglite", dataDir: null }, { lockWaitMs: 0 });
    const second = await openSession({ kind: "pglite", dataDir: null }, { lockWaitMs: 0 });
    await first.close();
    await second.close();
  }, 60_000);
});

