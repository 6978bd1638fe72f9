/**
 * Runs the real binary on a pseudo-terminal (test/support/pty-run.py), as a person at a
 * terminal would: for the confirmation prompt. Needs `npm run build`.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { BIN, type CliResult } from "./cli.js";

const PTY = fileURLToPath(new URL("./pty-run.py", import.meta.url));

/** Runs the CLI on a pseudo-terminal, typing `answer` once the name prompt shows. */
export function onTerminal(argv: string[], answer: string, cwd: string, env: Record<string, string | undefined>): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn("python3", [PTY, "environment's name", answer, "60", process.execPath, BIN, ...argv], { cwd, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ status: code ?? 1, stdout, stderr }));
  });
}
