/**
 * The production guardrails of DESIGN.md §6, in the order a run meets them. The runtime
 * calls {@link runGuards} with the migration lock held, after the applied state was read
 * and the plan made, and before the first change:
 *
 * 1. identity — the database is not recorded as another environment's (every environment,
 *    every run, even one with nothing to do);
 * 2. promotion gate — `promoteFrom`'s environment applied every revision about to be applied;
 * 3. the plan is shown with the linter's findings (protected environments), and a
 *    dangerous finding refuses the run unless `--allow-dangerous`;
 * 4. confirmation — the environment's name typed on a terminal, or `--yes`;
 * 5. backup — `pg_dump` (or a PGlite copy) when `backup` is set, unless `--no-backup`;
 * 6. the environment's name is recorded in the database (protected environments).
 *
 * Every refusal is a RefusedError (exit 3) and every backup failure a DatabaseError
 * (exit 1), thrown before anything changed: the runtime's `finally` releases the lock,
 * no history row is written, and no backup file is left behind.
 *
 * Why under the lock: the plan depends on the applied state, which is only stable while
 * the lock is held; a plan confirmed before the lock could differ from the one run. The
 * cost is that a person typing the name holds the lock meanwhile — other runners wait
 * (up to `--lock-wait`) and then exit 4 without harm.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import { databaseInMemory } from "../dialects/open.js";
import type { AbortSignalLike, Session } from "../dialects/types.js";
import type { Plan } from "../plan/types.js";
import type { RunCommand } from "../run/events.js";
import type { DirectoryWait } from "../run/connect.js";
// The gates a protected or promoted run needs are loaded only by such a run (below): an
// unprotected `upgrade` then loads neither node:child_process, node:fs/promises nor the
// lint rules (backup.js, confirm.js, lint-gate.js, promotion.js), ~10 ms of its start.
import type { BackupOutcome } from "./backup.js";
import type { ConfirmationRequest, ConfirmationResult, ConfirmationUI } from "./confirm.js";
import { assertEnvironmentIdentity, recordEnvironmentIdentity, type RecordedIdentity } from "./identity.js";
import type { RevisionLint } from "./lint-gate.js";
import type { PromotionEvaluation } from "./promotion.js";

/** The run the guards look at. */
export interface GuardRun {
  readonly command: RunCommand;
  readonly env: ResolvedEnvironment;
  /** The session the run changes the database through (the lock is held). */
  readonly session: Session;
  readonly plan: Plan;
  /** Applied heads before the run, for the plan's display. */
  readonly current?: readonly string[] | undefined;
  /**
   * Changes that are not steps of the plan (a `stamp` refreshing stored checksums or
   * dropping rows no file defines; everything `repair` and `resolve` change), one line
   * each: they need the confirmation too.
   */
  readonly otherChanges?: readonly string[] | undefined;
  /**
   * The database's identity records, when the runtime started reading them under the lock
   * before the plan's files were checked (src/run/migrate.ts); read here otherwise.
   */
  readonly identities?: Promise<readonly RecordedIdentity[]> | undefined;
}

/** What the user allowed, and how to reach them. */
export interface GuardOptions {
  /** `--yes`. */
  readonly yes: boolean;
  /** A person can answer a prompt (a terminal, not CI). */
  readonly interactive: boolean;
  /** CI mode, for messages. */
  readonly ci: boolean;
  /** A program called the library: a refusal names the `yes: true` option instead of `--yes`. */
  readonly library?: boolean | undefined;
  /** `--allow-dangerous`. */
  readonly allowDangerous: boolean;
  /** `--no-backup`. */
  readonly noBackup: boolean;
  /** Shows the plan and asks for the name (the CLI's terminal); without it only `--yes` confirms. */
  readonly ui?: ConfirmationUI | undefined;
  /** Resolves another environment by name (for `promoteFrom`). Without it, a gated run is refused. */
  readonly resolveEnvironment?: ((name: string) => Promise<ResolvedEnvironment>) | undefined;
  /** How the promotion gate waits for another process that has the source's PGlite directory open (`--lock-wait`). */
  readonly directoryWait?: DirectoryWait | undefined;
  /** The environment child processes inherit (PATH finds pg_dump); defaults to process.env. */
  readonly processEnv?: Readonly<Record<string, string | undefined>> | undefined;
  readonly signal?: AbortSignalLike | undefined;
  /** Told about the backup once it is taken (or skipped), for the CLI to report. */
  readonly onBackup?: ((outcome: BackupOutcome) => void) | undefined;
  /** Called with pg_dump's pid (tests). */
  readonly onDumpStarted?: ((pid: number) => void) | undefined;
}

/** What the guards did. */
export interface GuardReport {
  /** How the run was confirmed. */
  readonly confirmation: ConfirmationResult;
  readonly lint: readonly RevisionLint[];
  readonly promotion: PromotionEvaluation | null;
  readonly backup: BackupOutcome | null;
  /** The environment recorded in the database before the run, or null. */
  readonly recordedEnvironment: string | null;
}

