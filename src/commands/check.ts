/**
 * `athanor check`: diagnoses one environment (or all): the section exists, every
 * variable resolves, .env files holding secrets are private, the database answers a
 * real query, and (when the revision layer is there) the graph is sound. Each finding
 * carries its fix. Read-only: never creates a database, a directory or a table.
 */
import { LIBPQ_VARIABLE_NAMES } from "../config/libpq-environment.js";
import type { LoadedConfig } from "../config/load.js";
import { resolveEnvironment } from "../config/resolve.js";
import type { ResolvedEnvironment } from "../config/types.js";
import { databaseMissing, openSession } from "../dialects/open.js";
import { InterruptedError, isAthanorError } from "../errors.js";
import { abortableSession } from "../dialects/abortable-session.js";
import type { AbortSignalLike } from "../dialects/types.js";
import { endsLockWait, type DirectoryWait } from "../run/connect.js";
import { checkRevisions } from "./check-revisions.js";
import { notConfigured } from "./not-configured.js";

export type FindingStatus = "ok" | "warning" | "error";

export interface Finding {
  /** Stable id of the check, e.g. "variables", "reachable". */
  check: string;
  status: FindingStatus;
  message: string;
  /** How to fix it (absent when ok). */
  fix?: string;
  /** Error code, when the finding comes from an error. */
  code?: string;
}

export interface EnvironmentCheckReport {
  environment: string;
  url: string | null;
  findings: Finding[];
  /** True when no finding is an error. */
  ok: boolean;
  /** Revisions not yet applied (filled by the engine's check step, when available). */
  pending: string[];
  /** When the environment is not configured yet: the variables its url needs that nothing sets. */
  unsetVariables?: readonly string[];
}

export interface CheckOptions {
  processEnv: Readonly<Record<string, string | undefined>>;
  /**
   * How an environment whose url uses unset variables counts: `"error"` (default: the
   * environment was asked for by name) or `"warning"` (`check --all` over a fresh project,
   * where testing and production are not configured yet on this machine).
   */
  notConfigured?: "error" | "warning";
  /** How long a connection attempt may take. */
  connectTimeoutMs?: number;
  /** Stops the check (SIGINT/SIGTERM): its query is cancelled and it ends with InterruptedError. */
  signal?: AbortSignalLike | undefined;
  /**
   * How long to wait for a PGlite directory another process has open (the CLI passes
   * `--lock-wait` and a line naming the holder); absent, the connection timeout.
   */
  directoryWait?: DirectoryWait | undefined;
  /**
   * False for a fleet: its own url is only a stand-in, the targets are checked one by one
   * (checkFleet), so the stand-in is not opened (a PGlite target it names would be waited for twice).
   */
  readDatabase?: boolean;
  /**
   * What a PGlite directory held past the wait is: `"stop"` (default: the command exits 4
   * naming the holder, as every command asked about one database does) or `"finding"`
   * (`check --all`: that environment is busy, the others are still checked and reported).
   */
  heldDatabase?: "stop" | "finding";
}

/**
 * Extra checks that need the resolved environment and an open session (the revision
 * graph, checksums, pending revisions). The engine registers its steps here.
 */
export type CheckStep = (env: ResolvedEnvironment, session: import("../dialects/types.js").Session | null, report: EnvironmentCheckReport) => Promise<void>;
export const checkSteps: CheckStep[] = [checkRevisions];

