/**
 * Acceptance: the linter finds each listed hazard in a fixture revision (right rule,
 * right line) and stays silent on the safe pattern of each. See test/fixtures/lint/README.md.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RULE_IDS } from "./catalog.js";
import { lintSql } from "./lint.js";

const FIXTURES = new URL("../../test/fixtures/lint/", import.meta.url);
const COLUMNS: unknown = JSON.parse(readFileSync(new URL("columns.json", FIXTURES), "utf8"));

interface Fixture {
  readonly file: string;
  readonly revision: string;
  readonly sql: string;
  readonly startLine: number;
  readonly transactional: boolean;
  readonly allow: string[];
  /** `rule@line` from the `-- expect: RULE` markers. */
  readonly expected: string[];
}

/** A test-only reading of the revision header (the real parser is src/revisions/). */
function readFixture(folder: string, name: string): Fixture {
  const file = `${folder}/${name}`;
  const lines = readFileSync(new URL(file, FIXTURES), "utf8").split("\n");
  const header = (key: string): string[] =>
    lines.filter((l) => l.startsWith(`-- athanor:${key} `)).map((l) => l.slice(`-- athanor:${key} `.length).trim());
  const upgrade = lines.indexOf("-- athanor:upgrade");
  const downgrade = lines.indexOf("-- athanor:downgrade");
  if (upgrade < 0 || downgrade < upgrade) throw new Error(`${file}: no upgrade section`);
  const expected: string[] = [];
  lines.forEach((line, index) => {
    const marker = line.indexOf("-- expect: ");
    if (marker < 0) return;
    for (const rule of line.slice(marker + "-- expect: ".length).split(",")) expected.push(`${rule.trim()}@${index + 1}`);
  });
  return {
    file,
    revision: header("revision")[0] ?? "",
    sql: lines.slice(upgrade + 1, downgrade).join("\n"),
    startLine: upgrade + 2,
    transactional: header("transaction")[0] !== "false",
    allow: header("allow").flatMap((a) => a.split(",").map((r) => r.trim())),
    expected: expected.sort(),
  };
}

function columnType(table: { readonly name: string }, column: string): string | undefined {
  const value = typeof COLUMNS === "object" && COLUMNS !== null ? (COLUMNS as { readonly [key: string]: unknown })[`${table.name}.${column}`] : undefined;
  return typeof value === "string" ? value : undefined;
}

function lintFixture(fixture: Fixture): ReturnType<typeof lintSql> {
  return lintSql(fixture.sql, {
    file: fixture.file,
    revision: fixture.revision,
    startLine: fixture.startLine,
    transactional: fixture.transactional,
    allow: fixture.allow,
    columnType,
  });
}

const hazards = readdirSync(new URL("hazards/", FIXTURES)).filter((f) => f.endsWith(".sql")).sort();
const safe = readdirSync(new URL("safe/", FIXTURES)).filter((f) => f.endsWith(".sql")).sort();

describe("hazard fixtures", () => {
  it.each(hazards)("%s: each marked statement is found with its rule and line", async (name) => {
    const fixture = readFixture("hazards", name);
    expect(fixture.expected.length).toBeGreaterThan(0);
    const findings = await lintFixture(fixture);
    expect(findings.map((f) => `${f.rule}@${f.line}`).sort()).toEqual(fixture.expected);
    for (const finding of findings) {
      expect(finding).toMatchObject({ file: fixture.file, revision: fixture.revision });
      expect(finding.message.length).toBeGreaterThan(20);
      expect(finding.safe.length).toBeGreaterThan(20);
    }
  });

  it("cover every rule", () => {
    const covered = new Set(hazards.flatMap((name) => readFixture("hazards", name).expected.map((e) => e.slice(0, e.indexOf("@")))));
    expect(RULE_IDS.filter((id) => !covered.has(id))).toEqual([]);
  });
});

describe("safe fixtures", () => {
  it.each(safe)("%s: no finding", async (name) => {
    expect(await lintFixture(readFixture("safe", name))).toEqual([]);
  });
});
