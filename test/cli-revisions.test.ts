/**
 * The revision-graph verbs driven as a user drives them, in-process through
 * `main(argv, io)`: revision, heads [--check], branches, merge, history, show, graph.
 * None needs a database, nor the environment's variables.
 */
import { readFile, readdir, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { tempDir } from "./support/databases.js";

/** A config whose only environment needs a variable nobody sets: graph verbs must not care. */
const CONFIG = `export default { migrations: "./db/migrations", environments: { production: { url: "\${DB_URL_NOBODY_SETS}" } }, defaultEnvironment: "production" };\n`;

interface Created {
  id: string;
  parents: string[];
  file: string;
  path: string;
}

describe("revision graph commands", () => {
  let dir: string;
  let remove: () => Promise<void>;
  const cli = (...argv: string[]) => runCli(argv, { cwd: dir });
  const created = async (...argv: string[]): Promise<Created> => {
    const result = await cli("--json", ...argv);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    return JSON.parse(result.stdout) as Created;
  };
  let root: Created;
  let orders: Created;
  let search: Created;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-cli-revisions-"));
    await writeFile(join(dir, "athanor.config.mjs"), CONFIG);
    await mkdir(join(dir, "db", "migrations"), { recursive: true });
  });
  afterAll(() => remove());

  it("revision writes a root, then revisions after the single head", async () => {
    const text = await cli("revision", "-m", "create users");
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^created revision ([0-9a-f]{12}) \(a new root\): db\/migrations\/\1_create_users\.sql\n$/);
    root = { id: /revision ([0-9a-f]{12})/.exec(text.stdout)?.[1] ?? "", parents: [], file: "", path: "" };
    orders = await created("revision", "-m", "add orders table", "--branch-label", "shop");
    expect(orders.parents).toEqual([root.id]);
    expect(orders.file).toBe(`${orders.id}_add_orders_table.sql`);
    const sql = await readFile(orders.path, "utf8");
    expect(sql).toContain(`-- athanor:revision ${orders.id}\n-- athanor:down ${root.id}\n-- athanor:message add orders table\n-- athanor:branch-labels shop\n`);
  });

  it("heads lists the single head and --check passes", async () => {
    const result = await cli("heads", "--check");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${orders.id} (head) [shop] add orders table\n`);
    const json = JSON.parse((await cli("heads", "--json")).stdout) as { heads: { id: string; branchLabels: string[] }[] };
    expect(json.heads.map((head) => head.id)).toEqual([orders.id]);
  });

  it("revision --head on a non-head needs --splice, then heads --check exits 5", async () => {
    const refused = await cli("revision", "-m", "search", "--head", root.id.slice(0, 6));
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/is not a head/);
    expect(refused.stderr).toMatch(/hint: .*--splice/);
    search = await created("revision", "-m", "search index", "--ts", "--head", root.id.slice(0, 6), "--splice", "--depends-on", "shop");
    expect(search.file).toBe(`${search.id}_search_index.ts`);

    const check = await cli("heads", "--check");
    expect(check.status).toBe(5);
    expect(check.stdout.trim().split("\n")).toHaveLength(2);
    expect(check.stderr).toMatch(/error: the revision graph has 2 heads/);
    expect(check.stderr).toMatch(/hint: merge them with `athanor merge -m "merge heads" heads`/);

    const json = await cli("heads", "--check", "--json");
    expect(json.status).toBe(5);
    const document = JSON.parse(json.stdout) as { error: { code: string; exitStatus: number; details: { heads: { id: string }[] } } };
    expect(document.error).toMatchObject({ code: "multiple-heads", exitStatus: 5 });
    expect(document.error.details.heads).toHaveLength(2);

    const ambiguous = await cli("revision", "-m", "next");
    expect(ambiguous.status).toBe(2);
    expect(ambiguous.stderr).toMatch(/there are 2 heads/);
    expect(ambiguous.stderr).toMatch(/--head/);
  });

  it("branches shows the branch point and its children", async () => {
    const result = await cli("branches");
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toBe(`${root.id} (base) (branch point) create users`);
    expect(lines.slice(1).sort()).toEqual([`  -> ${orders.id} (head) [shop] add orders table`, `  -> ${search.id} (head) search index`].sort());
  });

  it("history lists newest first, with ranges, details and a drawing", async () => {
    const all = await cli("history");
    expect(all.status).toBe(0);
    const lines = all.stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe(`<base> -> ${root.id} (branchpoint), create users`);
    expect(lines).toContain(`${root.id} -> ${orders.id} (head) (shop), add orders table`);

    const range = await cli("history", "-r", `${root.id.slice(0, 8)}:shop`);
    expect(range.stdout.trim().split("\n")).toEqual([`${root.id} -> ${orders.id} (head) (shop), add orders table`, `<base> -> ${root.id} (branchpoint), create users`]);

    const verbose = await cli("history", "-r", "shop:shop", "--verbose");
    expect(verbose.stdout).toContain(`Revision: ${orders.id} (head)\nParent: ${root.id}\nBranch labels: shop\nNeeded by: ${search.id}\n`);
    expect(verbose.stdout).toMatch(/Checksum: [0-9a-f]{64}/);

    const drawn = await cli("history", "--graph");
    expect(drawn.stdout).toMatch(/^\* [0-9a-f]{12} /m);
    expect(drawn.stdout).toContain(`* ${root.id} create users`);

    const json = JSON.parse((await cli("history", "--json", "-r", ":shop")).stdout) as { range: { from: string; to: string }; revisions: { id: string }[] };
    expect(json.range).toEqual({ from: "base", to: "shop" });
    expect(json.revisions.map((revision) => revision.id)).toEqual([orders.id, root.id]);

    const bad = await cli("history", "-r", "nope");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/is not a range/);

    // Alembic's RangeNotAncestorError: a reversed range is an error, not an empty list.
    const reversed = await cli("history", "-r", `shop:${root.id.slice(0, 8)}`);
    expect(reversed.status).toBe(2);
    expect(reversed.stdout).toBe("");
    expect(reversed.stderr).toMatch(/is reversed/);
    expect(reversed.stderr).toMatch(new RegExp(`hint: write the older end first: \`athanor history -r ${root.id.slice(0, 8)}:shop\``));
  });

  it("show prints a revision with its SQL and file lines", async () => {
    const result = await cli("show", "shop");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`Revision: ${orders.id} (head)`);
    expect(result.stdout).toContain(`File: db/migrations/${orders.file} (SQL)`);
    expect(result.stdout).toContain("-- upgrade (line 8)\n-- the SQL that applies this revision\n");
    const unknown = await cli("show", "abcabc");
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/error: no revision abcabc/);
  });

  it("merge joins the heads; heads --check passes again", async () => {
    const merged = await created("merge", "-m", "merge heads", "heads");
    expect([...merged.parents].sort()).toEqual([orders.id, search.id].sort());
    const check = await cli("heads", "--check");
    expect(check.status).toBe(0);
    expect(check.stdout).toBe(`${merged.id} (head) (merge) merge heads\n`);
    const again = await cli("merge", "-m", "again", "heads");
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/only one revision to merge/);
  });

  it("graph prints Mermaid and DOT", async () => {
    const mermaid = await cli("graph");
    expect(mermaid.status).toBe(0);
    expect(mermaid.stdout.startsWith("flowchart TD\n")).toBe(true);
    expect(mermaid.stdout).toContain(`  r${root.id} --> r${orders.id}\n`);
    expect(mermaid.stdout).toContain(`  r${orders.id} -.->|depends on| r${search.id}\n`);
    const dot = await cli("graph", "--format", "dot");
    expect(dot.stdout.startsWith("digraph athanor {\n")).toBe(true);
    expect(dot.stdout).toContain(`  "${root.id}" -> "${orders.id}";\n`);
    const bad = await cli("graph", "--format", "png");
    expect(bad.status).toBe(2);
  });

  it("rejects --sql with --ts and a missing message", async () => {
    expect((await cli("revision", "-m", "x", "--sql", "--ts")).status).toBe(2);
    expect((await cli("revision")).status).toBe(2);
  });

  it("writes nothing when a command fails", async () => {
    const before = await readdir(join(dir, "db", "migrations"));
    await cli("revision", "-m", "bad label", "--branch-label", "head");
    expect(await readdir(join(dir, "db", "migrations"))).toEqual(before);
  });
});

