/**
 * examples/multi-environment: the README's walk-through, run for real through bash with
 * the shell functions of `athanor shell-init bash`, on a PostgreSQL server (three fresh
 * databases) and on PGlite (three data directories).
 *
 * The commands are the `$ ...` lines of the README's ```console blocks, in order; the
 * lines under each are the output it shows. On PostgreSQL every output is compared
 * with the README's, after mapping the test's databases and directory to the README's
 * (`localhost:5432/db_dev`, `/home/you/athanor/examples/multi-environment`) and
 * blurring what changes from run to run (durations, sizes, timestamps, the server
 * version, column padding). On PGlite, whose URLs and backups read differently, the
 * lines that do not name a database are compared. A block after
 * `<!-- terminal: type "NAME" -->` runs on a pseudo-terminal that types NAME at the
 * confirmation prompt; each line it shows must appear on the screen.
 *
 * After changing the example or the output of a command, refresh the README with
 * `ATHANOR_UPDATE_README=1 npx vitest run test/example-multi-environment.test.ts` and
 * review the diff (terminal blocks are kept as written).
 *
 * Needs `npm run build` (the shell functions run bin/athanor.js) and python3 (the
 * pseudo-terminal).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN } from "./support/cli.js";
import { serverUrl, tempDir, type TestDatabase } from "./support/databases.js";

const EXAMPLE = fileURLToPath(new URL("../examples/multi-environment/", import.meta.url));
const README = join(EXAMPLE, "README.md");
const PTY = fileURLToPath(new URL("./support/pty-run.py", import.meta.url));
/** Where the README's reader runs the walk-through. */
const README_DIR = "/home/you/athanor/examples/multi-environment";
const README_DATABASES = { dev: "db_dev", test: "db_test", prod: "mestocker_prod" } as const;
const UPDATE = process.env["ATHANOR_UPDATE_README"] === "1";

/** One `$ command` of the README and the output shown under it. */
interface Step {
  readonly command: string;
  readonly expected: readonly string[];
  /** The name typed at the confirmation prompt, for a terminal block. */
  readonly answer: string | null;
  /** Index of the README line of the command. */
  readonly line: number;
}

/** The walk-through: every ```console block of the README, in order. */
export function parseWalkthrough(markdown: string): Step[] {
  const lines = markdown.split("\n");
  const steps: Step[] = [];
  let inBlock = false;
  let answer: string | null = null;
  let pendingAnswer: string | null = null;
  let current: { command: string; expected: string[]; answer: string | null; line: number } | null = null;
  const flush = () => {
    if (current !== null) steps.push({ ...current, expected: trimBlank(current.expected) });
    current = null;
  };
  lines.forEach((line, index) => {
    if (!inBlock) {
      const terminal = /^<!-- terminal: type "([^"]+)" -->$/.exec(line);
      if (terminal) pendingAnswer = terminal[1] ?? null;
      else if (line === "```console") {
        inBlock = true;
        answer = pendingAnswer;
        pendingAnswer = null;
      } else if (line.trim() !== "") pendingAnswer = null;
      return;
    }
    if (line === "```") {
      flush();
      inBlock = false;
      return;
    }
    if (line.startsWith("$ ")) {
      flush();
      current = { command: line.slice(2), expected: [], answer, line: index };
    } else current?.expected.push(line);
  });
  return steps;
}

function trimBlank(lines: readonly string[]): string[] {
  const out = [...lines];
  while (out.length > 0 && (out.at(-1) ?? "").trim() === "") out.pop();
  return out;
}

/** Colours and cursor movements removed. */
function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "");
}

/** What varies from run to run, blurred the same way on both sides. */
function blur(line: string): string {
  return stripAnsi(line)
    // Two backups in the same second get a -2 suffix.
    .replace(/(\d{8}T\d{6}Z-(?:[0-9a-f]{12}|stamp))-\d+\.(dump|pglite)/g, "$1.$2")
    .replace(/\d{8}T\d{6}Z/g, "<time>")
    .replace(/\bPostgreSQL \d+(\.\d+)?/g, "PostgreSQL <version>")
    .replace(/\b\d+(\.\d+)? (ms|s|min|KiB|MiB)\b/g, "<n>")
    .replace(/ {2,}/g, " ")
    .trimEnd();
}

/** Single-quotes a word for bash. */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * What a person sees on the terminal, roughly: each cursor movement or erasure starts a
 * new line (the prompt redraws itself in place), colours removed.
 */
