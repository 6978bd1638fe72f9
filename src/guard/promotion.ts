/**
 * Promotion gates (DESIGN.md §3 `promoteFrom`): an environment promoted from another
 * (production from testing) refuses to apply a revision that the source environment has
 * not applied successfully. A pure core ({@link evaluatePromotionGate}) decides from the
 * plan and the source's applied revisions; a thin shell ({@link evaluatePromotion}) reads
 * the source's version table.
 *
 * What counts: a row of the source's version table in state `applied` whose revision
 * really ran there (a committed revision, a non-transactional one that finished, or one
 * resolved as applied after it ran; see `readAppliedProvenance`). A revision that was
 * only stamped there (`stamp`, `baseline`) does not count: nothing was tried. A
 * revision applied in the source and later downgraded there (or half-downgraded: its
 * row `started`) no longer counts. Nor does one whose file changed since the source ran
 * it: the gate compares the checksum the source stores for it with the file's now, so an
 * edit made after testing applied the revision never reaches production untested (re-run
 * it in the source, or `repair` there when the edit is cosmetic). Only `up` steps are
 * gated: reverting and `stamp` stay possible, as they are how a broken state is repaired.
 */
import { existsSync } from "node:fs";
import type { ResolvedEnvironment } from "../config/types.js";
import { databaseMissing, openSession } from "../dialects/open.js";
import type { Session } from "../dialects/types.js";
import { isAthanorError, LockTimeoutError, RefusedError } from "../errors.js";
import { planUpgrade } from "../plan/plan.js";
import type { Plan } from "../plan/types.js";
import type { RevisionGraph } from "../revisions/graph.js";
import { endsLockWait, type DirectoryWait } from "../run/connect.js";
import { promotionRefusal, promotionRefusalHint } from "./promotion-wording.js";
import { readAppliedProvenance } from "../run/version-table.js";

/** A revision as the gate reports it. */
export interface PromotionRevision {
  readonly revision: string;
  readonly message: string;
  /** Path relative to the migrations directory. */
  readonly file: string;
}

/** What the gate says about a plan. */
export interface PromotionEvaluation {
  /** The gated environment. */
  readonly environment: string;
  /** Its `promoteFrom`, or null when it has no gate. */
  readonly source: string | null;
  /** True when the plan may run (no gate, nothing to apply, or every revision passed the source). */
  readonly allowed: boolean;
  /** The revisions the plan would apply, in order. */
  readonly next: readonly PromotionRevision[];
  /** Of `next`, those the source has not applied successfully. */
  readonly blocked: readonly PromotionRevision[];
  /** Of `blocked`, those the source has only stamped (recorded without running them). */
  readonly stamped: readonly PromotionRevision[];
  /** Of `blocked`, those the source ran from another version of the file (its stored checksum differs from the file's). */
  readonly changed: readonly PromotionRevision[];
  /** Why the source's state could not be read (the gate then refuses), or null. */
  readonly sourceError: string | null;
}

/**
 * The source's state, as the pure core receives it: the revisions that ran there, those
 * recorded there without running (stamped), and the checksum stored for each that ran.
 */
export type SourceState =
  | { readonly applied: ReadonlySet<string>; readonly stamped?: ReadonlySet<string> | undefined; readonly checksums?: ReadonlyMap<string, string> | undefined }
  | { readonly error: string };

function upSteps(plan: Pick<Plan, "steps">): Plan["steps"] {
  return plan.steps.filter((step) => step.direction === "up");
}

function describe(steps: Plan["steps"]): PromotionRevision[] {
  return steps.map((step) => ({ revision: step.revision.id, message: step.revision.message, file: step.revision.relativePath }));
}

/**
 * Decides the gate from the plan and the source's applied revisions. Pure.
 * @example
 * evaluatePromotionGate({ name: "production", promoteFrom: "testing" }, plan, { applied: new Set(["3f2a9c1d0b7e"]) }).allowed
 */
