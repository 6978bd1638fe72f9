/**
 * Offline SQL (`upgrade --sql`, `downgrade --sql`): the whole plan as one script, without
 * connecting, for a DBA to review and run with `psql -v ON_ERROR_STOP=1 -f`. It does what
 * an online run does: it stops on a session with `standard_conforming_strings` off
 * (src/run/standard-strings.ts), sets the environment's `lock_timeout` and `statement_timeout`
 * on the session, then holds the version-table DDL (`IF NOT EXISTS`) and each revision
 * in its own BEGIN/COMMIT with its version and history rows, after a guard on the version
 * table (src/run/offline-guards.ts) and, after its statements, the session put back. A non-transactional
 * revision is written without BEGIN/COMMIT (psql autocommits each statement) between a
 * `started` row and its completion. With `--single-transaction`, one BEGIN/COMMIT holds
 * the DDL and every revision, so a failure leaves nothing applied (the caller has
 * refused a plan with a non-transactional revision, as online). TypeScript revisions are
 * run against a recorder: their statements are written with parameters as literals, and
 * queries return no rows.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import type { MigrationContext, MigrationSql } from "../define.js";
import { searchPathValue } from "../dialects/session-checks.js";
import { quoteLiteral } from "../dialects/sql.js";
import { RevisionError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import { loadRevisionBody } from "../revisions/script-directory.js";
import { VERSION } from "../version.js";
import {
  deleteVersionRowSql,
  finishVersionRowSql,
  insertHistorySql,
  insertVersionRowSql,
  startVersionRowSql,
  versionTables,
  versionTablesDdl,
  type RunIdentity,
  type StepTiming,
} from "./version-table.js";
import { timeoutSettings } from "./timeouts.js";
import { OFFLINE_STANDARD_STRINGS_CHECK } from "./standard-strings.js";
import { assertNoPsqlMetaCommand } from "./psql-meta-command.js";
import { offlineStepGuardSql, type StandingOn } from "./offline-guards.js";

/** psql sends statements one by one: time a step from its transaction's start. */
const OFFLINE_TIMING: StepTiming = {
  startedAt: "now()",
  durationMs: "(extract(epoch FROM clock_timestamp() - now()) * 1000)::integer",
};

/**
 * In the plan's one transaction now() is the start of the first revision: each revision
 * marks its own start in a transaction-local setting (a DO block, so psql prints no row).
 */
const MARK_REVISION_START = "DO $$ BEGIN PERFORM set_config('athanor.started', extract(epoch FROM clock_timestamp())::text, true); END $$;";

/** The session's own user and role again, after a revision's SET ROLE / SET SESSION AUTHORIZATION. */
const RESTORE_ROLE = ["RESET SESSION AUTHORIZATION;", "RESET ROLE;"];

/** Timing of a revision of the plan's one transaction, from its mark. */
const MARKED_TIMING: StepTiming = {
  startedAt: "to_timestamp(current_setting('athanor.started')::double precision)",
  durationMs: "((extract(epoch FROM clock_timestamp()) - current_setting('athanor.started')::double precision) * 1000)::integer",
};

/** What the header of the script says. */
export interface OfflineScriptOptions {
  readonly env: Pick<ResolvedEnvironment, "name" | "versionTable" | "searchPath" | "lockTimeoutMs" | "statementTimeoutMs">;
  readonly plan: Plan;
  /** `--single-transaction`: one BEGIN/COMMIT around everything (every revision of the plan is transactional). */
  readonly singleTransaction: boolean;
  readonly command: "upgrade" | "downgrade";
  /** The starting point as the user gave it (`base`, or the `A` of `A:B`). */
  readonly from: string;
  /** Who stands on each revision, for the downgrade guards (null: only the revision's own row is checked). */
  readonly graph?: StandingOn | null;
}

/**
 * Renders a plan as an SQL script.
 * @example
 * const script = await renderOfflineScript({ env, plan, command: "upgrade", from: "base", singleTransaction: false });
 */
