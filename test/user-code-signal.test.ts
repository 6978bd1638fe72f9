/**
 * SIGINT while a TypeScript revision awaits a promise that never settles: the first
 * signal says at once what athanor does, and the run ends as documented (exit 130, the
 * revision rolled back and recorded as interrupted, the lock released) without the second
 * signal that used to be the only way out. Through the real binary (`npm run build` first),
 * and in-process through the library for what the abandoned function does afterwards.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseDatabaseUrl } from "../src/config/url.js";
import { openSession } from "../src/dialects/open.js";
import { BIN, baseEnv, spawnCli } from "./support/cli.js";
import { createPostgresDatabase, tempDir, type TestDatabase } from "./support/databases.js";
import { createEngineProject, historyRows, pgliteEngine, postgresEngine, tablesIn, type Engine, type EngineDatabase, type EngineProject } from "./support/engine-project.js";
import { upgrade } from "../src/commands/upgrade.js";

const R1 = "e5e5e5e5e5e5";

/** Creates a table, says so on stderr, then (unless MODE is "return") waits for a promise nothing settles (a timer keeps the process alive). */
const HANGING_REVISION = `import { defineMigration } from "athanor";

export default defineMigration({
  revision: "${R1}",
  down: null,
  message: "hangs",
  async upgrade({ sql }) {
    await sql\`CREATE TABLE hung (x int)\`;
    console.error("the revision waits");
    if (process.env["MODE"] !== "return") await new Promise(() => { setInterval(() => {}, 1_000); });
  },
});
`;

describe.each(["PostgreSQL", "PGlite"] as const)("SIGINT while a TypeScript revision awaits a promise that never settles (%s)", { timeout: 300_000 }, (engine) => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase | undefined;
  let url: string;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-hang-"));
    db = engine === "PostgreSQL" ? await createPostgresDatabase("athanor_hang") : undefined;
    url = db?.url ?? "pglite://./data";
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url } } }));
    await writeFile(join(dir, "migrations", `${R1}_hangs.ts`), HANGING_REVISION);
  });
  afterAll(async () => {
    await db?.drop();
    await remove();
  });

  it("the first one says what athanor does and ends the run: exit 130, rolled back, recorded as interrupted, the lock free", async () => {
    const child = spawn(process.execPath, [BIN, "upgrade"], { cwd: dir, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let stderrWhenSignalled: string | null = null;
    let stderrAfterSignal = "";
    child.stdout.resume();
    const done = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderrWhenSignalled !== null) stderrAfterSignal = stderr.slice(stderrWhenSignalled.length);
      if (stderrWhenSignalled === null && stderr.includes("the revision waits")) {
        stderrWhenSignalled = stderr;
        child.kill("SIGINT");
      }
    });
    const status = await done;
    expect(status, stderr).toBe(130);
    expect(stderrAfterSignal).toMatch(/^SIGINT: stopping: .*press Ctrl-C again to exit within 1 s without waiting for that\)\n/);
    expect(stderr).not.toContain("SIGINT again");
    expect(stderr).toContain("error: interrupted by SIGINT");
    expect(stderr).not.toMatch(/\n\s+at /);

    const session = await openSession(parseDatabaseUrl(url, dir, "the test").target);
    try {
      expect((await session.query<{ t: string | null }>("SELECT to_regclass('hung')::text AS t")).rows[0]?.t).toBeNull();
      expect((await session.query("SELECT revision FROM athanor_version")).rows).toEqual([]);
      const history = (await session.query<{ revision: string; outcome: string; error: string }>("SELECT revision, outcome, error FROM athanor_version_history ORDER BY id")).rows;
      expect(history).toEqual([{ revision: R1, outcome: "failed", error: expect.stringContaining("interrupted by SIGINT") }]);
    } finally {
      await session.close();
    }
    // The lock is free: a run that does not wait for it applies the revision.
    const next = await spawnCli(["upgrade", "--lock-wait", "1"], { cwd: dir, env: baseEnv({ MODE: "return" }), timeoutMs: 120_000 });
    expect(next.status, next.stderr).toBe(0);
  });
});

/**
 * Handed to the revision below through globalThis (it runs in this process): it says when
 * it waits, waits for `resume`, then tries one more statement and keeps what happened.
 */
interface LateHook {
  reached(): void;
  readonly resume: Promise<void>;
  outcome?: unknown;
}

const LATE = "f6f6f6f6f6f6";
const LATE_REVISION = `import { defineMigration } from "athanor";

const hook = (globalThis as unknown as { athanorLateHook: { reached(): void; resume: Promise<void>; outcome?: unknown } }).athanorLateHook;

export default defineMigration({
  revision: "${LATE}",
  down: null,
  message: "late",
  async upgrade({ sql }) {
    await sql\`CREATE TABLE early (x int)\`;
    hook.reached();
    await hook.resume;
    try {
      await sql\`CREATE TABLE late (x int)\`;
      hook.outcome = "ran";
    } catch (error) {
      hook.outcome = error;
    }
  },
});
`;

for (const engine of [postgresEngine(), pgliteEngine()] as Engine[]) {
  describe(`a revision given up on by a signal (library, ${engine.dialect})`, { timeout: 120_000 }, () => {
    let project: EngineProject;
    let db: EngineDatabase;

    beforeAll(async () => {
      project = await createEngineProject();
      db = await engine.database();
      await project.writeFile(`${LATE}_late.ts`, LATE_REVISION);
      await project.configure({ development: db.envConfig });
    });
    afterAll(async () => {
      await db.drop();
      await engine.close();
      await project.remove();
    });

    it("the run ends interrupted and rolled back at once; a statement the function starts afterwards is refused, not run outside the transaction", async () => {
      let reached = (): void => {};
      const waiting = new Promise<void>((resolve) => (reached = resolve));
      let resume = (): void => {};
      const hook: LateHook = { reached, resume: new Promise<void>((resolve) => (resume = resolve)) };
      (globalThis as unknown as { athanorLateHook: LateHook }).athanorLateHook = hook;
      const controller = new AbortController();
      const run = upgrade(await project.env("development"), { ...(db.session === undefined ? {} : { session: db.session }), signal: controller.signal });
      await waiting;
      controller.abort("SIGINT");
      await expect(run).rejects.toMatchObject({ code: "interrupted", exitStatus: 130 });
      resume();
      await vi.waitFor(() => expect(hook.outcome).toBeDefined());
      expect(hook.outcome).toMatchObject({ code: "interrupted" });
      expect((await tablesIn(db)).filter((name) => !name.startsWith("athanor_"))).toEqual([]);
      expect(await historyRows(db)).toEqual([expect.objectContaining({ revision: LATE, outcome: "failed", error: expect.stringContaining("interrupted by SIGINT") })]);
    });
  });
}
