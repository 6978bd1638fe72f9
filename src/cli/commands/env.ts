import type { CommandModule } from "../main.js";
import { describeEnvironment } from "../../commands/env.js";

export const registerEnv: CommandModule = (program, action) => {
  program
    .command("env")
    .description("show the resolved configuration of an environment, redacted, with each value's source")
    .action(
      action(async (ctx) => {
        const description = describeEnvironment(await ctx.environment());
        if (ctx.globals.json) {
          ctx.json(description);
          return;
        }
        const c = ctx.colors;
        ctx.out(`${c.bold("environment")} ${description.environment}${description.requested !== description.environment ? ` (asked as "${description.requested}")` : ""}  ${c.dim(`chosen by ${description.selectedBy}`)}`);
        ctx.out(`${c.bold("config")}      ${description.configFile}`);
        ctx.out(`${c.bold("driver")}      ${description.driver}`);
        const width = Math.max(...description.values.map((v) => v.key.length));
        for (const value of description.values) {
          const shown = value.value === null ? c.dim("(not set)") : String(value.value);
          ctx.out(`  ${value.key.padEnd(width)}  ${shown}`);
          if (value.key === "url" || value.key.startsWith("targets")) for (const source of value.sources) ctx.out(`  ${"".padEnd(width)}    ${c.dim(`from ${source}`)}`);
        }
        ctx.out(`${c.bold("env files")}   ${description.envFiles.map((f) => `${f.file}${f.exists ? "" : c.dim(" (absent)")}`).join(", ")}`);
      }),
    );
};
