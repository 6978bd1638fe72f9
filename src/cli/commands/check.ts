import type { CommandModule } from "../main.js";
import { checkEnvironment, type EnvironmentCheckReport } from "../../commands/check.js";
import { selectEnvironment } from "../../config/resolve.js";
import { ExitStatus } from "../../errors.js";
import type { CommandContext } from "../runtime.js";
import type { EnvironmentConfig } from "../../config/types.js";
import type { LoadedConfig } from "../../config/load.js";

/** True when an environment declares a fleet (targets, targetsQuery or tenantSchemas). */
function isFleet(config: EnvironmentConfig | undefined): boolean {
  return config !== undefined && (config.targets !== undefined || config.targetsQuery !== undefined || config.tenantSchemas !== undefined);
}

/** One environment's report; a fleet's with one report per chosen target. */
type CheckReport = EnvironmentCheckReport & { targets?: (EnvironmentCheckReport & { target: string })[] };

/** A fleet's report: its own findings about the config, then each chosen target checked (reachable, revisions), as its own report. */
async function withTargets(ctx: CommandContext, project: LoadedConfig, report: EnvironmentCheckReport): Promise<CheckReport> {
  // The stand-in database's own findings (reachable, revisions) say nothing about the targets.
  const findings = report.findings.filter((finding) => ["config", "section", "variables"].includes(finding.check) || finding.check.startsWith("env-file"));
  const own = { ...report, findings, pending: [], ok: findings.every((finding) => finding.status !== "error") };
  if (!own.ok) return own;
  const { checkFleet } = await import("../../commands/fleet.js");
  const targets = await checkFleet(project, report.environment, { processEnv: ctx.io.env, targets: ctx.globals.targets, signal: ctx.signal, directoryWait: ctx.directoryWait() });
  return { ...own, targets, ok: targets.every((target) => target.ok) };
}

function render(ctx: CommandContext, report: EnvironmentCheckReport): void {
  const c = ctx.colors;
  ctx.out(`${c.bold(report.environment)}${report.url ? `  ${report.url}` : ""}`);
  for (const finding of report.findings) {
    const mark = finding.status === "ok" ? c.green("ok  ") : finding.status === "warning" ? c.yellow("warn") : c.red("FAIL");
    ctx.out(`  ${mark} ${finding.check}: ${finding.message}`);
    if (finding.fix && finding.status !== "ok") ctx.out(`       fix: ${finding.fix}`);
  }
  if (report.pending.length > 0) ctx.out(`  ${c.yellow("pending")} ${report.pending.length} revision(s): ${report.pending.join(", ")}`);
}

export const registerCheck: CommandModule = (program, action) => {
  program
    .command("check")
    .description("diagnose the configuration: environment, variables, database connection, revisions; each finding with its fix")
    .option("--all", "check every environment")
    .option("--exit-code", "exit 5 when revisions are pending (a deploy gate)")
    .action(
      action(async (ctx, options) => {
        const project = await ctx.project();
        const names = options["all"]
          ? Object.keys(project.config.environments)
          : [selectEnvironment(project.config, ctx.globals.env, (name) => {
              const value = ctx.io.env[name];
              return value === undefined ? undefined : { value, source: { kind: "process-env", variable: name }, expand: false };
            }).name];
        // Environments are independent: check them in parallel (a fleet's targets too) so one slow
        // host, or one PGlite database another process holds, does not hold up the rest: the run
        // waits one --lock-wait, not one per environment.
        // With --all, an environment not configured yet on this machine (a fresh project's testing
        // and production) is a warning with the variables to set; asked for by name, it fails.
        const notConfigured = options["all"] ? "warning" : "error";
        const reports = await Promise.all(
          names.map(async (name): Promise<CheckReport> => {
            const fleet = isFleet(project.config.environments[name]);
            const report = await checkEnvironment(project, name, { processEnv: ctx.io.env, notConfigured, heldDatabase: options["all"] ? "finding" : "stop", signal: ctx.signal, directoryWait: ctx.directoryWait(), readDatabase: !fleet });
            return fleet ? withTargets(ctx, project, report) : report;
          }),
        );
        const ok = reports.every((report) => report.ok);
        const pending = reports.some((report) => report.pending.length > 0 || (report.targets ?? []).some((target) => target.pending.length > 0));
        if (ctx.globals.json) ctx.json({ ok, environments: reports });
        else {
          reports.forEach((report, index) => {
            if (index > 0) ctx.out("");
            render(ctx, report);
            for (const target of report.targets ?? []) render(ctx, { ...target, environment: `${report.environment} / ${target.target}` });
          });
        }
        if (!ok) return ExitStatus.problem;
        if (options["exitCode"] && pending) return ExitStatus.problem;
        return ExitStatus.ok;
      }),
    );
};
