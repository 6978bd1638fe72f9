/**
 * Output athanor cannot write never stops a command part-way. A reader that goes away
 * (`athanor upgrade | head`, a log shipper that dies: EPIPE) used to end the process at
 * once with status 0, between two revisions of an upgrade: a CI step reported success on
 * a partial migration. Now the rest of that output is dropped and the run goes to its end:
 * every revision applied, status 0 (a closed reader is not an error). Output lost for
 * another reason (a full disk: /dev/full) ends a successful run with status 1 and says so
 * on the other stream, instead of a raw stack trace. Through the real binary on
 * PostgreSQL (`npm run build` first).
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BIN, baseEnv } from "./support/cli.js";
import { createPostgresDatabase, queryUrl, tempDir, type TestDatabase } from "./support/databases.js";
import { ids, sqlRevisionText } from "./support/engine-project.js";

const COUNT = 40;
const revisionIds = ids(COUNT, "f");

describe("output that cannot be written (PostgreSQL)", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase;

  beforeEach(async () => {
    ({ dir, remove } = await tempDir("athanor-output-lost-"));
    db = await createPostgresDatabase("athanor_output_lost");
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: db.url } } }));
    for (const [k, id] of revisionIds.entries()) {
      await writeFile(join(dir, "migrations", `${id}_t${k}.sql`), sqlRevisionText({ id, down: k > 0 ? (revisionIds[k - 1] ?? null) : null, message: `table ${k}`, upgrade: `CREATE TABLE t_${k} (x int);` }));
    }
  });
  afterEach(async () => {
    await db?.drop();
    await remove();
  });

  const applied = async (): Promise<number> => Number((await queryUrl<{ n: string }>(db.url, "SELECT count(*) AS n FROM athanor_version"))[0]?.n);

  /** Runs `upgrade` with one of its output pipes closed by the reader after its first chunk. */
  function runClosingReader(args: string[], closed: "stdout" | "stderr"): Promise<{ status: number | null; other: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
      let other = "";
      const reader = closed === "stdout" ? child.stdout : child.stderr;
      reader.once("data", () => reader.destroy());
      (closed === "stdout" ? child.stderr : child.stdout).on("data", (chunk: Buffer) => (other += chunk.toString()));
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, other }));
    });
  }

  it("a reader of stdout that goes away after the first line: every revision applied, status 0", async () => {
    const result = await runClosingReader(["upgrade"], "stdout");
    expect(result.status, result.other).toBe(0);
    expect(await applied()).toBe(COUNT);
  });

  it("a reader of stderr (JSON log lines) that goes away: every revision applied, status 0", async () => {
    const result = await runClosingReader(["upgrade", "--log-format", "json"], "stderr");
    expect(result.status, result.other).toBe(0);
    expect(await applied()).toBe(COUNT);
  });

  it("stdout on a full disk (/dev/full): every revision applied, status 1, said on stderr, no stack trace", async () => {
    const full = openSync("/dev/full", "w");
    try {
      const result = await new Promise<{ status: number | null; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, "upgrade"], { cwd: dir, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", full, "pipe"] });
        let stderr = "";
        child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("error", reject);
        child.on("close", (status) => resolve({ status, stderr }));
      });
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr).toContain("error: athanor's stdout could not be written (ENOSPC)");
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(await applied()).toBe(COUNT);
    } finally {
      closeSync(full);
    }
  });
});
