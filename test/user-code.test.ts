/**
 * Code athanor loads but does not own (issue 12.6): a TypeScript revision, a config file
 * or a settings module cannot end the process behind athanor's back, and a settings
 * module that throws or never settles is a configuration error naming it. Through the
 * real binary (`npm run build` first): what matters is the process's exit status.
 * Also a second SIGINT: one line, and the interrupted run still recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { chmod, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseDatabaseUrl } from "../src/config/url.js";
import { openSession } from "../src/dialects/open.js";
import type { Session } from "../src/dialects/types.js";
import { BIN, baseEnv, spawnCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, tempDir, type TestDatabase } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";

const R1 = "a1a1a1a1a1a1";
const R2 = "b2b2b2b2b2b2";

/** A TypeScript revision that calls process.exit(0) at the top level or inside upgrade(), as EXIT_AT says. */
const EXITING_REVISION = `import { defineMigration } from "athanor";

if (process.env["EXIT_AT"] === "top") process.exit(0);

export default defineMigration({
  revision: "${R2}",
  down: "${R1}",
  message: "exits",
  async upgrade({ sql }) {
    await sql.unsafe("CREATE TABLE two (x int)");
    if (process.env["EXIT_AT"] === "upgrade") process.exit(0);
  },
});
`;

interface HistoryRow {
  revision: string | null;
  outcome: string;
  error: string | null;
}

async function readState(url: string, dir: string): Promise<{ versions: string[]; history: HistoryRow[]; two: boolean }> {
  const session = await openSession(parseDatabaseUrl(url, dir, "the test").target);
  try {
    const versions = (await session.query<{ revision: string }>("SELECT revision FROM athanor_version ORDER BY applied_at, revision")).rows.map((row) => row.revision);
    const history = (await session.query<HistoryRow>("SELECT revision, outcome, error FROM athanor_version_history ORDER BY id")).rows;
    const two = (await session.query<{ t: string | null }>("SELECT to_regclass('two')::text AS t")).rows[0]?.t !== null;
    return { versions, history, two };
  } finally {
    await session.close();
  }
}

describe.each(["PostgreSQL", "PGlite"] as const)("process.exit in a TypeScript revision (%s)", { timeout: 300_000 }, (engine) => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase | undefined;
  let url: string;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-usercode-"));
    db = engine === "PostgreSQL" ? await createPostgresDatabase("athanor_usercode") : undefined;
    url = db?.url ?? "pglite://./data";
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url } } }));
    await writeFile(join(dir, "migrations", `${R1}_one.sql`), sqlRevisionText({ id: R1, message: "one", upgrade: "CREATE TABLE one (x int);" }));
    await writeFile(join(dir, "migrations", `${R2}_exits.ts`), EXITING_REVISION);
  });
  afterAll(async () => {
    await db?.drop();
    await remove();
  });

  it("at the top level or inside upgrade(): exit 1 naming the file, a failed history row, the revision rolled back", async () => {
    const top = await spawnCli(["upgrade"], { cwd: dir, env: baseEnv({ EXIT_AT: "top" }), timeoutMs: 240_000 });
    expect(top.status, top.stderr).toBe(1);
    expect(top.stderr).toContain(`migrations/${R2}_exits.ts called process.exit(0)`);
    const inside = await spawnCli(["upgrade"], { cwd: dir, env: baseEnv({ EXIT_AT: "upgrade" }), timeoutMs: 240_000 });
    expect(inside.status, inside.stderr).toBe(1);
    expect(inside.stderr).toContain(`migrations/${R2}_exits.ts called process.exit(0)`);
    expect(inside.stderr).not.toContain("internal error");

    const state = await readState(url, dir);
    expect(state.versions).toEqual([R1]);
    expect(state.two).toBe(false);
    expect(state.history.map((row) => [row.revision, row.outcome])).toEqual([
      [R1, "success"],
      [R2, "failed"],
      [R2, "failed"],
    ]);
    for (const row of state.history.slice(1)) expect(row.error).toContain("called process.exit(0)");
  });
});

