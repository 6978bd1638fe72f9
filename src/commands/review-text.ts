/**
 * `athanor review` for a terminal (the default format): base, summary, graph, each
 * added or edited revision with its findings and SQL, the environments, and the verdict.
 * Pure: the CLI passes its colours and prints the lines. Every value a pull request
 * controls (file names, messages, SQL, findings that quote them) goes through `inert`:
 * the scan and the header parser refuse control characters, this is the second line.
 */
import { escapeControlCharacters as inert } from "../control-characters.js";
import type { ReviewFinding, ReviewReport, ReviewRevision, ReviewSeverity } from "./review-model.js";
import { promotionRefusal } from "../guard/promotion-wording.js";

/** The colour functions the text uses (picocolors' shape; identity functions for plain text). */
export interface TextStyle {
  red(text: string): string;
  yellow(text: string): string;
  green(text: string): string;
  cyan(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** `origin/main (merge base 1a2b3c4d5e6f)` or `v1.2 (1a2b3c4d5e6f)`. */
export function describeBase(report: ReviewReport): string {
  const short = report.base.commit.slice(0, 12);
  return report.base.how === "merge-base" ? `the merge base of HEAD and ${report.base.ref} (${short})` : `${report.base.ref} (${short})`;
}

function severityLabel(style: TextStyle, severity: ReviewSeverity): string {
  return severity === "error" ? style.red("error  ") : severity === "warning" ? style.yellow("warning") : style.cyan("info   ");
}

function findingLines(style: TextStyle, finding: ReviewFinding): string[] {
  const where = finding.file === null ? "" : `  ${inert(finding.file)}${finding.line === null ? "" : `:${finding.line}`}`;
  const lines = [`    ${severityLabel(style, finding.severity)} ${style.bold(finding.rule)}${where}${finding.statement === null ? "" : `  ${inert(finding.statement)}`}`];
  lines.push(`            ${inert(finding.message)}`);
  lines.push(`            ${style.dim(`fix: ${inert(finding.help)}`)}`);
  return lines;
}

function revisionLines(style: TextStyle, report: ReviewReport, revision: ReviewRevision): string[] {
  const mark = revision.status === "added" ? style.green("+") : style.yellow("~");
  const tags = [revision.status === "edited" ? "edited" : null, revision.isHead ? "head" : null, revision.transactional ? null : "no transaction"].filter((tag): tag is string => tag !== null);
  const lines = [`  ${mark} ${style.yellow(revision.id)} ${inert(revision.message) || style.dim("(no message)")}${tags.length > 0 ? ` ${style.dim(`(${tags.join(", ")})`)}` : ""}`];
  lines.push(`      ${inert(revision.file)}${revision.baseFile !== null && revision.baseFile !== revision.file ? style.dim(` (was ${inert(revision.baseFile)})`) : ""}`);
  for (const finding of report.findings.filter((f) => f.revision === revision.id && f.environment === null)) lines.push(...findingLines(style, finding));
  for (const finding of report.findings.filter((f) => f.revision === revision.id && f.environment !== null)) lines.push(...findingLines(style, finding));
  if (revision.sql !== null) {
    lines.push(style.dim("      -- upgrade"));
    for (const line of revision.sql.replace(/\n+$/, "").split("\n")) lines.push(`      ${inert(line)}`);
  } else if (revision.sqlNote !== null) lines.push(style.dim(`      (no SQL: ${inert(revision.sqlNote)})`));
  return lines;
}

/**
 * The report as lines of text.
 * @example
 * for (const line of renderReviewText(report, plainStyle)) console.log(line);
 */
export function renderReviewText(report: ReviewReport, style: TextStyle): string[] {
  const { summary, graph } = report;
  const lines = [style.bold(`athanor review against ${describeBase(report)}`)];
  lines.push(`revisions: ${summary.added} added, ${summary.edited} edited, ${summary.removed} removed${summary.renamed > 0 ? `, ${summary.renamed} renamed` : ""} (in ${report.migrationsDir})`);
  if (graph.error !== null) lines.push(`graph: ${style.red(`broken: ${inert(graph.error.message)}`)}`);
  else {
    const headText = graph.mergeNeeded ? style.red(`${plural(graph.heads.length, "head")}: ${graph.heads.join(", ")} — a merge revision is needed`) : `${plural(graph.heads.length, "head")}${graph.heads.length > 0 ? `: ${graph.heads.join(", ")}` : ""}`;
    lines.push(`graph: ${headText}${graph.newHeads.length > 0 ? style.dim(` (new: ${graph.newHeads.join(", ")})`) : ""}`);
  }
  for (const note of report.notes) lines.push(style.dim(`note: ${inert(note)}`));

  if (report.revisions.length > 0 || report.removed.length > 0) lines.push("", style.bold("revisions"));
  for (const revision of report.revisions) lines.push(...revisionLines(style, report, revision));
  for (const removed of report.removed) lines.push(`  ${style.red("-")} ${style.yellow(removed.id)} ${inert(removed.message)} ${style.dim(`(removed: ${inert(removed.file)})`)}`);

  const others = report.findings.filter((f) => f.revision === null || !report.revisions.some((r) => r.id === f.revision));
  if (others.length > 0) {
    lines.push("", style.bold("other findings"));
    for (const finding of others) lines.push(...findingLines(style, finding));
  }

  if (report.environments.length > 0) lines.push("", style.bold("environments"));
  for (const env of report.environments) {
    lines.push(`  ${style.bold(env.name)} ${style.dim(env.url)}`);
    if (env.error !== null) {
      lines.push(`      ${style.red(`${env.reachable ? "no plan" : "not read"}: ${inert(env.error)}`)}`);
      continue;
    }
    lines.push(`      at: ${env.current.length === 0 ? style.dim("(nothing applied)") : env.current.join(", ")}`);
    if (env.upgrade.length === 0) lines.push(`      upgrade ${env.target}: ${style.green("nothing to run")}`);
    else {
      lines.push(`      upgrade ${env.target} would run ${plural(env.upgrade.length, "revision")}:${env.target === "heads" ? style.dim(" (`upgrade head` refuses with several heads)") : ""}`);
      for (const step of env.upgrade) lines.push(`        ${style.yellow(step.revision)} ${inert(step.message)} ${style.dim(inert(step.file))}`);
    }
    if (env.promotion !== null) {
      const gate = env.promotion.allowed ? style.green("would pass") : style.yellow(`would refuse: ${env.promotion.sourceError ?? `"${env.promotion.source}" ${promotionRefusal(env.promotion, (ids) => ids.join(", "))}`}`);
      lines.push(`      promotion gate (from ${env.promotion.source}): ${gate}`);
    }
  }

  const counts = summary.findings;
  lines.push("", `${plural(counts.error, "error")}, ${plural(counts.warning, "warning")}, ${counts.info} info`);
  lines.push(summary.failed ? style.red(`review fails (--fail-on ${summary.failOn}): ${summary.reasons.join(", ")}`) : style.green(`review passes (--fail-on ${summary.failOn})`));
  return lines;
}