function screenLines(transcript: string): string[] {
  return stripAnsi(transcript.replace(/\r\n/g, "\n").replace(/\u001b\[[0-9;]*[ABCDEFGHJK]/g, "\n"))
    .split(/\r|\n/)
    .map((line) => line.trimEnd())
    .filter((line) => line !== "");
}

interface StepResult {
  readonly output: string;
  readonly status: number;
}

/**
 * Runs every step in one bash process, in `dir`, with `env`; each step's output (stdout
 * and stderr, in the order written) between markers.
 */
async function runWalkthrough(steps: readonly Step[], dir: string, env: Record<string, string>): Promise<StepResult[]> {
  const script = ["exec 2>&1", `cd ${shellQuote(dir)}`];
  steps.forEach((step, index) => {
    script.push(`printf '\\n@@STEP ${index}@@\\n'`);
    if (step.answer !== null) {
      const inner = `eval "$(athanor shell-init bash)"; ${step.command}`;
      script.push(`python3 ${shellQuote(PTY)} ${shellQuote(`name ("${step.answer}")`)} ${shellQuote(`${step.answer}\\r`)} 120 bash -c ${shellQuote(inner)}`);
    } else script.push(step.command);
    script.push(`printf '\\n@@EXIT ${index} %d@@\\n' $?`);
  });
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn("bash", ["-c", script.join("\n")], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 600_000);
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
  return steps.map((_, index) => {
    const match = new RegExp(`\\n@@STEP ${index}@@\\n([\\s\\S]*?)\\n@@EXIT ${index} (\\d+)@@\\n`).exec(output);
    if (!match) throw new Error(`step ${index} (${steps[index]?.command}) did not finish; the output was:\n${output.slice(-3000)}`);
    return { output: match[1] ?? "", status: Number(match[2]) };
  });
}

/** An empty database whose random name has `length` characters. */
async function createDatabase(length: number): Promise<TestDatabase> {
  const name = `x${randomBytes(16).toString("hex")}`.slice(0, length);
  const admin = serverUrl();
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE "${name}"`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

/** A copy of the example (as a fresh clone has it: files readable by everyone) and `athanor` on PATH. */
async function prepare(): Promise<{ dir: string; bin: string; remove(): Promise<void> }> {
  const root = await tempDir("athanor-example-");
  const dir = join(root.dir, "multi-environment");
  await cp(EXAMPLE, dir, { recursive: true, filter: (source) => !/[/\\](\.athanor|backups)$/.test(source) && !source.endsWith("README.md") });
  for (const file of [".env", ".env.test", ".env.production"]) await chmod(join(dir, file), 0o644);
  const bin = join(root.dir, "bin");
  await mkdir(bin);
  await writeFile(join(bin, "athanor"), `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(BIN)} "$@"\n`, { mode: 0o755 });
  return { dir, bin, remove: root.remove };
}

function baseEnvironment(bin: string): Record<string, string> {
  return { PATH: `${bin}:${process.env["PATH"] ?? ""}`, HOME: process.env["HOME"] ?? "/tmp", TERM: "xterm-256color", LANG: "C.UTF-8" };
}

/** Lines that name no database: compared on PGlite too. */
const ENGINE_NEUTRAL = [
  /^exit \d+$/,
  /^(upgrade|downgrade) [0-9a-f]{12} /,
  /^(upgraded|downgraded) /,
  /^nothing to /,
  /^[0-9a-f]{12} /,
  /^(<base>|[0-9a-f]{12}) -> /,
  /^\w+: no revision applied/,
  /environments? (are up to date|needs? attention)$/,
  /^error: (environment|unknown environment)/,
];

const steps = parseWalkthrough(await readFile(README, "utf8"));

describe("the multi-environment README", () => {
  it("has a walk-through with the guide's commands", () => {
    const commands = steps.map((step) => step.command);
    for (const expected of ['eval "$(athanor shell-init bash)"', "athanor-help", "athanor-check", "athanor-dev current", "athanor-dev upgrade head", "athanor-test upgrade head", "athanor-prod upgrade head"]) {
      expect(commands).toContain(expected);
    }
    expect(commands.some((command) => command.startsWith("athanor-status"))).toBe(true);
    expect(commands.some((command) => command.includes("--yes"))).toBe(true);
    expect(steps.filter((step) => step.answer === "production").map((step) => step.command)).toEqual(["athanor-prod upgrade head"]);
  });
});

describe("the walk-through on PostgreSQL", () => {
  const databases: TestDatabase[] = [];
  let project: Awaited<ReturnType<typeof prepare>>;
  let results: StepResult[];
  let toReadme: (text: string) => string;
  let password: string;

  beforeAll(async () => {
    project = await prepare();
    // Names as long as the README's, so that the status table's columns line up the same.
    const [dev, test, prod] = await Promise.all([createDatabase(README_DATABASES.dev.length), createDatabase(README_DATABASES.test.length), createDatabase(README_DATABASES.prod.length)]);
    databases.push(dev, test, prod);
    const server = new URL(serverUrl());
    password = decodeURIComponent(server.password);
    const url = (db: TestDatabase) => `postgresql+asyncpg://${server.username}:${server.password}@${server.host}/${db.name}`;
    const env = {
      ...baseEnvironment(project.bin),
      // The process environment wins over the .env files: each environment's variables point at the test's databases.
      DEV_DATABASE_URL: url(dev),
      TEST_DATABASE_URL: url(test),
      DB_USER: decodeURIComponent(server.username),
      DB_PASSWORD: password,
      DB_HOST: server.hostname,
      DB_PORT: server.port || "5432",
      DB_NAME: prod.name,
    };
    const pairs: [string, string][] = [
      [project.dir, README_DIR],
      [`${server.host}/${dev.name}`, `localhost:5432/${README_DATABASES.dev}`],
      [`${server.host}/${test.name}`, `localhost:5432/${README_DATABASES.test}`],
      [`${server.host}/${prod.name}`, `localhost:5432/${README_DATABASES.prod}`],
      [`://${decodeURIComponent(server.username)}:***@localhost:5432/`, "://user:***@localhost:5432/"],
    ];
    toReadme = (text) => pairs.reduce((out, [from, to]) => out.split(from).join(to), text);
    results = await runWalkthrough(steps, project.dir, env);
  }, 600_000);

  afterAll(async () => {
    await project?.remove();
    await Promise.all(databases.map((db) => db.drop()));
  });

  it("prints what the README shows, command by command", async () => {
    const rewritten: { line: number; output: string[] }[] = [];
    steps.forEach((step, index) => {
      const result = results[index] as StepResult;
      const actual = toReadme(result.output);
      if (step.answer !== null) {
        const screen = screenLines(actual).map(blur);
        for (const line of step.expected.map(blur).filter((l) => l !== "")) expect(screen, `\`${step.command}\` on a terminal shows: ${line}`).toContain(line);
        expect(result.status, `\`${step.command}\` exit status`).toBe(0);
        return;
      }
      const lines = trimBlank(stripAnsi(actual).split("\n").map((line) => line.trimEnd()));
      rewritten.push({ line: step.line, output: lines });
      if (!UPDATE) expect(lines.map(blur), `output of \`${step.command}\` (README line ${step.line + 1})`).toEqual(step.expected.map(blur));
    });
    if (UPDATE) await writeFile(README, rewriteReadme(await readFile(README, "utf8"), rewritten));
  });

  it("never prints the password", () => {
    for (const result of results) expect(result.output).not.toContain(password);
  });

  it("leaves production with three pg_dump backups, each readable by its owner only", async () => {
    const { readdir, stat } = await import("node:fs/promises");
    const files = (await readdir(join(project.dir, "backups"))).filter((name) => name.endsWith(".dump"));
    expect(files).toHaveLength(3);
    for (const file of files) expect((await stat(join(project.dir, "backups", file))).mode & 0o077).toBe(0);
  });
});

