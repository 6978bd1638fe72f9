/**
 * `athanor review` end to end, through the CLI, on a real git repository: a base commit
 * whose two revisions are applied to a PostgreSQL and a PGlite environment, and a
 * branch that adds a revision with dangerous statements, edits an applied revision and
 * adds a second head. Every format is checked for content; the SARIF output is
 * validated against the OASIS SARIF 2.1.0 schema (test/fixtures/sarif).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReviewReport } from "../src/commands/review-model.js";
import { baseEnv, runCli, spawnCli } from "./support/cli.js";
import { createPostgresDatabase, tempDir, type TestDatabase } from "./support/databases.js";
import { adminQuery } from "./support/guard-project.js";

const require = createRequire(import.meta.url);
type AjvClass = typeof import("ajv-draft-04").default;
const Ajv = require("ajv-draft-04") as AjvClass;
const addFormats = require("ajv-formats") as typeof import("ajv-formats").default;

const A = "a1a1a1a1a1a1";
const B = "b2b2b2b2b2b2";
const C = "c3c3c3c3c3c3";
const D = "d4d4d4d4d4d4";
const E = "e5e5e5e5e5e5";

function sqlRevision(id: string, down: string | null, message: string, upgrade: string): string {
  return [`-- athanor:revision ${id}`, ...(down === null ? [] : [`-- athanor:down ${down}`]), `-- athanor:message ${message}`, "", "-- athanor:upgrade", upgrade, "", "-- athanor:downgrade", "SELECT 1;", ""].join("\n");
}

let dir: string;
let removeDir: () => Promise<void>;
let db: TestDatabase;
const env = baseEnv();

function git(...args: string[]): string {
  return execFileSync("git", args, { cwd: dir, encoding: "utf8", env: { PATH: process.env["PATH"], HOME: dir } });
}

function cli(argv: string[]) {
  return runCli(argv, { cwd: dir, env });
}

const ENVS = ["--env", "testing", "--env", "local", "--env", "production"];

/** Each run opens PGlite (WASM) and PostgreSQL sessions: on a busy machine a run takes far longer than on an idle one. */
const SLOW = { timeout: 240_000 };

beforeAll(async () => {
  ({ dir, remove: removeDir } = await tempDir("athanor-review-"));
  db = await createPostgresDatabase("athanor_review");
  await mkdir(join(dir, "migrations"));
  await writeFile(
    join(dir, "athanor.config.json"),
    JSON.stringify({
      migrations: "./migrations",
      environments: {
        testing: { url: db.url },
        local: { url: "pglite://./.data/local" },
        // Never migrated: the review must not create its data directory.
        production: { url: "pglite://./.data/production", promoteFrom: "testing" },
      },
    }),
  );
  await writeFile(join(dir, ".gitignore"), ".data/\n");
  await writeFile(join(dir, "migrations", "0001_users.sql"), sqlRevision(A, null, "create users", "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text);"));
  await writeFile(join(dir, "migrations", "0002_index.sql"), sqlRevision(B, A, "add users name", "CREATE TABLE profiles (id bigint PRIMARY KEY);"));
  git("init", "-q", "-b", "main");
  git("config", "user.name", "Review Test");
  git("config", "user.email", "review@example.test");
  git("add", "-A");
  git("commit", "-q", "-m", "base");
  for (const name of ["testing", "local"]) {
    const up = await cli(["--env", name, "upgrade", "head"]);
    expect(up.status, up.stderr).toBe(0);
  }

  // The branch: B edited (applied in testing and local), C added with dangerous statements, D a second head.
  git("checkout", "-q", "-b", "feature");
  await writeFile(join(dir, "migrations", "0002_index.sql"), sqlRevision(B, A, "add users name", "CREATE TABLE profiles (id bigint PRIMARY KEY, bio text);"));
  await writeFile(
    join(dir, "migrations", "0003_drop_email.sql"),
    sqlRevision(C, B, "drop email | add <token>", "ALTER TABLE users DROP COLUMN email;\nALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();"),
  );
  await writeFile(join(dir, "migrations", "0004_orders.sql"), sqlRevision(D, A, "create orders", "CREATE TABLE orders (id bigint PRIMARY KEY);"));
  git("add", "-A");
  git("commit", "-q", "-m", "feature");
}, SLOW.timeout);

afterAll(async () => {
  await db?.drop();
  await removeDir?.();
});