export function evaluatePromotionGate(env: Pick<ResolvedEnvironment, "name" | "promoteFrom">, plan: Pick<Plan, "steps">, source: SourceState | null): PromotionEvaluation {
  const steps = upSteps(plan);
  const next = describe(steps);
  if (env.promoteFrom === null || next.length === 0) {
    return { environment: env.name, source: env.promoteFrom, allowed: true, next, blocked: [], stamped: [], changed: [], sourceError: null };
  }
  if (source === null || "error" in source) {
    const sourceError = source === null ? `the state of "${env.promoteFrom}" was not read` : source.error;
    return { environment: env.name, source: env.promoteFrom, allowed: false, next, blocked: next, stamped: [], changed: [], sourceError };
  }
  const changedIds = new Set(
    steps
      .filter((step) => {
        const ran = source.checksums?.get(step.revision.id);
        return source.applied.has(step.revision.id) && ran !== undefined && ran !== step.revision.checksum;
      })
      .map((step) => step.revision.id),
  );
  const blocked = next.filter((revision) => !source.applied.has(revision.revision) || changedIds.has(revision.revision));
  const stamped = blocked.filter((revision) => source.stamped?.has(revision.revision) === true);
  const changed = blocked.filter((revision) => changedIds.has(revision.revision));
  return { environment: env.name, source: env.promoteFrom, allowed: blocked.length === 0, next, blocked, stamped, changed, sourceError: null };
}

/** How the shell reaches the source environment. */
export interface PromotionOptions {
  /** Resolves an environment by name (the CLI's `ctx.environment(name)`). */
  readonly resolveEnvironment: (name: string) => Promise<ResolvedEnvironment>;
  /** Opens a session on the source (defaults to `openSession`); tests and `status` may share one. */
  readonly openSourceSession?: ((env: ResolvedEnvironment) => Promise<Session>) | undefined;
  /** How the default opening waits for another process that has the source's PGlite directory open (`--lock-wait`). */
  readonly directoryWait?: DirectoryWait | undefined;
}

/**
 * Reads the revisions that ran in the source environment, and those only stamped there.
 * An unreachable source is a state with an error; a source whose PGlite directory another
 * process holds past the wait (LockTimeoutError, exit 4), or a signal during that wait,
 * is thrown, as for the command's own environment.
 */
export async function readSourceState(sourceName: string, options: PromotionOptions): Promise<SourceState> {
  let source: ResolvedEnvironment;
  try {
    source = await options.resolveEnvironment(sourceName);
  } catch (error) {
    return { error: `environment "${sourceName}" cannot be resolved: ${isAthanorError(error) ? error.message : String(error)}` };
  }
  // A PGlite database that does not exist yet has applied nothing (and opening it would create it).
  if (databaseMissing(source.target)) return { applied: new Set() };
  let session: Session | undefined;
  try {
    session = options.openSourceSession
      ? await options.openSourceSession(source)
      : await openSession(source.target, { secrets: source.secrets, searchPath: source.searchPath, applicationName: "athanor promotion gate", connectTimeoutMs: 10_000, ...options.directoryWait });
    const provenance = await readAppliedProvenance(session, source.versionTable);
    if (provenance === null) return { applied: new Set() };
    return { applied: provenance.ran, stamped: provenance.recordedOnly, checksums: provenance.checksums };
  } catch (error) {
    if (endsLockWait(error)) throw error;
    return { error: `the database of "${sourceName}" (${source.redactedUrl}) cannot be read: ${isAthanorError(error) ? error.message : String(error)}` };
  } finally {
    await session?.close().catch(() => {});
  }
}

/**
 * Evaluates the promotion gate of `env` for `plan`, reading the source environment's
 * version table. Never throws for an unreachable source: the evaluation then says so
 * and does not allow the plan (a source held open past the wait throws, see {@link readSourceState}). `status` uses it to show what would run next.
 * @example
 * const gate = await evaluatePromotion(production, plan, { resolveEnvironment: (name) => ctx.environment(name) });
 * if (!gate.allowed) console.log(gate.blocked.map((r) => r.revision));
 */
