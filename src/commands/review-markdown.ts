/**
 * `athanor review --format markdown`: the report for a pull request (GitHub's
 * `$GITHUB_STEP_SUMMARY` or a comment): a short summary table, the touched part of the
 * graph in Mermaid, then each revision with its message, its findings and its SQL in a
 * collapsed block, the environments, and the other findings. Text that comes from the
 * repository (messages, file names, SQL, server errors) is escaped for where it stands so
 * it shows as written: it cannot close a table, a code span or a block, inject HTML, nor
 * become a link, an image, emphasis or a heading; its control characters are written as
 * escapes (`\x1b`): a summary is also read as raw text in CI logs and terminals. Pure.
 */
import type { ReviewFinding, ReviewReport, ReviewRevision, ReviewSeverity } from "./review-model.js";
import { promotionRefusal } from "../guard/promotion-wording.js";
import { ruleTitle } from "./review-model.js";
import { describeBase } from "./review-text.js";
import { escapeControlCharacters as inert } from "../control-characters.js";

const ICON: Record<ReviewSeverity, string> = { error: "🔴", warning: "🟡", info: "🔵" };

/**
 * Markdown punctuation that starts inline syntax: code spans, emphasis and strikethrough,
 * links and images (`[`, `]`: without them `!` and `(` are text), table pipes, and the
 * backslash itself. A backslash before ASCII punctuation makes it literal (CommonMark
 * §2.4). `_` between two letters or digits starts nothing (CommonMark's flanking rules)
 * and is left alone, so `user_id` reads as written in the raw text too.
 */
const INLINE_SYNTAX = /[\\`*~[\]|]|(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu;

/**
 * Plain text for Markdown: newlines flattened, control characters escaped, HTML as
 * entities, inline syntax backslash-escaped, and a trailing run of `#` (which would close
 * a heading and vanish) escaped, so `[click](https://evil)`, `![x](...)`, `<img ...>`,
 * `` `x` `` and `| a |` show as the characters they are.
 */
