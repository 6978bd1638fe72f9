/**
 * The report of `athanor review` (its `--format json` document) and how it is built
 * from what was read: the comparison with the base, the graph, the linter's findings,
 * each environment's state and plan. Pure: the I/O is in review.ts, the renderings in
 * review-text.ts, review-markdown.ts and review-sarif.ts. The JSON shape is documented
 * in docs/review.md; `version` changes when a field changes meaning.
 */
import { isRuleId, RULES } from "../lint/catalog.js";
import type { LintFinding } from "../lint/lint.js";
import type { PromotionEvaluation } from "../guard/promotion.js";
import { promotionRefusal } from "../guard/promotion-wording.js";
import { currentHeads, planUpgrade } from "../plan/plan.js";
import type { Plan } from "../plan/types.js";
import { listIds, type RevisionGraph } from "../revisions/graph.js";
import type { RevisionFile } from "../revisions/types.js";
import type { AppliedState } from "../run/version-table.js";
import type { RevisionSetComparison } from "./review-compare.js";
import type { ReviewBase } from "./review-git.js";
import { renderReviewMermaid } from "./review-mermaid.js";

/** How serious a finding is; linter `danger` is `error`. `--fail-on` takes one of these. */
export type ReviewSeverity = "error" | "warning" | "info";

/** The severities, least serious first. */
export const REVIEW_SEVERITIES: readonly ReviewSeverity[] = ["info", "warning", "error"];

/** True when `severity` is at least as serious as `threshold`. */
export function isAtLeast(severity: ReviewSeverity, threshold: ReviewSeverity): boolean {
  return REVIEW_SEVERITIES.indexOf(severity) >= REVIEW_SEVERITIES.indexOf(threshold);
}

/**
 * A revision as it is at the base commit, read from git: its `path` is the git object
 * spec (`<commit>:<path in the repository>`), not a file on disk.
 */
export type BaseRevision = RevisionFile;

/** The review's own rules (the linter's are in src/lint/catalog.ts). */
export const REVIEW_RULES = {
  "multiple-heads": {
    title: "Several heads",
    help: "The revision graph has more than one head, so `upgrade head` refuses to choose. Merge them with `athanor merge -m \"merge heads\" heads` and commit the merge revision.",
  },
  "broken-graph": {
    title: "Broken revision graph",
    help: "A revision names a parent or dependency that no file defines, an id or branch label is used twice, or the revisions form a cycle. Fix the header the message names (`athanor heads` lists the heads).",
  },
  "edited-applied-revision": {
    title: "Edited revision that an environment has applied",
    help: "The environment ran the revision as it was at the base; editing it changes nothing there and breaks its checksum, so later runs refuse. Restore the file as it was at the base and put the change in a new revision (`athanor revision -m ...`).",
  },
  "edited-revision": {
    title: "Edited revision",
    help: "A revision that exists at the base changed. If any environment has applied it, the edit will not run there and its checksum will no longer match: put the change in a new revision instead. Pass --env to check the environments.",
  },
  "removed-revision": {
    title: "Removed revision",
    help: "A revision that exists at the base is gone. Environments that applied it will report it as unknown; restore the file unless no environment ever ran it.",
  },
  "sql-syntax": {
    title: "SQL that does not parse",
    help: "PostgreSQL's own parser rejects the statement: the revision would fail. Fix the SQL at the line shown.",
  },
  "broken-revision": {
    title: "Revision that cannot be read",
    help: "The revision's sections or module could not be loaded, so it would fail to run. Fix the file as the message says.",
  },
  "not-linted": {
    title: "Revision the linter does not read",
    help: "A TypeScript revision runs code, which the linter cannot check. Review its statements by hand (the SQL shown is what it sends offline).",
  },
  "environment-unreadable": {
    title: "Environment whose state could not be read",
    help: "The review could not read the environment's version table, so it cannot say what would run there. Check the environment's configuration and reachability with `athanor --env NAME check`.",
  },
  "promotion-gate": {
    title: "Promotion gate would refuse",
    help: "The environment is promoted from another one (`promoteFrom`) that has not applied these revisions yet: apply them there first.",
  },
} as const;

/** A review rule's id. */
export type ReviewRuleId = keyof typeof REVIEW_RULES;

