/**
 * The observability pieces that need a real process (bin/athanor.js, built by `npm test`):
 * the progress line on a pseudo-terminal and its absence elsewhere, and pino loaded only
 * for `--log-format json`.
 */
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, baseEnv, spawnCli } from "./support/cli.js";
import { createPostgresDatabase, type TestDatabase } from "./support/databases.js";
import { createGuardProject, writeRevision, type GuardProject } from "./support/guard-project.js";
import { writeImportTraceHook } from "./support/import-trace.js";

const PTY = fileURLToPath(new URL("./support/pty-run.py", import.meta.url));
const IDS = ["0a1b2c3d4e5f", "1b2c3d4e5f60", "2c3d4e5f6071"];

/** Runs the CLI on a pseudo-terminal (120 columns); resolves with the raw transcript. */
function onTerminal(argv: string[], cwd: string, env: Record<string, string | undefined>): Promise<{ status: number; transcript: string }> {
  return new Promise((resolve, reject) => {
    // Nothing to answer: the expected text never appears.
    const child = spawn("python3", [PTY, "\u0001never", "", "60", process.execPath, BIN, ...argv], { cwd, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let transcript = "";
    child.stdout.on("data", (chunk: Buffer) => (transcript += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ status: code ?? 1, transcript }));
  });
}

/** What a person sees at the end: each `\r\x1b[2K` erases the line, colours removed. */
function screen(transcript: string): string[] {
  const plain = transcript.replace(/\r\n/g, "\n").replace(/\u001b\[(?!2K)[0-9;?]*[A-Za-z]/g, "");
  const lines: string[] = [];
  let current = "";
  for (const part of plain.split(/(\r\u001b\[2K|\n)/)) {
    if (part === "\r\u001b[2K") current = "";
    else if (part === "\n") {
      lines.push(current);
      current = "";
    } else current += part;
  }
  if (current !== "") lines.push(current);
  return lines;
}

describe("progress on a terminal", () => {
  let project: GuardProject;
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createPostgresDatabase("athanor_progress");
    project = await createGuardProject();
    await project.writeConfig({ testing: { url: "${TEST_DATABASE_URL}" } });
    for (const [index, id] of IDS.entries()) {
      await writeRevision(project.migrationsDir, { id, down: index === 0 ? null : (IDS[index - 1] as string), message: `step ${index + 1}`, upgrade: `CREATE TABLE t${index} (id int);\nSELECT pg_sleep(0.4);`, downgrade: `DROP TABLE t${index};` }, index);
    }
  });

  afterAll(async () => {
    await project?.remove();
    await database?.drop();
  });

  it("redraws one line with the running revision, what is left and the time, and leaves clean lines", async () => {
    const env = baseEnv({ TEST_DATABASE_URL: database.url, TERM: "xterm" });
    const { status, transcript } = await onTerminal(["--env", "testing", "upgrade"], project.dir, env);
    expect(status, transcript).toBe(0);
    // The progress line was drawn, redrawn in place (erase line + carriage return), and counted down.
    expect(transcript).toContain("\r\u001b[2K");
    expect(transcript).toMatch(/\[1\/3\] applying 0a1b2c3d4e5f step 1 · [\d.]+ (ms|s) · 2 left · [\d.]+ (ms|s) elapsed/);
    expect(transcript).toMatch(/\[3\/3\] applying 2c3d4e5f6071 step 3 · [\d.]+ (ms|s) · last one/);
    // At the end: one line per revision, the summary, and no progress line left behind.
    const lines = screen(transcript).filter((line) => line.trim() !== "");
    expect(lines.map((line) => line.replace(/\(\d+(\.\d+)? (ms|s)\)/, "(T)"))).toEqual([
      "upgrade 0a1b2c3d4e5f step 1 (T)",
      "upgrade 1b2c3d4e5f60 step 2 (T)",
      "upgrade 2c3d4e5f6071 step 3 (T)",
      expect.stringMatching(/^upgraded testing to 2c3d4e5f6071: 3 revisions in /),
    ]);
    await spawnCli(["--env", "testing", "downgrade", "base"], { cwd: project.dir, env });
  });

  it("draws nothing animated in CI, with --quiet, or when stderr is not a terminal", async () => {
    const env = baseEnv({ TEST_DATABASE_URL: database.url, TERM: "xterm" });
    const ci = await onTerminal(["--env", "testing", "upgrade"], project.dir, { ...env, CI: "true" });
    expect(ci.status).toBe(0);
    expect(ci.transcript).not.toContain("\u001b[2K");
    expect(ci.transcript).not.toContain("applying");
    await spawnCli(["--env", "testing", "downgrade", "base"], { cwd: project.dir, env });
    const quiet = await onTerminal(["--env", "testing", "--quiet", "upgrade"], project.dir, env);
    expect(quiet.transcript).not.toContain("\u001b[2K");
    await spawnCli(["--env", "testing", "downgrade", "base"], { cwd: project.dir, env });
    const piped = await spawnCli(["--env", "testing", "upgrade"], { cwd: project.dir, env });
    expect(piped.status).toBe(0);
    expect(piped.stderr).not.toContain("\u001b[2K");
  });
});

describe("lazy loading", () => {
  let project: GuardProject;
  let database: TestDatabase;
  let register: string;

  beforeAll(async () => {
    database = await createPostgresDatabase("athanor_lazy");
    project = await createGuardProject();
    await project.writeConfig({ development: { url: database.url } });
    await writeRevision(project.migrationsDir, { id: IDS[0] as string, down: null, message: "one", upgrade: "CREATE TABLE one (id int);", downgrade: "DROP TABLE one;" }, 0);
    // A loader hook that records which of the optional packages get resolved (athanor's own modules: ATHANOR_DEBUG_MODULES).
    register = await writeImportTraceHook(project.dir, /node_modules\/(pino|@opentelemetry\/api)\/|\/dist\//);
  });

  afterAll(async () => {
    await project?.remove();
    await database?.drop();
  });

  async function loaded(args: string[], trace: string): Promise<string> {
    const file = join(project.dir, trace);
    await writeFile(file, "");
    const result = await new Promise<number>((resolve, reject) => {
      // The loader hook sees the packages loaded with import(); the CLI bundle's debug hook (ATHANOR_DEBUG_MODULES) athanor's own modules.
      const child = spawn(process.execPath, ["--import", register, BIN, ...args], { cwd: project.dir, env: baseEnv({ IMPORT_TRACE: file, ATHANOR_DEBUG_MODULES: file }) as NodeJS.ProcessEnv, stdio: "ignore" });
      child.on("error", reject);
      child.on("close", (code) => resolve(code ?? 1));
    });
    expect(result).toBe(0);
    return readFile(file, "utf8");
  }

  it("a text run never imports pino; a JSON run does", async () => {
    expect(await loaded(["upgrade"], "text.trace")).not.toMatch(/node_modules\/pino\//);
    expect(await loaded(["--log-format", "json", "downgrade", "base"], "json.trace")).toMatch(/node_modules\/pino\//);
  });

  it("OTEL_SDK_DISABLED=true keeps @opentelemetry/api from being imported", async () => {
    const file = join(project.dir, "otel.trace");
    await writeFile(file, "");
    const status = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", register, BIN, "upgrade"], {
        cwd: project.dir,
        env: baseEnv({ IMPORT_TRACE: file, OTEL_SDK_DISABLED: "true" }) as NodeJS.ProcessEnv,
        stdio: "ignore",
      });
      child.on("error", reject);
      child.on("close", (code) => resolve(code ?? 1));
    });
    expect(status).toBe(0);
    expect(await readFile(file, "utf8")).not.toContain("@opentelemetry/api");
  });

  it("without a registered OpenTelemetry SDK, a run does not import @opentelemetry/api even though it is installed", async () => {
    expect(await loaded(["downgrade", "base"], "no-sdk.trace")).not.toContain("@opentelemetry/api");
    expect(await loaded(["upgrade"], "no-sdk-up.trace")).not.toContain("@opentelemetry/api");
  });

  it("`heads` imports neither autogenerate nor the graph drawing (start-up cost)", async () => {
    const trace = await loaded(["heads"], "heads.trace");
    expect(trace).toContain("commands/heads.js");
    expect(trace).not.toMatch(/autogenerate|graph-draw|graph-status/);
  });

  it("exports the spans of a CLI run through an application's SDK loaded with --import, flushed before exit", async () => {
    const spans = join(project.dir, "spans.jsonl");
    await writeFile(spans, "");
    const setup = fileURLToPath(new URL("./fixtures/otel/setup.mjs", import.meta.url));
    expect((await spawnCli(["downgrade", "base"], { cwd: project.dir, env: baseEnv() })).status).toBe(0);
    const status = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", setup, BIN, "upgrade"], { cwd: project.dir, env: baseEnv({ OTEL_TEST_SPANS: spans }) as NodeJS.ProcessEnv, stdio: "ignore" });
      child.on("error", reject);
      child.on("close", (code) => resolve(code ?? 1));
    });
    expect(status).toBe(0);
    const exported = (await readFile(spans, "utf8")).trim().split("\n").map((line) => JSON.parse(line) as { name: string; spanId: string; parent: string | null; attributes: Record<string, unknown> });
    const command = exported.find((span) => span.name === "athanor.upgrade");
    expect(command?.attributes).toMatchObject({ "athanor.environment": "development", "athanor.outcome": "success" });
    expect(exported.filter((span) => span.name === "athanor.revision").map((span) => span.parent)).toEqual([command?.spanId]);
  });
});
