/**
 * `athanor resolve REV --applied|--rolled-back`: settles a non-transactional revision
 * that started and never finished (a crash, a kill, a failed statement), after a person
 * has checked what it did: `--applied` records it as applied, `--rolled-back` removes
 * its row (its changes are not in the database). Takes the lock; one history row. The
 * guardrails apply as for `stamp` (identity, confirmation on a protected environment,
 * backup, identity recorded).
 */
import type { ResolvedEnvironment } from "../config/types.js";
import { ConfigError } from "../errors.js";
import type { GuardrailOptions } from "../guard/hook.js";
import type { RevisionGraph } from "../revisions/graph.js";
import { loadRevisionGraph } from "../revisions/script-directory.js";
import { Bookkeeping } from "../run/bookkeeping.js";
import { runIdentity, runLockedCommand, type LockedCommandOptions } from "../run/connect.js";
import { runRowGuards } from "../run/row-guards.js";
import { EMPTY_STATE, readAppliedState } from "../run/version-table.js";

/** What the person found: the revision's changes are in the database, or they are not. */
export type Resolution = "applied" | "rolled-back";

/** Options of {@link resolve}. On a protected environment it needs `yes: true`, as `stamp` does. */
export interface ResolveOptions extends LockedCommandOptions, GuardrailOptions {
  /** The revision: a full id or a unique prefix. */
  readonly revision: string;
  readonly as: Resolution;
  readonly graph?: RevisionGraph | undefined;
}

/** What {@link resolve} did. */
export interface ResolveResult {
  readonly environment: string;
  readonly revision: string;
  readonly resolution: Resolution;
  /**
   * `--applied` of a revision whose file changed since its attempt was recorded: the checksum
   * stored is the file's now (the edit is taken as what is applied), not the attempt's.
   */
  readonly editAccepted: boolean;
}

/**
 * Settles an unfinished non-transactional revision.
 * @example
 * await resolve(env, { revision: "3f2a9c1d", as: "applied" });
 */
export async function resolve(env: ResolvedEnvironment, options: ResolveOptions): Promise<ResolveResult> {
  const graph = options.graph ?? (await loadRevisionGraph(env.migrationsDir));
  return runLockedCommand(env, "resolve", options, async (session, emit) => {
    const state = await readAppliedState(session, env.versionTable);
    const unfinished = state?.unfinished ?? [];
    const wanted = options.revision.toLowerCase();
    const matches = unfinished.filter((row) => row.revision.startsWith(wanted));
    const row = matches.length === 1 ? matches[0] : undefined;
    if (row === undefined) {
      const listed = unfinished.map((r) => r.revision).join(", ");
      const recorded = state?.rows.find((r) => r.revision.startsWith(wanted));
      throw new ConfigError(
        "not-unfinished",
        matches.length > 1
          ? `\`${options.revision}\` matches ${matches.length} unfinished revisions: ${listed}`
          : `revision ${options.revision} is not an unfinished revision${recorded ? ` (it is recorded as ${recorded.state})` : ""}; ${unfinished.length === 0 ? "nothing is unfinished" : `unfinished: ${listed}`}`,
        {
          hint: unfinished.length === 0 ? "Nothing needs resolving; `athanor status` shows the environment's state." : `Name one of: ${listed}.`,
          details: { revision: options.revision, unfinished: unfinished.map((r) => r.revision) },
        },
      );
    }
    const change =
      options.as === "applied"
        ? `resolve ${row.revision} --applied: record it as applied (its changes are in the database)`
        : `resolve ${row.revision} --rolled-back: remove its row (its changes are not in the database)`;
    await runRowGuards(env, options, { command: "resolve", session, graph, state: state ?? EMPTY_STATE, otherChanges: [change], emit });
    // The history table may be missing where only the version table was kept.
    const bookkeeping = new Bookkeeping(session, env.versionTable, runIdentity(env));
    await bookkeeping.ensureTables();
    const checksum = graph.find(row.revision)?.checksum ?? row.checksum;
    await bookkeeping.resolve(row.revision, options.as, checksum);
    return { environment: env.name, revision: row.revision, resolution: options.as, editAccepted: options.as === "applied" && checksum !== row.checksum };
  });
}
