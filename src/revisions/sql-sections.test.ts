import { describe, expect, it } from "vitest";
import { RevisionError } from "../errors.js";
import { splitSqlSections, type SqlSections } from "./sql-sections.js";

const HEAD = "-- athanor:revision 3f2a9c1d0b7e\n-- athanor:message m\n";

describe("splitSqlSections", () => {
  const cases: { name: string; text: string; expected: SqlSections }[] = [
    {
      name: "upgrade then downgrade",
      text: `${HEAD}\n-- athanor:upgrade\nCREATE TABLE t ();\nCREATE INDEX i ON t ();\n\n-- athanor:downgrade\nDROP TABLE t;\n`,
      expected: { upgrade: { sql: "CREATE TABLE t ();\nCREATE INDEX i ON t ();\n\n", line: 5 }, downgrade: { sql: "DROP TABLE t;\n", line: 9 } },
    },
    {
      name: "downgrade then upgrade",
      text: `${HEAD}-- athanor:downgrade\nDROP TABLE t;\n-- athanor:upgrade\nCREATE TABLE t ();`,
      expected: { upgrade: { sql: "CREATE TABLE t ();", line: 6 }, downgrade: { sql: "DROP TABLE t;\n", line: 4 } },
    },
    {
      name: "no downgrade marker",
      text: `${HEAD}-- athanor:upgrade\nSELECT 1;\n`,
      expected: { upgrade: { sql: "SELECT 1;\n", line: 4 }, downgrade: null },
    },
    {
      name: "empty sections, markers at the end of the file",
      text: `${HEAD}-- athanor:upgrade\n-- athanor:downgrade`,
      expected: { upgrade: { sql: "", line: 4 }, downgrade: { sql: "", line: 5 } },
    },
    {
      name: "CRLF and CR line endings count as one line each and become LF",
      text: "-- athanor:revision 3f2a9c1d0b7e\r\n\r-- athanor:upgrade\r\nSELECT 1;\r\nSELECT 2;\r-- athanor:downgrade\r\nSELECT 3;\r\n",
      expected: { upgrade: { sql: "SELECT 1;\nSELECT 2;\n", line: 4 }, downgrade: { sql: "SELECT 3;\n", line: 7 } },
    },
    {
      name: "a BOM does not shift lines; indented markers count",
      text: `\ufeff${HEAD}  --athanor:upgrade\nSELECT 1;\n`,
      expected: { upgrade: { sql: "SELECT 1;\n", line: 4 }, downgrade: null },
    },
  ];
  it.each(cases)("$name", ({ text, expected }) => {
    expect(splitSqlSections(text, "a.sql")).toEqual(expected);
  });

  it("keeps line numbers exact: the first statement's line is the section's line", () => {
    const text = `${HEAD}\n\n-- athanor:upgrade\nBROKEN;\n`;
    const { upgrade } = splitSqlSections(text, "a.sql");
    expect(text.split("\n")[upgrade.line - 1]).toBe("BROKEN;");
  });

  const errors: { name: string; text: string; message: RegExp }[] = [
    { name: "no upgrade marker", text: `${HEAD}-- athanor:downgrade\nSELECT 1;`, message: /^a\.sql: the revision has no `-- athanor:upgrade` section/ },
    { name: "two downgrade markers", text: `${HEAD}-- athanor:upgrade\n-- athanor:downgrade\n-- athanor:downgrade\n`, message: /^a\.sql:5: a second `-- athanor:downgrade` marker \(the first is on line 4\)/ },
  ];
  it.each(errors)("rejects $name", ({ text, message }) => {
    expect(() => splitSqlSections(text, "a.sql")).toThrow(RevisionError);
    expect(() => splitSqlSections(text, "a.sql")).toThrow(message);
  });
});
