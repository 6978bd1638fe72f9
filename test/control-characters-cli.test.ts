/**
 * Adversarial finding F5 (round 9): a pull request's revision message and file name must
 * not reach text output raw. A message holding a control character (an OSC title, SGR
 * colours) is refused by the header parser, naming the file and line (exit 2); a
 * revision file whose name holds one (an escape sequence, a newline that would print a
 * forged verdict line) is refused by the directory scan, named with escapes; a base file
 * with such a name becomes a note, escaped, in review's text and markdown. The real
 * binary, no database: heads, history, show, lint and review. No output holds a raw
 * control character (other than newline) and no line of it is a forged verdict.
 */
import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { baseEnv, spawnCli, type CliResult } from "./support/cli.js";
import { tempDir } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";

const A = "b00000000001";
const B = "b00000000003";
const HOSTILE_MESSAGE = "ok \u001b]0;PWNED\u0007 \u001b[31mRED\u001b[0m";
/** A line the name would print on its own; marked, since a passing review prints the real verdict too. */
const FORGED = "FORGED review passes (--fail-on error)";
/** A file name with an SGR sequence and a newline followed by a forged verdict. */
const HOSTILE_NAME = `${B}_\u001b[31mx\n${FORGED}.sql`;
const HOSTILE_NAME_SHOWN = `${B}_\\x1b[31mx\\n${FORGED}.sql`;

let dir: string;
let remove: () => Promise<void>;

function git(...args: string[]): void {
  execFileSync("git", args, { cwd: dir, env: { PATH: process.env["PATH"], HOME: dir } });
}

function cli(...argv: string[]): Promise<CliResult> {
  return spawnCli(argv, { cwd: dir, env: baseEnv() });
}

/** No raw control character but newline, no bidirectional or invisible one, in any byte the binary wrote, and no forged line. */
function expectInert(result: CliResult): void {
  for (const [stream, text] of [["stdout", result.stdout], ["stderr", result.stderr]] as const) {
    expect(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/.test(text), `${stream} holds a raw control character: ${JSON.stringify(text)}`).toBe(false);
    expect(text.split("\n").some((line) => line.trimStart().startsWith(FORGED)), `${stream} holds a forged line`).toBe(false);
  }
}

beforeEach(async () => {
  ({ dir, remove } = await tempDir("athanor-control-"));
  await mkdir(join(dir, "migrations"));
  await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: "pglite://./.data/dev" } } }));
  await writeFile(join(dir, "migrations", `${A}_base.sql`), sqlRevisionText({ id: A, message: "base", upgrade: "CREATE TABLE a (id int);", downgrade: "DROP TABLE a;" }));
  git("init", "-q", "-b", "main");
  git("config", "user.name", "Control Test");
  git("config", "user.email", "control@example.test");
  git("add", "-A");
  git("commit", "-q", "-m", "base");
  git("checkout", "-q", "-b", "pr");
});
afterEach(async () => {
  await remove();
});

describe("a message with escape sequences", () => {
  beforeEach(async () => {
    await writeFile(join(dir, "migrations", `${B}_x.sql`), sqlRevisionText({ id: B, down: A, message: HOSTILE_MESSAGE, upgrade: "CREATE TABLE b (id int);", downgrade: "DROP TABLE b;" }));
  });

  it.each([["heads"], ["history"], ["show", B], ["lint"], ["review", "--base", "main"], ["review", "--base", "main", "--format", "markdown"]])(
    "%s refuses it, naming the file and line, with the value escaped (exit 2)",
    async (...argv) => {
      const result = await cli(...argv);
      expectInert(result);
      expect(result.status, result.stdout + result.stderr).toBe(2);
      expect(result.stderr).toContain(`${B}_x.sql:3: -- athanor:message holds a control character (\`ok \\x1b]0;PWNED\\x07 \\x1b[31mRED\\x1b[0m\`)`);
    },
  );

  it("--json names it too (JSON escapes it)", async () => {
    const result = await cli("heads", "--json");
    expect(result.status).toBe(2);
    const document = JSON.parse(result.stdout) as { error: { code: string; message: string } };
    expect(document.error.code).toBe("malformed-header");
    expect(document.error.message).toContain("\\x1b]0;PWNED");
  });
});