/**
 * A TypeScript revision that starts statements with `sql` and does not await them (MODE
 * "failing": two succeed, one fails; "succeeding": all three would succeed), or that prints
 * with console.log and awaits three statements it started together (MODE "logs").
 */
const UNAWAITED_REVISION = `import { defineMigration } from "athanor";

export default defineMigration({
  revision: "${R2}",
  down: "${R1}",
  message: "user code",
  async upgrade({ sql }) {
    const mode = process.env["MODE"];
    if (mode === "logs") {
      console.log("backfilling...");
      // Started together, run one after the other in the order they were called.
      await Promise.all([sql\`CREATE TABLE two (x int)\`, sql\`INSERT INTO two VALUES (1)\`, sql.unsafe("INSERT INTO two VALUES (2)")]);
      console.info("done");
      return;
    }
    sql\`INSERT INTO one VALUES (1)\`;
    sql\`INSERT INTO one VALUES (3)\`;
    sql.unsafe(mode === "failing" ? "INSERT INTO nosuch VALUES (1)" : "INSERT INTO one VALUES (2)");
  },
});
`;

describe.each(["PostgreSQL", "PGlite"] as const)("statements a TypeScript revision does not await, and its console output under --json (%s)", { timeout: 300_000 }, (engine) => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase | undefined;
  let url: string;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-unawaited-"));
    db = engine === "PostgreSQL" ? await createPostgresDatabase("athanor_unawaited") : undefined;
    url = db?.url ?? "pglite://./data";
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url } } }));
    await writeFile(join(dir, "migrations", `${R1}_one.sql`), sqlRevisionText({ id: R1, message: "one", upgrade: "CREATE TABLE one (x int);" }));
    await writeFile(join(dir, "migrations", `${R2}_user_code.ts`), UNAWAITED_REVISION);
  });
  afterAll(async () => {
    await db?.drop();
    await remove();
  });

  async function rowsOfOne(): Promise<number> {
    const session = await openSession(parseDatabaseUrl(url, dir, "the test").target);
    try {
      return Number((await session.query<{ n: string }>("SELECT count(*) AS n FROM one")).rows[0]?.n);
    } finally {
      await session.close();
    }
  }

  it("fail the revision once they settled (exit 1, no stack, no unhandled rejection), and nothing of it stays: failing or succeeding", async () => {
    for (const mode of ["failing", "succeeding"]) {
      const result = await spawnCli(["upgrade", "--json"], { cwd: dir, env: baseEnv({ MODE: mode }), timeoutMs: 240_000 });
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr).toContain(`revision ${R2} (${R2}_user_code.ts) returned while 3 statements it started were still running (the first: INSERT INTO one VALUES (1)); the revision was not applied`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      // athanor queues them itself: node-postgres's warning about queued queries never shows.
      expect(result.stderr).not.toContain("DeprecationWarning");
      const document = JSON.parse(result.stdout) as { error: { code: string; exitStatus: number } };
      expect(document.error).toMatchObject({ code: "unawaited-statement", exitStatus: 1 });
      // Rolled back: the statement that succeeded (and, before, ran outside what athanor waited for) left no row.
      expect(await rowsOfOne()).toBe(0);
    }
    const state = await readState(url, dir);
    expect(state.versions).toEqual([R1]);
    expect(state.history.map((row) => [row.revision, row.outcome])).toEqual([
      [R1, "success"],
      [R2, "failed"],
      [R2, "failed"],
    ]);
    for (const row of state.history.slice(1)) expect(row.error).toContain("still running");
  });

  it("console.log and console.info from the revision go to stderr under --json: stdout is one JSON document; statements started together run in order, without node-postgres's warning", async () => {
    const result = await spawnCli(["upgrade", "--json"], { cwd: dir, env: baseEnv({ MODE: "logs" }), timeoutMs: 240_000 });
    expect(result.status, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout) as { completed: string[] };
    expect(document.completed).toEqual([R2]);
    expect(result.stderr).toContain("backfilling...\n");
    expect(result.stderr).toContain("done\n");
    expect(result.stderr).not.toContain("DeprecationWarning");
    expect((await readState(url, dir)).two).toBe(true);
  });

  it("a promise the revision rejects and nobody awaits: exit 1 with one line saying so, no stack trace, the document under --json", async () => {
    await writeFile(
      join(dir, "migrations", "c3c3c3c3c3c3_floating.ts"),
      `import { defineMigration } from "athanor";\nexport default defineMigration({ revision: "c3c3c3c3c3c3", down: "${R2}", message: "floating", async upgrade({ sql }) { void Promise.reject(new Error("boom in the revision")); await sql\`SELECT 1\`; } });\n`,
    );
    const result = await spawnCli(["upgrade", "--json"], { cwd: dir, env: baseEnv(), timeoutMs: 240_000 });
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain("error: a promise rejected and nothing was waiting for it (code athanor loaded: a revision, the config or the settings module?): boom in the revision");
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // With --json, the error is also the one document on stdout, shaped as every other.
    expect(JSON.parse(result.stdout)).toEqual({ error: { code: "unhandled-rejection", message: expect.stringContaining("boom in the revision"), hint: expect.stringContaining("await every promise"), exitStatus: 1, details: {} } });
  });
});