export async function renderOfflineScript(options: OfflineScriptOptions): Promise<string> {
  const { env, plan, singleTransaction } = options;
  const tables = versionTables(env.versionTable);
  const identity: RunIdentity = { environment: env.name, osUser: null, host: null, toolVersion: `${VERSION} (offline)` };
  const timing = singleTransaction ? MARKED_TIMING : OFFLINE_TIMING;
  const settings = [
    // A schema-scoped environment: the revisions' unqualified names land in its schema, as online.
    ...(env.searchPath === null ? [] : [`SET search_path TO ${searchPathValue(env.searchPath)};`]),
    // Session-wide, as the online run sets them on its session.
    ...timeoutSettings(env).map((setting) => `${setting};`),
  ];
  // What a revision set at session level ends with it, and its rows are written with the
  // script's own settings, as online (docs/runtime.md, "Each revision starts from athanor's
  // session state"): a SET search_path, ROLE, timeout or standard_conforming_strings of one
  // revision reached the next revisions and its own version row. RESET ALL leaves the role
  // and the session authorization alone; the script's settings are set again after it.
  const restoreSettings = ["RESET ALL;", ...settings];
  const restore = [...RESTORE_ROLE, ...restoreSettings];
  const out: string[] = [
    `-- athanor ${VERSION}: ${options.command} of environment "${env.name}" from ${options.from} to ${plan.target}, ${plan.steps.length} revision${plan.steps.length === 1 ? "" : "s"}${singleTransaction ? ", in one transaction" : ""}`,
    "-- Run with: psql -v ON_ERROR_STOP=1 -f <this file>",
    // Without it psql goes on after an error: a non-transactional revision whose statement
    // failed would be recorded as applied by the transaction after it.
    "\\set ON_ERROR_STOP on",
    "",
    // The revisions were checked as the server reads them with standard_conforming_strings on.
    OFFLINE_STANDARD_STRINGS_CHECK,
    "",
    ...(settings.length === 0 ? [] : [...settings, ""]),
    "BEGIN;",
    versionTablesDdl(env.versionTable).trimEnd(),
    ...(singleTransaction ? [] : ["COMMIT;"]),
  ];
  for (const step of plan.steps) {
    const file = step.revision;
    const body = await loadRevisionBody(file);
    const part = step.direction === "up" ? body.upgrade : body.downgrade;
    if (part === null) {
      throw new RevisionError("irreversible-revision", `revision ${file.id} (${file.relativePath}) has no downgrade, so it cannot be reverted`, {
        hint: `Add a downgrade to ${file.relativePath}, or downgrade to a target above ${file.id}.`,
        details: { revision: file.id, file: file.relativePath },
      });
    }
    const sql = typeof part === "function" ? await recordStatements(part, env.name, file.relativePath) : part.sql.trimEnd();
    assertNoPsqlMetaCommand(file, step.direction, sql, typeof part === "function" ? null : part.line);
    const verb = step.direction === "up" ? "upgrade" : "downgrade";
    const history = insertHistorySql(tables, identity, { direction: step.direction, revision: file.id, outcome: "success" }, timing);
    // Stops the script here when the database is not where this step needs it (run twice, elsewhere).
    const guard = offlineStepGuardSql(tables, file, step.direction, options.graph ?? null);
    out.push("", `-- ${verb} ${file.id}${file.message ? ` ${file.message}` : ""} (${file.relativePath})`);
    if (file.transactional) {
      const row = step.direction === "up" ? insertVersionRowSql(tables, identity, file.id, file.checksum, "applied", timing) : deleteVersionRowSql(tables, file.id);
      // The plan's one transaction: the role back before the rows, the rest after them
      // (RESET ALL would also reset the revision's start mark, which the rows read).
      if (singleTransaction) out.push(guard, MARK_REVISION_START, sql, ";", ...RESTORE_ROLE, row, history, ...restoreSettings);
      else out.push("BEGIN;", guard, sql, ";", ...restore, row, history, "COMMIT;");
    } else {
      out.push(
        "-- non-transactional: runs outside a transaction block",
        guard,
        step.direction === "up" ? insertVersionRowSql(tables, identity, file.id, file.checksum, "started", timing) : startVersionRowSql(tables, file.id),
        sql,
        ";",
        ...restore,
        "BEGIN;",
        step.direction === "up" ? finishVersionRowSql(tables, identity, file.id, file.checksum, timing) : deleteVersionRowSql(tables, file.id),
        history,
        "COMMIT;",
      );
    }
  }
  if (singleTransaction) out.push("", "COMMIT;");
  return `${out.join("\n")}\n`;
}

/** Runs a TypeScript revision's function with a `sql` that records instead of executing. */
export async function recordStatements(fn: (context: MigrationContext) => Promise<void> | void, environment: string, file: string): Promise<string> {
  const statements: string[] = [`-- statements recorded from ${file} (TypeScript; queries return no rows offline)`];
  const sql = (async (strings: TemplateStringsArray, ...values: unknown[]): Promise<Record<string, unknown>[]> => {
    let text = strings[0] ?? "";
    for (let i = 0; i < values.length; i++) text += `${sqlLiteral(values[i])}${strings[i + 1] ?? ""}`;
    statements.push(`${text.trimEnd().replace(/;$/, "")};`);
    return [];
  }) as MigrationSql;
  sql.unsafe = async (text: string) => {
    statements.push(`${text.trimEnd().replace(/;$/, "")};`);
  };
  await fn({ sql, environment });
  return statements.join("\n");
}

/** A JavaScript value as an SQL literal, for recorded statements. */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "boolean") return value ? "TRUE" : "FALSE";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : quoteLiteral(String(value));
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return `${quoteLiteral(value.toISOString())}::timestamptz`;
  if (value instanceof Uint8Array) return `${quoteLiteral(`\\x${Buffer.from(value).toString("hex")}`)}::bytea`;
  if (Array.isArray(value)) return `ARRAY[${value.map(sqlLiteral).join(", ")}]`;
  if (typeof value === "object") return `${quoteLiteral(JSON.stringify(value))}::jsonb`;
  return quoteLiteral(String(value));
}