describe("the walk-through on PGlite", () => {
  let project: Awaited<ReturnType<typeof prepare>>;
  let results: StepResult[];

  beforeAll(async () => {
    project = await prepare();
    const env = {
      ...baseEnvironment(project.bin),
      DEV_DATABASE_URL: "pglite://./.athanor/dev",
      TEST_DATABASE_URL: "pglite://./.athanor/test",
      PROD_DATABASE_URL: "pglite://./.athanor/prod",
    };
    results = await runWalkthrough(steps, project.dir, env);
  }, 600_000);

  afterAll(async () => {
    await project?.remove();
  });

  it("gives the same results: revisions, states, exit statuses", () => {
    const neutral = (lines: readonly string[]) => lines.map(blur).filter((line) => ENGINE_NEUTRAL.some((pattern) => pattern.test(line)));
    steps.forEach((step, index) => {
      const result = results[index] as StepResult;
      if (step.answer !== null) {
        expect(screenLines(result.output).map(blur), `\`${step.command}\` on a terminal`).toContain("upgraded production to 783297c20e22: 3 revisions in <n>");
        expect(result.status).toBe(0);
        return;
      }
      const lines = stripAnsi(result.output).split("\n");
      expect(neutral(lines), `output of \`${step.command}\` (README line ${step.line + 1})`).toEqual(neutral(step.expected));
    });
  });

  it("never prints the example's password", () => {
    for (const result of results) expect(result.output).not.toContain("fake-password-change-me");
  });
});

/** The README with the outputs of the given commands replaced (update mode). */
function rewriteReadme(markdown: string, outputs: readonly { line: number; output: readonly string[] }[]): string {
  const lines = markdown.split("\n");
  const byLine = new Map(outputs.map((entry) => [entry.line, entry.output]));
  const out: string[] = [];
  let skipping = false;
  lines.forEach((line, index) => {
    if (skipping) {
      if (line.startsWith("$ ") || line === "```") skipping = false;
      else return;
    }
    out.push(line);
    const replacement = byLine.get(index);
    if (replacement !== undefined) {
      out.push(...replacement);
      skipping = true;
    }
  });
  return out.join("\n");
}