/** Checks one environment; never throws for a problem it can describe. */
export async function checkEnvironment(project: LoadedConfig, name: string, options: CheckOptions): Promise<EnvironmentCheckReport> {
  const report: EnvironmentCheckReport = { environment: name, url: null, findings: [], ok: true, pending: [] };
  const add = (finding: Finding) => {
    report.findings.push(finding);
    if (finding.status === "error") report.ok = false;
  };
  add({ check: "config", status: "ok", message: `config file ${project.file}` });
  if (!(name in project.config.environments)) {
    add({ check: "section", status: "error", message: `no environment "${name}" in ${project.file}`, fix: `Add environments.${name}, or use one of: ${Object.keys(project.config.environments).join(", ")}.` });
    return report;
  }
  let env: ResolvedEnvironment;
  try {
    env = await resolveEnvironment(project, { environment: name, processEnv: options.processEnv });
  } catch (error) {
    if (!isAthanorError(error)) throw error;
    const unconfigured = notConfigured(project, name, error, options.processEnv);
    if (unconfigured !== null) {
      report.unsetVariables = unconfigured.variables;
      add({ check: "variables", status: options.notConfigured ?? "error", message: unconfigured.message, code: "not-configured", fix: unconfigured.fix });
      return report;
    }
    add({ check: "variables", status: "error", message: error.message, code: error.code, ...(error.hint ? { fix: error.hint } : {}) });
    return report;
  }
  report.url = env.redactedUrl;
  add({ check: "section", status: "ok", message: `environment "${env.name}" found` });
  add({ check: "variables", status: "ok", message: `url resolves to ${env.redactedUrl}` });
  // libpq variables in .env files connect as they would for libpq in a shell that sourced
  // those files: said here, so that they never act unseen.
  if (env.target.kind === "postgres") {
    for (const file of env.envFiles) {
      const libpq = file.variables.filter((variable) => LIBPQ_VARIABLE_NAMES.has(variable));
      if (file.exists && libpq.length > 0) add({ check: "libpq-variables", status: "ok", message: `${file.file} sets ${libpq.join(", ")}: applied to the url as libpq applies them (the url's own parameters and the process environment win)` });
    }
  }
  for (const file of env.envFiles) {
    if (!file.exists || file.mode === undefined) continue;
    // A secret by name, by value (a URL with a password) or by use (a URL's password): what athanor masks.
    const holdsSecret = file.variables.some((name) => env.secretVariables.includes(name)) || file.variables.some((v) => v === "DATABASE_URL");
    if (holdsSecret && (file.mode & 0o077) !== 0) {
      add({
        check: "env-file-permissions",
        status: "warning",
        message: `${file.file} holds secrets and is readable by ${(file.mode & 0o007) !== 0 ? "others" : "its group"} (mode ${(file.mode & 0o777).toString(8)})`,
        fix: `chmod 600 ${file.file}`,
      });
    }
    for (const variable of file.dotenvDifferences ?? []) {
      add({
        check: "env-file-syntax",
        status: "warning",
        message: `${variable} in ${file.file} is read differently by dotenv (Node) than by athanor, python-dotenv and docker compose (an unquoted "#", an escape or a multi-line value)`,
        fix: `Quote the value of ${variable} in ${file.file} (single quotes keep it literal), so every reader sees the same value.`,
      });
    }
  }
  let session: import("../dialects/types.js").Session | null = null;
  if (options.readDatabase === false) return report;
  if (databaseMissing(env.target)) {
    add({ check: "reachable", status: "warning", message: `the database ${env.redactedUrl} does not exist yet`, fix: "Run `athanor upgrade` to create it." });
  } else {
    try {
      const timeoutMs = options.connectTimeoutMs ?? 5_000;
      // A PGlite directory another process has open: waited for as every command waits (the CLI's --lock-wait), a library caller without directoryWait as long as a server may take to answer.
      const wait = options.directoryWait ?? { lockWaitMs: timeoutMs };
      session = abortableSession(await openSession(env.target, { secrets: env.secrets, searchPath: env.searchPath, connectTimeoutMs: timeoutMs, applicationName: "athanor check", ...wait, signal: options.signal }), options.signal, {
        stopped: "check stopped: its query was cancelled; it changes nothing",
      });
      await session.query("SELECT 1");
      const version = await session.serverVersion();
      add({ check: "reachable", status: "ok", message: `connected to ${env.redactedUrl} (PostgreSQL ${Math.floor(version / 10000)}.${version % 10000 >= 100 ? Math.floor((version % 10000) / 100) : version % 100})` });
    } catch (error) {
      // An interruption is not a finding about the database, and a PGlite directory held past
      // --lock-wait is busy, not broken: the check stops (130/143, or 4 naming the holder) as every
      // command does — unless it reports several environments, where it is that one's finding.
      if (!isAthanorError(error) || error instanceof InterruptedError) throw error;
      if (endsLockWait(error) && options.heldDatabase !== "finding") throw error;
      add({ check: "reachable", status: "error", message: error.message, code: error.code, fix: error.hint ?? "Check the url, the server and the network." });
      session?.close().catch(() => {});
      session = null;
    }
  }
  try {
    for (const step of checkSteps) await step(env, session, report);
  } finally {
    await session?.close();
  }
  report.ok = report.findings.every((finding) => finding.status !== "error");
  return report;
}
