import type { CommandModule } from "../main.js";
import { listProjectBackups } from "../../commands/backups.js";
import { ALIASES } from "../../config/resolve.js";

/** 1536 → "1.5 KiB". */
function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function formatDate(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** `athanor backups list [--json]`: the backups of every environment (or `--env NAME`), newest first. */
export const registerBackups: CommandModule = (program, action) => {
  const backups = program.command("backups").description("the backups taken before protected runs");
  backups
    .command("list")
    .description("list backups (file, size, date, environment), newest first; --env limits to one environment")
    .action(
      action(async (ctx) => {
        const project = await ctx.project();
        const requested = ctx.globals.env;
        const names = Object.keys(project.config.environments);
        const environment = requested === undefined ? undefined : names.includes(requested) ? requested : (ALIASES[requested] ?? requested);
        const { directories, backups: list } = await listProjectBackups(project, environment);
        if (ctx.globals.json) {
          ctx.json({
            directories,
            backups: list.map((b) => ({
              file: b.file,
              path: b.path,
              environment: b.environment,
              kind: b.kind,
              size: b.sizeBytes,
              createdAt: b.createdAt.toISOString(),
              revision: b.revision,
              complete: b.complete,
            })),
          });
          return;
        }
        if (directories.length === 0) {
          ctx.out(environment === undefined ? "no environment has a backup directory (set backup: { dir } on a protected environment)" : `environment "${environment}" has no backup directory`);
          return;
        }
        if (list.length === 0) {
          ctx.out(`no backups in ${directories.join(", ")}`);
          return;
        }
        const c = ctx.colors;
        const rows = list.map((b) => [b.file + (b.complete ? "" : " (incomplete)"), formatSize(b.sizeBytes), formatDate(b.createdAt), b.environment]);
        const header = ["FILE", "SIZE", "DATE", "ENVIRONMENT"];
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
        const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ");
        ctx.out(c.bold(line(header)));
        for (const row of rows) ctx.out(line(row));
        ctx.out(c.dim(`in ${directories.join(", ")}`));
      }),
    );
};
