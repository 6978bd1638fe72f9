/**
 * An exception that code athanor loaded throws outside any promise chain (a timer's
 * callback, an EventEmitter's 'error' event with no listener) ends the run in one line
 * naming the file, with exit 1 and, under --json, the error document, instead of Node's
 * stack trace: the revision it interrupted is rolled back and the lock is free for the
 * next run. Through the real binary (`npm run build` first).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseDatabaseUrl } from "../src/config/url.js";
import { openSession } from "../src/dialects/open.js";
import { baseEnv, spawnCli } from "./support/cli.js";
import { createPostgresDatabase, tempDir, type TestDatabase } from "./support/databases.js";

const R1 = "d4d4d4d4d4d4";

/** Creates a table, then (MODE) lets a timer throw or an emitter emit 'error' with no listener, and waits for it. */
const THROWING_REVISION = `import { defineMigration } from "athanor";
import { EventEmitter } from "node:events";

export default defineMigration({
  revision: "${R1}",
  down: null,
  message: "throws",
  async upgrade({ sql }) {
    await sql\`CREATE TABLE thrown (x int)\`;
    const mode = process.env["MODE"];
    if (mode === "timer") setTimeout(() => { throw new Error("boom from a timer"); }, 0);
    if (mode === "emitter") setTimeout(() => new EventEmitter().emit("error", new Error("boom from an emitter")), 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
  },
});
`;

describe.each(["PostgreSQL", "PGlite"] as const)("an exception a TypeScript revision throws outside any promise chain (%s)", { timeout: 300_000 }, (engine) => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase | undefined;
  let url: string;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-uncaught-"));
    db = engine === "PostgreSQL" ? await createPostgresDatabase("athanor_uncaught") : undefined;
    url = db?.url ?? "pglite://./data";
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url } } }));
    await writeFile(join(dir, "migrations", `${R1}_throws.ts`), THROWING_REVISION);
  });
  afterAll(async () => {
    await db?.drop();
    await remove();
  });

  async function applied(): Promise<{ versions: number; table: boolean }> {
    const session = await openSession(parseDatabaseUrl(url, dir, "the test").target);
    try {
      const table = (await session.query<{ t: string | null }>("SELECT to_regclass('thrown')::text AS t")).rows[0]?.t !== null;
      const exists = (await session.query<{ t: string | null }>("SELECT to_regclass('athanor_version')::text AS t")).rows[0]?.t !== null;
      const versions = exists ? Number((await session.query<{ n: string }>("SELECT count(*) AS n FROM athanor_version")).rows[0]?.n) : 0;
      return { versions, table };
    } finally {
      await session.close();
    }
  }

  for (const [mode, message, line] of [
    ["timer", "boom from a timer", 11],
    ["emitter", "boom from an emitter", 12],
  ] as const) {
    it(`from ${mode === "timer" ? "a timer" : "an emitter's 'error' event"}: one line naming the file, exit 1, the document under --json, the revision rolled back`, async () => {
      const result = await spawnCli(["upgrade"], { cwd: dir, env: baseEnv({ MODE: mode }), timeoutMs: 240_000 });
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr).toContain(`error: ${join(dir, "migrations", `${R1}_throws.ts`)}:${String(line)} threw an exception outside any promise chain (in a timer's or an event's callback?): ${message}\n  hint: `);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.stderr).not.toContain("Node.js v");

      const json = await spawnCli(["upgrade", "--json"], { cwd: dir, env: baseEnv({ MODE: mode }), timeoutMs: 240_000 });
      expect(json.status, json.stderr).toBe(1);
      expect(JSON.parse(json.stdout)).toEqual({ error: { code: "uncaught-exception", message: expect.stringContaining(message), hint: expect.stringContaining("catch it where it is thrown"), exitStatus: 1, details: {} } });
      expect(await applied()).toEqual({ versions: 0, table: false });
    });
  }

  it("leaves the lock free: the next run, whose revision does not throw, applies it at once", async () => {
    const result = await spawnCli(["upgrade", "--lock-wait", "2"], { cwd: dir, env: baseEnv(), timeoutMs: 240_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(await applied()).toEqual({ versions: 1, table: true });
  });
});

describe("an exception a config module's timer throws", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-uncaught-config-"));
    await mkdir(join(dir, "migrations"));
    await writeFile(
      join(dir, "athanor.config.ts"),
      `import { defineConfig } from "athanor";\nsetTimeout(() => { throw new Error("boom from the config"); }, 0);\nawait new Promise((resolve) => setTimeout(resolve, 500));\nexport default defineConfig({ environments: { development: { url: "pglite://memory" } } });\n`,
    );
  });
  afterAll(() => remove());

  it("one line naming the config file, exit 1", async () => {
    const result = await spawnCli(["heads"], { cwd: dir, env: baseEnv(), timeoutMs: 60_000 });
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain(`error: ${join(dir, "athanor.config.ts")}:2 threw an exception outside any promise chain (in a timer's or an event's callback?): boom from the config`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
