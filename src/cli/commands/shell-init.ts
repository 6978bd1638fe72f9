import { fileURLToPath } from "node:url";
import type { CommandModule } from "../main.js";
import { renderShellInit } from "../../commands/shell-init.js";

/** The CLI script of this copy of athanor, so the functions run the same version. */
function cliScript(): string {
  return fileURLToPath(new URL("../../../bin/athanor.js", import.meta.url));
}

export const registerShellInit: CommandModule = (program, action) => {
  program
    .command("shell-init")
    .description("print shell functions athanor-<env>, athanor-check, athanor-status, athanor-help (eval \"$(npx athanor shell-init bash)\")")
    .argument("[shell]", "bash, zsh or fish", "bash")
    .action(
      action(async (ctx, _options, args) => {
        const project = await ctx.project();
        ctx.out(renderShellInit(args[0] ?? "bash", Object.keys(project.config.environments), [process.execPath, cliScript()], project.file).trimEnd());
      }),
    );
};