/** A TypeScript revision whose timer throws 30 ms after it returned (MODE "timer"), or that calls process.exit (MODE "exit"). */
const LATE_FAILING_REVISION = `import { defineMigration } from "athanor";

export default defineMigration({
  revision: "${R2}",
  down: "${R1}",
  message: "late",
  async upgrade({ sql }) {
    await sql\`CREATE TABLE two (x int)\`;
    if (process.env["MODE"] === "exit") process.exit(0);
    setTimeout(() => { throw new Error("timer boom"); }, 30);
  },
});
`;

/**
 * What the output says a failure of loaded code left, with and without
 * --single-transaction (adv15 F19): inside the plan's one transaction nothing of the run
 * stays, the revisions reported as applied included; outside it, they stay.
 */
describe("loaded code failing under --single-transaction (PostgreSQL)", { timeout: 300_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  const dbs: TestDatabase[] = [];

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-late-"));
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "migrations", `${R1}_one.sql`), sqlRevisionText({ id: R1, message: "one", upgrade: "CREATE TABLE one (x int);" }));
    await writeFile(join(dir, "migrations", `${R2}_late.ts`), LATE_FAILING_REVISION);
    // Still running when R2's timer fires.
    await writeFile(join(dir, "migrations", "c3c3c3c3c3c3_sleeps.sql"), sqlRevisionText({ id: "c3c3c3c3c3c3", down: R2, message: "sleeps", upgrade: "SELECT pg_sleep(1);" }));
  });
  afterAll(async () => {
    for (const db of dbs) await db.drop();
    await remove();
  });

  /** Runs `upgrade` with `args` on a new database; returns the result and the database's state after. */
  async function upgradeOnNewDatabase(args: string[], mode: "timer" | "exit"): Promise<{ result: CliResult; state: Awaited<ReturnType<typeof readState>> }> {
    const db = await createPostgresDatabase("athanor_late");
    dbs.push(db);
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: db.url } } }));
    const result = await spawnCli(["upgrade", ...args], { cwd: dir, env: baseEnv({ MODE: mode }), timeoutMs: 240_000 });
    return { result, state: await readState(db.url, dir) };
  }

  it("a timer's exception: inside the plan's transaction nothing stays and the hint says so; outside it, the revisions reported stay", async () => {
    const single = await upgradeOnNewDatabase(["--single-transaction"], "timer");
    expect(single.result.status, single.result.stderr).toBe(1);
    expect(single.result.stdout).toContain(`upgrade ${R1} one`);
    expect(single.result.stderr).toContain("timer boom");
    expect(single.result.stderr).toContain("inside the plan's single transaction (--single-transaction), which is rolled back as its connection closes: no revision of this run stays, not even those reported");
    expect(single.result.stderr).not.toContain("the revisions it reported as applied stay");
    expect(single.state.versions).toEqual([]);
    expect(single.state.two).toBe(false);

    const own = await upgradeOnNewDatabase([], "timer");
    expect(own.result.status, own.result.stderr).toBe(1);
    expect(own.result.stderr).toContain("the revisions it reported as applied stay");
    expect(own.state.versions).toEqual([R1, R2]);
  });

  it("process.exit: the hint says what the failure left, the whole plan rolled back or the revision alone", async () => {
    const single = await upgradeOnNewDatabase(["--single-transaction"], "exit");
    expect(single.result.status, single.result.stderr).toBe(1);
    expect(single.result.stderr).toContain("called process.exit(0)");
    expect(single.result.stderr).toContain("The whole plan ran in one transaction (--single-transaction) and was rolled back: nothing was applied.");
    expect(single.state.versions).toEqual([]);

    const own = await upgradeOnNewDatabase([], "exit");
    expect(own.result.status, own.result.stderr).toBe(1);
    expect(own.result.stderr).toContain(`Revision ${R2} was rolled back entirely. Committed before it in this run (flushed to the server's disk): ${R1}.`);
    expect(own.state.versions).toEqual([R1]);
  });
});

