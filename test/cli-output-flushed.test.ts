/**
 * What the CLI writes reaches its reader before the process exits. On a pipe or socket
 * (a child_process's stdio, a CI runner's log) Node writes stdout asynchronously; the CLI
 * ends with process.exit so that open handles (a PGlite worker, a pool) cannot keep a
 * finished command alive, and it once exited with the end of its output still queued:
 * `revision --autogenerate` on 600 declared tables printed ~13 kB of its ~29 kB summary,
 * without the "created revision" line, and exited 0. Through the real binary.
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, spawnCli } from "./support/cli.js";
import { tempDir } from "./support/databases.js";

const TABLES = 600;

describe("the CLI's output through a pipe", () => {
  let dir: string;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-output-flushed-"));
    const config = { migrations: "./migrations", schema: "./schema.sql", environments: { development: { url: "pglite://memory" } } };
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify(config));
    await mkdir(join(dir, "migrations"));
    const tables = Array.from({ length: TABLES }, (_, i) => `CREATE TABLE table_with_a_long_name_${i} (id int);\n`);
    await writeFile(join(dir, "schema.sql"), tables.join(""));
  });

  afterAll(async () => {
    await remove?.();
  });

  it("is whole when the command exits: every line of a long autogenerate summary and the last one", async () => {
    const result = await spawnCli(["revision", "-m", "initial", "--autogenerate"], { cwd: dir, env: baseEnv(), timeoutMs: 300_000 });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines.filter((line) => /^\+ create table public\.table_with_a_long_name_\d+$/.test(line))).toHaveLength(TABLES);
    const written = await readdir(join(dir, "migrations"));
    expect(written).toHaveLength(1);
    expect(lines.at(-1)).toBe(`created revision ${written[0]?.slice(0, 12)} (a new root): migrations/${written[0]}`);
  }, 300_000);
});
