/**
 * The directory scan lists names only and finds out that an entry is not a file when it
 * opens or reads it (src/revisions/script-directory.ts). A FIFO named like a revision
 * must then be skipped, as a listing with file types skipped it, and never block the
 * scan waiting for a writer: the scan opens without blocking. The real binary, in a child
 * process, so a blocked open fails this test by its timeout instead of hanging the run.
 * The same for the two caches athanor reads: the project's header cache and the CLI's
 * code cache, where a FIFO or a link to a device must never be read.
 */
import { execFileSync } from "node:child_process";
import { lstat, mkdir, readdir, rm, writeFile } from "node:fs/promises";
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

/** The project's header cache file (one per migrations directory), once a run has written it. */
async function headerCacheFile(): Promise<string> {
  const names = (await readdir(join(dir, ".athanor"))).filter((name) => /^revision-headers-[0-9a-f]+\.txt$/.test(name));
  expect(names).toHaveLength(1);
  return join(dir, ".athanor", names[0] as string);
}

it("reads no header cache that is a FIFO or a link to a device (it would block the run, deaf to signals, or read without end): the run does without it and writes a new one", async () => {
  for (const put of [(path: string) => execFileSync("mkfifo", [path]), (path: string) => execFileSync("ln", ["-s", "/dev/zero", path])]) {
    // A first run leaves an empty cache (its name is known from then on).
    expect((await spawnCli(["heads"], { cwd: dir, env: baseEnv(), timeoutMs: 20_000 })).status).toBe(0);
    const cache = await headerCacheFile();
    await rm(cache);
    put(cache);
    const result = await spawnCli(["heads", "--json"], { cwd: dir, env: baseEnv(), timeoutMs: 20_000 });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect((JSON.parse(result.stdout) as { heads: { id: string }[] }).heads.map((head) => head.id)).toEqual([B]);
    // Replaced by a regular file of athanor's (renamed into place over the entry, not written through it).
    expect((await lstat(cache)).isFile()).toBe(true);
    await rm(join(dir, ".athanor"), { recursive: true });
  }
});

it("reads no code cache that is a FIFO: the CLI starts without it and writes a regular one", async () => {
  const codeCache = join(dir, "code-cache");
  const env = baseEnv({ ATHANOR_CACHE_DIR: codeCache });
  expect((await spawnCli(["heads"], { cwd: dir, env, timeoutMs: 20_000 })).status).toBe(0);
  // One for each pack `heads` compiles (the bundle and bundle-read.cjs): both become FIFOs.
  const names = (await readdir(codeCache)).filter((name) => name.startsWith("cli-code-"));
  expect(names).toHaveLength(2);
  for (const name of names) {
    await rm(join(codeCache, name));
    execFileSync("mkfifo", ["-m", "600", join(codeCache, name)]);
  }
  const result = await spawnCli(["heads"], { cwd: dir, env, timeoutMs: 20_000 });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  expect(result.stdout).toContain(B);
  for (const name of names) expect((await lstat(join(codeCache, name))).isFile()).toBe(true);
});
