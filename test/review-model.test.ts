/**
 * The pure parts of `athanor review`: comparing two revision sets, building the report
 * (findings, verdict, broken graph), the Mermaid excerpt of a large graph, and the
 * escaping of repository text in Markdown. No git, no database.
 */
import { describe, expect, it } from "vitest";
import { compareRevisionSets } from "../src/commands/review-compare.js";
import { renderReviewMarkdown } from "../src/commands/review-markdown.js";
import { renderReviewMermaid } from "../src/commands/review-mermaid.js";
import { buildReviewReport, isAtLeast, type ReviewInput, type ReviewedRevisionInput } from "../src/commands/review-model.js";
import { renderReviewSarif } from "../src/commands/review-sarif.js";
import { renderReviewText } from "../src/commands/review-text.js";
import { revision, rid } from "../src/revisions/fixtures.js";
import { RevisionGraph } from "../src/revisions/graph.js";
import type { RevisionFile } from "../src/revisions/types.js";
import { appliedStateOf } from "../src/run/version-table.js";

const sum = (c: string): string => c.repeat(64);
const BASE = { ref: "main", commit: "f".repeat(40), how: "merge-base" as const };
const plain = { red: (t: string) => t, yellow: (t: string) => t, green: (t: string) => t, cyan: (t: string) => t, dim: (t: string) => t, bold: (t: string) => t };

describe("compareRevisionSets", () => {
  const a = revision("a", [], { checksum: sum("1") });
  const b = revision("b", ["a"], { checksum: sum("2") });
  const c = revision("c", ["b"], { checksum: sum("3") });
  const cases: [string, RevisionFile[], RevisionFile[], { added: string[]; removed: string[]; edited: string[]; renamed: string[]; unchanged: number }][] = [
    ["nothing changed", [a, b], [a, b], { added: [], removed: [], edited: [], renamed: [], unchanged: 2 }],
    ["one added", [a, b], [a, b, c], { added: [c.id], removed: [], edited: [], renamed: [], unchanged: 2 }],
    ["one removed", [a, b, c], [a, b], { added: [], removed: [c.id], edited: [], renamed: [], unchanged: 2 }],
    ["one edited (checksum)", [a, b], [a, { ...b, checksum: sum("9") }], { added: [], removed: [], edited: [b.id], renamed: [], unchanged: 1 }],
    ["one renamed, same text", [a, b], [a, { ...b, relativePath: "0002_b.sql" }], { added: [], removed: [], edited: [], renamed: [b.id], unchanged: 2 }],
    ["a new base (empty before)", [], [a], { added: [a.id], removed: [], edited: [], renamed: [], unchanged: 0 }],
  ];
  it.each(cases)("%s", (_name, before, after, expected) => {
    const result = compareRevisionSets(before, after);
    expect({
      added: result.added.map((r) => r.id),
      removed: result.removed.map((r) => r.id),
      edited: result.edited.map((p) => p.head.id),
      renamed: result.renamed.map((p) => p.head.id),
      unchanged: result.unchanged,
    }).toEqual(expected);
  });
});

describe("isAtLeast", () => {
  it.each([
    ["error", "error", true],
    ["warning", "error", false],
    ["error", "info", true],
    ["info", "warning", false],
    ["warning", "warning", true],
  ] as const)("%s at or above %s: %s", (severity, threshold, expected) => {
    expect(isAtLeast(severity, threshold)).toBe(expected);
  });
});

describe("renderReviewMermaid", () => {
  it("draws only the changed revisions, their parents and the heads of a long graph", () => {
    const files = [revision("a")];
    for (let i = 1; i < 200; i += 1) files.push(revision(`r${String(i).padStart(3, "0")}`, [files[i - 1]?.id as string]));
    const last = files[files.length - 1] as RevisionFile;
    const added = revision("n", [last.id], { message: 'add "orders"' });
    const graph = RevisionGraph.build([...files, added]);
    const text = renderReviewMermaid(graph, new Set([added.id]));
    expect(text.split("\n").filter((line) => line.includes('["'))).toHaveLength(2);
    expect(text).toContain(`  r${last.id} --> r${added.id}`);
    expect(text).toContain(`  class r${added.id} head`);
    expect(text).toContain(`  class r${added.id} changed`);
    expect(text).toContain("#quot;orders#quot;");
  });
});