function text(value: string): string {
  return inert(value.replace(/\s*\n\s*/g, " "))
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(INLINE_SYNTAX, "\\$&")
    .replace(/(^|\s)(#+)(\s*)$/, "$1\\$2$3");
}

/** athanor's own wording (a rule's title and help): its backticks are code spans; HTML and pipes escaped all the same. */
function ownText(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\|/g, "\\|");
}

/**
 * {@link text} at the start of a block (after `> `): a leading list marker, heading,
 * thematic break or ordered-list number is escaped too, so it stays the line's text.
 */
function blockText(value: string): string {
  return text(value.trimStart()).replace(/^(?:[-+=#]|(\d{1,9})([.)]))/, (marker, digits: string | undefined, dot: string | undefined) => (digits === undefined ? `\\${marker}` : `${digits}\\${dot}`));
}

/** A code span that survives backticks inside (CommonMark: a longer fence, padded); in a table cell, pipes are escaped too (GFM). */
function code(value: string, inTable = false): string {
  const flat = inert(value.replace(/\s*\n\s*/g, " "));
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const pad = longest > 0 || flat.startsWith(" ") || flat.endsWith(" ") ? " " : "";
  return `${fence}${pad}${inTable ? flat.replace(/\|/g, "\\|") : flat}${pad}${fence}`;
}

/** A code span inside a table cell. */
function cell(value: string): string {
  return code(value, true);
}

/** A fenced block whose fence is longer than any backtick run inside. */
function fencedBlock(language: string, body: string): string {
  const longest = Math.max(2, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${language}\n${body.replace(/\n+$/, "").split("\n").map(inert).join("\n")}\n${fence}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function findingLine(finding: ReviewFinding): string {
  const where = finding.file === null ? "" : ` ${code(`${finding.file}${finding.line === null ? "" : `:${finding.line}`}`)}`;
  const statement = finding.statement === null ? "" : ` ${code(finding.statement)}`;
  const environment = finding.environment === null ? "" : ` (environment ${code(finding.environment)})`;
  return `- ${ICON[finding.severity]} **${finding.severity}** ${code(finding.rule)} — ${ownText(ruleTitle(finding.rule))}${where}${environment}${statement}<br/>${text(finding.message)}<br/>*Fix:* ${ownText(finding.help)}`;
}

function summaryTable(report: ReviewReport): string[] {
  const { summary, graph } = report;
  const heads = graph.error !== null ? `❌ broken: ${text(graph.error.message)}` : graph.mergeNeeded ? `⚠️ ${graph.heads.length}: ${graph.heads.map(cell).join(", ")} — a merge revision is needed` : `${graph.heads.length}${graph.heads.length === 1 ? ` (${cell(graph.heads[0] as string)})` : ""}`;
  const behind = report.environments.length === 0
    ? "not checked (pass `--env NAME`)"
    : summary.environmentsBehind.length === 0
      ? "none"
      : report.environments.filter((env) => env.behind).map((env) => `${cell(env.name)} (${env.upgrade.length})`).join(", ");
  const counts = summary.findings;
  const verdict = summary.failed ? `❌ fails (\`--fail-on ${summary.failOn}\`): ${summary.reasons.map(text).join(", ")}` : `✅ passes (\`--fail-on ${summary.failOn}\`)`;
  return [
    "| | |",
    "|---|---|",
    `| Revisions | ${summary.added} added, ${summary.edited} edited, ${summary.removed} removed${summary.renamed > 0 ? `, ${summary.renamed} renamed` : ""} |`,
    `| Heads | ${heads} |`,
    `| Environments behind | ${behind} |`,
    `| Findings | ${ICON.error} ${counts.error} error · ${ICON.warning} ${counts.warning} warning · ${ICON.info} ${counts.info} info |`,
    `| Result | ${verdict} |`,
  ];
}

function revisionSection(report: ReviewReport, revision: ReviewRevision): string[] {
  const tags = [revision.status, revision.isHead ? "head" : null, revision.transactional ? null : "no transaction"].filter((tag): tag is string => tag !== null);
  const out = [`#### ${code(revision.id)} ${text(revision.message || "(no message)")}`, ""];
  const parents = revision.parents.length === 0 ? "a root" : `after ${revision.parents.map((id) => code(id)).join(", ")}`;
  const renamed = revision.baseFile !== null && revision.baseFile !== revision.file ? ` (was ${code(revision.baseFile)})` : "";
  out.push(`${code(revision.file)}${renamed} · ${parents} · ${tags.join(", ")}`, "");
  const findings = report.findings.filter((f) => f.revision === revision.id);
  if (findings.length > 0) out.push(...findings.map(findingLine), "");
  else if (revision.linted) out.push("No linter findings.", "");
  if (revision.sql !== null) {
    const lines = revision.sql.replace(/\n+$/, "").split("\n").length;
    out.push(`<details><summary>SQL (upgrade, ${plural(lines, "line")})</summary>`, "", fencedBlock("sql", revision.sql), "", "</details>", "");
  } else if (revision.sqlNote !== null) out.push(`*No SQL: ${text(revision.sqlNote)}*`, "");
  return out;
}

function environmentTable(report: ReviewReport): string[] {
  const out = ["| Environment | At | `upgrade head` would run | Promotion gate |", "|---|---|---|---|"];
  for (const env of report.environments) {
    if (env.error !== null) {
      out.push(`| ${cell(env.name)} | ${env.reachable ? env.current.map(cell).join(", ") || "nothing applied" : "❌ not read"} | ${text(env.error)} | |`);
      continue;
    }
    const at = env.current.length === 0 ? "nothing applied" : env.current.map(cell).join(", ");
    const runs = env.upgrade.length === 0 ? "nothing (up to date)" : `${env.target === "heads" ? "(`head` refuses: several heads; `heads` runs) " : ""}${env.upgrade.map((step) => cell(step.revision)).join(" → ")}`;
    const gate = env.promotion === null ? "—" : env.promotion.allowed ? `✅ passes (from ${cell(env.promotion.source)})` : `⛔ would refuse: ${env.promotion.sourceError === null ? `${cell(env.promotion.source)} ${promotionRefusal(env.promotion, (ids) => ids.map(cell).join(", "))}` : text(env.promotion.sourceError)}`;
    out.push(`| ${cell(env.name)} | ${at} | ${runs} | ${gate} |`);
  }
  return out;
}

/**
 * The report as Markdown, ready to append to `$GITHUB_STEP_SUMMARY`.
 * @example
 * appendFileSync(process.env.GITHUB_STEP_SUMMARY, renderReviewMarkdown(report));
 */
export function renderReviewMarkdown(report: ReviewReport): string {
  const out = ["## athanor review", "", `Compared with ${code(report.base.ref)} — ${text(describeBase(report))}; migrations in ${code(report.migrationsDir)}.`, ""];
  out.push(...summaryTable(report), "");
  for (const note of report.notes) out.push(`> ${blockText(note)}`, "");
  if (report.graph.mermaid !== null && (report.revisions.length > 0 || report.graph.mergeNeeded)) {
    out.push("### Graph", "", "Changed revisions are highlighted, heads are bold; only their parents are drawn.", "", fencedBlock("mermaid", report.graph.mermaid), "");
  }
  if (report.revisions.length > 0) {
    out.push("### Revisions", "");
    for (const revision of report.revisions) out.push(...revisionSection(report, revision));
  }
  if (report.removed.length > 0) {
    out.push("### Removed revisions", "", ...report.removed.map((r) => `- ${code(r.id)} ${text(r.message)} (${code(r.file)})`), "");
  }
  if (report.environments.length > 0) out.push("### Environments", "", ...environmentTable(report), "");
  const others = report.findings.filter((f) => f.revision === null || !report.revisions.some((r) => r.id === f.revision));
  if (others.length > 0) out.push("### Other findings", "", ...others.map(findingLine), "");
  return `${out.join("\n").trimEnd()}\n`;
}
