import { describe, expect, it } from "vitest";
import pc from "picocolors";
import { databaseLabel, renderStatusTable } from "./status.js";

describe("databaseLabel", () => {
  it.each([
    ["postgresql://app:***@db.internal:5432/prod", "db.internal:5432/prod"],
    ["postgres://db/app?sslmode=require", "db/app"],
    ["pglite://./.athanor/dev", "pglite ./.athanor/dev"],
    ["pglite://memory", "pglite (memory)"],
    ["postgresql://app:***@${DB_HOST}:5432/app", "${DB_HOST}:5432/app"],
    ["", "-"],
  ])("%s → %s", (url, label) => expect(databaseLabel(url)).toBe(label));
});

describe("renderStatusTable", () => {
  const c = pc.createColors(false);

  it("aligns the columns, right-aligns pending, lists problems under their row", () => {
    const lines = renderStatusTable(
      {
        environments: [
          { name: "development", url: "pglite://./.athanor/dev", reachable: true, current: ["aaaaaaaaaaaa"], heads: ["aaaaaaaaaaaa"], pending: 0, state: "up-to-date", problems: [] },
          { name: "prod", url: "postgresql://app:***@db:5432/prod", reachable: true, current: ["bbbbbbbbbbbb", "cccccccccccc", "dddddddddddd"], heads: ["aaaaaaaaaaaa"], pending: 12, state: "diverged", problems: [{ code: "checksum-mismatch", message: "file changed\nsecond line" }] },
        ],
      },
      c,
    );
    expect(lines).toEqual([
      "ENVIRONMENT  DATABASE               CURRENT                       PENDING  STATE",
      "development  pglite ./.athanor/dev  aaaaaaaaaaaa                        0  ✓ up-to-date",
      "prod         db:5432/prod           bbbbbbbbbbbb,cccccccccccc +1       12  ≠ diverged",
      "             • checksum-mismatch: file changed",
      "               second line",
      "",
      "1 of 2 environments needs attention",
    ]);
  });

  it("says when all environments are up to date", () => {
    const lines = renderStatusTable({ environments: [{ name: "a", url: "pglite://memory", reachable: true, current: [], heads: [], pending: 0, state: "up-to-date", problems: [] }] }, c);
    expect(lines.at(-1)).toBe("✓ all 1 environments are up to date");
  });
});