describe("process.exit and unsettled promises in the config and the settings module", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-usercode-config-"));
    await mkdir(join(dir, "migrations"));
  });
  afterAll(() => remove());

  const run = (argv: string[], env: Record<string, string> = {}): Promise<CliResult> => spawnCli(argv, { cwd: dir, env: baseEnv(env), timeoutMs: 60_000 });

  async function writeConfig(body: string): Promise<void> {
    await writeFile(join(dir, "athanor.config.ts"), `import { defineConfig } from "athanor";\n${body}\n`);
  }

  it("a config that calls process.exit: exit 1 naming it", async () => {
    await writeConfig(`process.exit(0);\nexport default defineConfig({ environments: { development: { url: "pglite://memory" } } });`);
    const result = await run(["heads"]);
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain(`${join(dir, "athanor.config.ts")} called process.exit(0)`);
  });

  it("a config whose top-level await never settles: exit 1 with a message, not a silent 13", async () => {
    await writeConfig(`await new Promise(() => {});\nexport default defineConfig({ environments: { development: { url: "pglite://memory" } } });`);
    const result = await run(["heads"]);
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain("athanor stopped before the command finished");
    // With --json, the error is also the one document on stdout.
    const json = await run(["heads", "--json"]);
    expect(json.status, json.stderr).toBe(1);
    expect((JSON.parse(json.stdout) as { error: { code: string; exitStatus: number } }).error).toMatchObject({ code: "unsettled", exitStatus: 1 });
  });

  describe("a settings module", () => {
    beforeAll(async () => {
      await writeConfig(`export default defineConfig({ settings: "./settings.ts", environments: { development: {} } });`);
      await writeFile(
        join(dir, "settings.ts"),
        `export async function databaseUrl(environment: string): Promise<string> {
  const mode = process.env["SETTINGS_MODE"];
  if (mode === "exit") process.exit(3);
  if (mode === "throw") throw new Error("the vault is unreachable");
  if (mode === "throw-url") throw new Error(\`DB_HOST is not set; url so far: postgresql://app:\${process.env["APP_DB_PW"]}@undefined/app\`);
  if (mode === "hang") await new Promise(() => {});
  return "pglite://memory";
}
`,
      );
    });

    it("that calls process.exit: exit 1 naming it", async () => {
      const result = await run(["env"], { SETTINGS_MODE: "exit" });
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr).toContain(`${join(dir, "settings.ts")} called process.exit(3)`);
    });

    it("that throws: a configuration error (exit 2) naming it, not a bug in athanor", async () => {
      const result = await run(["env"], { SETTINGS_MODE: "throw" });
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toContain("databaseUrl() of the settings module ./settings.ts failed");
      expect(result.stderr).toContain("the vault is unreachable");
      expect(result.stderr).not.toContain("bug in athanor");
    });

    it("that throws with a URL in its message: the URL's password is masked, whatever the variable's name", async () => {
      const result = await run(["env", "--json"], { SETTINGS_MODE: "throw-url", APP_DB_PW: "Qx9PlainPw" });
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toContain("url so far: postgresql://app:***@undefined/app");
      expect(`${result.stdout}${result.stderr}`).not.toContain("Qx9PlainPw");
    });

    it("that never settles: exit 2 once ATHANOR_SETTINGS_TIMEOUT has passed, naming it", async () => {
      const started = Date.now();
      const result = await run(["env"], { SETTINGS_MODE: "hang", ATHANOR_SETTINGS_TIMEOUT: "1s" });
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toContain("the settings module ./settings.ts did not give a URL from databaseUrl() within 1 s");
      expect(result.stderr).toContain("ATHANOR_SETTINGS_TIMEOUT");
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    });

    it("that settles gives the URL", async () => {
      const result = await run(["env"]);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain("pglite");
    });
  });
});

