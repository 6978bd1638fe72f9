/**
 * Drives the CLI the way a user does: in-process through `main(argv, io)` (fast), or
 * as a real process through bin/athanor.js (prompts, signals, exit codes; needs `npm run build`).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { PassThrough } from "node:stream";
import { main } from "../../src/cli/main.js";

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  /** The whole process environment the CLI sees (nothing is inherited unless you pass it). */
  env?: Record<string, string | undefined>;
  /** Text on stdin (not a terminal). */
  stdin?: string;
  signal?: AbortSignal;
  /** Run the binary as this user and group (spawnCli only; the test process must be root to switch). */
  user?: { uid: number; gid: number };
}

/** A minimal, predictable environment: PATH and HOME only, plus what the test adds. */
export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { PATH: process.env["PATH"], HOME: process.env["HOME"], ...extra };
}

/** Runs `athanor <argv>` in-process. */
export async function runCli(argv: string[], options: CliOptions): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const stdin = new PassThrough();
  stdin.end(options.stdin ?? "");
  const status = await main(argv, {
    stdout: { write: (text: string) => (stdout += text), isTTY: false },
    stderr: { write: (text: string) => (stderr += text), isTTY: false },
    stdin,
    env: options.env ?? baseEnv(),
    cwd: options.cwd,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { status, stdout, stderr };
}

export const BIN = fileURLToPath(new URL("../../bin/athanor.js", import.meta.url));

/** Runs the real binary as a child process. */
export function spawnCli(argv: string[], options: CliOptions & { timeoutMs?: number }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], {
      cwd: options.cwd,
      env: (options.env ?? baseEnv()) as NodeJS.ProcessEnv,
      stdio: ["pipe", "pipe", "pipe"],
      ...(options.user === undefined ? {} : { uid: options.user.uid, gid: options.user.gid }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(options.stdin ?? "");
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/**
 * Options that make spawnCli run as a user without privileges: as root (CI, containers)
 * the binary runs as `nobody`, for whom file modes apply; otherwise as the test's own user.
 * The directories the binary works in must then be readable by others (mkdtemp makes them 0700).
 */
export function unprivileged(): Pick<CliOptions, "user"> {
  return process.getuid?.() === 0 ? { user: { uid: 65534, gid: 65534 } } : {};
}
