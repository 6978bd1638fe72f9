/**
 * The CLI writes to a file or /dev/null directly and to a pipe through Node's stream
 * (src/cli/process-output.ts), and still delivers everything, in order:
 * - to a pipe left non-blocking by whoever made it, with a reader that waits before it reads;
 * - to a pipe nobody reads, without holding the run: a signal still stops it and the
 *   migration lock is released (a synchronous write to a stalled pipe blocked in the kernel,
 *   deaf to signals, with the lock held);
 * - after code athanor loads (here the config) wrote with console.log, which builds Node's
 *   stream: later lines go through that stream, after the config's.
 * Output lost on a device (/dev/full) makes a read command exit 1, said on stderr.
 * And a `heads` whose output is a file builds no Node stream at all (node:stream is never
 * loaded: the start-up this saves); colours, whose library read `process.stdout.isTTY` when
 * loaded, still come with FORCE_COLOR. Through the real binary (`npm run build` first).
 */
import { execFileSync, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, baseEnv } from "./support/cli.js";
import { createPostgresDatabase, queryUrl, tempDir } from "./support/databases.js";
import { ids, sqlRevisionText } from "./support/engine-project.js";

const COUNT = 1500;
const revisionIds = ids(COUNT, "e");

/** Runs the binary with stdout into a new file; returns what it wrote and its status. */
function runToFile(dir: string, args: string[], name: string, nodeArgs: string[] = []): { status: number; stdout: string } {
  const path = join(dir, name);
  const fd = openSync(path, "w");
  try {
    const result = execFileSyncStatus([...nodeArgs, BIN, ...args], dir, fd);
    return { status: result, stdout: readFileSync(path, "utf8") };
  } finally {
    closeSync(fd);
  }
}

