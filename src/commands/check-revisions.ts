/**
 * The engine's step of `athanor check`: the revision graph is sound, the applied
 * revisions' checksums match their files, no non-transactional revision is left
 * unfinished (nor an invalid index it left behind), and which revisions are pending.
 * Read-only, like the rest of `check`.
 */
import { databaseMissing } from "../dialects/open.js";
import type { ResolvedEnvironment } from "../config/types.js";
import type { Session } from "../dialects/types.js";
import { InterruptedError, isAthanorError } from "../errors.js";
import { classifyState } from "../plan/plan.js";
import type { RevisionGraph } from "../revisions/graph.js";
import { loadRevisionGraph, projectCacheDir } from "../revisions/script-directory.js";
import { findStateProblems } from "../run/problems.js";
import { readAppliedState, versionTables } from "../run/version-table.js";
import type { EnvironmentCheckReport, Finding } from "./check.js";

/** Adds the revision findings of one environment to its check report. */
export async function checkRevisions(env: ResolvedEnvironment, session: Session | null, report: EnvironmentCheckReport): Promise<void> {
  const add = (finding: Finding) => {
    report.findings.push(finding);
    if (finding.status === "error") report.ok = false;
  };
  let graph: RevisionGraph;
  try {
    graph = await loadRevisionGraph(env.migrationsDir, { cacheDir: projectCacheDir(env.rootDir) });
  } catch (error) {
    if (!isAthanorError(error)) throw error;
    add({ check: "revisions", status: "error", message: error.message, code: error.code, ...(error.hint ? { fix: error.hint } : {}) });
    return;
  }
  const heads = graph.heads();
  add({
    check: "revisions",
    status: heads.length > 1 ? "warning" : "ok",
    message: `${graph.size} revision${graph.size === 1 ? "" : "s"} in ${env.migrationsDir}${heads.length === 0 ? "" : `, head${heads.length === 1 ? "" : "s"} ${heads.join(", ")}`}`,
    ...(heads.length > 1 ? { fix: `Merge the heads with \`athanor merge -m "merge" ${heads.join(" ")}\`, or upgrade with \`heads\` / \`<label>@head\`.` } : {}),
  });

  if (session === null) {
    // A PGlite database not created yet holds nothing: everything is pending.
    if (databaseMissing(env.target)) report.pending = graph.topologicalOrder();
    return;
  }
  let state;
  try {
    state = await readAppliedState(session, env.versionTable);
  } catch (error) {
    // An interruption (SIGINT/SIGTERM while the table was locked) stops the check: it says nothing about the table.
    if (!isAthanorError(error) || error instanceof InterruptedError) throw error;
    add({ check: "version-table", status: "error", message: `cannot read ${versionTables(env.versionTable).display}: ${error.message}`, code: error.code, fix: error.hint ?? "Check that the database user may read the version table." });
    return;
  }
  if (state === null) {
    add({ check: "version-table", status: "ok", message: `${versionTables(env.versionTable).display} does not exist yet (nothing applied); the first upgrade creates it` });
    report.pending = graph.topologicalOrder();
    return;
  }
  const problems = findStateProblems(graph, state);
  const mismatches = problems.filter((problem) => problem.code === "checksum-mismatch");
  if (mismatches.length === 0) {
    const applied = state.rows.filter((row) => row.state === "applied" && graph.has(row.revision)).length;
    add({ check: "checksums", status: "ok", message: `the ${applied} applied revision${applied === 1 ? "" : "s"} match${applied === 1 ? "es" : ""} ${applied === 1 ? "its file" : "their files"}` });
  }
  for (const problem of problems) {
    add({ check: problem.code === "checksum-mismatch" ? "checksums" : problem.code === "unfinished-revision" ? "unfinished" : "applied-revisions", status: "error", message: problem.message, code: problem.code, fix: problem.hint });
  }
  const invalid = await invalidIndexes(session);
  for (const index of invalid) {
    add({
      check: "invalid-indexes",
      status: "warning",
      message: `index ${index} is invalid (a CREATE INDEX CONCURRENTLY that failed or was interrupted leaves one behind)`,
      fix: `DROP INDEX CONCURRENTLY ${index}; then create it again (re-run the revision, after \`athanor resolve\` if it is unfinished).`,
    });
  }
  const classified = classifyState(graph, state.ids);
  report.pending = [...classified.pending];
  add({
    check: "state",
    status: "ok",
    message: `${classified.state}: current ${classified.current.length === 0 ? "none" : classified.current.join(", ")}${classified.pending.length > 0 ? `, ${classified.pending.length} pending` : ""}`,
  });
}

async function invalidIndexes(session: Session): Promise<string[]> {
  try {
    const result = await session.query<{ name: string }>(
      "SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid ORDER BY 1",
    );
    return result.rows.map((row) => row.name);
  } catch (error) {
    if (error instanceof InterruptedError) throw error;
    return [];
  }
}
