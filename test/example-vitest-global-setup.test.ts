/**
 * examples/vitest-global-setup, run for real: Vitest in a child process, in the
 * example's directory, once on PGlite (TEST_DATABASE_URL unset) and once on the test
 * PostgreSQL server. The suite passes, and the global setup's teardown leaves nothing
 * behind (no database, no temporary directory). The example type-checks.
 *
 * Needs `npm run build`: the example imports "athanor", which resolves to this
 * package's dist/ (a package may import itself by name).
 */
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serverUrl, tempDir } from "./support/databases.js";

const EXAMPLE = fileURLToPath(new URL("../examples/vitest-global-setup/", import.meta.url));
const VITEST = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));
const TSC = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));

function run(argv: string[], env: Record<string, string>): Promise<{ status: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: EXAMPLE, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? 1, output });
    });
  });
}

async function countTestDatabases(): Promise<number> {
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    const result = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'app\\_test\\_%'");
    return result.rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

describe("examples/vitest-global-setup", () => {
  /** What the global setup and the tests left in TMPDIR (jiti keeps its cache there too). */
  const leftovers = async (): Promise<string[]> => (await readdir(tmp.dir)).filter((name) => name.startsWith("app-test-"));
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    PATH: process.env["PATH"] ?? "",
    HOME: process.env["HOME"] ?? "/tmp",
    // Where the global setup's temporary directories go, to check that teardown removes them.
    TMPDIR: tmp.dir,
    NO_COLOR: "1",
    ...extra,
  });

  beforeAll(async () => {
    tmp = await tempDir("athanor-vitest-example-");
  });

  afterAll(async () => {
    await tmp?.remove();
  });

  it("passes on PGlite and removes its temporary directories", async () => {
    const result = await run([VITEST, "run"], env());
    expect(result.output).toMatch(/Tests\s+4 passed \(4\)/);
    expect(result.status).toBe(0);
    expect(await leftovers()).toEqual([]);
  }, 240_000);

  it("passes on PostgreSQL and drops its database", async () => {
    const before = await countTestDatabases();
    const result = await run([VITEST, "run"], env({ TEST_DATABASE_URL: serverUrl() }));
    expect(result.output).toMatch(/Tests\s+4 passed \(4\)/);
    expect(result.status).toBe(0);
    expect(await countTestDatabases()).toBe(before);
    expect(await leftovers()).toEqual([]);
  }, 240_000);

  it("type-checks (strict)", async () => {
    const result = await run([TSC, "-p", "tsconfig.json"], env());
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
  }, 120_000);
});
