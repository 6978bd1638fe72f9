/**
 * `athanor baseline -m MSG [--force] [--no-stamp]`: a first revision from the selected
 * environment's live schema, and that environment stamped at it (src/commands/baseline.ts).
 */
import { isAbsolute, relative } from "node:path";
import { baseline, type BaselineCounts } from "../../commands/baseline.js";
import { RefusedError, isAthanorError } from "../../errors.js";
import { createEventSink } from "../events.js";
import { addGuardOptions, cliGuardrails } from "../guard-options.js";
import type { CommandModule } from "../main.js";
import { renderRunEvents } from "../render-run.js";
import type { CommandContext } from "../runtime.js";

/** `4 tables, 1 view, 2 enums` (kinds with none are left out). */
export function describeCounts(counts: BaselineCounts): string {
  const parts: [number, string, string][] = [
    [counts.schemas, "schema", "schemas"],
    [counts.tables, "table", "tables"],
    [counts.views, "view", "views"],
    [counts.enums, "enum", "enums"],
    [counts.sequences, "sequence", "sequences"],
    [counts.indexes, "index", "indexes"],
  ];
  return parts
    .filter(([count]) => count > 0)
    .map(([count, one, many]) => `${count} ${count === 1 ? one : many}`)
    .join(", ");
}

/**
 * A stamp refused for want of a confirmation names `baseline` in its hint (the guard's
 * own hint names `stamp`, which is not what the user ran); the file is gone again.
 */
function baselineRefusal(error: unknown, environment: string, message: string): unknown {
  if (!isAthanorError(error) || error.code !== "confirmation-required") return error;
  return new RefusedError(error.code, `${error.message} (the baseline revision was not kept)`, {
    hint: `Review the plan above, then run the baseline again with --yes (athanor --env ${environment} baseline -m ${JSON.stringify(message)} --yes), or run it from a terminal and type "${environment}" when asked.`,
    details: error.details,
    cause: error,
  });
}

function shownPath(ctx: CommandContext, path: string): string {
  const rel = relative(ctx.io.cwd, path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

export const registerBaseline: CommandModule = (program, action) => {
  const command = program
    .command("baseline")
    .description("adopt athanor on an existing database: write a first revision from its schema and stamp the environment at it")
    .requiredOption("-m, --message <message>", "the revision's message, e.g. \"baseline\"")
    .option("--force", "take the baseline even though the migrations directory holds revisions (a new root, to squash history) or the database records applied ones")
    .option("--no-stamp", "write the revision only; stamp the environment later with `athanor stamp REV`");
  addGuardOptions(command);
  command.action(
    action(async (ctx, options) => {
      const env = await ctx.environment();
      const stampIt = options["stamp"] !== false;
      const events = stampIt ? await createEventSink(ctx, env, renderRunEvents(ctx), { rendererPrintsRevisions: false }) : undefined;
      let result;
      try {
        result = await baseline(env, {
          message: String(options["message"]),
          force: options["force"] === true,
          stamp: stampIt,
          ...ctx.directoryWait(),
          events,
          ...cliGuardrails(ctx, options),
        });
      } catch (error) {
        throw baselineRefusal(error, env.name, String(options["message"]));
      } finally {
        events?.close();
      }
      const c = ctx.colors;
      // Warnings go to stderr, with --json too (stdout then holds the document only).
      for (const warning of result.warnings) ctx.err(c.yellow(`warning: ${warning}`));
      if (ctx.globals.json) {
        ctx.json(result);
        return;
      }
      if (ctx.globals.quiet) return;
      const id = result.revision.id;
      const extensions = result.extensions.length === 0 ? "" : ` and ${result.extensions.length} extension${result.extensions.length === 1 ? "" : "s"}`;
      ctx.out(`wrote ${shownPath(ctx, result.revision.path)}: the schema of ${env.name} (${describeCounts(result.counts)}${extensions})`);
      if (result.stamped !== null) {
        // With --force over a recorded history, the earlier heads stay recorded beside the new root.
        const earlier = result.stamped.current.filter((head) => head !== id);
        ctx.out(`stamped ${env.name} at ${c.bold(id)}${earlier.length === 0 ? "" : `, beside its earlier history: it stands at ${result.stamped.current.join(", ")}`}; no migration ran`);
      }
      else ctx.out(`${env.name} is not stamped (--no-stamp): run \`athanor --env ${env.name} stamp ${id}\` when it should count as applied`);
      ctx.out(c.dim(`next: review and commit the file; stamp every other environment that already has this schema (\`athanor --env <name> stamp ${id}\`); an empty database gets it with \`athanor upgrade\``));
    }),
  );
};
