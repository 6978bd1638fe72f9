import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RevisionError } from "../errors.js";
import { parseRevisionHeader, parseSqlHeader, parseTsHeader } from "./header.js";
import type { RevisionHeader } from "./types.js";

const A = "3f2a9c1d0b7e";
const B = "9c0d1e2f3a4b";
const C = "0123456789ab";

function header(partial: Partial<RevisionHeader>): RevisionHeader {
  return { id: A, parents: [], message: "", branchLabels: [], dependsOn: [], transactional: true, allow: [], ...partial };
}

function sql(...lines: string[]): string {
  return `${lines.join("\n")}\n`;
}

function caught(run: () => unknown): RevisionError {
  try {
    run();
  } catch (error) {
    if (error instanceof RevisionError) return error;
    throw error;
  }
  throw new Error("expected a RevisionError");
}

describe("parseSqlHeader", () => {
  const cases: { name: string; text: string; expected: RevisionHeader }[] = [
    {
      name: "the DESIGN.md example",
      text: sql(
        `-- athanor:revision ${A}`,
        `-- athanor:down ${B}`,
        "-- athanor:message add orders table",
        "-- athanor:transaction true",
        "",
        "-- athanor:upgrade",
        "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, total numeric NOT NULL);",
        "",
        "-- athanor:downgrade",
        "DROP TABLE orders;",
      ),
      expected: header({ parents: [B], message: "add orders table" }),
    },
    {
      name: "a root (no down line)",
      text: sql(`-- athanor:revision ${A}`, "-- athanor:upgrade", "SELECT 1;"),
      expected: header({}),
    },
    {
      name: "a merge, labels, dependencies, allow, no transaction",
      text: sql(
        `-- athanor:revision ${A}`,
        `-- athanor:down ${B},${C}`,
        "-- athanor:branch-labels billing, shop_v2",
        `-- athanor:depends-on ${C}, accounts`,
        "-- athanor:transaction false",
        "-- athanor:allow drop-table, DS102",
        "-- athanor:upgrade",
        "CREATE INDEX CONCURRENTLY i ON t (c);",
      ),
      expected: header({ parents: [B, C], branchLabels: ["billing", "shop_v2"], dependsOn: [C, "accounts"], transactional: false, allow: ["drop-table", "DS102"] }),
    },
    {
      name: "CRLF line endings, a BOM, other comments and a block comment before the marker",
      text: `\ufeff-- athanor:revision ${A}\r\n-- a note for reviewers\r\n/* longer\r\n note */\r\n-- athanor:message  spaced   out \r\n-- athanor:upgrade\r\nSELECT 1;\r\n`,
      expected: header({ message: "spaced   out" }),
    },
    {
      name: "downgrade section before the upgrade section",
      text: sql(`-- athanor:revision ${A}`, "-- athanor:downgrade", "DROP TABLE t;", "-- athanor:upgrade", "CREATE TABLE t ();"),
      expected: header({}),
    },
    {
      name: "an empty message line",
      text: sql(`-- athanor:revision ${A}`, "-- athanor:message", "--athanor:upgrade"),
      expected: header({}),
    },
    {
      name: "athanor: text inside SQL statements is not a directive",
      text: sql(`-- athanor:revision ${A}`, "-- athanor:upgrade", "SELECT '-- athanor:revision x'; -- athanor:down y"),
      expected: header({}),
    },
  ];
  it.each(cases)("$name", ({ text, expected }) => {
    expect(parseSqlHeader(text, "migrations/a.sql")).toEqual(expected);
  });

  const errors: { name: string; text: string; line: number | null; message: RegExp }[] = [
    { name: "no revision line", text: sql("-- athanor:upgrade", "SELECT 1;"), line: null, message: /has no id/ },
    { name: "uppercase id", text: sql("-- athanor:revision 3F2A9C1D0B7E", "-- athanor:upgrade"), line: 1, message: /not a revision id/ },
    { name: "short id", text: sql("-- athanor:revision 3f2a", "-- athanor:upgrade"), line: 1, message: /not a revision id/ },
    { name: "two revision lines", text: sql(`-- athanor:revision ${A}`, `-- athanor:revision ${B}`, "-- athanor:upgrade"), line: 2, message: /second `-- athanor:revision`/ },
    { name: "down equal to itself", text: sql(`-- athanor:revision ${A}`, `-- athanor:down ${A}`, "-- athanor:upgrade"), line: 2, message: /names itself as its parent/ },
    { name: "down listing a parent twice", text: sql(`-- athanor:revision ${A}`, `-- athanor:down ${B}, ${B}`, "-- athanor:upgrade"), line: 2, message: /listed twice/ },
    { name: "down with an invalid id", text: sql(`-- athanor:revision ${A}`, `-- athanor:down ${B} ${C}`, "-- athanor:upgrade"), line: 2, message: /is not a revision id/ },
    { name: "an empty down line", text: sql(`-- athanor:revision ${A}`, "-- athanor:down", "-- athanor:upgrade"), line: 2, message: /names no parent/ },
    { name: "an empty list entry", text: sql(`-- athanor:revision ${A}`, `-- athanor:down ${B},,${C}`, "-- athanor:upgrade"), line: 2, message: /empty entry/ },
    { name: "unknown directive", text: sql(`-- athanor:revision ${A}`, "-- athanor:parent x", "-- athanor:upgrade"), line: 2, message: /unknown directive `-- athanor:parent`/ },
    { name: "directive glued to its value", text: sql(`-- athanor:revision:${A}`, "-- athanor:upgrade"), line: 1, message: /not a valid athanor directive/ },
    { name: "transaction neither true nor false", text: sql(`-- athanor:revision ${A}`, "-- athanor:transaction no", "-- athanor:upgrade"), line: 2, message: /must be `true` or `false`/ },
    { name: "an invalid branch label", text: sql(`-- athanor:revision ${A}`, "-- athanor:branch-labels head", "-- athanor:upgrade"), line: 2, message: /not a valid branch label/ },
    { name: "a hex-only branch label", text: sql(`-- athanor:revision ${A}`, "-- athanor:branch-labels cafe", "-- athanor:upgrade"), line: 2, message: /not a valid branch label/ },
    { name: "depends on itself", text: sql(`-- athanor:revision ${A}`, `-- athanor:depends-on ${A}`, "-- athanor:upgrade"), line: 2, message: /depends on itself/ },
    { name: "depends-on neither id nor label", text: sql(`-- athanor:revision ${A}`, "-- athanor:depends-on 3f2a", "-- athanor:upgrade"), line: 2, message: /neither a revision id nor a branch label/ },
    { name: "a header line after the marker", text: sql(`-- athanor:revision ${A}`, "-- athanor:upgrade", `-- athanor:down ${B}`), line: 3, message: /after a section marker/ },
    { name: "two upgrade markers", text: sql(`-- athanor:revision ${A}`, "-- athanor:upgrade", "-- athanor:upgrade"), line: 3, message: /second `-- athanor:upgrade`/ },
    { name: "a marker with a value", text: sql(`-- athanor:revision ${A}`, "-- athanor:upgrade now"), line: 2, message: /takes no value/ },
    { name: "no upgrade marker", text: sql(`-- athanor:revision ${A}`, "-- athanor:downgrade", "SELECT 1;"), line: null, message: /no `-- athanor:upgrade` section/ },
    { name: "SQL before the marker", text: sql(`-- athanor:revision ${A}`, "CREATE TABLE t ();", "-- athanor:upgrade"), line: 2, message: /would never run/ },
    { name: "an invalid allow rule", text: sql(`-- athanor:revision ${A}`, "-- athanor:allow drop table", "-- athanor:upgrade"), line: 2, message: /not a rule name/ },
  ];
  it.each(errors)("rejects $name", ({ text, line, message }) => {
    const error = caught(() => parseSqlHeader(text, "migrations/a.sql"));
    expect(error.code).toBe("malformed-header");
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(line === null ? "migrations/a.sql: " : `migrations/a.sql:${line}: `)).toBe(true);
    expect(error.details).toMatchObject({ file: "migrations/a.sql", line });
    expect(error.hint).toBeTruthy();
  });
});