/** One finding: a linter finding or one of the review's own. */
export interface ReviewFinding {
  /** The linter's rule id (e.g. `drop-column`) or a review rule id (e.g. `multiple-heads`). */
  readonly rule: string;
  readonly source: "lint" | "review";
  readonly severity: ReviewSeverity;
  /** What is wrong, in one or two sentences. */
  readonly message: string;
  /** How to fix it (the linter's safe pattern). */
  readonly help: string;
  readonly revision: string | null;
  /** The file, relative to the repository's top level (`/`-separated), or null. */
  readonly file: string | null;
  /** 1-based line in `file`, or null. */
  readonly line: number | null;
  /** The statement, on one line, cut to about 80 characters (linter findings). */
  readonly statement: string | null;
  /** The environment the finding is about, or null. */
  readonly environment: string | null;
}

/** A revision the branch adds or edits. */
export interface ReviewRevision {
  readonly id: string;
  readonly status: "added" | "edited";
  readonly message: string;
  /** Relative to the repository's top level. */
  readonly file: string;
  readonly format: "sql" | "ts";
  readonly transactional: boolean;
  readonly parents: readonly string[];
  readonly isHead: boolean;
  readonly checksum: string;
  /** For an edited revision: its checksum and file at the base; null for an added one. */
  readonly baseChecksum: string | null;
  readonly baseFile: string | null;
  /** What its upgrade runs: the SQL section, or the statements a TypeScript revision sends (recorded offline); null when unknown. */
  readonly sql: string | null;
  /** Why `sql` is null, or null. */
  readonly sqlNote: string | null;
  /** False for a TypeScript revision (its code is not linted) or SQL that does not parse. */
  readonly linted: boolean;
}

/** What the review says about one environment (`--env`). */
export interface ReviewEnvironment {
  readonly name: string;
  /** Redacted: no password. */
  readonly url: string;
  /** True when its version table was read (a database without one has applied nothing). */
  readonly reachable: boolean;
  /** Why its state could not be read or planned, or null. */
  readonly error: string | null;
  /** Its applied heads. */
  readonly current: readonly string[];
  /** The target planned: `head`, or `heads` when the graph has several (`upgrade head` would refuse). */
  readonly target: "head" | "heads";
  /** What `upgrade <target>` would run there, in order. */
  readonly upgrade: readonly { readonly revision: string; readonly message: string; readonly file: string }[];
  /** True when `upgrade` is not empty. */
  readonly behind: boolean;
  /** The promotion gate (`promoteFrom`), or null when the environment has none. */
  readonly promotion: {
    readonly source: string;
    readonly allowed: boolean;
    readonly blocked: readonly string[];
    /** Of `blocked`, those the source only stamped. */
    readonly stamped: readonly string[];
    /** Of `blocked`, those the source ran from another version of the file. */
    readonly changed: readonly string[];
    readonly sourceError: string | null;
  } | null;
  /** Revisions the branch edits that this environment has applied. */
  readonly editedApplied: readonly string[];
  /** The offline SQL script of that upgrade (as `upgrade --sql` writes it), or null. */
  readonly sql: string | null;
}

/** The whole report: `athanor review --format json` prints it. */
export interface ReviewReport {
  /** The version of this document's shape. */
  readonly version: 1;
  readonly base: ReviewBase;
  /** The migrations directory, relative to the repository's top level (`.` at the top). */
  readonly migrationsDir: string;
  readonly summary: {
    readonly added: number;
    readonly edited: number;
    readonly removed: number;
    readonly renamed: number;
    readonly heads: number;
    readonly environmentsBehind: readonly string[];
    readonly findings: { readonly error: number; readonly warning: number; readonly info: number };
    readonly failOn: ReviewSeverity;
    /** True when the review fails (exit 5): a finding at or above `failOn`. */
    readonly failed: boolean;
    /** Why it fails: each rule with findings at or above `failOn` (`drop-column`, or `drop-column ×2`). */
    readonly reasons: readonly string[];
  };
  readonly graph: {
    /** The branch's heads (empty when the graph is broken). */
    readonly heads: readonly string[];
    /** The base's heads, or null when the base's graph could not be built. */
    readonly baseHeads: readonly string[] | null;
    /** Heads that were not heads at the base. */
    readonly newHeads: readonly string[];
    /** True with several heads: a merge revision is needed. */
    readonly mergeNeeded: boolean;
    /** Why the branch's graph could not be built, or null. */
    readonly error: { readonly code: string; readonly message: string } | null;
    /** The changed revisions with their parents and the heads, as a Mermaid flowchart; null when the graph is broken. */
    readonly mermaid: string | null;
  };
  /** Added and edited revisions, parents first. */
  readonly revisions: readonly ReviewRevision[];
  readonly removed: readonly { readonly id: string; readonly message: string; readonly file: string }[];
  readonly renamed: readonly { readonly id: string; readonly from: string; readonly to: string }[];
  readonly environments: readonly ReviewEnvironment[];
  /** Every finding: the graph's, removed revisions, then by revision (the linter's errors first, then by line), then the environments'. */
  readonly findings: readonly ReviewFinding[];
  /** Things the reader should know that are not findings (base files that could not be read). */
  readonly notes: readonly string[];
}