/** Builds what the confirmation shows. Pure. */
export function confirmationRequest(run: GuardRun, lint: readonly RevisionLint[], allowedDangerous: number, options: Pick<GuardOptions, "noBackup">): ConfirmationRequest {
  const env = run.env;
  const byStep = new Map(lint.map((result) => [`${result.revision.id}:${result.direction}`, result] as const));
  return {
    environment: env.name,
    url: env.redactedUrl,
    command: run.command,
    target: run.plan.target,
    current: run.current ?? [],
    steps: run.plan.steps.map((step) => {
      const result = byStep.get(`${step.revision.id}:${step.direction}`);
      return {
        revision: step.revision.id,
        message: step.revision.message,
        file: step.revision.relativePath,
        direction: run.command === "stamp" ? "stamp" : step.direction,
        findings: result?.findings ?? [],
        // A missing downgrade section is not "not linted": the run refuses it before anything runs.
        ...(result !== undefined && result.notLinted !== null && (step.revision.format === "ts" || result.opaque.length > 0) ? { notLinted: true, notLintedReason: result.notLinted } : { notLinted: false }),
      };
    }),
    backup:
      env.backup === null
        ? { skipped: "no backup setting for this environment" }
        : options.noBackup
          ? { skipped: "--no-backup" }
          : databaseInMemory(env.target)
            ? { skipped: "in-memory database" }
            : { dir: env.backup.dir },
    allowedDangerous,
    otherChanges: run.otherChanges ?? [],
  };
}

/**
 * Runs the guards of DESIGN.md §6 for one run. Call with the lock held, after the
 * plan, before the first change; a plan with no step only gets the identity check.
 * @throws RefusedError (exit 3): another environment's database, promotion gate,
 *   dangerous change, missing or wrong confirmation
 * @throws DatabaseError (exit 1): the backup could not be taken
 * @example
 * await runGuards({ command: "upgrade", env, session, plan }, { yes: false, interactive: true, ci: false, allowDangerous: false, noBackup: false, ui });
 */
export async function runGuards(run: GuardRun, options: GuardOptions): Promise<GuardReport> {
  const { env, session, plan } = run;
  // Even a run with nothing to do is refused through the wrong configuration: it says the config is wrong.
  const recordedEnvironment = await assertEnvironmentIdentity(session, env, run.identities);
  if (plan.steps.length === 0 && (run.otherChanges ?? []).length === 0) return { confirmation: "nothing-to-do", lint: [], promotion: null, backup: null, recordedEnvironment };

  let promotion: PromotionEvaluation | null = null;
  // Only a run applies revisions; the other commands only write version rows.
  const runsSql = run.command === "upgrade" || run.command === "downgrade";
  if (env.promoteFrom !== null && runsSql) {
    const { assertPromotionAllowed, evaluatePromotion } = await import("./promotion.js");
    const resolveEnvironment = options.resolveEnvironment;
    promotion = resolveEnvironment
      ? await evaluatePromotion(env, plan, { resolveEnvironment, directoryWait: options.directoryWait })
      : await evaluatePromotion(env, plan, { resolveEnvironment: () => Promise.reject(new Error("no way to resolve other environments was given")) });
    assertPromotionAllowed(promotion);
  }

  if (!env.protected) return { confirmation: "not-protected", lint: [], promotion, backup: null, recordedEnvironment };

  const [{ assertLintAllowed, lintPlanSteps }, { confirmProtectedRun }, { takeBackup }] = await Promise.all([import("./lint-gate.js"), import("./confirm.js"), import("./backup.js")]);
  // `stamp`, `repair` and `resolve` run no SQL: nothing to lint.
  const lint = runsSql ? await lintPlanSteps(plan.steps) : [];
  const dangerous = lint.flatMap((result) => result.findings.filter((finding) => finding.severity === "danger")).length;
  const request = confirmationRequest(run, lint, options.allowDangerous ? dangerous : 0, options);
  options.ui?.showPlan(request);
  assertLintAllowed(env.name, lint, options.allowDangerous);

  const confirmation = await confirmProtectedRun(true, request, options, options.ui);

  let backup: BackupOutcome | null = null;
  if (env.backup !== null && !options.noBackup) {
    backup = await takeBackup(env, session, {
      label: runsSql ? (plan.steps[0]?.revision.id ?? run.command) : run.command,
      processEnv: options.processEnv,
      signal: options.signal,
      onDumpStarted: options.onDumpStarted,
    });
    options.onBackup?.(backup);
  } else {
    options.onBackup?.({ status: "skipped", reason: env.backup === null ? "no backup setting" : "--no-backup" });
  }

  await recordEnvironmentIdentity(session, env);
  return { confirmation, lint, promotion, backup, recordedEnvironment };
}