describe("a file name with an escape sequence and a newline", () => {
  beforeEach(async () => {
    await writeFile(join(dir, "migrations", HOSTILE_NAME), sqlRevisionText({ id: B, down: A, message: "x", upgrade: "CREATE TABLE b (id int", downgrade: "DROP TABLE b;" }));
  });

  it.each([["heads"], ["history"], ["show", B], ["lint"], ["review", "--base", "main"], ["review", "--base", "main", "--format", "markdown"]])(
    "%s refuses it, naming it with escapes (exit 2)",
    async (...argv) => {
      const result = await cli(...argv);
      expectInert(result);
      expect(result.status, result.stdout + result.stderr).toBe(2);
      expect(result.stderr).toContain(`the revision file name \`${HOSTILE_NAME_SHOWN}\` holds a control character`);
    },
  );

  it("review reports one at the base, escaped, when the branch removed it", async () => {
    git("add", "-A");
    git("commit", "-q", "-m", "hostile");
    git("checkout", "-q", "-b", "fix");
    git("rm", "-q", "--", join("migrations", HOSTILE_NAME));
    git("commit", "-q", "-m", "removed");
    // Markdown also backslash-escapes what would start its syntax (the escapes' `\\`, `[`, `_`): it renders as the text format prints.
    for (const [format, shown] of [["text", HOSTILE_NAME_SHOWN], ["markdown", HOSTILE_NAME_SHOWN.replace(/[\\[_]/g, "\\$&")]]) {
      const result = await cli("review", "--base", "pr", "--format", format as string);
      expectInert(result);
      expect(result.status, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toContain(`migrations/${shown} at the base could not be read`);
    }
  });
});

describe("bidirectional and invisible characters (Trojan Source)", () => {
  /** Shown as "drop only the test tables", holds an override that reorders the rest. */
  const TROJAN_MESSAGE = "drop only the test tables\u202e\u2066 -- and prod\u2069";
  const TROJAN_NAME = `${B}_users\u202etxt.lqs.sql`;

  it.each([["heads"], ["show", B], ["review", "--base", "main", "--format", "markdown"]])("%s refuses a message holding them, escaped (exit 2)", async (...argv) => {
    await writeFile(join(dir, "migrations", `${B}_x.sql`), sqlRevisionText({ id: B, down: A, message: TROJAN_MESSAGE, upgrade: "CREATE TABLE b (id int);" }));
    const result = await cli(...argv);
    expectInert(result);
    expect(result.status, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toContain(`${B}_x.sql:3: -- athanor:message holds a control character (\`drop only the test tables\\u202e\\u2066 -- and prod\\u2069\`)`);
  });

  // Before round 11 the line was read as a plain comment: the revision ran with no message.
  it.each([["heads"], ["history"]])("%s refuses a message holding a line separator, escaped (exit 2)", async (...argv) => {
    await writeFile(join(dir, "migrations", `${B}_x.sql`), sqlRevisionText({ id: B, down: A, message: "add users\u2028forged line", upgrade: "CREATE TABLE b (id int);" }));
    const result = await cli(...argv);
    expectInert(result);
    expect(result.status, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toContain(`${B}_x.sql:3: -- athanor:message holds a control character (\`add users\\u2028forged line\`)`);
  });

  it.each([["heads"], ["lint"], ["review", "--base", "main"]])("%s refuses a file name holding them, escaped (exit 2)", async (...argv) => {
    await writeFile(join(dir, "migrations", TROJAN_NAME), sqlRevisionText({ id: B, down: A, message: "x", upgrade: "CREATE TABLE b (id int);" }));
    const result = await cli(...argv);
    expectInert(result);
    expect(result.status, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toContain(`the revision file name \`${B}_users\\u202etxt.lqs.sql\` holds a control character`);
  });

  it("upgrade shows them escaped in an echoed statement and in the server's error", async () => {
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: "pglite://./.data/dev", echo: true } } }));
    await writeFile(join(dir, "migrations", `${B}_x.sql`), sqlRevisionText({ id: B, down: A, message: "x", upgrade: "SELECT 'admin\u202e\u2066 -- ok\u2069'::int;" }));
    const up = await cli("upgrade");
    expectInert(up);
    expect(up.status, up.stdout + up.stderr).toBe(1);
    expect(up.stderr).toContain("SELECT 'admin\\u202e\\u2066 -- ok\\u2069'::int");
    expect(up.stderr).toContain('invalid input syntax for type integer: "admin\\u202e\\u2066 -- ok\\u2069"');

    // --json and the JSON log write them as JSON escapes: the same text once parsed, inert raw.
    const json = await cli("upgrade", "--json", "--log-format", "json");
    expectInert(json);
    expect(json.status, json.stdout + json.stderr).toBe(1);
    expect(json.stdout).toContain("admin\\u202e\\u2066 -- ok\\u2069");
    expect((JSON.parse(json.stdout) as { error: { message: string } }).error.message).toContain("admin\u202e\u2066 -- ok\u2069");
    expect(json.stderr).toContain("\\u202e");
  });
});

describe("escape sequences in a revision's SQL and in the server's error about it (PGlite)", () => {
  const C = "b00000000005";
  beforeEach(async () => {
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: "pglite://./.data/dev", echo: true } } }));
    // A raw ESC in a string literal: echoed as the statement runs.
    await writeFile(join(dir, "migrations", `${B}_raw.sql`), sqlRevisionText({ id: B, down: A, message: "raw", upgrade: "SELECT 'raw \u001b[2J cleared';" }));
    // The server quotes the bad input in its error: an OSC title, once decoded from E'...'.
    await writeFile(join(dir, "migrations", `${C}_fails.sql`), sqlRevisionText({ id: C, down: B, message: "fails", upgrade: "SELECT E'\\x1b]0;PWNED\\x07'::int;" }));
  });

  it("upgrade's echo and error, and log, show them escaped", async () => {
    const up = await cli("upgrade");
    expectInert(up);
    expect(up.status, up.stdout + up.stderr).toBe(1);
    expect(up.stderr).toContain("SELECT 'raw \\x1b[2J cleared'");
    expect(up.stderr).toMatch(/invalid input syntax for type integer: "\\x1b\]0;PWNED\\x07"/);

    const log = await cli("log");
    expectInert(log);
    expect(log.status, log.stderr).toBe(0);
    expect(log.stdout).toContain("\\x1b]0;PWNED\\x07");
  });
});

describe("a raw escape sequence in a revision's SQL", () => {
  beforeEach(async () => {
    await writeFile(join(dir, "migrations", `${B}_drop.sql`), sqlRevisionText({ id: B, down: A, message: "drop", upgrade: 'DROP TABLE "a\u001b[2Jb";' }));
  });

  it("lint quotes it escaped in the finding's excerpt", async () => {
    const result = await cli("lint", B);
    expectInert(result);
    expect(result.stdout).toContain('DROP TABLE "a\\x1b[2Jb"');
  });
});
