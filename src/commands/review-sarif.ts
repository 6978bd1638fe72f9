/**
 * `athanor review --format sarif`: the findings that point at a line of a file, as a
 * SARIF 2.1.0 log, so code scanning (GitHub's `upload-sarif`) annotates those lines in
 * the pull request. Every rule, the linter's and the review's, is listed with its help
 * text; `ruleId` is the rule's stable id. Findings without a file (an unreachable
 * environment, a removed revision) have no line to annotate and are left to the other
 * formats. Pure.
 */
import { RULE_IDS, RULES } from "../lint/catalog.js";
import { VERSION } from "../version.js";
import { REVIEW_RULES, type ReviewReport, type ReviewRuleId, type ReviewSeverity } from "./review-model.js";

/** The schema a SARIF 2.1.0 log names. */
export const SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

interface SarifRule {
  readonly id: string;
  readonly name: string;
  readonly shortDescription: { readonly text: string };
  readonly fullDescription: { readonly text: string };
  readonly help: { readonly text: string; readonly markdown: string };
  readonly defaultConfiguration: { readonly level: "error" | "warning" | "note" };
  readonly properties: { readonly tags: readonly string[] };
}

const LEVEL: Record<ReviewSeverity, "error" | "warning" | "note"> = { error: "error", warning: "warning", info: "note" };

/** `drop-column` → `DropColumn` (SARIF's `name` is an identifier-like label). */
function pascal(id: string): string {
  return id.replace(/(^|-)([a-z])/g, (_match, _dash: string, letter: string) => letter.toUpperCase());
}

function sarifRules(): SarifRule[] {
  const lint = RULE_IDS.map((id): SarifRule => {
    const rule = RULES[id];
    return {
      id,
      name: pascal(id),
      shortDescription: { text: rule.title },
      fullDescription: { text: rule.why },
      help: { text: `${rule.why}\n\nSafe pattern: ${rule.safe}`, markdown: `${rule.why}\n\n**Safe pattern:** ${rule.safe}\n\nAllow it for one reviewed revision with a line \`-- athanor:allow ${id}\`.` },
      defaultConfiguration: { level: rule.severity === "danger" ? "error" : "warning" },
      properties: { tags: ["athanor", "migration", "postgresql"] },
    };
  });
  const review = (Object.keys(REVIEW_RULES) as ReviewRuleId[]).map((id): SarifRule => {
    const rule = REVIEW_RULES[id];
    return {
      id,
      name: pascal(id),
      shortDescription: { text: rule.title },
      fullDescription: { text: rule.help },
      help: { text: rule.help, markdown: rule.help },
      defaultConfiguration: { level: id === "not-linted" || id === "promotion-gate" ? "note" : id === "edited-revision" || id === "removed-revision" ? "warning" : "error" },
      properties: { tags: ["athanor", "migration", "review"] },
    };
  });
  return [...lint, ...review];
}

/**
 * The report's located findings as a SARIF 2.1.0 log (an object; `JSON.stringify` it).
 * @example
 * const log = renderReviewSarif(report); // { version: "2.1.0", runs: [{ tool: { driver: { name: "athanor", rules } }, results }] }
 */
export function renderReviewSarif(report: ReviewReport): Record<string, unknown> {
  const rules = sarifRules();
  const index = new Map(rules.map((rule, i) => [rule.id, i] as const));
  const results = report.findings
    .filter((finding) => finding.file !== null)
    .map((finding) => {
      const ruleIndex = index.get(finding.rule);
      const text = finding.statement === null ? finding.message : `${finding.statement}: ${finding.message}`;
      return {
        ruleId: finding.rule,
        ...(ruleIndex === undefined ? {} : { ruleIndex }),
        level: LEVEL[finding.severity],
        message: { text: finding.environment === null ? text : `[${finding.environment}] ${text}` },
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: encodeURI(finding.file as string), uriBaseId: "%SRCROOT%" },
              region: { startLine: finding.line ?? 1 },
            },
          },
        ],
        properties: { revision: finding.revision, source: finding.source },
      };
    });
  return {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: "athanor", semanticVersion: VERSION, rules } },
        results,
        properties: { base: report.base, failed: report.summary.failed, failOn: report.summary.failOn },
      },
    ],
  };
}