describe("parseTsHeader", () => {
  const cases: { name: string; text: string; expected: RevisionHeader }[] = [
    {
      name: "the DESIGN.md example",
      text: `import { defineMigration } from "athanor";

export default defineMigration({
  revision: "${A}",
  down: "${B}",
  message: "backfill totals",
  async upgrade({ sql }) { await sql\`UPDATE orders SET total = 0 WHERE total IS NULL\`; },
  async downgrade() {},
});
`,
      expected: header({ parents: [B], message: "backfill totals" }),
    },
    {
      name: "a root with every field, single quotes and a trailing comma",
      text: `export default defineMigration({
  'revision': '${A}',
  down: null,
  message: 'it\\'s "quoted"\\t',
  branchLabels: ['billing'],
  dependsOn: ["${C}", "accounts"] as const,
  transaction: false,
  allow: ["drop-table"],
  upgrade: async ({ sql }) => { await sql\`SELECT \${1}\`; },
});`,
      expected: header({ message: 'it\'s "quoted"\t', branchLabels: ["billing"], dependsOn: [C, "accounts"], transactional: false, allow: ["drop-table"] }),
    },
    {
      name: "a merge as an array, template literal message",
      text: `export default defineMigration({ revision: \`${A}\`, down: ["${B}", "${C}"], message: \`merge\`, async upgrade() {} });`,
      expected: header({ parents: [B, C], message: "merge" }),
    },
    {
      name: "a plain default-exported object (JavaScript)",
      text: `// revision: "ffffffffffff" in a comment is not the header
/* down: "${C}" neither */
export default {
  revision: "${A}",
  down: "${B}",
  upgrade(ctx) { const s = "revision: 'x'"; const r = /[}{]"/g; return ctx.sql\`SELECT \${ { a: 1 }.a }\`; },
  downgrade: function (ctx) { return { revision: "eeeeeeeeeeee" }; },
};`,
      expected: header({ parents: [B] }),
    },
    {
      name: "a named object exported at the end",
      text: `const migration: Migration = {
  revision: "${A}",
  down: null,
  async upgrade() {},
};
export default migration;`,
      expected: header({}),
    },
    {
      name: "a named defineMigration call",
      text: `const m = defineMigration({ revision: "${A}", down: "${B}", upgrade() {} });\nexport default m;`,
      expected: header({ parents: [B] }),
    },
    {
      name: "module.exports",
      text: `module.exports = { revision: "${A}", down: null, upgrade() {} };`,
      expected: header({}),
    },
    {
      name: "an absent down is a root",
      text: `export default defineMigration({ revision: "${A}", message: "\\u00e9t\\u{e9}", upgrade() {} });`,
      expected: header({ message: "été" }),
    },
  ];
  it.each(cases)("$name", ({ text, expected }) => {
    expect(parseTsHeader(text, "migrations/a.ts")).toEqual(expected);
  });

  const errors: { name: string; text: string; line: number | null; message: RegExp }[] = [
    { name: "no migration object", text: "export const x = 1;\n", line: null, message: /no migration object/ },
    { name: "no revision", text: "export default defineMigration({\n  down: null,\n  upgrade() {},\n});", line: null, message: /has no id/ },
    { name: "a revision that is a variable", text: `const id = "${A}";\nexport default defineMigration({\n  revision: id,\n  upgrade() {},\n});`, line: 3, message: /must be a string literal/ },
    { name: "a message that is an expression", text: `export default defineMigration({\n  revision: "${A}",\n  message: "a" + "b",\n  upgrade() {},\n});`, line: 3, message: /must be a literal value/ },
    { name: "a template with a substitution", text: `export default defineMigration({\n  revision: \`\${x}\`,\n  upgrade() {},\n});`, line: 2, message: /must be a string literal/ },
    { name: "two revision fields", text: `export default defineMigration({\n  revision: "${A}",\n  revision: "${B}",\n  upgrade() {},\n});`, line: 3, message: /given twice \(first on line 2\)/ },
    { name: "down equal to itself", text: `export default defineMigration({\n  revision: "${A}",\n  down: "${A}",\n  upgrade() {},\n});`, line: 3, message: /names itself as its parent/ },
    { name: "an unknown field", text: `export default defineMigration({\n  revision: "${A}",\n  dependOn: [],\n  upgrade() {},\n});`, line: 3, message: /unknown field `dependOn`/ },
    { name: "a spread", text: `export default defineMigration({\n  ...base,\n  upgrade() {},\n});`, line: 2, message: /spread/ },
    { name: "transaction that is not a boolean", text: `export default defineMigration({\n  revision: "${A}",\n  transaction: "false",\n  upgrade() {},\n});`, line: 3, message: /`true` or `false`/ },
    { name: "an array holding a non-string", text: `export default defineMigration({\n  revision: "${A}",\n  down: ["${B}", 1],\n  upgrade() {},\n});`, line: 3, message: /array of string literals/ },
    { name: "an unclosed object", text: `export default defineMigration({\n  revision: "${A}",\n  async upgrade() {`, line: 3, message: /not closed/ },
    { name: "an unterminated string", text: `export default defineMigration({\n  revision: "${A},\n});`, line: 2, message: /unterminated string/ },
    { name: "a message with an escape sequence", text: `export default defineMigration({\n  revision: "${A}",\n  message: "ok \\u001b]0;PWNED\\u0007",\n  upgrade() {},\n});`, line: 3, message: /message holds a control character \(`ok \\x1b\]0;PWNED\\x07`\)/ },
    { name: "a message with a bidirectional override and a line separator", text: `export default defineMigration({\n  revision: "${A}",\n  message: "ok \\u202Eevil\\u2028two",\n  upgrade() {},\n});`, line: 3, message: /message holds a control character \(`ok \\u202eevil\\u2028two`\)/ },
    { name: "a message with them raw", text: `export default defineMigration({\n  revision: "${A}",\n  message: "ok \u2067evil\u2069 \u200b",\n  upgrade() {},\n});`, line: 3, message: /message holds a control character \(`ok \\u2067evil\\u2069 \\u200b`\)/ },
    { name: "a header field written as a method", text: `export default defineMigration({\n  revision() { return "${A}"; },\n});`, line: 2, message: /must be written `revision: <literal>`/ },
  ];
  it.each(errors)("rejects $name", ({ text, line, message }) => {
    const error = caught(() => parseTsHeader(text, "migrations/a.ts"));
    expect(error.code).toBe("malformed-header");
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(line === null ? "migrations/a.ts: " : `migrations/a.ts:${line}: `)).toBe(true);
    expect(error.hint).toBeTruthy();
  });
});

