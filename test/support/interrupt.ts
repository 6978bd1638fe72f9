/**
 * Interrupting a real `athanor upgrade` at a known moment: while one of its revisions is
 * in `pg_sleep` (the marker that the revision is under way), as the interruption tests need.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { expect, vi } from "vitest";
import { BIN, baseEnv } from "./cli.js";
import { queryUrl } from "./databases.js";

/** What the interrupted binary did: its exit status and what it printed. */
export interface InterruptedRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running `athanor upgrade`: what it printed so far, and its exit status once it ends. */
export interface RunningUpgrade {
  readonly child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  readonly status: Promise<number | null>;
}

/** Starts `athanor upgrade` (`args`: more arguments) in `cwd` through the real binary, collecting its output. */
export function startUpgrade(cwd: string, args: readonly string[] = []): RunningUpgrade {
  const child = spawn(process.execPath, [BIN, "upgrade", ...args], { cwd, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const status = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    status,
  };
}

/**
 * Runs `athanor upgrade` in `cwd` through the real binary, waits until a session of the
 * database at `databaseUrl` sleeps in `pg_sleep`, then sends `signal` (`args`: more arguments of `upgrade`).
 */
export async function interruptWhileSleeping(cwd: string, databaseUrl: string, signal: NodeJS.Signals = "SIGINT", args: readonly string[] = []): Promise<InterruptedRun> {
  const run = startUpgrade(cwd, args);
  await vi.waitFor(
    async () => {
      const sleeping = await queryUrl<{ n: string }>(databaseUrl, "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'");
      expect(sleeping[0]?.n).toBe("1");
    },
    { timeout: 60_000, interval: 50 },
  );
  run.child.kill(signal);
  return { status: await run.status, stdout: run.stdout, stderr: run.stderr };
}