export async function evaluatePromotion(env: ResolvedEnvironment, plan: Pick<Plan, "steps">, options: PromotionOptions): Promise<PromotionEvaluation> {
  if (env.promoteFrom === null || !plan.steps.some((step) => step.direction === "up")) return evaluatePromotionGate(env, plan, null);
  return evaluatePromotionGate(env, plan, await readSourceState(env.promoteFrom, options));
}

/** Throws the refusal (exit 3) of an evaluation that does not allow the plan. Pure. */
export function assertPromotionAllowed(evaluation: PromotionEvaluation): void {
  if (evaluation.allowed || evaluation.source === null) return;
  const source = evaluation.source;
  if (evaluation.sourceError !== null) {
    throw new RefusedError("promotion-unverified", `environment "${evaluation.environment}" is promoted from "${source}", and the gate cannot check it: ${evaluation.sourceError}; nothing was changed`, {
      hint: `Make "${source}" reachable from here (athanor --env ${source} check), then run again.`,
      details: { environment: evaluation.environment, source, revisions: evaluation.next.map((r) => r.revision) },
    });
  }
  const lists = { source, blocked: evaluation.blocked.map((r) => r.revision), stamped: evaluation.stamped.map((r) => r.revision), changed: evaluation.changed.map((r) => r.revision) };
  const labels = new Map(evaluation.blocked.map((r) => [r.revision, `${r.revision} (${r.message || r.file})`]));
  throw new RefusedError(
    "promotion-gate",
    `environment "${evaluation.environment}" is promoted from "${source}", which ${promotionRefusal(lists, (ids) => ids.map((id) => labels.get(id) ?? id).join(", "))}; nothing was changed`,
    {
      hint: promotionRefusalHint(lists, evaluation.environment),
      details: {
        environment: evaluation.environment,
        source,
        blocked: lists.blocked,
        stamped: lists.stamped,
        changed: lists.changed,
      },
    },
  );
}

/** The promotion gate as `status` shows it: what `upgrade heads` would apply next, and whether the gate lets it. */
export interface PromotionSummary {
  /** The environment this one is promoted from. */
  readonly source: string;
  /** Revisions `upgrade heads` would apply, in order. */
  readonly next: readonly string[];
  readonly allowed: boolean;
  /** Of `next`, those the source has not applied successfully. */
  readonly blocked: readonly string[];
  /** Of `blocked`, those the source has only stamped (recorded without running them). */
  readonly stamped: readonly string[];
  /** Of `blocked`, those the source ran from another version of the file than the one here now. */
  readonly changed: readonly string[];
  /** Why the source could not be read, or null. */
  readonly sourceError: string | null;
}

/**
 * The promotion gate of an environment for `status`: plans `upgrade heads` from its
 * current heads (their ancestors are what it has applied) and evaluates the gate. Null
 * when the environment has no `promoteFrom` or the plan cannot be made (status reports
 * that problem on its own). A source held open by another process past the wait is
 * reported as the source's error, as status reports an environment. Read-only.
 * @example
 * const gate = await promotionStatus(production, graph, entry.current, { resolveEnvironment });
 */
export async function promotionStatus(env: ResolvedEnvironment, graph: RevisionGraph, current: readonly string[], options: PromotionOptions): Promise<PromotionSummary | null> {
  if (env.promoteFrom === null) return null;
  let plan: Plan;
  try {
    const applied = graph.ancestors(current.filter((id) => graph.has(id)), { inclusive: true });
    plan = planUpgrade(graph, applied, "heads");
  } catch {
    return null;
  }
  const source = env.promoteFrom;
  const evaluation = await evaluatePromotion(env, plan, options).catch((error: unknown) => {
    if (!(error instanceof LockTimeoutError)) throw error;
    return evaluatePromotionGate(env, plan, { error: `the database of "${source}" cannot be read: ${error.message}` });
  });
  return {
    source: env.promoteFrom,
    next: evaluation.next.map((r) => r.revision),
    allowed: evaluation.allowed,
    blocked: evaluation.blocked.map((r) => r.revision),
    stamped: evaluation.stamped.map((r) => r.revision),
    changed: evaluation.changed.map((r) => r.revision),
    sourceError: evaluation.sourceError,
  };
}