describe("parseTsHeader with // athanor: lines", () => {
  const cases: { name: string; text: string; expected: RevisionHeader }[] = [
    {
      name: "what athanor revision --ts writes",
      text: `// athanor:revision ${A}\n// athanor:down ${B}\n// athanor:message backfill totals\n// athanor:transaction true\nimport { defineMigration } from "athanor";\n\nexport default defineMigration({\n  async upgrade({ sql }) {},\n});\n`,
      expected: header({ parents: [B], message: "backfill totals" }),
    },
    {
      name: "a BOM, a hashbang, other comments and a block comment around the lines; every field",
      text: `\ufeff#!/usr/bin/env node\n/**\n * add orders (for reviewers)\n */\n// athanor:revision ${A}\r\n//athanor:down ${B},${C}\n// a note\n// athanor:branch-labels billing\n// athanor:depends-on accounts\n// athanor:transaction false\n// athanor:allow drop-table\n\nexport default { async upgrade() {} };\n`,
      expected: header({ parents: [B, C], branchLabels: ["billing"], dependsOn: ["accounts"], transactional: false, allow: ["drop-table"] }),
    },
    {
      name: "the lines win over literal fields, which are then not read",
      text: `// athanor:revision ${A}\nexport default defineMigration({ revision: "${A}", down: null, upgrade() {} });\n`,
      expected: header({}),
    },
    {
      name: "athanor: below the code, in a string, is not a directive when no line opens the file",
      text: `export default defineMigration({ revision: "${A}", message: "// athanor:down ${B}", upgrade() {} });\n`,
      expected: header({ message: `// athanor:down ${B}` }),
    },
  ];
  it.each(cases)("$name", ({ text, expected }) => {
    expect(parseTsHeader(text, "migrations/a.ts")).toEqual(expected);
  });

  const errors: { name: string; text: string; line: number | null; message: RegExp }[] = [
    { name: "no revision line", text: `// athanor:down ${B}\nexport default {};\n`, line: null, message: /has no id/ },
    { name: "an unknown directive", text: `// athanor:revision ${A}\n// athanor:parent ${B}\n`, line: 2, message: /unknown directive `\/\/ athanor:parent`/ },
    { name: "a section marker (TypeScript has functions instead)", text: `// athanor:revision ${A}\n// athanor:upgrade\n`, line: 2, message: /unknown directive `\/\/ athanor:upgrade`/ },
    { name: "a directive below the first line of code", text: `// athanor:revision ${A}\nimport x from "y";\n// athanor:down ${B}\n`, line: 3, message: /stands below the first line of code/ },
    { name: "two revision lines", text: `// athanor:revision ${A}\n// athanor:revision ${B}\n`, line: 2, message: /a second `\/\/ athanor:revision` line/ },
    { name: "an invalid id", text: "// athanor:revision 3f2a\n", line: 1, message: /not a revision id/ },
  ];
  it.each(errors)("rejects $name", ({ text, line, message }) => {
    const error = caught(() => parseTsHeader(text, "migrations/a.ts"));
    expect(error.code).toBe("malformed-header");
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(line === null ? "migrations/a.ts: " : `migrations/a.ts:${line}: `)).toBe(true);
    expect(error.hint).toBeTruthy();
  });
});

