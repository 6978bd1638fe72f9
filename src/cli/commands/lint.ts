import type { CommandModule } from "../main.js";
import { escapeControlCharacters as inert } from "../../control-characters.js";
import { lintRevisions, type LintReport } from "../../commands/lint.js";
import { ExitStatus, isAthanorError } from "../../errors.js";
import type { CommandContext } from "../runtime.js";

function render(ctx: CommandContext, report: LintReport): void {
  const c = ctx.colors;
  const what = report.scope === "given" ? `${report.revisions.length} revision(s)` : report.scope === "pending" ? `${report.revisions.length} revision(s) pending in ${report.environment}` : `all ${report.revisions.length} revision(s)`;
  ctx.out(c.bold(`linting ${what}`));
  for (const revision of report.revisions) {
    const findings = report.findings.filter((f) => f.revision === revision.revision);
    // An SQL revision with a DO block is linted but for that block: its findings come first.
    const mark = findings.some((f) => f.severity === "danger") ? c.red("DANGER") : findings.length > 0 ? c.yellow("warn ") : !revision.linted ? c.dim("skip ") : c.green("ok   ");
    // Excerpts quote a PR's SQL, raw escape sequences included: shown as escapes, never acted on.
    ctx.out(`${mark} ${revision.revision}  ${inert(revision.file)}${revision.message ? `  ${c.dim(inert(revision.message))}` : ""}${revision.reason ? c.dim(` (not linted: ${inert(revision.reason)})`) : ""}`);
    for (const f of findings) {
      const level = f.severity === "danger" ? c.red("danger ") : c.yellow("warning");
      ctx.out(`  ${level} ${c.bold(f.rule)}  ${inert(f.file)}:${f.line}  ${inert(f.statement)}`);
      ctx.out(`          why:  ${inert(f.why)}`);
      ctx.out(`          safe: ${inert(f.safe)}`);
    }
  }
  ctx.out(`${report.danger} danger, ${report.warning} warning finding(s)${report.danger > 0 ? ` ${c.dim("(exit 3; allow a reviewed one with `-- athanor:allow RULE` in its revision)")}` : ""}`);
}

/** `athanor lint [REV...] [--json]`: exit 0 without danger findings, 3 with (a CI gate). */
export const registerLint: CommandModule = (program, action) => {
  program
    .command("lint")
    .description("dangerous operations in revisions (default: those pending in the environment); exits 3 on a danger finding")
    .argument("[revisions...]", "revision ids or unique prefixes (default: the environment's pending revisions)")
    .action(
      action(async (ctx, _options, args) => {
        const project = await ctx.project();
        let environment: Parameters<typeof lintRevisions>[0]["environment"];
        try {
          environment = await ctx.environment();
        } catch (error) {
          if (!isAthanorError(error)) throw error;
          environment = { error: error.message, name: ctx.globals.env ?? null };
        }
        const { resolve, isAbsolute } = await import("node:path");
        const migrationsDir = "error" in environment ? resolve(project.rootDir, project.config.migrations ?? "./migrations") : environment.migrationsDir;
        const report = await lintRevisions({ migrationsDir: isAbsolute(migrationsDir) ? migrationsDir : resolve(project.rootDir, migrationsDir), revisions: args, environment, directoryWait: ctx.directoryWait() });
        if (report.note) ctx.err(`note: ${report.note}`);
        if (ctx.globals.json) ctx.json(report);
        else render(ctx, report);
        return report.danger > 0 ? ExitStatus.refused : ExitStatus.ok;
      }),
    );
};
