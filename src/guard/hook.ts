/**
 * The guards as a runtime hook. Every command that writes the version or history tables —
 * `upgrade`, `downgrade`, `stamp`, `baseline`, `repair`, `resolve`, from the CLI or from
 * the library, one database or a fleet's targets — applies the guardrails of DESIGN.md
 * §6 unless its options say `guardrails: false`:
 * {@link guardrailHook} turns those options (what the caller allowed, how to reach a
 * person) into a `BeforeExecute` that the runtime calls with the lock held, after
 * planning and before the version tables are created or any revision runs
 * (src/run/migrate.ts). A refusal thrown here leaves the database as it was: the
 * runtime's `finally` releases the lock, and no table or history row is written.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import type { Guardrail } from "../run/migrate.js";
import type { DirectoryWait } from "../run/connect.js";
import type { BackupOutcome } from "./backup.js";
import type { ConfirmationUI } from "./confirm.js";
import { runGuards, type GuardOptions, type GuardReport } from "./guards.js";

/**
 * How the guardrails reach a person and the rest of the project. Every field is
 * optional: a library caller gets no prompt (only `yes: true` confirms), other
 * environments (for `promoteFrom`) are resolved from the same config file with
 * `process.env`, and backups are taken silently.
 */
export interface GuardrailHooks {
  /** A person can answer a prompt; needs `ui`. Default false. */
  readonly interactive?: boolean | undefined;
  /** CI mode, for messages. Default false. */
  readonly ci?: boolean | undefined;
  /** Shows the plan and asks for the environment's name. */
  readonly ui?: ConfirmationUI | undefined;
  /** Resolves another environment by name (for `promoteFrom`). */
  readonly resolveEnvironment?: ((name: string) => Promise<ResolvedEnvironment>) | undefined;
  /** How the promotion gate waits for another process that has the source's PGlite directory open (`--lock-wait`). */
  readonly directoryWait?: DirectoryWait | undefined;
  /** The environment `pg_dump` inherits (PATH finds it); default process.env. */
  readonly processEnv?: Readonly<Record<string, string | undefined>> | undefined;
  /** Told about the backup once it is taken (or skipped). */
  readonly onBackup?: ((outcome: BackupOutcome) => void) | undefined;
  /** Receives what the guards did (confirmation, lint, backup...). */
  readonly onReport?: ((report: GuardReport) => void) | undefined;
  /** Called with pg_dump's pid (tests). */
  readonly onDumpStarted?: ((pid: number) => void) | undefined;
}

/**
 * The guardrail options of `upgrade`, `downgrade`, `stamp`, `baseline`, `repair` and
 * `resolve`, named after the CLI's flags. On a protected environment a run is refused (RefusedError, exit 3)
 * unless `yes` is true; it takes the environment's backup first unless `noBackup`.
 * @example
 * await upgrade(production, { yes: true });                // confirmed: identity check, linter gate, backup, then the revisions
 * await upgrade(testDatabase, { guardrails: false });     // a throwaway database: no check, no backup
 */
export interface GuardrailOptions {
  /** Confirms a run that changes a protected environment (the CLI's `--yes`). */
  readonly yes?: boolean | undefined;
  /** Lets a protected run apply changes the linter flags as dangerous (`--allow-dangerous`). */
  readonly allowDangerous?: boolean | undefined;
  /** Skips the backup a protected environment with `backup` takes first (`--no-backup`). */
  readonly noBackup?: boolean | undefined;
  /**
   * `false` turns every guardrail off: no identity check, promotion gate, linter gate,
   * confirmation or backup. An object says how to reach a person (see {@link GuardrailHooks}).
   */
  readonly guardrails?: false | GuardrailHooks | undefined;
}

/** Options of {@link productionGuards}: the guard options, and where the report goes. */
export interface ProductionGuardOptions extends GuardOptions {
  /** Receives what the guards did (confirmation, lint, backup...). */
  readonly onReport?: ((report: GuardReport) => void) | undefined;
}

/**
 * The runtime hook that applies DESIGN.md §6 to a run.
 * @example
 * await runMigration(env, { command: "upgrade", target: "head", guardrails: false, beforeExecute: [productionGuards({ yes: true, interactive: false, ci: true, allowDangerous: false, noBackup: false })] });
 */
export function productionGuards(options: ProductionGuardOptions): Guardrail {
  return async (context) => {
    const report = await runGuards(
      { command: context.command, env: context.env, session: context.session, plan: context.plan, current: context.current, otherChanges: context.otherChanges, identities: context.identities },
      { ...options, signal: options.signal ?? context.signal },
    );
    options.onReport?.(report);
  };
}

/** Other environments of the same config file, resolved the way the library resolves one. */
function sameConfigResolver(env: ResolvedEnvironment): (name: string) => Promise<ResolvedEnvironment> {
  return async (name) => {
    const [{ loadConfigFile }, { resolveEnvironment }] = await Promise.all([import("../config/load.js"), import("../config/resolve.js")]);
    return resolveEnvironment(await loadConfigFile(env.configFile), { environment: name });
  };
}

/**
 * The guard every changing run applies first, from its options; null with
 * `guardrails: false`.
 */
export function guardrailHook(env: ResolvedEnvironment, options: GuardrailOptions): Guardrail | null {
  if (options.guardrails === false) return null;
  const hooks = options.guardrails ?? {};
  return productionGuards({
    yes: options.yes === true,
    allowDangerous: options.allowDangerous === true,
    noBackup: options.noBackup === true,
    interactive: hooks.interactive === true,
    ci: hooks.ci === true,
    library: hooks.ui === undefined,
    ui: hooks.ui,
    resolveEnvironment: hooks.resolveEnvironment ?? sameConfigResolver(env),
    directoryWait: hooks.directoryWait,
    processEnv: hooks.processEnv,
    onBackup: hooks.onBackup,
    onReport: hooks.onReport,
    onDumpStarted: hooks.onDumpStarted,
  });
}

/** The guardrail options of `options` alone, to hand them to another command (baseline → stamp). */
export function guardrailOptionsOf(options: GuardrailOptions): GuardrailOptions {
  return { yes: options.yes, allowDangerous: options.allowDangerous, noBackup: options.noBackup, guardrails: options.guardrails };
}
