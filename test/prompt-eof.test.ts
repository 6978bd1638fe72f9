/**
 * Ctrl-D at the confirmation prompt of a protected environment, on a real terminal (a
 * pseudo-terminal made by Python's pty module, as a person's shell would give): it
 * cancels, as Ctrl-C does, with exit 3 and nothing changed (test/support/pty-run.py drives it). clack reads the terminal in
 * raw mode, where Ctrl-D is one more key; it was ignored and the prompt waited for ever.
 * Through the real binary (`npm run build` first).
 */
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, baseEnv, spawnCli } from "./support/cli.js";
import { tempDir } from "./support/databases.js";

const PTY = fileURLToPath(new URL("./support/pty-run.py", import.meta.url));

/** Runs argv on a pseudo-terminal (test/support/pty-run.py), typing `keys` once `waitFor` shows. */
function onTerminal(cwd: string, argv: string[], waitFor: string, keys: string): Promise<{ status: number | null; screen: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", [PTY, waitFor, keys, "60", ...argv], { cwd, env: { PATH: process.env["PATH"], HOME: process.env["HOME"], TERM: "xterm" }, stdio: ["ignore", "pipe", "inherit"] });
    let screen = "";
    child.stdout.on("data", (chunk: Buffer) => (screen += chunk.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, screen }));
  });
}

describe("the confirmation prompt on a terminal", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-prompt-eof-"));
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { production: { url: "pglite://./prod", protected: true } } }));
    await writeFile(join(dir, "migrations", "0a0a0a0a0a0a_one.sql"), "-- athanor:revision 0a0a0a0a0a0a\n\n-- athanor:upgrade\nCREATE TABLE one (x int);\n");
  });
  afterAll(() => remove());

  it("Ctrl-D cancels: exit 3, nothing applied", async () => {
    const result = await onTerminal(dir, [process.execPath, BIN, "-e", "production", "upgrade", "--no-color"], "Type the environment", "\\x04");
    expect(result.status, result.screen).toBe(3);
    expect(result.screen).toContain('the upgrade of protected environment "production" was cancelled; nothing was changed');
    const current = await spawnCli(["-e", "production", "current"], { cwd: dir, env: baseEnv() });
    expect(current.status, current.stderr).toBe(0);
    expect(current.stdout).not.toContain("0a0a0a0a0a0a");
  });
});
