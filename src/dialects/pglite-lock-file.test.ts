import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { directoryOpenRequest, lockDataDirectory } from "./pglite-lock-file.js";
import { lockFilePath } from "./pglite-lock-path.js";

/**
 * Reads `path` in a tight loop on a thread of its own until told to stop, and answers with
 * the texts it found that were not whole JSON (an empty or half-written lock file).
 */
const READER = `
const { parentPort, workerData } = require("node:worker_threads");
const { readFileSync } = require("node:fs");
const partial = [];
let reading = true;
parentPort.on("message", () => { reading = false; });
const loop = () => {
  for (let i = 0; i < 2000 && reading; i++) {
    let text = null;
    try { text = readFileSync(workerData, "utf8"); } catch {}
    if (text !== null) { try { JSON.parse(text); } catch { partial.push(text); } }
  }
  if (reading) setImmediate(loop); else parentPort.postMessage(partial);
};
loop();
`;

describe("lockDataDirectory", () => {
  it("a lock file is never seen empty or half written: a reader finds it whole or absent", async () => {
    const dir = await mkdtemp(join(tmpdir(), "athanor-lock-file-"));
    try {
      const dataDir = join(dir, "db");
      const reader = new Worker(READER, { eval: true, workerData: lockFilePath(dataDir) });
      const found = new Promise<string[]>((resolve) => reader.once("message", resolve));
      for (let i = 0; i < 200; i++) {
        const release = await lockDataDirectory(dataDir, directoryOpenRequest(dataDir, 1_000), "athanor test");
        await release();
      }
      reader.postMessage("stop");
      const partial = await found;
      await reader.terminate();
      expect(partial).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
