/**
 * The guards as a runtime hook: {@link productionGuards} turns the options of a run
 * (what the user allowed, how to ask) into a `BeforeExecute` that the runtime calls with
 * the lock held, after planning and before the version tables are created or any
 * revision runs (src/run/migrate.ts). A refusal thrown here leaves the database as it
 * was: the runtime's `finally` releases the lock, and no table or history row is written.
 */
import type { BeforeExecute, MigrationHookContext } from "../run/migrate.js";
import { runGuards, type GuardOptions, type GuardReport } from "./guards.js";

/** Options of {@link productionGuards}: the guard options, and where the report goes. */
export interface ProductionGuardOptions extends GuardOptions {
  /** Receives what the guards did (confirmation, lint, backup...). */
  readonly onReport?: ((report: GuardReport) => void) | undefined;
}

/**
 * The runtime hook that applies DESIGN.md §6 to a run.
 * @example
 * await runMigration(env, { command: "upgrade", target: "head", beforeExecute: [productionGuards({ yes: true, interactive: false, ci: true, allowDangerous: false, noBackup: false })] });
 */
export function productionGuards(options: ProductionGuardOptions): BeforeExecute {
  return async (context) => {
    const report = await runGuards(
      { command: context.command, env: context.env, session: context.session, plan: context.plan, current: context.current, otherChanges: stampRowChanges(context) },
      { ...options, signal: options.signal ?? context.signal },
    );
    options.onReport?.(report);
  };
}

/**
 * What a `stamp` changes besides its steps: rows no file defines (dropped), and kept
 * rows whose stored checksum or unfinished state the stamp refreshes. Over-approximates
 * (a row above the target is a `down` step already): it only decides whether a stamp
 * with no step still needs the confirmation.
 */
function stampRowChanges(context: MigrationHookContext): string[] {
  if (context.command !== "stamp" || context.plan.steps.length > 0) return [];
  const unknown = context.state.rows.filter((row) => !context.graph.has(row.revision)).map((row) => row.revision);
  const refreshed = context.state.rows.filter((row) => context.graph.has(row.revision) && (row.state !== "applied" || row.checksum !== context.graph.get(row.revision).checksum)).map((row) => row.revision);
  const lines: string[] = [];
  if (unknown.length > 0) lines.push(`stamp: remove rows no file defines: ${unknown.join(", ")}`);
  if (refreshed.length > 0) lines.push(`stamp: accept the files as applied (checksum or unfinished state): ${refreshed.join(", ")}`);
  return lines;
}
