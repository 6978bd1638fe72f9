/**
 * adv21sql: the differential of `upgrade`/`downgrade` online against `--sql` through
 * `psql -v ON_ERROR_STOP=1 -f`, on PostgreSQL, over a graph with two branches (one labelled),
 * a merge, a `depends_on`, a `transaction false` revision with CREATE INDEX CONCURRENTLY, a
 * TypeScript revision, and SQL that splits badly ($$ bodies, DO blocks, semicolons in
 * strings and comments, E'' strings, non-ASCII identifiers, the text of athanor's own
 * bookkeeping). The schema and athanor's rows must match, minus what offline cannot know
 * (timings, OS user, host, the "(offline)" of tool_version; no `started` history row).
 * These held in round 21: a regression test for the harness's cases that agree.
 */
import { afterEach, describe, expect, it } from "vitest";
import { queryUrl } from "./support/databases.js";
import { diffProject, psql, sqlRevision, stateOf, type DiffProject } from "./support/offline-diff.js";

let project: DiffProject | undefined;
afterEach(async () => {
  await project?.remove();
  project = undefined;
});

const files: Record<string, string> = {
  "1.sql": sqlRevision({
    id: "d1ff00000001",
    message: "tricky text",
    extra: "-- athanor:branch-labels left",
    upgrade: [
      "CREATE TABLE t1 (id int PRIMARY KEY, s text DEFAULT 'a;b' -- a comment; with a semicolon",
      ");",
      "/* a block ; comment /* nested ; */ */",
      "CREATE FUNCTION f1() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;",
      "DO $body$ BEGIN INSERT INTO t1 VALUES (1, E'x\\'y;z'); END $body$;",
      "INSERT INTO t1 VALUES (2, 'it''s; fine');",
      'CREATE TABLE "tablé_ü" ("colonne_é" text);',
    ].join("\n"),
    downgrade: 'DROP TABLE "tablé_ü";\nDROP FUNCTION f1();\nDROP TABLE t1;',
  }),
  "2.sql": sqlRevision({ id: "d1ff00000002", message: "other root", upgrade: "CREATE TABLE t2 (v text);", downgrade: "DROP TABLE t2;" }),
  "3.sql": sqlRevision({
    id: "d1ff00000003",
    down: "d1ff00000001, d1ff00000002",
    message: "merge",
    upgrade: `CREATE TABLE t3 (v text DEFAULT 'INSERT INTO "public"."athanor_version" (revision) VALUES (''x''); COMMIT;');\nCOMMENT ON TABLE t3 IS 'BEGIN; COMMIT; -- athanor:downgrade';`,
    downgrade: "DROP TABLE t3;",
  }),
  "4.sql": sqlRevision({
    id: "d1ff00000004",
    down: "d1ff00000003",
    message: "concurrently",
    transactional: false,
    upgrade: "CREATE INDEX CONCURRENTLY t1_s ON t1 (s);\nCREATE TABLE t4 (v text);",
    downgrade: "DROP TABLE t4;\nDROP INDEX CONCURRENTLY t1_s;",
  }),
  "5.sql": sqlRevision({ id: "d1ff00000005", message: "depends", extra: "-- athanor:depends-on d1ff00000004", upgrade: "CREATE TABLE t5 (v text);", downgrade: "DROP TABLE t5;" }),
  "6.mjs": [
    "export default {",
    '  revision: "d1ff00000006",',
    '  down: "d1ff00000004",',
    '  message: "typescript",',
    "  async upgrade({ sql }) {",
    "    await sql`CREATE TABLE t6 (v text, n int, j jsonb)`;",
    "    await sql`INSERT INTO t6 VALUES (${\"it's; \\\\ done\"}, ${42}, ${{ a: \"b'c\" }})`;",
    "  },",
    "  async downgrade({ sql }) { await sql`DROP TABLE t6`; },",
    "};",
    "",
  ].join("\n"),
};

async function compare(online: string[][], offline: string[][]): Promise<void> {
  if (project === undefined) throw new Error("no project");
  const x = await project.database();
  const y = await project.database();
  for (const argv of online) {
    const ran = await project.cli(x.url, argv);
    expect(ran.status, `${argv.join(" ")}: ${ran.stderr}`).toBe(0);
  }
  for (const [i, argv] of offline.entries()) {
    const { result, file } = await project.script(y.url, argv, `step-${i}.sql`);
    expect(result.status, `${argv.join(" ")}: ${result.stderr}`).toBe(0);
    const run = psql(y.url, file);
    expect(run.status, run.stderr).toBe(0);
  }
  expect(await stateOf(y.url)).toEqual(await stateOf(x.url));
  // The rows the revisions wrote (a TypeScript revision's parameters become literals offline).
  const rows = "SELECT coalesce((SELECT json_agg(t1 ORDER BY id)::text FROM t1), '-') AS t1, coalesce((SELECT json_agg(t6)::text FROM t6), '-') AS t6";
  const exists = "SELECT to_regclass('t1') IS NOT NULL AND to_regclass('t6') IS NOT NULL AS both";
  const [hasX] = await queryUrl<{ both: boolean }>(x.url, exists);
  if (hasX?.both) expect(await queryUrl(y.url, rows)).toEqual(await queryUrl(x.url, rows));
}

describe("adv21sql: online and offline agree", () => {
  it("upgrade heads", async () => {
    project = await diffProject(files);
    await compare([["upgrade", "heads"]], [["upgrade", "heads", "--sql"]]);
  }, 120_000);

  it("upgrade heads --single-transaction (without the transaction false revision)", async () => {
    const { ["4.sql"]: _skip, ["5.sql"]: _dep, ["6.mjs"]: _ts, ...rest } = files;
    project = await diffProject(rest);
    await compare([["upgrade", "heads", "--single-transaction"]], [["upgrade", "heads", "--sql", "--single-transaction"]]);
  }, 120_000);

  it("partial upgrades: one revision, then to the merge from there, then a branch label's head", async () => {
    project = await diffProject(files);
    await compare(
      [["upgrade", "d1ff00000001"], ["upgrade", "d1ff00000003"], ["upgrade", "left@head"]],
      [["upgrade", "d1ff00000001", "--sql"], ["upgrade", "d1ff00000001:d1ff00000003", "--sql"], ["upgrade", "d1ff00000003:left@head", "--sql"]],
    );
  }, 120_000);

  it("downgrade ranges: heads down to the merge, then one branch to its base", async () => {
    project = await diffProject(files);
    await compare(
      [["upgrade", "heads"], ["downgrade", "d1ff00000003"], ["downgrade", "left@base"]],
      [["upgrade", "heads", "--sql"], ["downgrade", "heads:d1ff00000003", "--sql"], ["downgrade", "d1ff00000003:left@base", "--sql"]],
    );
  }, 120_000);
});