describe("a second SIGINT", { timeout: 120_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-usercode-signal-"));
    db = await createPostgresDatabase("athanor_usercode");
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: db.url } } }));
    await writeFile(join(dir, "migrations", `${R1}_slow.sql`), sqlRevisionText({ id: R1, message: "slow", upgrade: "CREATE TABLE slow (x int);\nSELECT pg_sleep(30);" }));
  });
  afterAll(async () => {
    await db.drop();
    await remove();
  });

  /** `upgrade` spawned and waited for until its slow revision runs, with a session on the database. */
  async function slowUpgrade(): Promise<{ child: ChildProcess; stderr: () => string; done: Promise<number | null>; session: Session }> {
    const child = spawn(process.execPath, [BIN, "upgrade"], { cwd: dir, env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.resume();
    const done = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const session = await openSession(parseDatabaseUrl(db.url, dir, "the test").target);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      // This database's backends only: another test file, in parallel on the same server, sleeps 30 s too.
      const running = await session.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()");
      if (running.rows.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { child, stderr: () => stderr, done, session };
  }

  it("prints one line, exits 130 within seconds, and the interrupted run is recorded", async () => {
    const { child, stderr: output, done, session } = await slowUpgrade();
    try {
      const signalled = Date.now();
      child.kill("SIGINT");
      await new Promise((resolve) => setTimeout(resolve, 20));
      child.kill("SIGINT");
      const status = await done;
      const stderr = output();
      expect(status, stderr).toBe(130);
      expect(Date.now() - signalled).toBeLessThan(10_000);
      expect(stderr.split("\n").filter((line) => line.startsWith("SIGINT again"))).toHaveLength(1);
      expect(stderr).not.toMatch(/^\s+at /m);
      const history = (await session.query<HistoryRow>("SELECT revision, outcome, error FROM athanor_version_history ORDER BY id")).rows;
      expect(history).toEqual([{ revision: R1, outcome: "failed", error: expect.stringContaining("interrupted by SIGINT") }]);
      expect((await session.query("SELECT revision FROM athanor_version")).rows).toEqual([]);
    } finally {
      await session.close();
    }
  });

  it("a third SIGINT exits at once and says that revisions after the last line may have committed", async () => {
    const { child, stderr, done, session } = await slowUpgrade();
    try {
      // The first signal's cleanup (record the interrupted run) waits on this lock, so the
      // other two surely come while it runs (a fast cleanup exited before the third came).
      await session.query("BEGIN");
      await session.query("LOCK TABLE athanor_version_history IN ACCESS EXCLUSIVE MODE");
      for (let i = 0; i < 3; i += 1) {
        child.kill("SIGINT");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await done, stderr()).toBe(130);
      await session.query("ROLLBACK");
      expect(stderr()).toContain("SIGINT: exiting now, without waiting for the run to stop: revisions after the last one reported may have committed; `athanor status` shows where the database stands\n");
    } finally {
      await session.close();
    }
  });
});

describe("no readable copies of loaded code (issue 13.4)", { timeout: 300_000 }, () => {
  const PASSWORD = "Lit3ral-Pw-q8Zx";
  let dir: string;
  let tmp: string;
  let remove: () => Promise<void>;

  /** Every file under `root` that holds `text` and that group or others can read (each directory from `root` down searchable, the file readable). */
  async function readableCopies(root: string, text: string): Promise<string[]> {
    const found: string[] = [];
    const walk = async (path: string, groupCan: boolean, othersCan: boolean): Promise<void> => {
      const info = await stat(path).catch(() => null);
      if (info === null) return;
      if (info.isDirectory()) {
        const g = groupCan && (info.mode & 0o010) !== 0;
        const o = othersCan && (info.mode & 0o001) !== 0;
        for (const name of await readdir(path)) await walk(join(path, name), g, o);
        return;
      }
      if (!info.isFile()) return;
      const readable = (groupCan && (info.mode & 0o040) !== 0) || (othersCan && (info.mode & 0o004) !== 0);
      if (readable && (await readFile(path)).includes(text)) found.push(path);
    };
    await walk(root, true, true);
    return found;
  }

  beforeAll(async () => {
    ({ dir: tmp, remove } = await tempDir("athanor-copies-"));
    // The two places a copy could land, with the modes they usually have.
    dir = join(tmp, "project");
    const tmpDir = join(tmp, "tmp");
    await mkdir(join(dir, "migrations"), { recursive: true });
    await mkdir(tmpDir);
    await chmod(tmp, 0o755);
    await chmod(dir, 0o755);
    await chmod(tmpDir, 0o1777);
    const files: [string, string][] = [
      [
        "athanor.config.ts",
        `import { defineConfig } from "athanor";
export default defineConfig({
  settings: "./settings.ts",
  environments: {
    development: {},
    production: { url: "postgresql://app:${PASSWORD}@127.0.0.1:1/app", protected: true },
  },
});
`,
      ],
      ["settings.ts", `const vaultPassword: string = "${PASSWORD}";\nexport const databaseUrl = (environment: string): string => (vaultPassword.length > 0 && environment === "development" ? "pglite://./data" : "");\n`],
      [
        `migrations/${R1}_secret.ts`,
        `import { defineMigration } from "athanor";
const password: string = "${PASSWORD}";
export default defineMigration({
  revision: "${R1}",
  down: null,
  async upgrade({ sql }) {
    await sql\`SELECT length(\${password}::text) AS n\`;
  },
});
`,
      ],
    ];
    for (const [name, text] of files) await writeFile(join(dir, name), text, { mode: 0o600 });
  });
  afterAll(() => remove());

  it("loading a TS config, settings module and revision leaves no file others can read holding the password", async () => {
    const env = baseEnv({ TMPDIR: join(tmp, "tmp") });
    const result = await spawnCli(["upgrade"], { cwd: dir, env, timeoutMs: 240_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`upgraded development to ${R1}`);
    // A second start reads the transpile cache instead of writing it.
    expect((await spawnCli(["heads"], { cwd: dir, env, timeoutMs: 120_000 })).status).toBe(0);
    expect(await readableCopies(join(tmp, "tmp"), PASSWORD)).toEqual([]);
    expect(await readableCopies(dir, PASSWORD)).toEqual([]);
    expect((await stat(join(dir, ".athanor", "cache"))).mode & 0o777).toBe(0o700);
  });
});
