/**
 * The confirmation of a run on a protected environment (DESIGN.md §6.1–2): the plan is
 * shown (each revision, its direction, the linter's dangerous findings), then a person
 * types the environment's name; without a terminal (or in CI mode) only `--yes`
 * confirms. Anything else is a RefusedError (exit 3) raised before any change.
 *
 * This module decides; it never prints or reads a terminal. The CLI gives it a
 * {@link ConfirmationUI} that renders the plan and asks the question.
 */
import { RefusedError } from "../errors.js";
import type { RunCommand } from "../run/events.js";

/** A linter finding as the confirmation shows it (structurally the linter's `LintFinding`). */
export interface ConfirmationFinding {
  readonly rule: string;
  readonly severity: "danger" | "warning";
  readonly line: number;
  readonly message: string;
  readonly safe: string;
  readonly statement?: string | undefined;
}

/** One step of the plan, as the confirmation shows it. */
export interface ConfirmationStep {
  readonly revision: string;
  readonly message: string;
  /** Path relative to the migrations directory. */
  readonly file: string;
  /** `up` applies, `down` reverts, `stamp` only moves the version rows. */
  readonly direction: "up" | "down" | "stamp";
  /** The linter's findings for the SQL this step runs (dangerous ones first). */
  readonly findings: readonly ConfirmationFinding[];
  /** True when the step runs code the linter could not read (a TypeScript revision, a DO block, CALL...). */
  readonly notLinted?: boolean | undefined;
  /** Why, when {@link notLinted}: e.g. `line 7: a DO block runs code the linter does not read (...)`. */
  readonly notLintedReason?: string | undefined;
}

/** Everything a person needs to decide. Holds no secret (the URL is redacted). */
export interface ConfirmationRequest {
  readonly environment: string;
  /** The database URL with its password masked. */
  readonly url: string;
  /** Every command that changes the version rows is confirmed: `repair` and `resolve` too. */
  readonly command: RunCommand;
  /** The target as the user wrote it (empty for `repair` and `resolve`, which have none). */
  readonly target: string;
  /** Applied heads before the run. */
  readonly current: readonly string[];
  readonly steps: readonly ConfirmationStep[];
  /** Where the backup will go, or why there is none. */
  readonly backup: { readonly dir: string } | { readonly skipped: string };
  /** Dangerous findings allowed by `--allow-dangerous` (shown, not blocking). */
  readonly allowedDangerous: number;
  /** Changes that are not revision steps (e.g. a stamp refreshing stored checksums). */
  readonly otherChanges?: readonly string[] | undefined;
  /**
   * A fleet's run: how many targets. Each target's revisions are planned under its own
   * lock after the confirmation, so `steps` and `current` are empty and say nothing.
   */
  readonly fleetTargets?: number | undefined;
}

/** How the CLI shows the plan and asks for the environment's name. */
export interface ConfirmationUI {
  /** Shows the plan (called for every protected run, with or without a prompt). */
  showPlan(request: ConfirmationRequest): void;
  /** Asks the person to type the environment's name; null when they cancelled (Ctrl-C, Esc). */
  askEnvironmentName(request: ConfirmationRequest): Promise<string | null>;
}

/** How this run may be confirmed. */
export interface ConfirmationPolicy {
  /** `--yes` was given. */
  readonly yes: boolean;
  /** A person can answer (stdin is a terminal and not CI mode). */
  readonly interactive: boolean;
  /** CI mode (`--ci` or CI=true), for the message. */
  readonly ci: boolean;
  /** A program called the library (no CLI, no prompt): the refusal names the `yes: true` option, not `--yes`. */
  readonly library?: boolean | undefined;
}

/** How the run was confirmed. */
export type ConfirmationResult = "not-protected" | "nothing-to-do" | "yes-flag" | "typed-name";