function execFileSyncStatus(args: string[], cwd: string, stdout: number): number {
  try {
    execFileSync(process.execPath, args, { cwd, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", stdout, "pipe"] });
    return 0;
  } catch (error) {
    return (error as { status: number }).status;
  }
}

/**
 * Runs the binary with stdout on a pipe whose write end is non-blocking (Python sets it: Node
 * has no call for that), read only after `delay` seconds; returns what was read.
 */
function runOnSlowNonBlockingPipe(dir: string, args: string[], delay: number): Promise<{ status: number; stdout: string; stderr: string }> {
  const script = [
    "import os, subprocess, sys, time",
    "r, w = os.pipe()",
    "os.set_blocking(w, False)",
    "child = subprocess.Popen(sys.argv[2:], stdout=w, stderr=subprocess.PIPE)",
    "os.close(w)",
    "time.sleep(float(sys.argv[1]))",
    "data = b''",
    "while True:",
    "    chunk = os.read(r, 65536)",
    "    if not chunk: break",
    "    data += chunk",
    "err = child.stderr.read()",
    "status = child.wait()",
    "sys.stdout.buffer.write(data)",
    "sys.stderr.buffer.write(err)",
    "sys.exit(status)",
  ].join("\n");
  return new Promise((resolve, reject) => {
    const child = spawn("python3", ["-c", script, String(delay), process.execPath, BIN, ...args], { cwd: dir, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status: status ?? 1, stdout, stderr }));
  });
}

describe("output written directly to files and pipes", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-process-output-"));
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: "pglite://./.athanor/dev" } } }));
    for (const [k, id] of revisionIds.entries()) {
      await writeFile(join(dir, "migrations", `${id}_t${k}.sql`), sqlRevisionText({ id, down: k > 0 ? (revisionIds[k - 1] ?? null) : null, message: `table ${k} ${"x".repeat(60)}`, upgrade: `CREATE TABLE t_${k} (x int);` }));
    }
  });
  afterAll(async () => {
    await remove?.();
  });

  it("a pipe nobody reads does not hold an upgrade: SIGTERM still stops it and the migration lock is released while the reader stays away (PostgreSQL)", async () => {
    const db = await createPostgresDatabase("athanor_stalled_reader");
    const { dir: project, remove: removeProject } = await tempDir("athanor-process-output-stalled-");
    try {
      execFileSync("cp", ["-r", join(dir, "migrations"), project]);
      // A last revision that runs for a minute: the signal lands while it runs, whatever the machine's speed.
      await writeFile(join(project, "migrations", "f00000000000_slow.sql"), sqlRevisionText({ id: "f00000000000", down: revisionIds[COUNT - 1] ?? null, message: "slow", upgrade: "SELECT pg_sleep(60);" }));
      await writeFile(join(project, "athanor.config.json"), JSON.stringify({ environments: { development: { url: db.url } } }));
      // stdout is a pipe (a FIFO, 64 KiB) nobody reads: it fills after a few hundred
      // revisions' lines. (Node's own child pipes are sockets with a larger buffer.)
      const fifo = join(project, "stdout.fifo");
      execFileSync("mkfifo", [fifo]);
      // Read-write, so neither end waits for the other to open; this process never reads it until the end.
      const pipe = openSync(fifo, "r+");
      const child = spawn(process.execPath, [BIN, "upgrade"], { cwd: project, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", pipe, "pipe"] });
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("close", (status) => resolve(status)));
      const lockHeld = async () => Number((await queryUrl<{ n: string }>(db.url, "SELECT count(*) AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND a.datname = current_database() AND a.application_name LIKE 'athanor%'"))[0]?.n) > 0;
      const applied = async () => Number((await queryUrl<{ n: string }>(db.url, "SELECT count(*) AS n FROM pg_tables WHERE tablename LIKE 't\\_%'"))[0]?.n);
      const until = async (what: () => Promise<boolean>, ms: number) => {
        for (const end = Date.now() + ms; Date.now() < end; await new Promise((resolve) => setTimeout(resolve, 100))) if (await what()) return true;
        return false;
      };
      // Every table made, the slow revision running: well past the point where the pipe is
      // full (its lines are ~80 bytes: ~800 revisions fill 64 KiB). Before, the run blocked
      // in write(2) there, deaf to signals, with the lock held.
      expect(await until(async () => (await applied()) === COUNT, 60_000)).toBe(true);
      child.kill("SIGTERM");
      // The run stops and lets the lock go while stdout is still not read.
      expect(await until(async () => !(await lockHeld()), 20_000), stderr).toBe(true);
      // A reader comes (another process, so no read of this one's waits on the FIFO): what was
      // queued drains and the process ends; the FIFO's last writer closed, the reader ends too.
      const reader = spawn("cat", [fifo], { stdio: ["ignore", "ignore", "ignore"] });
      const read = new Promise((resolve) => reader.on("close", resolve));
      expect(await exited).toBe(143);
      closeSync(pipe);
      await read;
    } finally {
      await removeProject();
      await db.drop();
    }
  });

  it("a non-blocking pipe whose reader waits: all of `history --verbose`'s output, as written to a file", async () => {
    const expected = runToFile(dir, ["history", "--verbose"], "history.txt");
    expect(expected.status).toBe(0);
    // Several times what a pipe holds (64 KiB): the direct write meets EAGAIN.
    expect(expected.stdout.length).toBeGreaterThan(256 * 1024);
    const piped = await runOnSlowNonBlockingPipe(dir, ["history", "--verbose"], 1);
    expect(piped.status, piped.stderr).toBe(0);
    expect(piped.stdout).toBe(expected.stdout);
  });

  it("a config that writes with console.log: its line first, then every line of the command, on a file and on a slow pipe", async () => {
    const { dir: other, remove: removeOther } = await tempDir("athanor-process-output-config-");
    try {
      execFileSync("cp", ["-r", join(dir, "migrations"), other]);
      await writeFile(join(other, "athanor.config.mjs"), 'console.log("from the config");\nexport default { environments: { development: { url: "pglite://./.athanor/dev" } } };\n');
      const file = runToFile(other, ["history"], "history.txt");
      expect(file.status).toBe(0);
      const lines = file.stdout.split("\n");
      expect(lines[0]).toBe("from the config");
      expect(lines.filter((line) => / table \d+ /.test(line))).toHaveLength(COUNT);
      const piped = await runOnSlowNonBlockingPipe(other, ["history"], 1);
      expect(piped.status, piped.stderr).toBe(0);
      expect(piped.stdout).toBe(file.stdout);
    } finally {
      await removeOther();
    }
  });

  it("heads and history with stdout on /dev/full: exit 1 and one line on stderr saying so (the device's error comes a tick after the write)", () => {
    for (const command of [["heads"], ["history"]]) {
      const full = openSync("/dev/full", "w");
      try {
        execFileSync(process.execPath, [BIN, ...command], { cwd: dir, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", full, "pipe"] });
        expect.unreachable(`${command.join(" ")} exited 0 with its output lost`);
      } catch (error) {
        const { status, stderr } = error as { status: number; stderr: Buffer };
        expect(status).toBe(1);
        expect(stderr.toString()).toMatch(/^error: athanor's stdout could not be written \(ENOSPC\): its output after that was lost; the command itself ran to its end \(exit status 1\)\n$/);
      } finally {
        closeSync(full);
      }
    }
  });

  it("--json with stderr on /dev/full: stdout stays the one JSON document (the loss is not appended to it as text)", () => {
    const full = openSync("/dev/full", "w");
    try {
      // A usage error: its line goes to stderr (lost), its document to stdout.
      execFileSync(process.execPath, [BIN, "heads", "--json", "--no-such-option"], { cwd: dir, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", full] });
      expect.unreachable("a usage error exited 0");
    } catch (error) {
      const { status, stdout } = error as { status: number; stdout: Buffer };
      expect(status).toBe(2);
      expect((JSON.parse(stdout.toString()) as { error: { code: string } }).error.code).toBe("usage");
    } finally {
      closeSync(full);
    }
  });

  it("colours: none on a file, picocolors' with FORCE_COLOR (loaded only then), none with FORCE_COLOR=0", () => {
    const plain = execFileSync(process.execPath, [BIN, "history", "--graph"], { cwd: dir, env: baseEnv() as NodeJS.ProcessEnv, encoding: "utf8" });
    expect(plain).not.toContain("\u001b[");
    const forced = execFileSync(process.execPath, [BIN, "history", "--graph"], { cwd: dir, env: baseEnv({ FORCE_COLOR: "1" }) as NodeJS.ProcessEnv, encoding: "utf8" });
    expect(forced).toContain(`\u001b[33m${revisionIds[COUNT - 1] as string}\u001b[39m`);
    expect(forced.replace(/\u001b\[\d+m/g, "")).toBe(plain);
    // FORCE_COLOR=0 and =false mean no colours, as for Node and chalk.
    for (const off of ["0", "false"]) {
      const unforced = execFileSync(process.execPath, [BIN, "history", "--graph"], { cwd: dir, env: baseEnv({ FORCE_COLOR: off }) as NodeJS.ProcessEnv, encoding: "utf8" });
      expect(unforced).toBe(plain);
    }
    // NO_COLOR turns them off when it is not empty (no-color.org): an empty one says nothing.
    const colour = (extra: Record<string, string>) => execFileSync(process.execPath, [BIN, "history", "--graph"], { cwd: dir, env: baseEnv({ FORCE_COLOR: "1", ...extra }) as NodeJS.ProcessEnv, encoding: "utf8" });
    expect(colour({ NO_COLOR: "1" })).toBe(plain);
    expect(colour({ NO_COLOR: "" })).toBe(forced);
  });

  it("`heads` with its output on a file loads no node:stream (no Node stream is built)", async () => {
    // One revision: a large folder makes the CLI load node:v8 (which loads node:stream) to size V8's young generation.
    const { dir: small, remove: removeSmall } = await tempDir("athanor-process-output-heads-");
    try {
      await mkdir(join(small, "migrations"));
      await writeFile(join(small, "athanor.config.json"), JSON.stringify({ environments: { development: { url: "pglite://./.athanor/dev" } } }));
      await writeFile(join(small, "migrations", `${revisionIds[0] as string}_t0.sql`), sqlRevisionText({ id: revisionIds[0] as string, down: null, message: "table 0", upgrade: "CREATE TABLE t_0 (x int);" }));
      const preload = join(small, "modules.cjs");
      const list = join(small, "modules.txt");
      writeFileSync(preload, `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join("\\n")));\n`);
      const result = runToFile(small, ["heads"], "heads.txt", ["-r", preload]);
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(`${revisionIds[0] as string} (head) (base) table 0\n`);
      const loaded = readFileSync(list, "utf8").split("\n");
      expect(loaded).toContain("NativeModule vm");
      expect(loaded.filter((entry) => /^NativeModule (stream|internal\/streams\/(writable|readable|duplex))$/.test(entry))).toEqual([]);
    } finally {
      await removeSmall();
    }
  });
});
