/**
 * Issue #8, secrets: every command (baseline included; there is no `diff` command yet), in text, `--json` and `--log-format json`, on
 * success and on each error path (wrong password, unreachable host, failing revision,
 * refused confirmation, failed backup), with a known password and with one holding
 * URL-special characters (`@ : / # % $`), each of them the password of a real role on
 * the test server. No form of either password (raw, percent-encoded, decoded,
 * form-encoded, JSON-escaped) may appear in any byte of stdout or stderr, in the history
 * and version tables, in a backup file's name, in any file the commands write, or in the
 * command line of any process while `pg_dump` runs. A substituted password such as
 * `x@evil.example:5432/postgres#` cannot redirect the connection.
 *
 * Most runs are in-process (`main(argv, io)`); a subset runs the real binary, whose
 * process has only the selected environment's secrets registered for scrubbing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import pg from "pg";
import { baseEnv, runCli, spawnCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, serverUrl, tempDir, type TestDatabase } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";
import { hasStack } from "./support/faults.js";

/** Every form in which a password could leak. */
function forms(secret: string): string[] {
  const encoded = encodeURIComponent(secret);
  const all = new Set<string>([
    secret,
    encoded,
    encoded.replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`),
    encoded.toLowerCase(),
    encodeURI(secret),
    encoded.replace(/%20/g, "+"),
    JSON.stringify(secret).slice(1, -1),
  ]);
  try {
    all.add(decodeURIComponent(secret));
  } catch {
    // not decodable: nothing to add
  }
  return [...all];
}

async function admin<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, database?: string): Promise<T[]> {
  const url = new URL(serverUrl());
  if (database !== undefined) url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** Samples the command line of every process on the machine until stopped. */
function sampleCommandLines(): { stop(): Promise<string[]> } {
  const seen = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const entry of await readdir("/proc").catch(() => [] as string[])) {
        if (!/^\d+$/.test(entry)) continue;
        const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
        if (cmdline !== "") seen.add(cmdline.split("\0").join(" "));
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return [...seen];
    },
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(path, ...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

const figures = { runs: 0, realProcessRuns: 0, commandLinesSampled: 0, pgDumpCommandLines: 0, bytesScanned: 0 };

interface Scenario {
  label: string;
  password: string;
}

const SCENARIOS: Scenario[] = [
  { label: "a known password", password: `Kn0wnPassw0rd-${randomBytes(3).toString("hex")}` },
  { label: "a password with @ : / # % $", password: `Sp3c@l:p/w#d%25$x-${randomBytes(2).toString("hex")}` },
];

const server = new URL(serverUrl());
const HOST = server.hostname;
const PORT = server.port || "5432";

describe.each(SCENARIOS)("no secret in any output: $label", ({ password }) => {
  const role = `athanor_secret_${randomBytes(4).toString("hex")}`;
  const wrong = `${password}-wrong`;
  const secrets = [password, wrong];
  const forbidden = secrets.flatMap(forms);
  let project: { dir: string; remove(): Promise<void> };
  const dbs: Record<"dev" | "prod" | "fail", TestDatabase> = {} as Record<"dev" | "prod" | "fail", TestDatabase>;
  const leaks: string[] = [];

  /** Records every place a forbidden form appears. */
  function scan(where: string, text: string): void {
    figures.bytesScanned += Buffer.byteLength(text);
    for (const form of forbidden) if (text.includes(form)) leaks.push(`${where}: contains ${JSON.stringify(form.slice(0, 4))}...`);
  }

  function checkRun(argv: readonly string[], result: CliResult, expected: number | readonly number[]): CliResult {
    const label = `athanor ${argv.join(" ")}`;
    figures.runs++;
    scan(`${label} stdout`, result.stdout);
    scan(`${label} stderr`, result.stderr);
    const allowed = typeof expected === "number" ? [expected] : expected;
    expect(allowed, `${label} exited ${result.status}\n${result.stdout}\n${result.stderr}`).toContain(result.status);
    expect(hasStack(result.stderr), label).toBe(false);
    expect(result.stderr, label).not.toContain("internal error");
    return result;
  }

  const cli = async (argv: string[], expected: number | readonly number[], env: Record<string, string | undefined> = baseEnv()): Promise<CliResult> =>
    checkRun(argv, await runCli(argv, { cwd: project.dir, env }), expected);

  beforeAll(async () => {
    await admin(`CREATE ROLE "${role}" LOGIN PASSWORD ${literal(password)}`);
    for (const key of ["dev", "prod", "fail"] as const) {
      dbs[key] = await createPostgresDatabase(`athanor_secret_${key}`);
      await admin(`ALTER DATABASE "${dbs[key].name}" OWNER TO "${role}"`);
      await admin(`ALTER SCHEMA public OWNER TO "${role}"`, dbs[key].name);
    }
    project = await tempDir("athanor-faults-secrets-");
    const url = (db: TestDatabase, variable = "DB_PASSWORD", port = PORT) => `postgresql://${role}:\${${variable}}@${HOST}:${port}/${db.name}`;
    const environments = {
      development: { url: url(dbs.dev) },
      production: { url: url(dbs.prod), protected: true, backup: { dir: "./backups", keep: 5 } },
      wrongpw: { url: url(dbs.dev, "WRONG_PASSWORD") },
      unreachable: { url: url(dbs.dev, "DB_PASSWORD", "1") },
    };
    await writeFile(join(project.dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments }));
    await writeFile(join(project.dir, "failing.config.json"), JSON.stringify({ migrations: "./migrations-failing", environments: { development: { url: url(dbs.fail) } } }));
    await writeFile(join(project.dir, "scratch.config.json"), JSON.stringify({ migrations: "./migrations-scratch", environments: { development: { url: url(dbs.fail) } } }));
    await writeFile(
      join(project.dir, "baseline.config.json"),
      JSON.stringify({ migrations: "./migrations-baseline", environments: { development: { url: url(dbs.dev) }, wrongpw: { url: url(dbs.dev, "WRONG_PASSWORD") } } }),
    );
    const dotenv = join(project.dir, ".env");
    await writeFile(dotenv, `# secrets for the tests\nexport DB_PASSWORD='${password}'\nWRONG_PASSWORD="${wrong}"\n`);
    await chmod(dotenv, 0o600);
    for (const dir of ["migrations", "migrations-failing", "migrations-scratch", "migrations-baseline"]) await mkdir(join(project.dir, dir));
    const write = (dir: string, id: string, down: string | null, upgrade: string) =>
      writeFile(join(project.dir, dir, `${id}.sql`), sqlRevisionText({ id, down, message: `secret test ${id}`, upgrade, downgrade: `DROP TABLE IF EXISTS t_${id};` }));
    await write("migrations", "5e0000000001", null, "CREATE TABLE t_5e0000000001 (id int);");
    await write("migrations", "5e0000000002", "5e0000000001", "CREATE TABLE t_5e0000000002 (id int);");
    await write("migrations-failing", "5f0000000001", null, "CREATE TABLE t_5f0000000001 (id int);");
    // A revision whose failing statement holds the password: the server echoes it in its error.
    await write("migrations-failing", "5f0000000002", "5f0000000001", `CREATE TABLE t_5f0000000002 (id int);\nSELECT ${literal(password)}::int;`);
  }, 60_000);

  afterAll(async () => {
    for (const db of Object.values(dbs)) await db.drop();
    await admin(`DROP ROLE IF EXISTS "${role}"`);
    await project.remove();
  });

  const MODES: readonly (readonly string[])[] = [[], ["--json"], ["--log-format", "json"], ["--json", "--log-format", "json", "--verbose"]];

  it("every command in every output mode, on success and error paths (in-process)", async () => {
    for (const [m, mode] of MODES.entries()) {
      const run = (argv: string[], expected: number | readonly number[], env?: Record<string, string | undefined>) => cli([...mode, ...argv], expected, env);
      await run(["init", "--dir", `scaffold-${m}`], 0);
      await run(["env"], 0);
      await run(["--env", "production", "env"], 0);
      await run(["--env", "wrongpw", "env"], 0);
      await run(["check"], [0, 5]);
      await run(["check", "--all"], 5);
      await run(["status"], 5);
      await run(["current"], 0);
      await run(["--env", "wrongpw", "current"], 1);
      await run(["--env", "unreachable", "current"], 1);
      await run(["heads"], 0);
      await run(["history", "--verbose"], 0);
      await run(["show", "5e0000000002"], 0);
      await run(["branches"], 0);
      await run(["graph"], 0);
      await run(["lint"], 0);
      // The database cannot be read: lint says so and lints every revision.
      await run(["--env", "wrongpw", "lint"], 0);
      await run(["upgrade", "--dry-run"], 0);
      await run(["upgrade", "--sql"], 0);
      await run(["--env", "wrongpw", "upgrade"], 1);
      await run(["--env", "unreachable", "upgrade"], 1);
      await run(["upgrade"], 0);
      await run(["log"], 0);
      // baseline, on the development database while it holds tables (its own migrations directory).
      await run(["--config", "baseline.config.json", "--env", "wrongpw", "baseline", "-m", `baseline ${m}`, "--force"], 1);
      await run(["--config", "baseline.config.json", "baseline", "-m", `baseline ${m}`, "--force", "--no-stamp"], 0);
      await run(["downgrade", "-1"], 0);
      await run(["stamp", "head"], 0);
      await run(["repair"], 0);
      await run(["resolve", "5e0000000002", "--applied"], 2);
      await run(["downgrade", "base"], 0);
      // Production: refused confirmation (no terminal, no --yes), a failed backup (no pg_dump on PATH), then a run with a backup.
      await run(["--env", "production", "upgrade"], 3);
      await run(["--env", "production", "--yes", "upgrade"], 1, { HOME: process.env["HOME"], PATH: "/nonexistent" });
      const sampler = sampleCommandLines();
      await run(["--env", "production", "--yes", "upgrade"], 0);
      await run(["--env", "production", "--yes", "downgrade", "base", "--allow-dangerous"], 0);
      const commandLines = await sampler.stop();
      figures.commandLinesSampled += commandLines.length;
      figures.pgDumpCommandLines += commandLines.filter((line) => line.includes("pg_dump") || line.includes("pg_restore")).length;
      for (const line of commandLines) scan("a process command line", line);
      await run(["--env", "production", "backups", "list"], 0);
      await run(["--env", "production", "log"], 0);
      // A failing revision whose statement holds the password; the history keeps the failure.
      await run(["--config", "failing.config.json", "upgrade"], 1);
      await run(["--config", "failing.config.json", "log"], 0);
      await run(["--config", "failing.config.json", "downgrade", "base"], 0);
      await run(["--config", "scratch.config.json", "revision", "-m", `scratch ${m}`], 0);
      await run(["shell-init", "bash"], 0);
    }
    expect(figures.pgDumpCommandLines).toBeGreaterThan(0);
  }, 180_000);

  it("the real binary (only the selected environment's secrets registered) on the error paths", async () => {
    const spawn = async (argv: string[], expected: number | readonly number[]) => {
      figures.realProcessRuns++;
      return checkRun(argv, await spawnCli(argv, { cwd: project.dir, env: baseEnv() }), expected);
    };
    const wrongPw = await spawn(["--env", "wrongpw", "current"], 1);
    expect(wrongPw.stderr).toMatch(new RegExp(`error: cannot connect to ${HOST.replace(/\./g, "\\.")}:${PORT}/athanor_secret_dev_\\w+: password authentication failed for user "${role}"`));
    await spawn(["--env", "unreachable", "--json", "current"], 1);
    await spawn(["--env", "wrongpw", "--log-format", "json", "upgrade"], 1);
    await spawn(["--config", "failing.config.json", "--json", "upgrade"], 1);
    await spawn(["--config", "failing.config.json", "--log-format", "json", "upgrade"], 1);
    await spawn(["--config", "failing.config.json", "downgrade", "base"], 0);
    await spawn(["--env", "production", "upgrade"], 3);
    const sampler = sampleCommandLines();
    await spawn(["--env", "production", "--yes", "--log-format", "json", "upgrade"], 0);
    const commandLines = await sampler.stop();
    figures.commandLinesSampled += commandLines.length;
    for (const line of commandLines) scan("a process command line (real binary)", line);
    await spawn(["--env", "production", "--yes", "downgrade", "base", "--allow-dangerous"], 0);
    await spawn(["check", "--all", "--json"], 5);
    await spawn(["status", "--json"], 5);
  }, 120_000);

  it("leaves no secret in the history and version tables, backup names, or any file written", async () => {
    for (const db of Object.values(dbs)) {
      const tables = await admin<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE tablename LIKE 'athanor_version%'", db.name);
      for (const { name } of tables) {
        const rows = await admin<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM "${name}" t`, db.name);
        for (const { row } of rows) scan(`${db.name}.${name}`, row);
      }
    }
    const failed = await admin<{ error: string }>("SELECT error FROM athanor_version_history WHERE outcome = 'failed' ORDER BY id LIMIT 1", dbs.fail.name);
    expect(failed[0]?.error).toMatch(/invalid input syntax for type integer: "\*\*\*"/);
    const backups = await readdir(join(project.dir, "backups"));
    expect(backups.length).toBeGreaterThan(0);
    for (const name of backups) scan(`backup file name ${name}`, name);
    for (const file of await filesUnder(project.dir)) {
      const name = relative(project.dir, file);
      scan(`file name ${name}`, name);
      // The files holding the secrets on purpose: .env, and the failing revision that quotes the password.
      if (name === ".env" || name.startsWith("migrations-failing") || name.startsWith("backups/")) continue;
      scan(`file ${name}`, await readFile(file, "utf8").catch(() => ""));
    }
    expect(leaks).toEqual([]);
    console.log(`[faults-secrets] ${figures.runs} runs (${figures.realProcessRuns} real processes), ${figures.commandLinesSampled} command lines sampled (${figures.pgDumpCommandLines} of pg_dump/pg_restore), ${(figures.bytesScanned / 1024).toFixed(0)} KiB scanned: ${leaks.length} leaks`);
  });
});

describe("a substituted password cannot redirect the connection", () => {
  const EVIL = "x@evil.example:5432/postgres#";
  let db: TestDatabase;
  let project: { dir: string; remove(): Promise<void> };
  const role = `athanor_evil_${randomBytes(4).toString("hex")}`;

  beforeAll(async () => {
    await admin(`CREATE ROLE "${role}" LOGIN PASSWORD ${literal(EVIL)}`);
    db = await createPostgresDatabase("athanor_secret_evil");
    project = await tempDir("athanor-faults-evil-");
    await mkdir(join(project.dir, "migrations"));
    await writeFile(
      join(project.dir, "athanor.config.json"),
      JSON.stringify({
        environments: {
          // The password is the evil string itself: it is data, the connection works.
          real: { url: `postgresql://${role}:\${EVIL_PASSWORD}@${HOST}:${PORT}/${db.name}` },
          // Another role whose password is not that string: the server at HOST refuses it.
          other: { url: `postgresql://postgres:\${EVIL_PASSWORD}@${HOST}:${PORT}/${db.name}` },
        },
      }),
    );
    await writeFile(join(project.dir, ".env"), `EVIL_PASSWORD='${EVIL}'\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await db.drop();
    await admin(`DROP ROLE IF EXISTS "${role}"`);
    await project.remove();
  });

  it("goes to 127.0.0.1 and succeeds when it is the real password, fails authentication there when it is not", async () => {
    const real = await runCli(["--env", "real", "current"], { cwd: project.dir, env: baseEnv() });
    expect(real.status, real.stderr).toBe(0);
    const env = await runCli(["--env", "real", "--json", "env"], { cwd: project.dir, env: baseEnv() });
    expect(env.stdout).toContain(`${HOST}:${PORT}/${db.name}`);
    const other = await spawnCli(["--env", "other", "current"], { cwd: project.dir, env: baseEnv() });
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(new RegExp(`error: cannot connect to ${HOST.replace(/\./g, "\\.")}:${PORT}/${db.name}: password authentication failed for user "postgres"`));
    for (const output of [real.stdout, real.stderr, env.stdout, env.stderr, other.stdout, other.stderr]) {
      expect(output).not.toContain("evil.example");
      for (const form of forms(EVIL)) expect(output).not.toContain(form);
    }
  });
});

/**
 * Issue #13: literal passwords holding `@ : / # % ? &` written into the URL itself, URLs
 * that fail to parse, a short password (`postgres`) and a template whose environment
 * cannot be resolved. Every run is a fresh real process (nothing registered by an earlier
 * run can hide a leak), through current, --json, status, status --json, check --all, env,
 * the JSON log and the OpenTelemetry attributes.
 */
describe("no secret from literal and malformed URLs in any output", () => {
  const suffix = randomBytes(3).toString("hex");
  const literalRole = `athanor_literal_${suffix}`;
  const shortRole = `athanor_short_${suffix}`;
  const LITERAL = `P@ss:w/rd#%?&-${suffix}`;
  const SHORT = "postgres";
  const MALFORMED = "Sup3r/S3cr3t/pw";
  const ASYNCPG = "Sup3r-S3cr3t-p@ss:w/rd#%?&";
  const IN_CONFIG = "C0nfig-p@ss:w/rd#%?&";
  const TEMPLATE = "postgresql://${DB_USER:-app}:${UNSET_PASSWORD}@${DB_HOST:-localhost}:5432/app";
  let db: TestDatabase;
  let project: { dir: string; remove(): Promise<void> };
  const leaks: string[] = [];
  const otelFile = () => join(project.dir, "spans.jsonl");

  beforeAll(async () => {
    await admin(`CREATE ROLE "${literalRole}" LOGIN PASSWORD ${literal(LITERAL)}`);
    await admin(`CREATE ROLE "${shortRole}" LOGIN PASSWORD ${literal(SHORT)}`);
    db = await createPostgresDatabase("athanor_secret_literal");
    await admin(`GRANT ALL ON SCHEMA public TO "${literalRole}", "${shortRole}"`, db.name);
    project = await tempDir("athanor-faults-literal-");
    await mkdir(join(project.dir, "migrations"));
    const environments = {
      literal: { url: "${LITERAL_URL}" },
      short: { url: "${SHORT_URL}" },
      malformed: { url: "${MALFORMED_URL}" },
      asyncpg: { url: "${ASYNCPG_URL}" },
      inconfig: { url: `postgresql+asyncpg://app:${IN_CONFIG}@${HOST}:${PORT}/db` },
      template: { url: TEMPLATE },
    };
    await writeFile(join(project.dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments }));
    const dotenv = [
      `LITERAL_URL=postgresql://${literalRole}:${encodeURIComponent(LITERAL)}@${HOST}:${PORT}/${db.name}`,
      `SHORT_URL=postgresql://${shortRole}:${SHORT}@${HOST}:${PORT}/${db.name}`,
      `MALFORMED_URL=postgresql://app:${MALFORMED}@[::1/db`,
      `ASYNCPG_URL=postgresql+asyncpg://app:${ASYNCPG}@${HOST}:${PORT}/db`,
    ].join("\n");
    await writeFile(join(project.dir, ".env"), `${dotenv}\n`, { mode: 0o600 });
  }, 60_000);

  afterAll(async () => {
    await db.drop();
    await admin(`DROP ROLE IF EXISTS "${literalRole}"`);
    await admin(`DROP ROLE IF EXISTS "${shortRole}"`);
    await project.remove();
  });

  /** Pieces of the passwords that must never show, whole or in part. */
  const forbidden = () => [...forms(LITERAL), ...forms(MALFORMED), ...forms(ASYNCPG), ...forms(IN_CONFIG), "S3cr3t", "C0nfig", "p@ss", "w/rd#", `P@ss`];

  function scan(where: string, text: string): void {
    for (const form of forbidden()) if (text.includes(form)) leaks.push(`${where}: contains ${JSON.stringify(form)}`);
    // The short password may show only inside longer words (postgresql://), never as a token of its own.
    if (/(^|[^A-Za-z0-9_])postgres(?![A-Za-z0-9_])/.test(text.replace(/postgresql\+asyncpg|postgresql/g, ""))) leaks.push(`${where}: shows the password "postgres"`);
    if (text.includes("***ql://")) leaks.push(`${where}: masks "postgres" inside postgresql://`);
  }

  const spawn = async (argv: string[], expected: readonly number[]): Promise<CliResult> => {
    const env = baseEnv({ NODE_OPTIONS: `--import ${new URL("./support/otel-dump.mjs", import.meta.url).href}`, ATHANOR_TEST_OTEL_FILE: otelFile() });
    const result = await spawnCli(argv, { cwd: project.dir, env });
    const label = `athanor ${argv.join(" ")}`;
    scan(`${label} stdout`, result.stdout);
    scan(`${label} stderr`, result.stderr);
    expect(expected, `${label} exited ${result.status}\n${result.stdout}\n${result.stderr}`).toContain(result.status);
    expect(hasStack(result.stderr), label).toBe(false);
    return result;
  };

  it("connects with the literal percent-encoded password and with the short one, and shows neither", async () => {
    for (const name of ["literal", "short"]) {
      await spawn(["--env", name, "current"], [0]);
      await spawn(["--env", name, "--json", "current"], [0]);
      await spawn(["--env", name, "--log-format", "json", "current"], [0]);
      // upgrade emits the events the JSON log and OpenTelemetry carry (the url field, athanor.url).
      await spawn(["--env", name, "--log-format", "json", "upgrade"], [0]);
      const env = await spawn(["--env", name, "env"], [0]);
      expect(env.stdout).toMatch(/postgresql:\/\/athanor_\w+:\*\*\*@/);
    }
  }, 60_000);

  it("refuses the malformed URLs with exit 2, naming the environment and the part, and shows no piece of the password", async () => {
    for (const [name, part] of [["malformed", "port"], ["asyncpg", "database name"], ["inconfig", "database name"]] as const) {
      const text = await spawn(["--env", name, "current"], [2]);
      expect(text.stderr).toContain(`environment "${name}"`);
      expect(text.stderr).toContain(part);
      await spawn(["--env", name, "--json", "current"], [2]);
      await spawn(["--env", name, "--log-format", "json", "current"], [2]);
      await spawn(["--env", name, "env"], [2]);
      await spawn(["--env", name, "check"], [2, 5]);
    }
  }, 60_000);

  it("status, status --json and check --all over every environment", async () => {
    await spawn(["status"], [5]);
    const status = await spawn(["status", "--json"], [5]);
    const entries = (JSON.parse(status.stdout) as { environments: { name: string; url: string }[] }).environments;
    // Issue #14: the template of an environment that cannot be resolved is shown intact.
    expect(entries.find((entry) => entry.name === "template")?.url).toBe(TEMPLATE);
    await spawn(["check", "--all"], [5]);
    await spawn(["check", "--all", "--json"], [5]);
    await spawn(["--log-format", "json", "status"], [5]);
  }, 60_000);

  it("leaves no password in the OpenTelemetry spans and attributes", async () => {
    const spans = await readFile(otelFile(), "utf8");
    expect(spans).toContain('"athanor.url"');
    scan("OpenTelemetry spans", spans);
    expect(leaks).toEqual([]);
  });
});