describe("athanor review on a branch with an edited applied revision, a second head and dangerous statements", SLOW, () => {
  it("json: the documented shape, compared with the merge base of HEAD and main; the environments are read, not changed", async () => {
    const tables = async () => (await adminQuery<{ n: string }>(db.name, "SELECT count(*)::text AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"))[0]?.n;
    const history = async () => (await adminQuery<{ n: string }>(db.name, "SELECT count(*)::text AS n FROM athanor_version_history"))[0]?.n;
    const before = [await tables(), await history()];
    const result = await cli(["review", "--format", "json", ...ENVS]);
    expect(result.status, result.stderr).toBe(5);
    // No row, no table, no PGlite directory.
    expect([await tables(), await history()]).toEqual(before);
    expect(existsSync(join(dir, ".data", "production"))).toBe(false);
    const report = JSON.parse(result.stdout) as ReviewReport;
    expect(report.version).toBe(1);
    // The shape documented in docs/review.md, key for key.
    const keys = (value: object | undefined): string[] => Object.keys(value ?? {}).sort();
    expect(keys(report)).toEqual(["base", "environments", "findings", "graph", "migrationsDir", "notes", "removed", "renamed", "revisions", "summary", "version"]);
    expect(keys(report.summary)).toEqual(["added", "edited", "environmentsBehind", "failOn", "failed", "findings", "heads", "reasons", "removed", "renamed"]);
    expect(keys(report.graph)).toEqual(["baseHeads", "error", "heads", "mergeNeeded", "mermaid", "newHeads"]);
    expect(keys(report.revisions[0])).toEqual(["baseChecksum", "baseFile", "checksum", "file", "format", "id", "isHead", "linted", "message", "parents", "sql", "sqlNote", "status", "transactional"]);
    expect(keys(report.environments[0])).toEqual(["behind", "current", "editedApplied", "error", "name", "promotion", "reachable", "sql", "target", "upgrade", "url"]);
    expect(keys(report.findings[0])).toEqual(["environment", "file", "help", "line", "message", "revision", "rule", "severity", "source", "statement"]);
    expect(report.base).toEqual({ ref: "main", commit: git("rev-parse", "main").trim(), how: "merge-base" });
    expect(report.migrationsDir).toBe("migrations");
    expect(report.summary).toMatchObject({ added: 2, edited: 1, removed: 0, heads: 2, failOn: "error", failed: true, environmentsBehind: ["testing", "local", "production"] });
    expect(report.graph).toMatchObject({ heads: [C, D], baseHeads: [B], newHeads: [C, D], mergeNeeded: true, error: null });
    expect(report.revisions.map((r) => [r.id, r.status, r.file, r.isHead])).toEqual([
      [B, "edited", "migrations/0002_index.sql", false],
      [C, "added", "migrations/0003_drop_email.sql", true],
      [D, "added", "migrations/0004_orders.sql", true],
    ]);
    expect(report.revisions[1]?.sql).toContain("ALTER TABLE users DROP COLUMN email;");

    const brief = report.findings.map((f) => [f.rule, f.severity, f.file, f.line, f.environment]);
    expect(brief).toContainEqual(["drop-column", "error", "migrations/0003_drop_email.sql", 6, null]);
    expect(brief).toContainEqual(["add-column-volatile-default", "error", "migrations/0003_drop_email.sql", 7, null]);
    expect(brief).toContainEqual(["multiple-heads", "error", "migrations/0004_orders.sql", 1, null]);
    expect(brief).toContainEqual(["edited-applied-revision", "error", "migrations/0002_index.sql", 1, "testing"]);
    expect(brief).toContainEqual(["edited-applied-revision", "error", "migrations/0002_index.sql", 1, "local"]);
    expect(brief).toContainEqual(["promotion-gate", "info", null, null, "production"]);
    expect(report.summary.reasons).toEqual(["multiple-heads", "edited-applied-revision ×2", "drop-column", "add-column-volatile-default"]);

    const [testing, local, production] = report.environments;
    for (const environment of [testing, local]) {
      expect(environment).toMatchObject({ reachable: true, error: null, current: [B], target: "heads", behind: true, editedApplied: [B], promotion: null });
      expect(environment?.upgrade.map((step) => step.revision)).toEqual([C, D]);
      expect(environment?.sql).toContain("ALTER TABLE users DROP COLUMN email;");
    }
    expect(testing?.url).toMatch(/^postgres(ql)?:\/\//);
    expect(local?.url).toContain("pglite://");
    // B was edited after testing applied it: the gate blocks it too (testing ran another version of its file).
    expect(production).toMatchObject({ current: [], editedApplied: [], promotion: { source: "testing", allowed: false, blocked: [B, C, D], stamped: [], changed: [B], sourceError: null } });
    expect(production?.upgrade.map((step) => step.revision)).toEqual([A, B, C, D]);
  });

  it("text: base, heads, findings with file and line, SQL, environments and the verdict", async () => {
    const result = await cli(["review", ...ENVS]);
    expect(result.status, result.stderr).toBe(5);
    const out = result.stdout;
    expect(out).toContain(`athanor review against the merge base of HEAD and main (${git("rev-parse", "main").trim().slice(0, 12)})`);
    expect(out).toContain("revisions: 2 added, 1 edited, 0 removed (in migrations)");
    expect(out).toContain(`graph: 2 heads: ${C}, ${D} — a merge revision is needed`);
    expect(out).toContain("drop-column  migrations/0003_drop_email.sql:6  ALTER TABLE users DROP COLUMN email");
    expect(out).toContain("add-column-volatile-default  migrations/0003_drop_email.sql:7");
    expect(out).toContain(`revision ${B} was edited since the base, and environment "testing" has applied it`);
    expect(out).toContain("ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();");
    expect(out).toMatch(/upgrade heads would run 2 revisions/);
    expect(out).toContain('promotion gate (from testing): would refuse: "testing" has not applied');
    expect(out).toMatch(/review fails \(--fail-on error\): multiple-heads/);
  });

  it("markdown: summary, Mermaid graph, SQL in <details>, findings; repository text escaped", async () => {
    const result = await cli(["review", "--format", "markdown", ...ENVS]);
    expect(result.status, result.stderr).toBe(5);
    const md = result.stdout;
    expect(md.startsWith("## athanor review\n")).toBe(true);
    expect(md).toContain("| Revisions | 2 added, 1 edited, 0 removed |");
    expect(md).toContain(`| Heads | ⚠️ 2: \`${C}\`, \`${D}\` — a merge revision is needed |`);
    expect(md).toContain("| Environments behind | `testing` (2), `local` (2), `production` (4) |");
    expect(md).toMatch(/\| Findings \| 🔴 5 error · 🟡 0 warning · 🔵 1 info \|/);
    expect(md).toContain("```mermaid\nflowchart TD\n");
    expect(md).toContain(`  class r${C},r${D} head`);
    expect(md).toContain(`  class r${B},r${C},r${D} changed`);
    // The message's pipe and angle brackets cannot break the heading nor inject HTML.
    expect(md).toContain(`#### \`${C}\` drop email \\| add &lt;token&gt;`);
    expect(md).toMatch(/<details><summary>SQL \(upgrade, 2 lines\)<\/summary>\n\n```sql\nALTER TABLE users DROP COLUMN email;\nALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid\(\);\n```\n\n<\/details>/);
    expect(md).toContain("- 🔴 **error** `drop-column` — ALTER TABLE ... DROP COLUMN `migrations/0003_drop_email.sql:6` `ALTER TABLE users DROP COLUMN email`");
    expect(md).toContain("| `testing` | `b2b2b2b2b2b2` | (`head` refuses: several heads; `heads` runs) `c3c3c3c3c3c3` → `d4d4d4d4d4d4` | — |");
    expect(md).toContain("| `production` | nothing applied |");
    expect(md).toContain("⛔ would refuse: `testing` has not applied `c3c3c3c3c3c3`, `d4d4d4d4d4d4`, and ran an earlier version of `b2b2b2b2b2b2`");
    expect(result.stderr).toContain("review fails (--fail-on error)");
  });

  it("sarif: valid SARIF 2.1.0, one result per located finding with the rule's id, file and line", async () => {
    const result = await cli(["review", "--format", "sarif", ...ENVS]);
    expect(result.status, result.stderr).toBe(5);
    const log = JSON.parse(result.stdout) as { runs: { tool: { driver: { rules: { id: string; help: { text: string } }[] } }; results: { ruleId: string; ruleIndex: number; level: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[] }[] }[] };
    const schema = JSON.parse(readFileSync(new URL("./fixtures/sarif/sarif-schema-2.1.0.json", import.meta.url), "utf8")) as object;
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    expect(validate(log), JSON.stringify(validate.errors, null, 2)).toBe(true);

    const run = log.runs[0];
    const located = run?.results.map((r) => [r.ruleId, r.level, r.locations[0]?.physicalLocation.artifactLocation.uri, r.locations[0]?.physicalLocation.region.startLine]);
    expect(located).toContainEqual(["drop-column", "error", "migrations/0003_drop_email.sql", 6]);
    expect(located).toContainEqual(["add-column-volatile-default", "error", "migrations/0003_drop_email.sql", 7]);
    expect(located).toContainEqual(["edited-applied-revision", "error", "migrations/0002_index.sql", 1]);
    expect(located).toContainEqual(["multiple-heads", "error", "migrations/0004_orders.sql", 1]);
    // The environment-level finding has no line to annotate.
    expect(located?.some((r) => r[0] === "promotion-gate")).toBe(false);
    for (const r of run?.results ?? []) expect(run?.tool.driver.rules[r.ruleIndex]?.id).toBe(r.ruleId);
    expect(run?.tool.driver.rules.find((rule) => rule.id === "drop-column")?.help.text).toMatch(/Safe pattern: Stop reading and writing the column/);
  });

  it("without --env: the graph, the findings and the SQL, and an edited revision is a warning", async () => {
    const result = await cli(["review", "--format", "json", "--base", "main"]);
    expect(result.status, result.stderr).toBe(5);
    const report = JSON.parse(result.stdout) as ReviewReport;
    expect(report.base.how).toBe("given");
    expect(report.environments).toEqual([]);
    expect(report.findings.map((f) => [f.rule, f.severity])).toContainEqual(["edited-revision", "warning"]);
    expect(report.findings.some((f) => f.rule === "edited-applied-revision")).toBe(false);
  });

  it("the real binary exits 5 and writes only the document on stdout", async () => {
    const result = await spawnCli(["review", "--format", "sarif", "--base", "main"], { cwd: dir, env });
    expect(result.status, result.stderr).toBe(5);
    expect((JSON.parse(result.stdout) as { version: string }).version).toBe("2.1.0");
    expect(result.stderr).toContain("review fails (--fail-on error): multiple-heads, drop-column, add-column-volatile-default");
  });

  it("usage errors exit 2: a bad ref, an option-like ref, an unknown format, severity or environment", async () => {
    const badRef = await cli(["review", "--base", "no-such-branch"]);
    expect(badRef.status).toBe(2);
    expect(badRef.stderr).toContain('--base "no-such-branch" is not a commit');
    expect((await cli(["review", "--base=--output=/tmp/x"])).status).toBe(2);
    const format = await cli(["review", "--format", "xml"]);
    expect(format.status).toBe(2);
    expect(format.stderr).toContain("Allowed choices are text, markdown, json, sarif");
    expect((await cli(["review", "--fail-on", "fatal"])).status).toBe(2);
    const unknown = await cli(["review", "--env", "staging"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown environment "staging"');
  });
});

describe("athanor review on a clean branch", SLOW, () => {
  beforeAll(async () => {
    git("checkout", "-q", "-b", "clean", "main");
    // A TypeScript revision: its statements are recorded offline, and it is not linted (an info finding).
    await writeFile(
      join(dir, "migrations", "0005_audit.ts"),
      `export default {\n  revision: "${E}",\n  down: "${B}",\n  message: "create audit",\n  async upgrade({ sql }) {\n    await sql\`CREATE TABLE audit (id bigint PRIMARY KEY, note text)\`;\n  },\n};\n`,
    );
    git("add", "-A");
    git("commit", "-q", "-m", "clean");
  }, SLOW.timeout);

  it("exits 0; the promotion gate would refuse what the source has not applied", async () => {
    const result = await cli(["review", "--format", "json", "--base", "main", "--env", "testing", "--env", "production"]);
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as ReviewReport;
    expect(report.summary).toMatchObject({ added: 1, edited: 0, heads: 1, failed: false, findings: { error: 0, warning: 0, info: 2 } });
    expect(report.revisions[0]).toMatchObject({ id: E, format: "ts", linted: false });
    expect(report.revisions[0]?.sql).toContain("CREATE TABLE audit (id bigint PRIMARY KEY, note text);");
    expect(report.environments[0]).toMatchObject({ name: "testing", target: "head", upgrade: [{ revision: E }] });
    expect(report.environments[1]?.promotion).toEqual({ source: "testing", allowed: false, blocked: [E], stamped: [], changed: [], sourceError: null });
  });

  it("the promotion gate passes once the source has applied everything that would run", async () => {
    const up = await cli(["--env", "testing", "upgrade", "head"]);
    expect(up.status, up.stderr).toBe(0);
    const result = await cli(["review", "--format", "markdown", "--base", "main", "--env", "testing", "--env", "production"]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain("| `testing` | `e5e5e5e5e5e5` | nothing (up to date) | — |");
    expect(result.stdout).toContain("| `production` | nothing applied | `a1a1a1a1a1a1` → `b2b2b2b2b2b2` → `e5e5e5e5e5e5` | ✅ passes (from `testing`) |");
    expect(result.stdout).toContain("| Result | ✅ passes (`--fail-on error`) |");
  });

  it("--fail-on sets the threshold: info fails on the TypeScript revision that is not linted", async () => {
    expect((await cli(["review", "--base", "main", "--fail-on", "warning"])).status).toBe(0);
    const info = await cli(["review", "--base", "main", "--fail-on", "info"]);
    expect(info.status).toBe(5);
    expect(info.stdout).toContain("review fails (--fail-on info): not-linted");
  });
});
