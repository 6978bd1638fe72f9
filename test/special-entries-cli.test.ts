/**
 * The directory scan lists names only and finds out that an entry is not a file when it
 * opens or reads it (src/revisions/script-directory.ts). A FIFO named like a revision
 * must then be skipped, as a listing with file types skipped it, and never block the
 * scan waiting for a writer: the scan opens without blocking. The real binary, in a child
 * process, so a blocked open fails this test by its timeout instead of hanging the run.
 */
import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { baseEnv, spawnCli } from "./support/cli.js";
import { tempDir } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";

const A = "f00000000001";
const B = "f00000000002";

let dir: string;
let remove: () => Promise<void>;

beforeEach(async () => {
  ({ dir, remove } = await tempDir("athanor-special-entries-"));
  await mkdir(join(dir, "migrations"));
  await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: "pglite://./.data/dev" } } }));
  await writeFile(join(dir, "migrations", `${A}_base.sql`), sqlRevisionText({ id: A, message: "base", upgrade: "CREATE TABLE a (id int);", downgrade: "DROP TABLE a;" }));
  await writeFile(join(dir, "migrations", `${B}_next.sql`), sqlRevisionText({ id: B, down: A, message: "next", upgrade: "CREATE TABLE b (id int);", downgrade: "DROP TABLE b;" }));
});

afterEach(async () => {
  await remove();
});

it("skips a FIFO and a directory named like revisions on the first, the cache-filling and a warm run", async () => {
  execFileSync("mkfifo", [join(dir, "migrations", "0_pipe.sql")]);
  await mkdir(join(dir, "migrations", "1_folder.sql"));
  for (let run = 0; run < 3; run += 1) {
    const result = await spawnCli(["heads", "--json"], { cwd: dir, env: baseEnv(), timeoutMs: 20_000 });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect((JSON.parse(result.stdout) as { heads: { id: string }[] }).heads.map((head) => head.id)).toEqual([B]);
  }
});
