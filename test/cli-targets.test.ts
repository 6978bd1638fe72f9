/**
 * Alembic's branch targets driven through the CLI's `main(argv, io)`, on PostgreSQL and
 * on a PGlite directory: `<branch>@+N`, `<branch>@-N`, `<branch>@base`, `<rev>@head`,
 * the wrong direction (exit 2), `upgrade +0` (exit 2 with a hint that makes sense), and a
 * TypeScript revision whose header is in `// athanor:` lines, applied and reverted.
 *
 *   a1 ─ b1 ─ c1 ─ c2        (label "left" on c1)
 *         └─ d1              (label "right" on d1)
 *   e1 ─ e2 ─ f1             (label "other" on e1; f1 is TypeScript)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, runCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, type TestDatabase } from "./support/databases.js";
import { createEngineProject, type EngineProject } from "./support/engine-project.js";

/** `a1` → `a1a1a1a1a1a1`. */
const rev = (name: string): string => name.repeat(6);
const [A1, B1, C1, C2, D1, E1, E2, F1] = ["a1", "b1", "c1", "c2", "d1", "e1", "e2", "f1"].map(rev) as [string, string, string, string, string, string, string, string];

/** The SQL revisions: name, parent, branch label. */
const SQL_REVISIONS: [string, string | null, string | null][] = [
  ["a1", null, null],
  ["b1", "a1", null],
  ["c1", "b1", "left"],
  ["c2", "c1", null],
  ["d1", "b1", "right"],
  ["e1", null, "other"],
  ["e2", "e1", null],
];

const TS_REVISION = `// athanor:revision ${F1}
// athanor:down ${E2}
// athanor:message typescript with a comment header
import { defineMigration } from "athanor";

export default defineMigration({
  async upgrade({ sql }) {
    await sql\`CREATE TABLE t_${F1} (id int)\`;
  },
  async downgrade({ sql }) {
    await sql\`DROP TABLE t_${F1}\`;
  },
});
`;

/** Each CLI command opens the database anew: PGlite starts its WASM engine every time. */
const TIMEOUT = 240_000;

const engines = [
  { name: "PostgreSQL", postgres: true },
  { name: "PGlite", postgres: false },
];

describe.each(engines)("branch targets through the CLI ($name)", ({ postgres }) => {
  let project: EngineProject;
  let db: TestDatabase | undefined;
  let env: Record<string, string | undefined>;
  const cli = (...argv: string[]): Promise<CliResult> => runCli(argv, { cwd: project.dir, env });
  const current = async (): Promise<string[]> => {
    const result = await cli("current", "--json");
    expect(result.status).toBe(0);
    return [...(JSON.parse(result.stdout) as { current: string[] }).current].sort();
  };
  const ok = async (...argv: string[]): Promise<CliResult> => {
    const result = await cli(...argv);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    return result;
  };

  beforeAll(async () => {
    project = await createEngineProject();
    for (const [name, down, label] of SQL_REVISIONS) {
      const id = rev(name);
      await project.write({ id, down: down === null ? null : rev(down), message: name, branchLabels: label === null ? [] : [label], upgrade: `CREATE TABLE t_${id} (id int);`, downgrade: `DROP TABLE t_${id};` });
    }
    await project.writeFile(`${F1}_typescript.ts`, TS_REVISION);
    if (postgres) {
      db = await createPostgresDatabase("athanor_targets");
      env = baseEnv({ DATABASE_URL: db.url });
      await project.configure({ development: { url: "${DATABASE_URL}" } });
    } else {
      env = baseEnv();
      await project.configure({ development: { url: "pglite://./.athanor/dev" } });
    }
  }, TIMEOUT);
  afterAll(async () => {
    await db?.drop();
    await project.remove();
  });

  it("upgrades along a branch with <branch>@+N and <rev>@head", async () => {
    // Nothing of `left` is applied: +3 walks up from the base of its line.
    const left = await ok("upgrade", "left@+3");
    expect(left.stdout).toContain(`upgraded development to ${C1}: 3 revisions in`);
    expect(await current()).toEqual([C1]);
    // `right` stands at b1 (applied, on its line): +1 is d1 only.
    await ok("upgrade", "right@+1");
    expect(await current()).toEqual([C1, D1]);
    await ok("upgrade", "c1c1@head");
    expect(await current()).toEqual([C2, D1]);
    await ok("upgrade", "other@+2");
    expect(await current()).toEqual([C2, D1, E2]);
    const typescript = await ok("upgrade", "heads");
    expect(typescript.stdout).toContain(`upgrade ${F1} typescript with a comment header`);
    expect(await current()).toEqual([C2, D1, F1]);
  }, TIMEOUT);

  it("downgrades along a branch with <branch>@-N and <branch>@base, leaving the other branches", async () => {
    const left = await ok("downgrade", "left@-2");
    expect(left.stdout).toContain(`downgrade ${C2} c2`);
    expect(left.stdout).toContain(`downgrade ${C1} c1`);
    expect(left.stdout).not.toContain(`downgrade ${D1}`);
    expect(await current()).toEqual([D1, F1]);

    const other = await ok("downgrade", "other@base");
    expect(other.stdout).toContain(`downgrade ${F1} typescript with a comment header`);
    expect(other.stdout).toContain(`downgrade ${E1} e1`);
    expect(await current()).toEqual([D1]);
  }, TIMEOUT);

  it("refuses a branch count in the wrong direction, and +0, with exit 2 and a hint", async () => {
    const up = await cli("upgrade", "right@-1");
    expect(up.status).toBe(2);
    expect(up.stderr).toMatch(/cannot upgrade to `right@-1`: it counts down the branch/);
    expect(up.stderr).toMatch(/hint: to revert, run `athanor downgrade right@-1`/);
    const down = await cli("downgrade", "right@+1");
    expect(down.status).toBe(2);
    expect(down.stderr).toMatch(/cannot downgrade to `right@\+1`: it counts up the branch/);

    const zero = await cli("upgrade", "+0");
    expect(zero.status).toBe(2);
    expect(zero.stderr).toMatch(/`\+0` is not a target: a step of 0 goes nowhere/);
    expect(zero.stderr).toMatch(/hint: `\+1` applies the next revision and `head` all of them/);
    expect(zero.stderr).not.toMatch(/downgrade \+0/);
    expect(await current()).toEqual([D1]);
  }, TIMEOUT);
});