/** The linter's result for one revision, or the error that stopped it (`sql-syntax`: the SQL does not parse; `broken-revision`: the file's sections do not load). */
export type RevisionLintResult =
  | { readonly findings: readonly LintFinding[]; readonly notLinted: string | null }
  | { readonly error: { readonly rule: "sql-syntax" | "broken-revision"; readonly message: string; readonly line: number | null } };

/** A revision to report, with what was read about it. */
export interface ReviewedRevisionInput {
  readonly file: RevisionFile;
  readonly base: BaseRevision | null;
  readonly sql: string | null;
  readonly sqlNote: string | null;
  readonly lint: RevisionLintResult;
}

/** One environment, as read. */
export interface EnvironmentInput {
  readonly name: string;
  readonly url: string;
  /** The version rows, or why they could not be read. */
  readonly state: { readonly applied: AppliedState } | { readonly error: string };
  /** The upgrade plan, or why it could not be made (null without a graph). */
  readonly plan: { readonly plan: Plan; readonly target: "head" | "heads" } | { readonly error: string } | null;
  readonly promotion: PromotionEvaluation | null;
  readonly sql: string | null;
}

/** Everything {@link buildReviewReport} needs. */
export interface ReviewInput {
  readonly base: ReviewBase;
  /** The migrations directory relative to the repository's top level, ending in `/` (empty at the top). */
  readonly prefix: string;
  readonly comparison: RevisionSetComparison<BaseRevision, RevisionFile>;
  /** The branch's graph, or null when it is broken (then `graphError` says why). */
  readonly graph: RevisionGraph | null;
  readonly graphError: { readonly code: string; readonly message: string; readonly file: string | null } | null;
  readonly baseHeads: readonly string[] | null;
  /** The added and edited revisions, in the order to report them. */
  readonly revisions: readonly ReviewedRevisionInput[];
  readonly environments: readonly EnvironmentInput[];
  readonly failOn: ReviewSeverity;
  readonly notes: readonly string[];
}

/**
 * What `upgrade head` would run on a database that has applied `applied`; `heads` when
 * the graph has several heads (`head` would refuse). Pure.
 */
export function planReviewUpgrade(graph: RevisionGraph, applied: ReadonlySet<string>): { plan: Plan; target: "head" | "heads" } {
  const target = graph.heads().length > 1 ? "heads" : "head";
  return { plan: planUpgrade(graph, applied, target), target };
}

function lintFinding(finding: LintFinding, file: string): ReviewFinding {
  return {
    rule: finding.rule,
    source: "lint",
    severity: finding.severity === "danger" ? "error" : "warning",
    message: finding.message,
    help: finding.safe,
    revision: finding.revision,
    file,
    line: finding.line,
    statement: finding.statement,
    environment: null,
  };
}

function reviewFinding(rule: ReviewRuleId, severity: ReviewSeverity, message: string, where: { revision?: string | null; file?: string | null; line?: number | null; environment?: string | null } = {}): ReviewFinding {
  return {
    rule,
    source: "review",
    severity,
    message,
    help: REVIEW_RULES[rule].help,
    revision: where.revision ?? null,
    file: where.file ?? null,
    line: where.line ?? null,
    statement: null,
    environment: where.environment ?? null,
  };
}

