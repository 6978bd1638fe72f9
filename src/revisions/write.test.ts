import fc from "fast-check";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevisionError } from "../errors.js";
import { parseSqlHeader, parseTsHeader } from "./header.js";
import { readScriptDirectory } from "./script-directory.js";
import { splitSqlSections } from "./sql-sections.js";
import type { RevisionHeader } from "./types.js";
import { newRevisionId, renderSqlRevision, renderTsRevision, slugify, writeRevisionFile } from "./write.js";

const A = "3f2a9c1d0b7e";
const B = "9c0d1e2f3a4b";
const C = "0123456789ab";

function header(partial: Partial<RevisionHeader> = {}): RevisionHeader {
  return { id: A, parents: [], message: "", branchLabels: [], dependsOn: [], transactional: true, allow: [], ...partial };
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "athanor-write-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("newRevisionId", () => {
  it("makes 12 lowercase hex characters", () => {
    for (let i = 0; i < 100; i += 1) expect(newRevisionId()).toMatch(/^[0-9a-f]{12}$/);
  });

  it("skips ids that are taken", () => {
    const sequence = [Uint8Array.from([0x3f, 0x2a, 0x9c, 0x1d, 0x0b, 0x7e]), Uint8Array.from([0x9c, 0x0d, 0x1e, 0x2f, 0x3a, 0x4b])];
    let call = 0;
    const random = (): Uint8Array => sequence[call++ % 2] as Uint8Array;
    expect(newRevisionId(new Set([A]), random)).toBe(B);
    expect(() => newRevisionId(new Set([A, B]), random)).toThrow(RevisionError);
  });
});

describe("slugify", () => {
  const cases: [string, string][] = [
    ["add orders table", "add_orders_table"],
    ["Add Orders-Table!", "add_orders_table"],
    ["  café crème  ", "cafe_creme"],
    ["", "revision"],
    ["!!!", "revision"],
    ["日本語", "revision"],
    ["a very long message that goes on and on past forty characters", "a_very_long_message_that_goes_on_and_on"],
    ["x".repeat(60), "x".repeat(40)],
  ];
  it.each(cases)("%j → %s", (message, expected) => {
    expect(slugify(message)).toBe(expected);
  });
});

describe("renderSqlRevision", () => {
  it("writes the DESIGN.md layout", () => {
    expect(renderSqlRevision(header({ parents: [B], message: "add orders table" }), { upgradeSql: "CREATE TABLE orders ();", downgradeSql: "DROP TABLE orders;\n\n" })).toBe(
      `-- athanor:revision ${A}
-- athanor:down ${B}
-- athanor:message add orders table
-- athanor:transaction true

-- athanor:upgrade
CREATE TABLE orders ();

-- athanor:downgrade
DROP TABLE orders;
`,
    );
  });

  it("writes every header line and placeholders", () => {
    const text = renderSqlRevision(header({ parents: [B, C], message: "merge\nheads", branchLabels: ["billing"], dependsOn: ["core"], transactional: false, allow: ["drop-table"] }));
    expect(text).toBe(`-- athanor:revision ${A}
-- athanor:down ${B}, ${C}
-- athanor:message merge heads
-- athanor:branch-labels billing
-- athanor:depends-on core
-- athanor:transaction false
-- athanor:allow drop-table

-- athanor:upgrade
-- the SQL that applies this revision

-- athanor:downgrade
-- the SQL that reverts it
`);
    expect(splitSqlSections(text, "x.sql").upgrade.line).toBe(10);
  });

  it("refuses a body holding a directive", () => {
    expect(() => renderSqlRevision(header(), { upgradeSql: "SELECT 1;\n-- athanor:downgrade\nSELECT 2;" })).toThrow(/line 2 of the upgrade SQL reads as an athanor directive/);
  });
});

