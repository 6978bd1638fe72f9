/**
 * Which descriptors the CLI writes to directly (src/cli/process-output.ts): files, pipes,
 * sockets and /dev/null; never another character device (a terminal, /dev/full), nor on Windows.
 */
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writesDirectly } from "./process-output.js";

describe("writesDirectly", () => {
  const dir = mkdtempSync(join(tmpdir(), "athanor-process-output-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const withFd = (path: string, flags: string | number, check: (fd: number) => void): void => {
    const fd = openSync(path, flags);
    try {
      check(fd);
    } finally {
      closeSync(fd);
    }
  };

  it("a regular file, a FIFO and /dev/null: yes", () => {
    withFd(join(dir, "out.txt"), "w", (fd) => expect(writesDirectly(fd, "linux")).toBe(true));
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    // Read-write, so opening does not wait for a reader.
    withFd(fifo, "r+", (fd) => expect(writesDirectly(fd, "linux")).toBe(true));
    withFd("/dev/null", "w", (fd) => expect(writesDirectly(fd, "linux")).toBe(true));
  });

  it("another character device (/dev/full, /dev/zero; a terminal is one): no, Node's stream handles it", () => {
    withFd("/dev/full", "w", (fd) => expect(writesDirectly(fd)).toBe(false));
    withFd("/dev/zero", "w", (fd) => expect(writesDirectly(fd)).toBe(false));
  });

  it("a closed descriptor, and anything on Windows: no", () => {
    const fd = openSync(join(dir, "closed.txt"), "w");
    closeSync(fd);
    expect(writesDirectly(fd, "linux")).toBe(false);
    withFd(join(dir, "win.txt"), "w", (open) => expect(writesDirectly(open, "win32")).toBe(false));
  });
});
