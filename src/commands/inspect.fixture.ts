/**
 * A migrations directory for the inspection commands' tests, with known ids:
 *
 *   a1 ─ b2 ─ c3 ─ e5 ─ f6       (b2 branches to c3 and d4; e5 merges them)
 *        └─ d4 ┘
 *   a1 ─ 71 ─ 82                  (label "feature" on 71; 82 is a TypeScript revision)
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { rid } from "../revisions/fixtures.js";
import { renderSqlRevision, renderTsRevision } from "../revisions/write.js";

/** Writes the fixture directory and returns the ids by short name. */
export async function writeInspectFixture(dir: string): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  const specs: [string, string[], string, string[]][] = [
    ["a1", [], "create users", []],
    ["b2", ["a1"], "add email", []],
    ["c3", ["b2"], "add orders", []],
    ["d4", ["b2"], "add invoices", []],
    ["e5", ["c3", "d4"], "merge orders and invoices", []],
    ["f6", ["e5"], "add totals", []],
    ["71", ["a1"], "search index", ["feature"]],
  ];
  for (const [name, parents, message, labels] of specs) {
    const header = { id: rid(name), parents: parents.map(rid), message, branchLabels: labels, dependsOn: [], transactional: true, allow: [] };
    await writeFile(join(dir, `${rid(name)}_${name}.sql`), renderSqlRevision(header, { upgradeSql: `SELECT '${name}';`, downgradeSql: `SELECT 'undo ${name}';` }));
  }
  const ts = { id: rid("82"), parents: [rid("71")], message: "backfill search", branchLabels: [], dependsOn: [rid("c3")], transactional: false, allow: [] };
  await writeFile(join(dir, `${rid("82")}_82.ts`), renderTsRevision(ts));
  return Object.fromEntries(["a1", "b2", "c3", "d4", "e5", "f6", "71", "82"].map((name) => [name, rid(name)]));
}
