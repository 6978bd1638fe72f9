/**
 * The commands that read or set the version rows without running migrations:
 * `current`, `stamp TARGET`, `resolve REV --applied|--rolled-back`, `repair`.
 */
import type { Resolution } from "../../commands/resolve.js";
import { ConfigError } from "../../errors.js";
import { createEventSink } from "../events.js";
import { addBackupOption, addGuardOptions, cliGuardrails } from "../guard-options.js";
import type { CommandModule } from "../main.js";
import { renderRunEvents } from "../render-run.js";

// Each verb loads its command module when it runs: `current` does not load the writers of `stamp`, `resolve` and `repair`.
const current: typeof import("../../commands/current.js").current = async (...args) => (await import("../../commands/current.js")).current(...args);
const stamp: typeof import("../../commands/stamp.js").stamp = async (...args) => (await import("../../commands/stamp.js")).stamp(...args);
const resolve: typeof import("../../commands/resolve.js").resolve = async (...args) => (await import("../../commands/resolve.js")).resolve(...args);
const repair: typeof import("../../commands/repair.js").repair = async (...args) => (await import("../../commands/repair.js")).repair(...args);

function heads(ids: readonly string[]): string {
  return ids.length === 0 ? "base" : ids.join(", ");
}

export const registerCurrent: CommandModule = (program, action) => {
  program
    .command("current")
    .description("show the environment's applied heads (read-only)")
    .action(
      action(async (ctx): Promise<number | void> => {
        const env = await ctx.environment();
        if (env.fleet !== null) return (await import("../fleet.js")).runFleetCurrent(ctx, env);
        const result = await current(env, ctx.directoryWait());
        if (ctx.globals.json) {
          ctx.json({ environment: result.environment, current: result.current, ...(result.unfinished.length > 0 ? { unfinished: result.unfinished } : {}) });
          return;
        }
        const c = ctx.colors;
        if (result.current.length === 0) {
          // The answer, not a remark: on stdout, also with --quiet (Alembic prints nothing, which reads as a hang or a failure).
          ctx.out(`${env.name}: no revision applied${result.versionTableExists ? "" : " (no version table yet)"}`);
          return;
        }
        for (const head of result.heads) {
          const began = head.unfinished === null ? null : `unfinished: its ${head.unfinished.direction === "down" ? "downgrade" : "upgrade"} started${head.unfinished.startedAt === null ? "" : ` at ${head.unfinished.startedAt}`} and never finished`;
          const marks = [head.isHead ? "head" : null, head.state === "started" ? (began ?? "unfinished") : null].filter((mark): mark is string => mark !== null);
          ctx.out(`${c.bold(head.revision)}${marks.length > 0 ? ` (${marks.join(", ")})` : ""}${head.message ? ` ${head.message}` : head.file === null ? c.yellow(" (no file defines it)") : ""}`);
          if (ctx.globals.verbose) ctx.out(c.dim(`  ${head.file ?? "?"}, applied ${head.appliedAt} by ${head.appliedBy}`));
        }
        // What to do goes to stderr: stdout stays the answer.
        for (const item of result.unfinished) {
          const what = item.direction === "down" ? "neither cleanly applied nor cleanly reverted" : "not cleanly applied";
          ctx.err(c.yellow(`${item.revision} is ${what}: \`athanor status\` says what to check, then \`athanor resolve ${item.revision} --applied\` or \`--rolled-back\``));
        }
      }),
    );
};

