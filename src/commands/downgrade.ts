/** `athanor downgrade TARGET`: reverts applied revisions down to TARGET. */
import type { ResolvedEnvironment } from "../config/types.js";
import { runMigration, type MigrationResult } from "../run/migrate.js";
import type { MigrateOptions } from "./upgrade.js";

/**
 * Reverts revisions down to `target` (`base` reverts everything; `-1` one step).
 * @example
 * await downgrade(env, { target: "-1" });
 */
export function downgrade(env: ResolvedEnvironment, options: MigrateOptions & { readonly target: string }): Promise<MigrationResult> {
  return runMigration(env, { ...options, command: "downgrade", target: options.target });
}
