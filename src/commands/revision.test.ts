import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevisionError } from "../errors.js";
import { loadRevisionBody, loadRevisionGraph, readScriptDirectory } from "../revisions/script-directory.js";
import { createRevision, type CreateRevisionOptions } from "./revision.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "athanor-revision-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function project(): Promise<string> {
  return mkdtemp(join(root, "p-"));
}

async function failure(options: CreateRevisionOptions): Promise<RevisionError> {
  try {
    await createRevision(options);
  } catch (error) {
    if (error instanceof RevisionError) return error;
    throw error;
  }
  throw new Error("expected a RevisionError");
}

describe("createRevision", () => {
  it("starts a chain: a root, then a child of the single head", async () => {
    const dir = await project();
    const first = await createRevision({ migrationsDir: dir, message: "create users" });
    expect(first).toMatchObject({ parents: [], message: "create users", format: "sql", file: `${first.id}_create_users.sql` });
    expect(first.path).toBe(join(dir, first.file));
    const second = await createRevision({ migrationsDir: dir, message: "  add orders table  " });
    expect(second.parents).toEqual([first.id]);
    expect(second.message).toBe("add orders table");
    expect((await loadRevisionGraph(dir)).heads()).toEqual([second.id]);
  });

  it("writes TypeScript revisions", async () => {
    const dir = await project();
    const created = await createRevision({ migrationsDir: dir, message: "backfill", format: "ts" });
    expect(created.file).toBe(`${created.id}_backfill.ts`);
    expect(await readFile(created.path, "utf8")).toContain('import { defineMigration } from "athanor";');
    const [file] = await readScriptDirectory(dir);
    expect(file).toMatchObject({ id: created.id, format: "ts", parents: [] });
  });

  it("puts given SQL into the sections, with labels, dependencies and transaction false", async () => {
    const dir = await project();
    const core = await createRevision({ migrationsDir: dir, message: "core", branchLabel: "core" });
    const feature = await createRevision({
      migrationsDir: dir,
      message: "index",
      head: "base",
      branchLabel: ["search"],
      dependsOn: "core",
      transactional: false,
      upgradeSql: "CREATE INDEX CONCURRENTLY i ON t (c);",
      downgradeSql: "DROP INDEX CONCURRENTLY i;",
    });
    expect(feature).toMatchObject({ parents: [], branchLabels: ["search"], dependsOn: [core.id] });
    const graph = await loadRevisionGraph(dir);
    const file = graph.get(feature.id);
    expect(file.transactional).toBe(false);
    const body = await loadRevisionBody(file);
    expect(body.format === "sql" && body.upgrade.sql).toBe("CREATE INDEX CONCURRENTLY i ON t (c);\n\n");
    expect(body.format === "sql" && body.downgrade?.sql).toBe("DROP INDEX CONCURRENTLY i;\n");
  });

  it("branches from a non-head only with splice, and from a label's head", async () => {
    const dir = await project();
    const a = await createRevision({ migrationsDir: dir, message: "a", branchLabel: "trunk" });
    const b = await createRevision({ migrationsDir: dir, message: "b" });
    const refused = await failure({ migrationsDir: dir, message: "c", head: a.id.slice(0, 6) });
    expect(refused.code).toBe("not-a-head");
    expect(refused.hint).toMatch(/--splice/);
    const c = await createRevision({ migrationsDir: dir, message: "c", head: a.id.slice(0, 6), splice: true });
    expect(c.parents).toEqual([a.id]);
    const twoHeads = await failure({ migrationsDir: dir, message: "d" });
    expect(twoHeads.code).toBe("multiple-heads");
    expect(twoHeads.message).toMatch(/there are 2 heads/);
    expect(twoHeads.hint).toMatch(/--head/);
    expect(twoHeads.hint).toMatch(/athanor merge/);
    const d = await createRevision({ migrationsDir: dir, message: "d", head: b.id });
    expect(d.parents).toEqual([b.id]);
  });

  const errors: { name: string; options: (dir: string) => CreateRevisionOptions; code: string }[] = [
    { name: "an empty message", options: (dir) => ({ migrationsDir: dir, message: "  " }), code: "empty-message" },
    { name: "an invalid label", options: (dir) => ({ migrationsDir: dir, message: "m", branchLabel: "head" }), code: "invalid-branch-label" },
    { name: "an unknown dependency", options: (dir) => ({ migrationsDir: dir, message: "m", dependsOn: "abcdef" }), code: "unknown-revision" },
    { name: "a missing directory", options: (dir) => ({ migrationsDir: join(dir, "nope"), message: "m" }), code: "missing-migrations-dir" },
  ];
  it.each(errors)("rejects $name", async ({ options, code }) => {
    const dir = await project();
    expect((await failure(options(dir))).code).toBe(code);
  });

  it("rejects a label already in use", async () => {
    const dir = await project();
    await createRevision({ migrationsDir: dir, message: "a", branchLabel: "billing" });
    const error = await failure({ migrationsDir: dir, message: "b", branchLabel: "billing" });
    expect(error.code).toBe("duplicate-branch-label");
  });
});
