import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevisionError } from "../errors.js";
import { loadRevisionBody, loadRevisionGraph } from "../revisions/script-directory.js";
import { writeInspectFixture } from "./inspect.fixture.js";
import { merge } from "./merge.js";

let root: string;
let template: string;
let ids: Record<string, string>;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "athanor-merge-"));
  template = join(root, "template");
  ids = await writeInspectFixture(template);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let copies = 0;
async function copy(): Promise<string> {
  copies += 1;
  const dir = join(root, `copy-${copies}`);
  await cp(template, dir, { recursive: true });
  return dir;
}

describe("merge", () => {
  it("merges every head into one", async () => {
    const dir = await copy();
    const created = await merge({ migrationsDir: dir, message: "merge heads", revisions: ["heads"] });
    expect(created.parents).toEqual([ids["82"], ids["f6"]]);
    expect(created.file).toBe(`${created.id}_merge_heads.sql`);
    const graph = await loadRevisionGraph(dir);
    expect(graph.heads()).toEqual([created.id]);
    const body = await loadRevisionBody(graph.get(created.id));
    expect(body.format === "sql" && body.upgrade.sql).toBe("-- a merge revision: nothing to apply\n\n");
  });

  it("merges named revisions, with a label, in TypeScript", async () => {
    const dir = await copy();
    const created = await merge({ migrationsDir: dir, message: "join", revisions: ["feature@head", "f6f6"], format: "ts", branchLabel: "joined" });
    expect(created).toMatchObject({ parents: [ids["82"], ids["f6"]], branchLabels: ["joined"], format: "ts" });
    expect((await loadRevisionGraph(dir)).byLabel("joined")).toBe(created.id);
  });

  it("merges a head with a head that depends on it", async () => {
    const dir = await copy();
    const created = await merge({ migrationsDir: dir, message: "m", revisions: [ids["c3"] as string, ids["82"] as string], format: "sql" }).catch((error: unknown) => error);
    // c3 is not a head here, but 82 only depends on it: the merge is allowed.
    expect(created).toMatchObject({ parents: [ids["c3"], ids["82"]] });
  });

  const errors: [string, string[], string][] = [
    ["one revision", ["f6"], "nothing-to-merge"],
    ["the same revision twice", ["f6", "f6f6f6"], "nothing-to-merge"],
    ["a revision and its ancestor", ["c3", "f6"], "merge-of-ancestor"],
    ["an unknown revision", ["f6", "abcabc"], "unknown-revision"],
  ];
  it.each(errors)("rejects %s", async (_name, revisions, code) => {
    const dir = await copy();
    const error = await merge({ migrationsDir: dir, message: "m", revisions: revisions.map((name) => (name.length === 2 ? (ids[name] as string) : name)) }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RevisionError);
    expect((error as RevisionError).code).toBe(code);
    expect((error as RevisionError).hint).toBeTruthy();
  });
});
