/**
 * The revision-graph verbs: `revision`, `heads`, `branches`, `history`, `show`, `merge`,
 * `graph`. None needs a database nor an environment's variables: they read only the
 * config's `migrations` directory, so they work in CI before any secret is set.
 */
import { isAbsolute, relative, resolve } from "node:path";
import { Option } from "commander";
import type { CommandModule } from "../main.js";
import type { CommandContext } from "../runtime.js";
// Each verb imports its command module when it runs: `heads` does not load the writer of `revision` and `merge`, nor `show` or `graph`.
import type { GraphFormat } from "../../commands/graph-export.js";
import type { CreatedRevision } from "../../commands/revision.js";
import type { SchemaChange } from "../../autogenerate/operations.js";
import type { ShownRevision } from "../../commands/show.js";
import { ConfigError, ExitStatus } from "../../errors.js";
import type { RevisionFormat } from "../../revisions/header.js";
import type { RevisionDetails, RevisionOutline, RevisionSummary } from "../../revisions/summary.js";
import { projectCacheDir } from "../../revisions/script-directory.js";

/** The migrations directory of the project's config (absolute), and its header cache. */
async function graphSource(ctx: CommandContext): Promise<{ migrationsDir: string; cacheDir: string }> {
  const project = await ctx.project();
  const dir = project.config.migrations ?? "./migrations";
  return { migrationsDir: isAbsolute(dir) ? dir : resolve(project.rootDir, dir), cacheDir: projectCacheDir(project.rootDir) };
}