describe("parseRevisionHeader on arbitrary text", () => {
  const fragments = [
    "-- athanor:revision 3f2a9c1d0b7e\n", "-- athanor:down 9c0d1e2f3a4b\n", "-- athanor:upgrade\n", "-- athanor:", "\n", "\r", "/*", "*/",
    "export default ", "defineMigration(", "{", "}", "(", ")", "[", "]", "revision: ", '"3f2a9c1d0b7e"', "down: ", "null", ",", "`", "${", "'", '"',
    "\\", "/", "/[", "async upgrade() {}", "// athanor:revision 3f2a9c1d0b7e\n", "// athanor:down ", "//", "module.exports = ", "const m = ", "export default m;", "\u2028", "\0",
  ];
  const arbitraryText = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.array(fc.constantFrom(...fragments), { maxLength: 60 }).map((parts) => parts.join("")),
    fc.array(fc.oneof(fc.constantFrom(...fragments), fc.string({ maxLength: 5 })), { maxLength: 60 }).map((parts) => parts.join("")),
  );

  it("throws nothing but RevisionError, for both formats", () => {
    fc.assert(
      fc.property(arbitraryText, fc.constantFrom("sql" as const, "ts" as const), (text, format) => {
        try {
          const parsed = parseRevisionHeader(text, "x", format);
          expect(parsed.id).toMatch(/^[0-9a-f]{12}$/);
        } catch (error) {
          if (!(error instanceof RevisionError)) throw error;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("does not hang on deeply nested templates or huge inputs", () => {
    const nested = `export default {${"`${".repeat(5000)}`;
    expect(() => parseTsHeader(nested, "x.ts")).toThrow(RevisionError);
    const slashes = `export default { revision: "${A}", upgrade() { ${"(/[".repeat(100_000)} } };`;
    expect(() => parseTsHeader(slashes, "x.ts")).toThrow(RevisionError);
    const big = `-- athanor:revision ${A}\n-- athanor:upgrade\n${"SELECT 1;\n".repeat(200_000)}`;
    expect(parseSqlHeader(big, "x.sql").id).toBe(A);
  });

  // Files up to the 10 MB limit, each shape built to find a quadratic path. Before the
  // fix, block comments on one long line took ~40 s at 8 MB (countNewlines scanned to
  // the next newline for every comment).
  it.each([
    ["block comments on one line inside the object", (n: number) => `export default { revision: "${A}", ${"/* c */".repeat(n)} upgrade() {} };`],
    ["block comments before the object", (n: number) => `${"/* c */".repeat(n)}\nexport default { revision: "${A}", upgrade() {} };`],
    ["line comments", (n: number) => `export default { revision: "${A}",\n${"// c\n".repeat(n)} upgrade() {} };`],
    ["divisions and regex-like slashes", (n: number) => `export default { revision: "${A}", upgrade() { ${"a / b /".repeat(n)} } };`],
    ["strings with escapes", (n: number) => `export default { revision: "${A}", message: "${"\\n\\\"".repeat(n)}", upgrade() {} };`],
    ["nested template literals", (n: number) => `export default { revision: "${A}", upgrade() { ${"`${".repeat(Math.floor(n / 4))}${"}`".repeat(Math.floor(n / 4))} } };`],
    ["SQL comment lines", (n: number) => `-- athanor:revision ${A}\n${"-- c\n".repeat(n)}-- athanor:upgrade\n`],
    ["SQL block comments on one line", (n: number) => `-- athanor:revision ${A}\n${"/* c */".repeat(n)}\n-- athanor:upgrade\n`],
  ])("stays linear on an 8 MB file: %s", (_name, build) => {
    const text = build(1_000_000).slice(0, 8 * 1024 * 1024);
    const format = text.startsWith("--") ? "sql" : "ts";
    const started = Date.now();
    try {
      parseRevisionHeader(text, "x", format);
    } catch (error) {
      if (!(error instanceof RevisionError)) throw error;
      // A message quotes at most a short excerpt of what the file holds.
      expect(error.message.length).toBeLessThan(400);
    }
    // A guard against catastrophic (quadratic) scanning, not a speed target: a quadratic
    // scan of 8 MB takes hours, a linear one well under a second on a quiet machine, so
    // the bound leaves room for a machine shared by many jobs (speed lives in bench/).
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("quotes at most 60 characters of a bad value in its message", () => {
    const error = caught(() => parseSqlHeader(`-- athanor:revision ${A}\n-- athanor:branch-labels ${"x".repeat(5_000_000)}\n-- athanor:upgrade\n`, "a.sql"));
    expect(error.message).toMatch(/^a\.sql:2: `x{57}\.\.\.` is not a valid branch label$/);
  });
});

describe("control characters in a message", () => {
  it.each([
    ["an OSC title and SGR colours", "ok \u001b]0;PWNED\u0007 \u001b[31mRED\u001b[0m", "ok \\x1b]0;PWNED\\x07 \\x1b[31mRED\\x1b[0m"],
    ["a C1 CSI", "x\u009b2Jy", "x\\x9b2Jy"],
    ["a vertical tab inside", "a\u000bb", "a\\x0bb"],
    ["DEL", "a\u007f", "a\\x7f"],
    ["a right-to-left override (Trojan Source)", "grant admin\u202e\u2066 -- only to tests\u2069", "grant admin\\u202e\\u2066 -- only to tests\\u2069"],
    ["a zero-width space", "add\u200busers", "add\\u200busers"],
    ["a line separator", "one\u2028two", "one\\u2028two"],
    ["a paragraph separator", "one\u2029two", "one\\u2029two"],
  ])("refuses %s, naming the file and line with the value escaped", (_name, message, shown) => {
    const error = caught(() => parseSqlHeader(`-- athanor:revision ${A}\n-- athanor:message ${message}\n-- athanor:upgrade\nSELECT 1;\n`, "migrations/a.sql"));
    expect(error.code).toBe("malformed-header");
    expect(error.message).toBe(`migrations/a.sql:2: -- athanor:message holds a control character (\`${shown}\`)`);
    expect(error.hint).toMatch(/tabs are allowed/);
    expect(error.exitStatus).toBe(2);
  });

  it("refuses one in a TypeScript revision's `// athanor:message` line the same way", () => {
    const error = caught(() => parseTsHeader(`// athanor:revision ${A}\n// athanor:message one\u2028two\nexport default defineMigration({ async upgrade() {} });\n`, "migrations/a.ts"));
    expect(error.message).toBe("migrations/a.ts:2: // athanor:message holds a control character (`one\\u2028two`)");
  });

  it("trims a separator at either end as it trims a vertical tab there (white space to `trim`), rather than dropping the line", () => {
    for (const message of ["one\u2029", "\u2028one", "one\u000b"]) {
      expect(parseSqlHeader(`-- athanor:revision ${A}\n-- athanor:message ${message}\n-- athanor:upgrade\n`, "a.sql").message).toBe("one");
    }
  });

  it("keeps a tab", () => {
    expect(parseSqlHeader(`-- athanor:revision ${A}\n-- athanor:message a\tb\n-- athanor:upgrade\n`, "a.sql").message).toBe("a\tb");
  });
});

describe("the common SQL header read without a string per line", () => {
  // Lines that make up revisions of every shape: the common one, and each thing the fast
  // reader must leave to the line-by-line parser (it must then answer null, never another header).
  const lines = [
    `-- athanor:revision ${A}`,
    `-- athanor:revision ${B}`,
    `  --\tathanor:revision ${A}  `,
    `-- athanor:revision ${A}\u2028`,
    `-- athanor:revision ${A.toUpperCase()}`,
    `-- athanor:down ${B}`,
    `-- athanor:down ${B}, ${C}`,
    `-- athanor:down ${A}`,
    `-- athanor:down ${B},${B}`,
    `-- athanor:down ${B},`,
    "-- athanor:down",
    "-- athanor:message table 5",
    "-- athanor:message  spaced\t",
    "-- athanor:message",
    "-- athanor:message \u00a0nbsp\u00a0",
    "-- athanor:message x\u2029y",
    "-- athanor:message \u3000wide\u3000",
    "-- athanor:message \t x \u000b",
    "-- athanor:message \u007f",
    "-- athanor:message ok \u001b]0;PWNED\u0007",
    "-- athanor:message a\u0085b",
    "-- athanor:message a\u000bb",
    "-- athanor:message admin\u202e lqs",
    "-- athanor:message \u2066isolated\u2069",
    "-- athanor:message add\u200busers",
    "-- athanor:message \ufeffbom",
    "-- athanor:message x\u200d\u200cy",
    "-- athanor:messages plural",
    "-- athanor:upgrade \u00a0",
    "-- athanor:upgrades",
    "-- athanor:downgrade \u3000",
    "-- athanor:downgrades",
    "-- athanor:transaction false",
    "-- athanor:transaction true",
    "-- athanor:transaction maybe",
    "-- athanor:branch-labels feature",
    `-- athanor:depends-on ${C}`,
    "-- athanor:allow drop-table",
    "-- athanor:upgrade",
    "--athanor:upgrade",
    "-- athanor:upgrade now",
    "-- athanor:downgrade",
    "-- athanor:downgrade;",
    "-- athanor:downgrade  ",
    "-- athanor:revision:x",
    "-- athanor: revision",
    "-- athanor:unknown x",
    "-- athanor:constructor x",
    "-- a comment",
    "--- dashes",
    "-- see athanor:revision in the docs",
    "/* block",
    "athanor:upgrade */",
    "/* one line */",
    "",
    "   ",
    "\t",
    "\f",
    "\u00a0-- comment",
    "\ufeff-- athanor:revision 3f2a9c1d0b7e",
    "SELECT 1;",
    "SELECT 'athanor:upgrade';",
    "  -- athanor:message late",
    "-- athanor:revision 3f2a9c1d0b7e\r",
  ];
  const common = [`-- athanor:revision ${A}`, `-- athanor:down ${B}`, "-- athanor:message m", "", "-- athanor:upgrade", "SELECT 1;", "-- athanor:downgrade", "SELECT 2;"];

  it("gives exactly the line-by-line parser's header, or leaves the text to it", async () => {
    const { parseCommonSqlHeader } = await import("./header-sql-fast.js");
    const { readSqlHeaderLines } = await import("./header.js");
    // Texts made of the lines above, and the common shape with one line replaced or inserted.
    const mixed = fc.array(fc.constantFrom(...lines), { maxLength: 12 });
    const edited = fc.tuple(fc.nat(common.length), fc.constantFrom(...lines), fc.boolean()).map(([at, line, replace]) => [...common.slice(0, at), line, ...common.slice(replace ? at + 1 : at)]);
    let answered = 0;
    fc.assert(
      fc.property(fc.oneof(mixed, edited), fc.boolean(), (parts, finalNewline) => {
        const text = parts.join("\n") + (finalNewline ? "\n" : "");
        const fast = parseCommonSqlHeader(text);
        if (fast === null) return;
        answered += 1;
        expect(readSqlHeaderLines(text, "a.sql")).toEqual(fast);
      }),
      { numRuns: 8000, seed: 15 },
    );
    // The property is not vacuous: the fast reader answered for many of the texts.
    expect(answered).toBeGreaterThan(500);
    expect(parseCommonSqlHeader(`${common.join("\n")}\n`)).toEqual(header({ parents: [B], message: "m" }));
  });

  it("reads the header as `athanor revision` writes it the same way, and each text near that shape", async () => {
    const { parseCommonSqlHeader } = await import("./header-sql-fast.js");
    const { readSqlHeaderLines } = await import("./header.js");
    const { renderSqlRevision } = await import("./write.js");
    // Each line of the written shape (most often), or a spelling next to it that its regular
    // expression must not take for it (extra white space, another separator, a value to trim or refuse).
    const written = <T>(shape: T, ...near: T[]): fc.Arbitrary<T> => fc.oneof({ arbitrary: fc.constant(shape), weight: 3 }, { arbitrary: fc.constantFrom(...near), weight: 1 });
    const revision = written(`-- athanor:revision ${A}`, `-- athanor:revision  ${A}`, `-- athanor:revision ${A} `, `-- athanor:revision ${A.toUpperCase()}`, `-- athanor:revision ${A}0`);
    const parentIds = fc.array(fc.constantFrom(A, B, C), { maxLength: 3 });
    const down = fc.oneof(
      { arbitrary: fc.constant(null), weight: 1 },
      { arbitrary: parentIds.map((ids) => `-- athanor:down ${ids.join(", ")}`), weight: 3 },
      { arbitrary: parentIds.map((ids) => `-- athanor:down ${ids.join(",")}`), weight: 1 },
      { arbitrary: parentIds.map((ids) => `-- athanor:down  ${ids.join(" , ")} `), weight: 1 },
    );
    const messageText = fc.array(fc.constantFrom("a", "Z", "0", " ", " ", "~", "!", "-", ":", "\t", "\u00e9", "\u00a0", "\u0085", "\u007f", "\u001b", "\u200b", "\u3000"), { maxLength: 6 }).map((units) => units.join(""));
    const message = fc.oneof(fc.constant("-- athanor:message"), messageText.map((text) => `-- athanor:message ${text}`), messageText.map((text) => `-- athanor:message${text}`));
    const transaction = written<string[]>(["-- athanor:transaction true"], [], ["-- athanor:transaction false"], ["-- athanor:transaction  true"], ["-- athanor:transaction maybe"], ["-- athanor:transaction true", "-- athanor:transaction false"]);
    const blanks = written<string[]>([""], [], ["", ""], ["  "]);
    const marker = written("-- athanor:upgrade", "-- athanor:upgrade ", "--athanor:upgrade");
    const bodyLine = fc.constantFrom("SELECT 1;", "-- athanor:downgrade", "-- athanor:downgrade", "-- athanor:downgrade ", " -- athanor:downgrade", "--athanor:downgrade", "-- athanor:downgrades", "-- athanor:upgrade", "SELECT 'athanor:downgrade';", "");
    const body = fc.array(bodyLine, { maxLength: 4 });
    let answered = 0;
    fc.assert(
      fc.property(revision, down, message, transaction, blanks, marker, body, fc.boolean(), (rev, parents, msg, tx, empty, upgrade, rest, finalNewline) => {
        const head = [rev, ...(parents === null ? [] : [parents]), msg, ...tx, ...empty, upgrade];
        const text = [...head, ...rest].join("\n") + (finalNewline ? "\n" : "");
        const fast = parseCommonSqlHeader(text);
        if (fast === null) return;
        answered += 1;
        expect(readSqlHeaderLines(text, "a.sql")).toEqual(fast);
      }),
      { numRuns: 8000, seed: 14 },
    );
    expect(answered).toBeGreaterThan(500);
    // What the writer renders, whatever the message, parents and transaction mode.
    const rendered = fc.record({
      id: fc.constantFrom(A, B),
      parents: fc.uniqueArray(fc.constantFrom(C, "00000000000a", "00000000000b"), { maxLength: 3 }),
      message: fc.string({ unit: fc.constantFrom("a", " ", "\t", "~", "\u00e9", "\u00a0", "\u200d"), maxLength: 10 }),
      branchLabels: fc.constant([]),
      dependsOn: fc.constant([]),
      transactional: fc.boolean(),
      allow: fc.constant([]),
    });
    fc.assert(
      fc.property(rendered, (revisionHeader) => {
        const text = renderSqlRevision(revisionHeader, { upgradeSql: "SELECT 1;", downgradeSql: "SELECT 2;" });
        expect(parseCommonSqlHeader(text)).toEqual(readSqlHeaderLines(text, "a.sql"));
      }),
      { numRuns: 2000, seed: 14 },
    );
  });
});