/** The title of a rule, linter or review. */
export function ruleTitle(rule: string): string {
  if (isRuleId(rule)) return RULES[rule].title;
  return rule in REVIEW_RULES ? REVIEW_RULES[rule as ReviewRuleId].title : rule;
}

function revisionFindings(input: ReviewedRevisionInput, path: string): ReviewFinding[] {
  const { file, lint } = input;
  if ("error" in lint) return [reviewFinding(lint.error.rule, "error", lint.error.message, { revision: file.id, file: path, line: lint.error.line })];
  const findings = lint.findings.map((finding) => lintFinding(finding, path));
  // Reviews lint the upgrade section, which every revision has: notLinted is a TypeScript revision or code the linter cannot see into.
  if (lint.notLinted !== null) findings.push(reviewFinding("not-linted", "info", `${file.relativePath} is not linted: ${lint.notLinted}`, { revision: file.id, file: path, line: 1 }));
  return findings;
}

function environmentOf(input: EnvironmentInput, graph: RevisionGraph | null, edited: ReadonlySet<string>, repoPath: (name: string) => string): ReviewEnvironment {
  const applied = "applied" in input.state ? input.state.applied : null;
  const planned = input.plan !== null && "plan" in input.plan ? input.plan : null;
  const planError = input.plan !== null && "error" in input.plan ? input.plan.error : graph === null ? "the branch's revision graph is broken, so nothing was planned" : null;
  const error = "error" in input.state ? input.state.error : planError;
  const upgrade = (planned?.plan.steps ?? []).map((step) => ({ revision: step.revision.id, message: step.revision.message, file: repoPath(step.revision.relativePath) }));
  const current = applied === null ? [] : graph === null ? [...applied.ids].sort() : currentHeads(graph, applied.ids);
  const promotion = input.promotion === null || input.promotion.source === null
    ? null
    : {
        source: input.promotion.source,
        allowed: input.promotion.allowed,
        blocked: input.promotion.blocked.map((r) => r.revision),
        stamped: input.promotion.stamped.map((r) => r.revision),
        changed: input.promotion.changed.map((r) => r.revision),
        sourceError: input.promotion.sourceError,
      };
  return {
    name: input.name,
    url: input.url,
    reachable: applied !== null,
    error,
    current,
    target: planned?.target ?? "head",
    upgrade,
    behind: upgrade.length > 0,
    promotion,
    editedApplied: applied === null ? [] : [...edited].filter((id) => applied.ids.has(id)),
    sql: input.sql,
  };
}

/**
 * Builds the report. Pure.
 * @example
 * const report = buildReviewReport({ base, prefix: "migrations/", comparison, graph, graphError: null, baseHeads, revisions, environments: [], failOn: "error", notes: [] });
 * report.summary.failed // true when exit 5
 */
