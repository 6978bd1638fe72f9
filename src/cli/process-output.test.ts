/**
 * How the CLI writes to each kind of descriptor (src/cli/process-output.ts): files and
 * /dev/null directly; pipes and sockets through Node's stream, built when first written
 * (a synchronous write to a stalled pipe blocks the process, deaf to signals); another
 * character device (a terminal, /dev/full), a closed descriptor and anything on Windows
 * through Node's stream from the start.
 */
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { outputKind } from "./process-output.js";

describe("outputKind", () => {
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

  it("a regular file and /dev/null: written directly", () => {
    withFd(join(dir, "out.txt"), "w", (fd) => expect(outputKind(fd, "linux")).toBe("direct"));
    withFd("/dev/null", "w", (fd) => expect(outputKind(fd, "linux")).toBe("direct"));
  });

  it("a FIFO (a pipe): Node's stream, once something is written", () => {
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    // Read-write, so opening does not wait for a reader.
    withFd(fifo, "r+", (fd) => expect(outputKind(fd, "linux")).toBe("stream-when-written"));
  });

  it("another character device (/dev/full, /dev/zero; a terminal is one): Node's stream from the start", () => {
    withFd("/dev/full", "w", (fd) => expect(outputKind(fd)).toBe("stream"));
    withFd("/dev/zero", "w", (fd) => expect(outputKind(fd)).toBe("stream"));
  });

  it("a closed descriptor, and anything on Windows: Node's stream from the start", () => {
    const fd = openSync(join(dir, "closed.txt"), "w");
    closeSync(fd);
    expect(outputKind(fd, "linux")).toBe("stream");
    withFd(join(dir, "win.txt"), "w", (open) => expect(outputKind(open, "win32")).toBe("stream"));
  });
});
