/**
 * `athanor upgrade [TARGET]`: applies revisions up to TARGET (default `head`). The
 * library function the CLI calls; usable in-process, e.g. from a test suite's global setup.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import type { Session } from "../dialects/types.js";
import type { EventSink } from "../run/events.js";
import { runMigration, type BeforeExecute, type MigrationResult } from "../run/migrate.js";
import type { RevisionGraph } from "../revisions/graph.js";

/** Options of {@link upgrade} and {@link downgrade}. */
export interface MigrateOptions {
  /** Where to go: `head` (upgrade's default), `heads`, `base`, an id or prefix, `label@head`, `+N`, `-N`, `rev+N`. */
  readonly target?: string | undefined;
  /** Return the SQL script instead of running it (no connection); `A:B` targets start at A. */
  readonly sql?: boolean | undefined;
  /** Read the state and plan, change nothing. */
  readonly dryRun?: boolean | undefined;
  /** Run the whole plan in one transaction. */
  readonly singleTransaction?: boolean | undefined;
  /** How long to wait for the migration lock, in milliseconds (default 60 000). */
  readonly lockWaitMs?: number | undefined;
  /** Abort (SIGINT/SIGTERM): cancels the running statement and rolls back. */
  readonly signal?: AbortSignal | undefined;
  /** Receives progress events (revision by revision). */
  readonly events?: EventSink | undefined;
  /** Guards run before the first change (confirmation, backup, ...). */
  readonly beforeExecute?: readonly BeforeExecute[] | undefined;
  /** A graph already read from `env.migrationsDir`. */
  readonly graph?: RevisionGraph | undefined;
  /** A session the caller owns and closes (e.g. an in-memory PGlite database). */
  readonly session?: Session | undefined;
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