/** A path as the user should read it: relative to the working directory when inside it. */
function shownPath(ctx: CommandContext, path: string): string {
  const rel = relative(ctx.io.cwd, path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

function formatOption(options: Record<string, unknown>): RevisionFormat {
  if (options["sql"] === true && options["ts"] === true) {
    throw new ConfigError("conflicting-options", "--sql and --ts cannot be given together", { hint: "pick one format: --sql (the default) or --ts" });
  }
  return options["ts"] === true ? "ts" : "sql";
}

function stringList(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === "string");
  return [];
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `3f2a9c1d0b7e (head) (branch point) [billing] add orders table` */
function summaryLine(ctx: CommandContext, revision: RevisionSummary): string {
  const c = ctx.colors;
  const tags = [revision.isHead ? "head" : null, revision.isBase ? "base" : null, revision.isBranchPoint ? "branch point" : null, revision.isMerge ? "merge" : null]
    .filter((tag): tag is string => tag !== null)
    .map((tag) => c.dim(`(${tag})`));
  const labels = revision.branchLabels.length > 0 ? c.cyan(`[${revision.branchLabels.join(", ")}]`) : "";
  return [c.yellow(revision.id), ...tags, labels, revision.message].filter((part) => part !== "").join(" ");
}

function createdText(ctx: CommandContext, created: CreatedRevision, what: string): string {
  const after = created.parents.length === 0 ? "a new root" : `after ${created.parents.join(", ")}`;
  return `created ${what} ${ctx.colors.yellow(created.id)} (${after}): ${shownPath(ctx, created.path)}`;
}

function detailLines(ctx: CommandContext, revision: RevisionDetails): string[] {
  const c = ctx.colors;
  const tags = [revision.isHead ? "head" : null, revision.isBase ? "base" : null, revision.isBranchPoint ? "branch point" : null, revision.isMerge ? "merge" : null].filter(
    (tag): tag is string => tag !== null,
  );
  const lines = [`${c.bold("Revision:")} ${c.yellow(revision.id)}${tags.length > 0 ? ` (${tags.join(", ")})` : ""}`];
  lines.push(`${revision.parents.length > 1 ? "Merges:" : "Parent:"} ${revision.parents.length === 0 ? "<base>" : revision.parents.join(", ")}`);
  if (revision.children.length > 1) lines.push(`Branches into: ${revision.children.join(", ")}`);
  else if (revision.children.length === 1) lines.push(`Child: ${revision.children[0] ?? ""}`);
  if (revision.branchLabels.length > 0) lines.push(`Branch labels: ${revision.branchLabels.join(", ")}`);
  if (revision.dependsOn.length > 0) lines.push(`Depends on: ${revision.dependsOn.join(", ")}`);
  if (revision.dependents.length > 0) lines.push(`Needed by: ${revision.dependents.join(", ")}`);
  if (revision.allow.length > 0) lines.push(`Allows: ${revision.allow.join(", ")}`);
  lines.push(`File: ${shownPath(ctx, revision.path)} (${revision.format === "sql" ? "SQL" : "TypeScript"}${revision.transactional ? "" : ", no transaction"})`);
  lines.push(`Checksum: ${revision.checksum}`);
  lines.push("", `    ${revision.message === "" ? c.dim("(no message)") : revision.message}`);
  return lines;
}

function showLines(ctx: CommandContext, revision: ShownRevision): string[] {
  const lines = detailLines(ctx, revision);
  if (revision.sql !== null) {
    lines.push("", ctx.colors.dim(`-- upgrade (line ${revision.sql.upgrade.line})`), revision.sql.upgrade.sql.replace(/\n+$/, ""));
    if (revision.sql.downgrade === null) lines.push("", ctx.colors.dim("-- no downgrade section: this revision cannot be reverted"));
    else lines.push("", ctx.colors.dim(`-- downgrade (line ${revision.sql.downgrade.line})`), revision.sql.downgrade.sql.replace(/\n+$/, ""));
  }
  return lines;
}

/** `revision --autogenerate`: compares, prints the operations and warnings, writes the revision unless nothing changed. */
async function autogenerateCommand(ctx: CommandContext, options: Record<string, unknown>): Promise<number> {
  if (options["ts"] === true) throw new ConfigError("conflicting-options", "--autogenerate writes an SQL revision: --ts cannot be given with it", { hint: "leave out --ts" });
  const against = typeof options["against"] === "string" ? await ctx.environment(options["against"], "--against") : undefined;
  const env = against ?? (await ctx.environment());
  // Loaded here, not at start-up: `heads` must not pay for the schema model and the shadow database.
  const { autogenerate } = await import("../../commands/autogenerate.js");
  const result = await autogenerate(env, {
    message: String(options["message"]),
    against,
    directoryWait: ctx.directoryWait(),
    empty: options["empty"] === true,
    head: typeof options["head"] === "string" ? options["head"] : undefined,
    splice: options["splice"] === true,
    branchLabel: stringList(options["branchLabel"]),
    dependsOn: stringList(options["dependsOn"]),
    signal: ctx.signal,
  });
  const c = ctx.colors;
  for (const warning of result.warnings) ctx.err(c.yellow(`warning: ${warning}`));
  if (ctx.globals.json) {
    ctx.json({ ...result, changes: result.changes.map((change) => ({ kind: change.operation.kind, summary: change.summary, destructive: change.destructive, reason: change.reason })) });
    return ExitStatus.ok;
  }
  for (const change of result.changes) ctx.out(changeLine(ctx, change));
  if (result.changes.length === 0) ctx.out(`no changes detected: the declared schema matches ${result.against === "migrations" ? "the schema the revisions produce" : `the database of ${result.against}`}`);
  if (result.revision !== null) ctx.out(createdText(ctx, result.revision, result.changes.length === 0 ? "empty revision" : "revision"));
  else ctx.out(c.dim("nothing written (pass --empty to write an empty revision anyway)"));
  return ExitStatus.ok;
}

/** `+ create table public.orders`, `- drop column public.users.age  [destructive: ...]`, `~ alter column ...`. */
export function changeLine(ctx: CommandContext, change: Pick<SchemaChange, "operation" | "summary" | "destructive" | "reason">): string {
  const c = ctx.colors;
  const kind = change.operation.kind;
  const sign = /^(create|add)-/.test(kind) ? c.green("+") : /^drop-/.test(kind) ? c.red("-") : c.yellow("~");
  const flag = change.destructive ? ` ${c.red(`[destructive${change.reason === null ? "" : `: ${change.reason}`}]`)}` : "";
  return `${sign} ${change.summary}${flag}`;
}

/** `athanor revision -m MSG [--sql|--ts] [--head H] [--splice] [--branch-label L] [--depends-on R]`. */
export const registerRevision: CommandModule = (program, action) => {
  program
    .command("revision")
    .description("create a new revision file after the current head (no database needed)")
    .requiredOption("-m, --message <message>", "what the revision changes (also its file name)")
    .option("--sql", "write an SQL revision (the default)")
    .option("--ts", "write a TypeScript revision")
    .option("--head <rev>", "the parent: a head, `<label>@head`, or `base` for a new root (default: the single head)")
    .option("--splice", "allow --head to name a revision that is not a head (starts a new branch)")
    .option("--branch-label <label>", "a branch label for the new revision (repeatable)", collect)
    .option("--depends-on <rev>", "a revision (id, prefix or label) this one depends on (repeatable)", collect)
    .option("--autogenerate", "write the SQL that turns the schema the revisions produce (or --against ENV's database) into the declared schema (config `schema`)")
    .option("--against <env>", "with --autogenerate: compare with this environment's live database instead of replaying the revisions (read only)")
    .option("--empty", "with --autogenerate: write the revision even when no change is detected")
    .action(
      action(async (ctx, options) => {
        if (options["autogenerate"] === true) return autogenerateCommand(ctx, options);
        if (typeof options["against"] === "string" || options["empty"] === true) {
          throw new ConfigError("conflicting-options", "--against and --empty only apply with --autogenerate", { hint: "add --autogenerate, or leave them out" });
        }
        const { createRevision } = await import("../../commands/revision.js");
        const created = await createRevision({
          ...(await graphSource(ctx)),
          message: String(options["message"]),
          format: formatOption(options),
          head: typeof options["head"] === "string" ? options["head"] : undefined,
          splice: options["splice"] === true,
          branchLabel: stringList(options["branchLabel"]),
          dependsOn: stringList(options["dependsOn"]),
        });
        if (ctx.globals.json) ctx.json(created);
        else ctx.out(createdText(ctx, created, "revision"));
        return ExitStatus.ok;
      }),
    );
};

/** `athanor heads [--check]`: exit 5 with `--check` when there is more than one head. */
export const registerHeads: CommandModule = (program, action) => {
  program
    .command("heads")
    .description("the heads of the revision graph (no database needed)")
    .option("--check", "exit 5 when there is more than one head (a CI gate before merging)")
    .action(
      action(async (ctx, options) => {
        const { assertSingleHead, heads } = await import("../../commands/heads.js");
        const result = await heads(await graphSource(ctx));
        const check = options["check"] === true;
        if (ctx.globals.json) {
          // One JSON document: with --check and several heads, the error document (exit 5) lists them.
          if (check) assertSingleHead(result);
          ctx.json(result);
          return ExitStatus.ok;
        }
        if (result.heads.length === 0) ctx.err("no revisions yet: create one with `athanor revision -m MESSAGE`");
        for (const head of result.heads) ctx.out(summaryLine(ctx, head));
        if (check) assertSingleHead(result);
        return ExitStatus.ok;
      }),
    );
};

/** `athanor branches`. */
export const registerBranches: CommandModule = (program, action) => {
  program
    .command("branches")
    .description("the branch points of the revision graph and where each branch leads (no database needed)")
    .action(
      action(async (ctx) => {
        const { branches } = await import("../../commands/branches.js");
        const result = await branches(await graphSource(ctx));
        if (ctx.globals.json) {
          ctx.json(result);
          return ExitStatus.ok;
        }
        if (result.branchPoints.length === 0) ctx.err("no branches: the revisions form a single line");
        for (const point of result.branchPoints) {
          ctx.out(summaryLine(ctx, point.revision));
          for (const child of point.children) ctx.out(`  -> ${summaryLine(ctx, child)}`);
        }
        return ExitStatus.ok;
      }),
    );
};

/** `athanor history [-r A:B] [--verbose] [--graph]`. */
export const registerHistory: CommandModule = (program, action) => {
  program
    .command("history")
    .description("the revisions, newest first (no database needed); --verbose for every detail")
    .option("-r, --rev-range <A:B>", "only revisions from A up to B, both included; A must be below B (either side may be empty)")
    .option("--graph", "draw the branches and merges, like `git log --graph`")
    .option("--status", "with --graph: mark the revision each environment is at (reads every environment, like `status`)")
    .action(
      action(async (ctx, options) => {
        const { history, historyOutline } = await import("../../commands/history.js");
        const source = { ...(await graphSource(ctx)), range: typeof options["revRange"] === "string" ? options["revRange"] : undefined };
        if (ctx.globals.json) {
          ctx.json(await history(source));
          return ExitStatus.ok;
        }
        // A line of text shows an outline; only --verbose prints every detail.
        const result = ctx.globals.verbose ? await history(source) : await historyOutline(source);
        const c = ctx.colors;
        if (result.revisions.length === 0) ctx.err(result.range === null ? "no revisions yet: create one with `athanor revision -m MESSAGE`" : "no revision in that range");
        if (options["graph"] === true || options["status"] === true) {
          const nodes = [...result.revisions].reverse().map((revision) => ({ id: revision.id, parents: revision.parents, message: revision.message }));
          // Loaded only for the drawing: `history` alone stays a small import.
          const [{ drawGraph }, { environmentMarks }] = await Promise.all([import("../../observe/graph-draw.js"), import("../graph-status.js")]);
          const environments = options["status"] === true ? await environmentMarks(ctx) : null;
          for (const line of drawGraph(nodes, { paint: { id: c.yellow, edge: c.dim, marks: c.green }, marks: environments?.marks })) ctx.out(line);
          for (const note of environments?.notes ?? []) ctx.out(c.dim(note));
          return ExitStatus.ok;
        }
        // Written in chunks of lines, not one write per line: 10,000 revisions are a few writes, not 10,000.
        let lines: string[] = [];
        const flush = (): void => {
          if (lines.length > 0) ctx.out(`${lines.join("\n")}\n`);
          lines = [];
        };
        const outline = (revision: RevisionOutline): string => {
          const parents = revision.parents.length === 0 ? "<base>" : revision.parents.join(", ");
          const tags = [revision.isHead ? "head" : null, revision.isBranchPoint ? "branchpoint" : null, revision.isMerge ? "mergepoint" : null].filter((tag) => tag !== null);
          const labels = revision.branchLabels.length > 0 ? ` ${c.cyan(`(${revision.branchLabels.join(", ")})`)}` : "";
          return `${parents} -> ${c.yellow(revision.id)}${tags.length > 0 ? ` (${tags.join(") (")})` : ""}${labels}, ${revision.message}`;
        };
        result.revisions.forEach((revision: RevisionOutline | RevisionDetails, index) => {
          if ("checksum" in revision) {
            if (index > 0) lines.push("");
            lines.push(...detailLines(ctx, revision));
          } else {
            lines.push(outline(revision));
          }
          if (lines.length >= 2000) flush();
        });
        flush();
        return ExitStatus.ok;
      }),
    );
};

/** `athanor show REV`. */
export const registerShow: CommandModule = (program, action) => {
  program
    .command("show")
    .description("everything about one revision, with its SQL (no database needed)")
    .argument("<rev>", "a revision id or prefix, a branch label, head, <branch>@head, <branch>@-N, <rev>-N, or heads")
    .action(
      action(async (ctx, _options, args) => {
        const { show } = await import("../../commands/show.js");
        const result = await show({ ...(await graphSource(ctx)), revision: args[0] ?? "" });
        if (ctx.globals.json) {
          ctx.json(result);
          return ExitStatus.ok;
        }
        result.revisions.forEach((revision, index) => {
          if (index > 0) ctx.out("");
          for (const line of showLines(ctx, revision)) ctx.out(line);
        });
        return ExitStatus.ok;
      }),
    );
};

/** `athanor merge -m MSG REV... [--sql|--ts] [--branch-label L]`. */
export const registerMerge: CommandModule = (program, action) => {
  program
    .command("merge")
    .description("create a merge revision that joins two or more heads (no database needed)")
    .argument("<revs...>", "the revisions to merge (ids, prefixes, labels, <label>@head), or heads for all")
    .requiredOption("-m, --message <message>", "the merge revision's message")
    .option("--sql", "write an SQL revision (the default)")
    .option("--ts", "write a TypeScript revision")
    .option("--branch-label <label>", "a branch label for the merge revision")
    .action(
      action(async (ctx, options, args) => {
        const { merge } = await import("../../commands/merge.js");
        const created = await merge({
          ...(await graphSource(ctx)),
          message: String(options["message"]),
          revisions: args,
          format: formatOption(options),
          branchLabel: typeof options["branchLabel"] === "string" ? options["branchLabel"] : undefined,
        });
        if (ctx.globals.json) ctx.json(created);
        else ctx.out(createdText(ctx, created, "merge revision"));
        return ExitStatus.ok;
      }),
    );
};

/** `athanor graph [--format mermaid|dot]`. */
export const registerGraph: CommandModule = (program, action) => {
  program
    .command("graph")
    .description("the revision graph as Mermaid or Graphviz DOT text, for docs and reviews (no database needed)")
    .addOption(new Option("--format <format>", "output format").choices(["mermaid", "dot"]).default("mermaid"))
    .action(
      action(async (ctx, options) => {
        const format: GraphFormat = options["format"] === "dot" ? "dot" : "mermaid";
        const { exportGraph } = await import("../../commands/graph-export.js");
        const result = await exportGraph({ ...(await graphSource(ctx)), format });
        if (ctx.globals.json) ctx.json(result);
        else ctx.io.stdout.write(result.text);
        return ExitStatus.ok;
      }),
    );
};