/** What {@link decideConfirmation} says to do. Pure. */
export type ConfirmationDecision =
  | { readonly action: "proceed"; readonly by: "not-protected" | "nothing-to-do" | "yes-flag" }
  | { readonly action: "ask" }
  | { readonly action: "refuse"; readonly error: RefusedError };

/**
 * Decides whether a run needs a typed confirmation, may proceed, or must be refused.
 * Pure: the policy and the request in, a decision out.
 */
export function decideConfirmation(isProtected: boolean, request: Pick<ConfirmationRequest, "environment" | "steps" | "command" | "otherChanges">, policy: ConfirmationPolicy): ConfirmationDecision {
  if (!isProtected) return { action: "proceed", by: "not-protected" };
  if (request.steps.length === 0 && (request.otherChanges ?? []).length === 0) return { action: "proceed", by: "nothing-to-do" };
  if (policy.yes) return { action: "proceed", by: "yes-flag" };
  if (policy.interactive) return { action: "ask" };
  if (policy.library === true) {
    return {
      action: "refuse",
      error: new RefusedError("confirmation-required", `environment "${request.environment}" is protected and ${request.command}() was called without yes: true; nothing was changed`, {
        hint: `${request.command === "upgrade" || request.command === "downgrade" ? `Review the plan (${request.command}(env, { dryRun: true }) shows it), then pass` : "Pass"} { yes: true } to confirm; { guardrails: false } turns the guardrails off, for throwaway databases only.`,
        details: { environment: request.environment, missingOption: "yes", revisions: request.steps.map((step) => step.revision) },
      }),
    };
  }
  const why = policy.ci ? "this is a CI run (--ci or CI=true), where athanor never prompts" : "there is no terminal to confirm on (standard input, or both outputs, are not a TTY)";
  return {
    action: "refuse",
    error: new RefusedError(
      "confirmation-required",
      `environment "${request.environment}" is protected and ${why}; the --yes flag is missing, so nothing was changed`,
      {
        hint: `Review the plan above, then run again with --yes (e.g. athanor --env ${request.environment} --yes ${request.command} ...), or run it from a terminal and type "${request.environment}" when asked.`,
        details: { environment: request.environment, missingFlag: "--yes", revisions: request.steps.map((step) => step.revision) },
      },
    ),
  };
}

/**
 * Obtains the confirmation of a protected run, or throws a RefusedError (exit 3). The
 * caller shows the plan first (`ui.showPlan`); call it before the backup and the first change.
 * @example
 * ui.showPlan(request);
 * await confirmProtectedRun(env.protected, request, { yes: false, interactive: true, ci: false }, ui);
 */
export async function confirmProtectedRun(isProtected: boolean, request: ConfirmationRequest, policy: ConfirmationPolicy, ui: ConfirmationUI | undefined): Promise<ConfirmationResult> {
  const decision = decideConfirmation(isProtected, request, policy);
  if (decision.action === "proceed") return decision.by;
  if (decision.action === "refuse") throw decision.error;
  if (ui === undefined) {
    throw new RefusedError("confirmation-required", `environment "${request.environment}" is protected and this caller cannot ask for a confirmation; nothing was changed`, {
      hint: "Pass yes: true (the CLI's --yes) to confirm the run.",
      details: { environment: request.environment, missingFlag: "--yes" },
    });
  }
  const answer = await ui.askEnvironmentName(request);
  if (answer === null) {
    throw new RefusedError("not-confirmed", `the ${request.command} of protected environment "${request.environment}" was cancelled; nothing was changed`, {
      hint: `Run it again and type "${request.environment}" to confirm, or pass --yes.`,
      details: { environment: request.environment },
    });
  }
  if (answer.trim() !== request.environment) {
    throw new RefusedError("not-confirmed", `the name typed does not match "${request.environment}"; the ${request.command} was not confirmed and nothing was changed`, {
      hint: `Type the environment's name exactly ("${request.environment}") to confirm.`,
      details: { environment: request.environment },
    });
  }
  return "typed-name";
}
