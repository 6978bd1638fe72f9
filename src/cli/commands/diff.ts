/**
 * `athanor diff --from A --to B [--sql]`: the schema changes that turn A into B; each side is
 * an environment's name, `schema` (the declared schema) or `migrations` (the revisions
 * replayed). Exit 0 when they match, 5 when they differ, and with `--strict` 5 as well when
 * either side holds objects athanor does not compare. Read only (src/commands/diff.ts).
 */
import { notComparedSentence } from "../../commands/autogenerate.js";
import { diff, parseDiffSide, type DiffSide } from "../../commands/diff.js";
import { ExitStatus } from "../../errors.js";
import type { CommandModule } from "../main.js";
import type { CommandContext } from "../runtime.js";
import { changeLine } from "./revisions.js";

async function side(ctx: CommandContext, value: string, flag: "--from" | "--to"): Promise<DiffSide> {
  const keyword = parseDiffSide(value);
  return keyword === null ? { kind: "environment", environment: await ctx.environment(value, flag) } : { kind: keyword };
}

/** `athanor diff --from A --to B [--sql] [--strict]`. */
export const registerDiff: CommandModule = (program, action) => {
  program
    .command("diff")
    .description("compare two schemas (an environment's database, `schema` = the declared schema, `migrations` = the revisions replayed); exit 5 when they differ")
    .requiredOption("--from <side>", "an environment name, `schema` or `migrations`")
    .requiredOption("--to <side>", "an environment name, `schema` or `migrations`")
    .option("--sql", "print the SQL that turns --from into --to instead of the list of changes")
    .option("--strict", "exit 5 also when either side holds objects athanor does not compare (listed under `not compared`)")
    .action(
      action(async (ctx, options) => {
        const from = await side(ctx, String(options["from"]), "--from");
        const to = await side(ctx, String(options["to"]), "--to");
        const named = from.kind === "environment" ? from.environment : to.kind === "environment" ? to.environment : await ctx.environment();
        const result = await diff({ from, to, project: named, directoryWait: ctx.directoryWait(), signal: ctx.signal });
        const strict = options["strict"] === true;
        const differs = result.changes.length > 0 || (strict && result.notCompared.length > 0);
        const status = differs ? ExitStatus.problem : ExitStatus.ok;
        const notCompared = notComparedSentence(result.notCompared, 2);
        if (ctx.globals.json) {
          ctx.json({ from: result.from, to: result.to, changes: result.changes, notCompared: result.notCompared, strict, ...(options["sql"] === true ? { sql: result.upgradeSql } : {}) });
          return status;
        }
        if (notCompared !== null) ctx.err(ctx.colors.yellow(`${strict ? "error" : "warning"}: ${notCompared}`));
        if (options["sql"] === true) {
          if (result.upgradeSql !== "") ctx.io.stdout.write(result.upgradeSql.endsWith("\n") ? result.upgradeSql : `${result.upgradeSql}\n`);
          return status;
        }
        const n = result.changes.length;
        ctx.out(`${result.from} → ${result.to}: ${n === 0 ? "no differences" : `${n} difference${n === 1 ? "" : "s"}`}`);
        for (const change of result.schemaChanges) ctx.out(`  ${changeLine(ctx, change)}`);
        return status;
      }),
    );
};
