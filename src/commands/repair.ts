/**
 * `athanor repair`: accepts edited revision files. For every applied revision whose file
 * changed since it was applied, the stored checksum becomes the file's (the database's
 * schema is not touched), with one history row per revision. Rows no file defines and
 * unfinished revisions are left alone (they need `stamp` and `resolve`) and reported.
 * The guardrails apply as for `stamp` (identity, confirmation on a protected environment,
 * backup, identity recorded): storing a checksum is how an edit gets past the checks.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import type { GuardrailOptions } from "../guard/hook.js";
import type { RevisionGraph } from "../revisions/graph.js";
import { loadRevisionGraph } from "../revisions/script-directory.js";
import { Bookkeeping } from "../run/bookkeeping.js";
import { runIdentity, runLockedCommand, type LockedCommandOptions } from "../run/connect.js";
import { runRowGuards } from "../run/row-guards.js";
import { EMPTY_STATE, readAppliedState } from "../run/version-table.js";

/** Options of {@link repair}. On a protected environment it needs `yes: true`, as `stamp` does. */
export interface RepairOptions extends LockedCommandOptions, GuardrailOptions {
  readonly graph?: RevisionGraph | undefined;
}

/** One checksum that was replaced. */
export interface RepairedRevision {
  readonly revision: string;
  readonly file: string;
  /** The checksum stored before, and the file's. */
  readonly from: string;
  readonly to: string;
}

/** What {@link repair} did. */
export interface RepairResult {
  readonly environment: string;
  readonly repaired: readonly RepairedRevision[];
  /** Applied ids no file defines (not repaired: restore the files or `stamp`). */
  readonly unknown: readonly string[];
  /** Unfinished non-transactional revisions (not repaired: `resolve` them). */
  readonly unfinished: readonly string[];
}

/**
 * Updates stored checksums to the files' current ones.
 * @example
 * const { repaired } = await repair(env);
 * await repair(production, { yes: true });
 */
export async function repair(env: ResolvedEnvironment, options: RepairOptions = {}): Promise<RepairResult> {
  const graph = options.graph ?? (await loadRevisionGraph(env.migrationsDir));
  return runLockedCommand(env, "repair", options, async (session, emit) => {
    const state = (await readAppliedState(session, env.versionTable)) ?? EMPTY_STATE;
    const repaired: RepairedRevision[] = [];
    const unknown: string[] = [];
    for (const row of state.rows) {
      const file = graph.find(row.revision);
      if (file === undefined) unknown.push(row.revision);
      else if (row.state === "applied" && row.checksum !== file.checksum) repaired.push({ revision: row.revision, file: file.relativePath, from: row.checksum, to: file.checksum });
    }
    const changes = repaired.map((item) => `repair: store the checksum of ${item.file} for ${item.revision} (${item.from.slice(0, 12)} -> ${item.to.slice(0, 12)}); the schema is not touched`);
    await runRowGuards(env, options, { command: "repair", session, graph, state, otherChanges: changes, emit });
    if (repaired.length > 0) {
      // The history table may be missing where only the version table was kept.
      const bookkeeping = new Bookkeeping(session, env.versionTable, runIdentity(env));
      await bookkeeping.ensureTables();
      await bookkeeping.repair(repaired);
    }
    return { environment: env.name, repaired, unknown, unfinished: state.unfinished.map((row) => row.revision) };
  });
}
