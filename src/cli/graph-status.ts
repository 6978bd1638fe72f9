/**
 * `athanor history --graph --status`: which revision each environment is at, as marks
 * for the graph drawing (`3f2a9c1d0b7e (production, testing) add orders table`), read
 * with `status` (every environment in parallel, each with its timeout, read-only).
 */
import { status } from "../commands/status.js";
import { untilAborted } from "../dialects/abortable-session.js";
import type { Colors, CommandContext } from "./runtime.js";

/** Marks by revision id, and a note for each environment that has no mark to show. */
export interface EnvironmentMarks {
  readonly marks: ReadonlyMap<string, readonly string[]>;
  /** `staging: unreachable (...)`, `development: nothing applied yet`. */
  readonly notes: readonly string[];
}

/**
 * Reads every environment's current revisions. An environment that cannot be read is a
 * note, never an error: the graph is still drawn. SIGINT/SIGTERM stop the reading (its
 * queries cancelled) and the command, with no graph drawn.
 */
export async function environmentMarks(ctx: CommandContext, c: Colors = ctx.colors): Promise<EnvironmentMarks> {
  const project = await ctx.project();
  const report = await untilAborted(status(project, { processEnv: ctx.io.env, signal: ctx.signal }), ctx.signal, "history stopped: its query was cancelled; it changes nothing");
  const marks = new Map<string, string[]>();
  const notes: string[] = [];
  for (const entry of report.environments) {
    if (!entry.reachable || entry.state === "error") {
      const problem = entry.problems[0];
      notes.push(`${c.bold(entry.name)}: ${c.red(entry.state)}${problem === undefined ? "" : ` (${problem.message.split("\n")[0] ?? ""})`}`);
      continue;
    }
    if (entry.current.length === 0) notes.push(`${c.bold(entry.name)}: nothing applied yet`);
    for (const id of entry.current) marks.set(id, [...(marks.get(id) ?? []), entry.name]);
    const unknown = entry.problems.filter((problem) => problem.code === "unknown-applied-revision");
    for (const problem of unknown) notes.push(`${c.bold(entry.name)}: ${problem.message}`);
  }
  return { marks, notes };
}
