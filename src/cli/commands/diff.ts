/**
 * `athanor diff --from A --to B [--sql]`: the schema changes that turn A into B; each side is
 * an environment's name, `schema` (the declared schema) or `migrations` (the revisions
 * replayed). Exit 0 when they match, 5 when they differ. Read only (src/commands/diff.ts).
 */
import { diff, parseDiffSide, type DiffSide } from "../../commands/diff.js";
import { ExitStatus } from "../../errors.js";
import type { CommandModule } from "../main.js";
import type { CommandContext } from "../runtime.js";
import { changeLine } from "./revisions.js";

async function side(ctx: CommandContext, value: string): Promise<DiffSide> {
  const keyword = parseDiffSide(value);
  return keyword === null ? { kind: "environment", environment: await ctx.environment(value) } : { kind: keyword };
}

/** `athanor diff --from A --to B [--sql]`. */
export const registerDiff: CommandModule = (program, action) => {
  program
    .command("diff")
    .description("compare two schemas (an environment's database, `schema` = the declared schema, `migrations` = the revisions replayed); exit 5 when they differ")
    .requiredOption("--from <side>", "an environment name, `schema` or `migrations`")
    .requiredOption("--to <side>", "an environment name, `schema` or `migrations`")
    .option("--sql", "print the SQL that turns --from into --to instead of the list of changes")
    .action(
      action(async (ctx, options) => {
        const from = await side(ctx, String(options["from"]));
        const to = await side(ctx, String(options["to"]));
        const named = from.kind === "environment" ? from.environment : to.kind === "environment" ? to.environment : await ctx.environment();
        const result = await diff({ from, to, project: named });
        const status = result.changes.length === 0 ? ExitStatus.ok : ExitStatus.problem;
        if (ctx.globals.json) {
          ctx.json({ from: result.from, to: result.to, changes: result.changes, notCompared: result.notCompared, ...(options["sql"] === true ? { sql: result.upgradeSql } : {}) });
          return status;
        }
        if (options["sql"] === true) {
          if (result.upgradeSql !== "") ctx.io.stdout.write(result.upgradeSql.endsWith("\n") ? result.upgradeSql : `${result.upgradeSql}\n`);
          return status;
        }
        const n = result.changes.length;
        ctx.out(`${result.from} → ${result.to}: ${n === 0 ? "no differences" : `${n} difference${n === 1 ? "" : "s"}`}`);
        for (const change of result.schemaChanges) ctx.out(`  ${changeLine(ctx, change)}`);
        if (result.notCompared.length > 0) {
          ctx.err(ctx.colors.dim(`not compared (athanor's schema model does not describe them): ${result.notCompared.map((o) => `${o.kind} ${o.schema}.${o.name} (${o.side})`).join(", ")}`));
        }
        return status;
      }),
    );
};
