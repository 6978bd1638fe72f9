/**
 * `athanor review [--base REF] [--env NAME ...] [--format text|markdown|json|sarif]
 * [--fail-on info|warning|error]`: what a branch's revisions will do, for a pull request.
 * Exit 0 when clean, 5 when a finding is at or above `--fail-on` (several heads and an
 * edited applied revision are errors), 2 for a bad ref, an unknown format or environment.
 */
import { resolve } from "node:path";
import { Option } from "commander";
import { review } from "../../commands/review.js";
import { renderReviewMarkdown } from "../../commands/review-markdown.js";
import { REVIEW_SEVERITIES, type ReviewSeverity } from "../../commands/review-model.js";
import { renderReviewSarif } from "../../commands/review-sarif.js";
import { renderReviewText } from "../../commands/review-text.js";
import type { ResolvedEnvironment } from "../../config/types.js";
import { ExitStatus } from "../../errors.js";
import type { CommandModule } from "../main.js";

const FORMATS = ["text", "markdown", "json", "sarif"] as const;

/** `athanor review`. */
export const registerReview: CommandModule = (program, action) => {
  // `--env` is the global option (commander keeps only its last value): every occurrence names an environment to review.
  const named: string[] = [];
  program.on("option:env", (value: unknown) => {
    if (typeof value === "string") named.push(value);
  });
  program
    .command("review")
    .description("what this branch's revisions will do, for a pull request: added, removed and edited revisions against a git base, heads, linter findings, SQL, and with --env what each environment would run (read only); exits 5 on findings at or above --fail-on")
    .option("--base <ref>", "the git ref to compare with (default: the merge base of HEAD and origin/HEAD, else main or master)")
    .addOption(new Option("--format <format>", "output format (markdown for $GITHUB_STEP_SUMMARY, sarif for code scanning)").choices([...FORMATS]).default("text"))
    .addOption(new Option("--fail-on <severity>", "exit 5 when a finding is at least this serious").choices([...REVIEW_SEVERITIES]).default("error"))
    .addHelpText("after", "\nWith the global --env NAME, repeatable (--env testing --env production), it also reads each environment's version table\n(read only: no migration lock, nothing created; a PGlite database another process has open is waited for up to --lock-wait) and shows what `upgrade head` would run there and whether its promotion gate would pass.")
    .action(
      action(async (ctx, options) => {
        const project = await ctx.project();
        const environments: ResolvedEnvironment[] = [];
        // Resolved before any work: an unknown environment is a usage error (exit 2).
        for (const name of new Set(named)) environments.push(await ctx.environment(name));
        const report = await review({
          migrationsDir: resolve(project.rootDir, project.config.migrations ?? "./migrations"),
          base: typeof options["base"] === "string" ? options["base"] : undefined,
          environments,
          resolveEnvironment: (name) => ctx.environment(name),
          directoryWait: ctx.directoryWait(),
          failOn: options["failOn"] as ReviewSeverity,
          gitEnv: ctx.io.env,
        });
        const format = ctx.globals.json && options["format"] === "text" ? "json" : String(options["format"]);
        if (format === "json") ctx.json(report);
        else if (format === "sarif") ctx.json(renderReviewSarif(report));
        else if (format === "markdown") ctx.out(renderReviewMarkdown(report));
        else for (const line of renderReviewText(report, ctx.colors)) ctx.out(line);
        if (!report.summary.failed) return ExitStatus.ok;
        if (format !== "text") ctx.err(`review fails (--fail-on ${report.summary.failOn}): ${report.summary.reasons.join(", ")}`);
        return ExitStatus.problem;
      }),
    );
};