export const registerStamp: CommandModule = (program, action) => {
  const command = program
    .command("stamp <targets...>")
    .description("record the database as being at TARGET (one per branch) without running migrations (also accepts edited files)")
    .option("--purge", "empty the version table first, whatever it holds");
  addGuardOptions(command);
  command.action(
    action(async (ctx, options, args): Promise<number | void> => {
      const env = await ctx.environment();
      const targets = args.flat().filter((arg): arg is string => typeof arg === "string");
      if (env.fleet !== null) return (await import("../fleet.js")).runFleetStamp(ctx, env, targets, options);
      const events = await createEventSink(ctx, env, renderRunEvents(ctx), { rendererPrintsRevisions: false });
      let result;
      try {
        result = await stamp(env, { target: targets.length === 0 ? "head" : targets, purge: options["purge"] === true, lockWaitMs: ctx.globals.lockWaitMs, signal: ctx.signal, events, ...cliGuardrails(ctx, options) });
      } finally {
        events.close();
      }
      if (ctx.globals.json) {
        ctx.json(result);
        return;
      }
      if (ctx.globals.quiet) return;
      const changes = result.recorded.length + result.removed.length + result.refreshed.length;
      if (changes === 0) ctx.out(`${env.name} is already stamped at ${heads(result.current)}; nothing changed`);
      else
        ctx.out(
          `stamped ${env.name} at ${heads(result.current)} (was ${heads(result.before)}): ${result.recorded.length} recorded, ${result.removed.length} removed, ${result.refreshed.length} checksum${result.refreshed.length === 1 ? "" : "s"} refreshed; no migration ran`,
        );
    }),
  );
};

export const registerResolve: CommandModule = (program, action) => {
  const command = program
    .command("resolve <revision>")
    .description("settle a non-transactional revision that started and never finished")
    .option("--applied", "its changes are in the database: record it as applied")
    .option("--rolled-back", "its changes are not in the database: remove its row");
  addBackupOption(command);
  command.action(
    action(async (ctx, options, args) => {
      const applied = options["applied"] === true;
      const rolledBack = options["rolledBack"] === true;
      if (applied === rolledBack) {
        throw new ConfigError("resolve-needs-outcome", "resolve needs exactly one of --applied and --rolled-back", {
          hint: "Check what the revision did (e.g. whether its index exists and is valid), then run `athanor resolve REV --applied` or `athanor resolve REV --rolled-back`.",
        });
      }
      const as: Resolution = applied ? "applied" : "rolled-back";
      const env = await ctx.environment();
      const events = await createEventSink(ctx, env, renderRunEvents(ctx), { rendererPrintsRevisions: false });
      let result;
      try {
        result = await resolve(env, { revision: args[0] ?? "", as, lockWaitMs: ctx.globals.lockWaitMs, signal: ctx.signal, events, ...cliGuardrails(ctx, options) });
      } finally {
        events.close();
      }
      if (result.editAccepted) ctx.err(ctx.colors.yellow(`warning: the file of ${result.revision} changed since its attempt was recorded: the checksum stored is the file's now (its edit is taken as what is applied)`));
      if (ctx.globals.json) ctx.json(result);
      else if (!ctx.globals.quiet) ctx.out(`resolved ${result.revision} on ${env.name} as ${result.resolution}`);
    }),
  );
};

export const registerRepair: CommandModule = (program, action) => {
  const command = program.command("repair").description("accept edited revision files: store their current checksums (the schema is not touched)");
  addBackupOption(command);
  command.action(
    action(async (ctx, options) => {
      const env = await ctx.environment();
      const events = await createEventSink(ctx, env, renderRunEvents(ctx), { rendererPrintsRevisions: false });
      let result;
      try {
        result = await repair(env, { lockWaitMs: ctx.globals.lockWaitMs, signal: ctx.signal, events, ...cliGuardrails(ctx, options) });
      } finally {
        events.close();
      }
      if (ctx.globals.json) {
        ctx.json(result);
        return;
      }
      const c = ctx.colors;
      for (const item of result.repaired) ctx.out(`repaired ${item.revision} ${item.file} (checksum ${item.from.slice(0, 12)} -> ${item.to.slice(0, 12)})`);
      if (result.repaired.length === 0 && !ctx.globals.quiet) ctx.out(`nothing to repair on ${env.name}: every applied revision matches its file`);
      if (result.unknown.length > 0) ctx.err(c.yellow(`not repaired: ${result.unknown.join(", ")} (no file defines them; restore the files or use \`athanor stamp\`)`));
      if (result.unfinished.length > 0) ctx.err(c.yellow(`not repaired: ${result.unfinished.join(", ")} (unfinished; use \`athanor resolve REV --applied|--rolled-back\`)`));
    }),
  );
};
