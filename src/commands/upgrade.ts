/**
 * `athanor upgrade [TARGET]`: applies revisions up to TARGET (default `head`). The
 * library function the CLI calls; usable in-process, e.g. from a test suite's global setup.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import { runMigration, type MigrationResult, type RunMigrationOptions } from "../run/migrate.js";

/**
 * Options of {@link upgrade} and {@link downgrade}: those of `runMigration`, with the
 * target optional (upgrade's default is `head`).
 */
export interface MigrateOptions extends Omit<RunMigrationOptions, "command" | "target"> {
  /** Where to go: `head` (upgrade's default), `heads`, `base`, an id or prefix, `label@head`, `+N`, `-N`, `rev+N`. */
  readonly target?: string | undefined;
}

/**
 * Applies revisions up to `target` (default `head`).
 * @example
 * const env = await resolveEnvironment(await loadConfig({ cwd: process.cwd() }), { environment: "testing" });
 * const result = await upgrade(env, { target: "head" });
 * console.log(result.completed); // ids applied, in order
 */
export function upgrade(env: ResolvedEnvironment, options: MigrateOptions = {}): Promise<MigrationResult> {
  return runMigration(env, { ...options, command: "upgrade", target: options.target ?? "head" });
}
