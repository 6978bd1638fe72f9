/**
 * Ctrl-D at the confirmation prompt of a protected environment, on a real terminal (a
 * pseudo-terminal made by Python's pty module, as a person's shell would give): it
 * cancels, as Ctrl-C does, with exit 3 and nothing changed. clack reads the terminal in
 * raw mode, where Ctrl-D is one more key; it was ignored and the prompt waited for ever.
 * Through the real binary (`npm run build` first).
 */
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, baseEnv, spawnCli } from "./support/cli.js";
import { tempDir } from "./support/databases.js";

/** Runs argv on a pseudo-terminal; types `keys` once `waitFor` shows; gives the exit status and what the terminal showed. */
const DRIVER = `
import fcntl, os, pty, select, struct, sys, termios, time
argv, wait_for, keys = sys.argv[1:-2], sys.argv[-2].encode(), sys.argv[-1].encode().decode("unicode_escape").encode("latin-1")
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
# A terminal of 40 rows and 120 columns, as a person's (a size of zero leaves the prompt undrawn).
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
seen, sent, deadline = b"", False, time.time() + 60
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.1)
    if ready:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        seen += data
    if not sent and wait_for in seen:
        time.sleep(0.3)
        os.write(fd, keys)
        sent = True
# The terminal closed (the child ended) or the time ran out: its status, once it has one.
while time.time() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        sys.stdout.write(seen.decode(errors="replace"))
        sys.exit(os.waitstatus_to_exitcode(status))
    time.sleep(0.05)
os.kill(pid, 9)
sys.stdout.write(seen.decode(errors="replace") + "\\nSTILL RUNNING")
sys.exit(99)
`;

function onTerminal(cwd: string, argv: string[], waitFor: string, keys: string): Promise<{ status: number | null; screen: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", ["-c", DRIVER, ...argv, waitFor, keys], { cwd, env: { PATH: process.env["PATH"], HOME: process.env["HOME"], TERM: "xterm" }, stdio: ["ignore", "pipe", "inherit"] });
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