describe("renderTsRevision", () => {
  it("writes the header as // athanor: lines, then defineMigration", () => {
    expect(renderTsRevision(header({ parents: [B], message: "backfill totals" }))).toBe(`// athanor:revision ${A}
// athanor:down ${B}
// athanor:message backfill totals
// athanor:transaction true
import { defineMigration } from "athanor";

export default defineMigration({
  async upgrade({ sql }) {
    // await sql\`UPDATE orders SET total = 0 WHERE total IS NULL\`;
  },
  async downgrade({ sql }) {
    // revert what upgrade did
  },
});
`);
  });

  it("embeds SQL bodies as escaped template literals", () => {
    const text = renderTsRevision(header({ parents: [B, C], transactional: false }), { upgradeSql: "SELECT '${x}', `y`, '\\';\n\nSELECT 2;", downgradeSql: "" });
    expect(text).toContain(`// athanor:down ${B}, ${C}\n`);
    expect(text).toContain("// athanor:transaction false\n");
    expect(text).toContain("    await sql.unsafe(`\n      SELECT '\\${x}', \\`y\\`, '\\\\';\n\n      SELECT 2;\n    `);");
  });
});

describe("rendering round-trips through the parser", () => {
  const id = fc.stringMatching(/^[0-9a-f]{12}$/);
  const label = fc.stringMatching(/^[g-z_][a-z0-9_.-]{0,10}$/).filter((value) => !["head", "heads", "base", "current"].includes(value));
  const rule = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,8}$/);
  const headers = fc
    .record({
      id,
      parents: fc.uniqueArray(id, { maxLength: 3 }),
      message: fc.string({ maxLength: 40 }),
      branchLabels: fc.uniqueArray(label, { maxLength: 2 }),
      dependsOn: fc.uniqueArray(fc.oneof(id, label), { maxLength: 2 }),
      transactional: fc.boolean(),
      allow: fc.uniqueArray(rule, { maxLength: 2 }),
    })
    .filter((h) => !h.parents.includes(h.id) && !h.dependsOn.includes(h.id));

  it("SQL keeps every field (the message on one line)", () => {
    fc.assert(
      fc.property(headers, (h) => {
        expect(parseSqlHeader(renderSqlRevision(h), "x.sql")).toEqual({ ...h, message: h.message.replace(/\s*[\r\n\u2028\u2029]+\s*/g, " ").trim() });
      }),
    );
  });

  it("TypeScript keeps every field (the message on one line)", () => {
    fc.assert(
      fc.property(headers, fc.option(fc.string({ maxLength: 30 }), { nil: undefined }), (h, upgradeSql) => {
        expect(parseTsHeader(renderTsRevision(h, { upgradeSql }), "x.ts")).toEqual({ ...h, message: h.message.replace(/\s*[\r\n\u2028\u2029]+\s*/g, " ").trim() });
      }),
    );
  });
});

describe("writeRevisionFile", () => {
  it("writes <id>_<slug>.sql with mode 0644, readable by the script directory", async () => {
    const dir = await mkdtemp(join(root, "sql-"));
    const written = await writeRevisionFile(dir, header({ message: "Add orders" }), "sql", { upgradeSql: "CREATE TABLE orders ();" });
    expect(written.relativePath).toBe(`${A}_add_orders.sql`);
    expect(written.path).toBe(join(dir, `${A}_add_orders.sql`));
    expect((await stat(written.path)).mode & 0o777).toBe(0o644);
    expect(await readFile(written.path, "utf8")).toBe(written.text);
    const [file] = await readScriptDirectory(dir);
    expect(file).toMatchObject({ id: A, message: "Add orders", format: "sql" });
  });

  it("writes .ts files", async () => {
    const dir = await mkdtemp(join(root, "ts-"));
    const written = await writeRevisionFile(dir, header({ message: "backfill" }), "ts");
    expect(written.relativePath).toBe(`${A}_backfill.ts`);
    expect((await readScriptDirectory(dir))[0]).toMatchObject({ id: A, format: "ts" });
  });

  it("never overwrites", async () => {
    const dir = await mkdtemp(join(root, "twice-"));
    await writeRevisionFile(dir, header({ message: "x" }), "sql");
    await expect(writeRevisionFile(dir, header({ message: "x" }), "sql")).rejects.toMatchObject({ code: "revision-file-exists" });
  });

  it("says how to fix a missing directory", async () => {
    await expect(writeRevisionFile(join(root, "missing"), header(), "sql")).rejects.toMatchObject({ code: "missing-migrations-dir", hint: expect.stringMatching(/athanor init/) });
  });
});
