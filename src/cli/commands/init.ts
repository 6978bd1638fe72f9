import { resolve } from "node:path";
import type { CommandModule } from "../main.js";
import { initProject } from "../../commands/init.js";

export const registerInit: CommandModule = (program, action) => {
  program
    .command("init")
    .description("scaffold athanor.config.ts, migrations/ and .env examples (development on PGlite)")
    .option("--dir <dir>", "directory to set up", ".")
    .action(
      action(async (ctx, options) => {
        const result = await initProject(resolve(ctx.io.cwd, String(options["dir"] ?? ".")));
        if (ctx.globals.json) {
          ctx.json(result);
          return;
        }
        for (const name of result.created) ctx.out(`created ${name}`);
        for (const name of result.skipped) ctx.out(name === ".gitignore" && result.gitignoreAdded.length > 0 ? `added   ${result.gitignoreAdded.join(" ")} to .gitignore (exists)` : `kept    ${name} (exists)`);
        ctx.out("");
        // `npx athanor`: in a user's project the binary is in node_modules/.bin, not on PATH.
        ctx.out("next: npx athanor revision -m \"create users\"   then   npx athanor upgrade head");
      }),
    );
};