function input(overrides: Partial<ReviewInput> = {}): ReviewInput {
  const a = revision("a", [], { checksum: sum("1") });
  const b = revision("b", ["a"], { checksum: sum("2"), message: "pipe | `tick` <b>" });
  const graph = RevisionGraph.build([a, b]);
  const reviewed: ReviewedRevisionInput = {
    file: b,
    base: null,
    sql: "SELECT '```' AS fence;\n",
    sqlNote: null,
    lint: {
      findings: [{ rule: "drop-table", severity: "danger", revision: b.id, file: b.relativePath, line: 6, statement: "DROP TABLE `x`", message: "drops it", safe: "do not" }],
      notLinted: null,
    },
  };
  return {
    base: BASE,
    prefix: "db/migrations/",
    comparison: compareRevisionSets([a], [a, b]),
    graph,
    graphError: null,
    baseHeads: [a.id],
    revisions: [reviewed],
    environments: [],
    failOn: "error",
    notes: [],
    ...overrides,
  };
}

describe("buildReviewReport", () => {
  it("maps a linter danger to an error with the repository path, and fails at --fail-on error", () => {
    const report = buildReviewReport(input());
    expect(report.migrationsDir).toBe("db/migrations");
    expect(report.findings).toEqual([
      expect.objectContaining({ rule: "drop-table", source: "lint", severity: "error", file: `db/migrations/${rid("b")}_b.sql`, line: 6, help: "do not" }),
    ]);
    expect(report.summary).toMatchObject({ failed: true, reasons: ["drop-table"], findings: { error: 1, warning: 0, info: 0 } });
    expect(report.graph).toMatchObject({ heads: [rid("b")], newHeads: [rid("b")], mergeNeeded: false });
  });

  it("reports a broken graph as an error finding and draws nothing", () => {
    const report = buildReviewReport(input({ graph: null, graphError: { code: "missing-parent", message: "x.sql: parent revision 999 does not exist", file: "x.sql" } }));
    expect(report.graph).toMatchObject({ heads: [], mermaid: null, error: { code: "missing-parent" } });
    expect(report.findings[0]).toMatchObject({ rule: "broken-graph", severity: "error", file: "db/migrations/x.sql", line: 1 });
    expect(report.summary.failed).toBe(true);
  });

  it("an environment that cannot be read is an error; with a broken graph, one that was read is only left without a plan", () => {
    const unreadable = { name: "testing", url: "postgresql://app:***@db/app", state: { error: "connection refused" }, plan: null, promotion: null, sql: null };
    const read = { name: "local", url: "pglite://./.data/local", state: { applied: appliedStateOf([]) }, plan: null, promotion: null, sql: null };
    const report = buildReviewReport(input({ graph: null, graphError: { code: "revision-cycle", message: "cycle", file: null }, environments: [unreadable, read] }));
    expect(report.findings.filter((f) => f.rule === "environment-unreadable").map((f) => f.environment)).toEqual(["testing"]);
    expect(report.environments.map((env) => [env.name, env.reachable, env.error])).toEqual([
      ["testing", false, "connection refused"],
      ["local", true, "the branch's revision graph is broken, so nothing was planned"],
    ]);
  });

  it("reports an SQL syntax error of a revision as an error at its line", () => {
    const base = input();
    const first = base.revisions[0] as ReviewedRevisionInput;
    const report = buildReviewReport({ ...base, revisions: [{ ...first, lint: { error: { rule: "sql-syntax", message: "invalid SQL at b.sql:7", line: 7 } } }] });
    expect(report.findings).toEqual([expect.objectContaining({ rule: "sql-syntax", severity: "error", line: 7 })]);
    expect(report.revisions[0]?.linted).toBe(false);
  });
});