describe("broken revision directories", () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-cli-broken-"));
    await writeFile(join(dir, "athanor.config.mjs"), CONFIG);
  });
  afterAll(() => remove());

  it("a missing migrations directory says to run init", async () => {
    const result = await runCli(["heads"], { cwd: dir });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/migrations directory .*db\/migrations does not exist/);
    expect(result.stderr).toMatch(/hint: run `athanor init`/);
  });

  it("a duplicate id names both files (exit 2)", async () => {
    const migrations = join(dir, "db", "migrations");
    await mkdir(migrations, { recursive: true });
    const text = "-- athanor:revision 3f2a9c1d0b7e\n-- athanor:upgrade\nSELECT 1;\n";
    await writeFile(join(migrations, "one.sql"), text);
    await writeFile(join(migrations, "two.sql"), text);
    const result = await runCli(["history"], { cwd: dir });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/error: revision 3f2a9c1d0b7e is defined twice: in one\.sql and in two\.sql/);
  });

  it("a malformed header names the file and line (exit 2)", async () => {
    const migrations = join(dir, "db", "migrations");
    await writeFile(join(migrations, "two.sql"), "-- athanor:revision 9c0d1e2f3a4b\n-- athanor:down 3f2a9c1d0b7e\n-- athanor:dwon x\n-- athanor:upgrade\n");
    const result = await runCli(["graph"], { cwd: dir });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/error: two\.sql:3: unknown directive `-- athanor:dwon`/);
  });
});
