import { describe, expect, it } from "vitest";
import type { RevisionFile } from "../revisions/types.js";
import { offlineStepGuardSql } from "./offline-guards.js";
import { versionTables } from "./version-table.js";

const tables = versionTables({ schema: "public", table: "athanor_version" });
function file(id: string, parents: string[], dependsOn: string[] = []): RevisionFile {
  return { id, parents, dependsOn, message: "m", branchLabels: [], transactional: true, allow: [], path: `/x/${id}.sql`, relativePath: `${id}.sql`, format: "sql", checksum: "c" } as unknown as RevisionFile;
}
const graph = { childrenOf: (id: string) => (id === "aaaaaaaaaaaa" ? ["bbbbbbbbbbbb"] : []), dependentsOf: (id: string) => (id === "aaaaaaaaaaaa" ? ["dddddddddddd"] : []) };

describe("offlineStepGuardSql", () => {
  it.each([
    ["upgrade of a root: only its own row", file("aaaaaaaaaaaa", []), "up", ["WHERE revision = 'aaaaaaaaaaaa')", "already recorded"], ["unnest"]],
    ["upgrade: parents and dependencies applied", file("bbbbbbbbbbbb", ["aaaaaaaaaaaa"], ["cccccccccccc"]), "up", ["ARRAY['aaaaaaaaaaaa', 'cccccccccccc']::text[]", "state = 'applied'"], []],
    ["downgrade: applied, and nothing standing on it", file("aaaaaaaaaaaa", []), "down", ["state = 'applied'", "IN ('bbbbbbbbbbbb', 'dddddddddddd')"], ["already recorded"]],
  ] as const)("%s", (_name, revision, direction, contains, lacks) => {
    const sql = offlineStepGuardSql(tables, revision, direction, graph);
    expect(sql.startsWith("DO $$ BEGIN ")).toBe(true);
    expect(sql.endsWith(" END $$;")).toBe(true);
    for (const text of contains) expect(sql).toContain(text);
    for (const text of lacks) expect(sql).not.toContain(text);
    // Messages go through USING MESSAGE: a % in a table name is not a placeholder.
    expect(sql).toContain("RAISE EXCEPTION USING MESSAGE = ");
  });
});