describe("renderers", () => {
  it("markdown: repository text cannot close a code span, a fence or a table, nor inject HTML", () => {
    const md = renderReviewMarkdown(buildReviewReport(input()));
    expect(md).toContain(`#### \`${rid("b")}\` pipe \\| \\\`tick\\\` &lt;b&gt;`);
    // The SQL holds a triple backtick: the fence is longer.
    expect(md).toContain("````sql\nSELECT '```' AS fence;\n````");
    // A statement with a backtick is wrapped in a longer code span.
    expect(md).toContain("`` DROP TABLE `x` ``");
  });

  it("markdown: what a pull request wrote shows as text, in every context", () => {
    const hostile = "[click](https://evil) ![x](https://track/pixel) <img src=x onerror=alert(1)> **bold** _em_ ~~gone~~ `code` | cell \\ end #";
    // Each character that would start Markdown is backslash-escaped; HTML is entities.
    const shown = "\\[click\\](https://evil) !\\[x\\](https://track/pixel) &lt;img src=x onerror=alert(1)&gt; \\*\\*bold\\*\\* \\_em\\_ \\~\\~gone\\~\\~ \\`code\\` \\| cell \\\\ end \\#";
    const base = input();
    const first = base.revisions[0] as ReviewedRevisionInput;
    const file = { ...first.file, message: hostile, relativePath: "b_``x``.sql" };
    const finding = { rule: "drop-table" as const, severity: "danger" as const, revision: file.id, file: file.relativePath, line: 6, statement: "DROP TABLE \"a`|`b\"", message: `drops ${hostile}`, safe: "do not" };
    const unreadable = { name: "testing", url: "postgresql://app:***@db/app", state: { error: `server said: ${hostile}` }, plan: null, promotion: null, sql: null };
    const md = renderReviewMarkdown(
      buildReviewReport({
        ...base,
        revisions: [{ ...first, file, lint: { findings: [finding], notLinted: null } }],
        graph: RevisionGraph.build([revision("a", [], { checksum: sum("1") }), file]),
        environments: [unreadable],
        notes: ["# heading note", "- a list", "1. ordered", `plain ${hostile}`],
      }),
    );
    expect(md).toContain(`#### \`${rid("b")}\` ${shown}\n`);
    expect(md).toContain(`<br/>drops ${shown}<br/>*Fix:* do not`);
    expect(md).toContain(`| \`testing\` | ❌ not read | server said: ${shown} | |`);
    expect(md).toContain(`> plain ${shown}\n`);
    expect(md).toContain("> \\# heading note\n");
    expect(md).toContain("> \\- a list\n");
    expect(md).toContain("> 1\\. ordered\n");
    // A code span's fence is longer than any backtick run inside; in a table a pipe is escaped.
    expect(md).toContain("``` db/migrations/b_``x``.sql ```");
    expect(md).toContain('`` DROP TABLE "a`|`b" ``');
    // No link, image or HTML tag from the repository's text is left to render (Mermaid's labels are its own text, escaped its way).
    for (const line of md.replace(/```mermaid\n[\s\S]*?\n```\n/, "").split("\n")) {
      expect(line).not.toMatch(/(?<!\\)\[(?:click|x)(?<!\\)\]\(/);
      expect(line).not.toMatch(/<img/);
    }
  });

  it("markdown: ordinary text reads as written (identifiers with underscores, punctuation)", () => {
    const base = input();
    const first = base.revisions[0] as ReviewedRevisionInput;
    const file = { ...first.file, message: "add user_id to orders (backfill: 2 steps). Done!" };
    const md = renderReviewMarkdown(buildReviewReport({ ...base, revisions: [{ ...first, file }], graph: RevisionGraph.build([revision("a", [], { checksum: sum("1") }), file]) }));
    expect(md).toContain(`#### \`${rid("b")}\` add user_id to orders (backfill: 2 steps). Done!\n`);
  });

  it("sarif: only findings with a file become results", () => {
    const base = buildReviewReport(input());
    const withEnvironmentFinding = { ...base, findings: [...base.findings, { ...(base.findings[0] as (typeof base.findings)[number]), rule: "environment-unreadable", file: null, line: null }] };
    const log = renderReviewSarif(withEnvironmentFinding) as { runs: { results: { ruleId: string }[] }[] };
    expect(log.runs[0]?.results.map((r) => r.ruleId)).toEqual(["drop-table"]);
  });

  it("text: names the base and the verdict", () => {
    const lines = renderReviewText(buildReviewReport(input({ failOn: "error" })), plain);
    expect(lines[0]).toBe(`athanor review against the merge base of HEAD and main (${"f".repeat(12)})`);
    expect(lines.at(-1)).toBe("review fails (--fail-on error): drop-table");
  });
});