export function buildReviewReport(input: ReviewInput): ReviewReport {
  const repoPath = (name: string): string => `${input.prefix}${name}`;
  const { graph, comparison } = input;
  const heads = graph?.heads() ?? [];
  const baseHeads = input.baseHeads === null ? null : [...input.baseHeads];
  const newHeads = heads.filter((id) => (baseHeads === null ? comparison.added.some((r) => r.id === id) : !baseHeads.includes(id)));
  const edited = new Set(comparison.edited.map((pair) => pair.head.id));
  const findings: ReviewFinding[] = [];

  if (input.graphError !== null) {
    findings.push(reviewFinding("broken-graph", "error", input.graphError.message, { file: input.graphError.file === null ? null : repoPath(input.graphError.file), line: input.graphError.file === null ? null : 1 }));
  }
  if (graph !== null && heads.length > 1) {
    // Annotate the newest head: most often the one this branch added.
    const shown = (newHeads.at(-1) ?? heads.at(-1)) as string;
    findings.push(
      reviewFinding("multiple-heads", "error", `the revision graph has ${heads.length} heads: ${listIds(heads)}${newHeads.length > 0 ? ` (new in this branch: ${listIds(newHeads)})` : ""}`, {
        revision: shown,
        file: repoPath(graph.get(shown).relativePath),
        line: 1,
      }),
    );
  }
  for (const removed of comparison.removed) {
    findings.push(reviewFinding("removed-revision", "warning", `revision ${removed.id} (${removed.relativePath}${removed.message ? `, ${removed.message}` : ""}) is at the base and not in this branch`, { revision: removed.id }));
  }

  const environments = input.environments.map((env) => environmentOf(env, graph, edited, repoPath));
  for (const input_ of input.revisions) {
    const path = repoPath(input_.file.relativePath);
    if (input_.base !== null) {
      const appliedIn = environments.filter((env) => env.editedApplied.includes(input_.file.id));
      if (appliedIn.length === 0) {
        findings.push(reviewFinding("edited-revision", "warning", `revision ${input_.file.id} was edited since the base (checksum ${input_.base.checksum.slice(0, 12)} → ${input_.file.checksum.slice(0, 12)})${environments.length === 0 ? "; pass --env to check whether an environment has applied it" : `; none of ${environments.map((env) => env.name).join(", ")} has applied it`}`, { revision: input_.file.id, file: path, line: 1 }));
      }
      for (const env of appliedIn) {
        findings.push(reviewFinding("edited-applied-revision", "error", `revision ${input_.file.id} was edited since the base, and environment "${env.name}" has applied it (checksum ${input_.base.checksum.slice(0, 12)} → ${input_.file.checksum.slice(0, 12)})`, { revision: input_.file.id, file: path, line: 1, environment: env.name }));
      }
    }
    findings.push(...revisionFindings(input_, path));
  }
  for (const env of environments) {
    // A broken graph is already an error of its own; an environment read without a plan is not unreadable.
    if (env.error !== null && (!env.reachable || graph !== null)) findings.push(reviewFinding("environment-unreadable", "error", `environment "${env.name}" (${env.url}): ${env.error}`, { environment: env.name }));
    if (env.promotion !== null && !env.promotion.allowed) {
      const why = env.promotion.sourceError ?? `"${env.promotion.source}" ${promotionRefusal(env.promotion, listIds)}`;
      findings.push(reviewFinding("promotion-gate", "info", `environment "${env.name}" is promoted from "${env.promotion.source}": its gate would refuse the upgrade now (${why})`, { environment: env.name }));
    }
  }

  const count = (severity: ReviewSeverity): number => findings.filter((f) => f.severity === severity).length;
  const failing = findings.filter((f) => isAtLeast(f.severity, input.failOn));
  const byRule = new Map<string, number>();
  for (const f of failing) byRule.set(f.rule, (byRule.get(f.rule) ?? 0) + 1);
  const reasons = [...byRule].map(([rule, n]) => (n === 1 ? rule : `${rule} ×${n}`));

  const revisions: ReviewRevision[] = input.revisions.map(({ file, base, sql, sqlNote, lint }) => ({
    id: file.id,
    status: base === null ? "added" : "edited",
    message: file.message,
    file: repoPath(file.relativePath),
    format: file.format,
    transactional: file.transactional,
    parents: file.parents,
    isHead: heads.includes(file.id),
    checksum: file.checksum,
    baseChecksum: base?.checksum ?? null,
    baseFile: base === null ? null : repoPath(base.relativePath),
    sql,
    sqlNote,
    linted: !("error" in lint) && lint.notLinted === null,
  }));

  return {
    version: 1,
    base: input.base,
    migrationsDir: input.prefix === "" ? "." : input.prefix.replace(/\/$/, ""),
    summary: {
      added: comparison.added.length,
      edited: comparison.edited.length,
      removed: comparison.removed.length,
      renamed: comparison.renamed.length,
      heads: heads.length,
      environmentsBehind: environments.filter((env) => env.behind).map((env) => env.name),
      findings: { error: count("error"), warning: count("warning"), info: count("info") },
      failOn: input.failOn,
      failed: failing.length > 0,
      reasons,
    },
    graph: {
      heads,
      baseHeads,
      newHeads,
      mergeNeeded: heads.length > 1,
      error: input.graphError === null ? null : { code: input.graphError.code, message: input.graphError.message },
      mermaid: graph === null ? null : renderReviewMermaid(graph, new Set(input.revisions.map((r) => r.file.id))),
    },
    revisions,
    removed: comparison.removed.map((r) => ({ id: r.id, message: r.message, file: repoPath(r.relativePath) })),
    renamed: comparison.renamed.map((pair) => ({ id: pair.head.id, from: repoPath(pair.base.relativePath), to: repoPath(pair.head.relativePath) })),
    environments,
    findings,
    notes: input.notes,
  };
}
