/**
 * `athanor current`: the environment's applied heads. Read-only: no lock, no table
 * created; a database without a version table (or a PGlite directory not created yet)
 * has no current revision.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import type { AbortSignalLike, Session } from "../dialects/types.js";
import { currentHeads } from "../plan/plan.js";
import type { RevisionGraph } from "../revisions/graph.js";
import { loadRevisionGraph, projectCacheDir } from "../revisions/script-directory.js";
import { openReadSession } from "../run/connect.js";
import { unfinishedRevisions, type UnfinishedRevision } from "../run/problems.js";
import { readAppliedRows, readAppliedState, readAppliedSummary, type AppliedRevisionState, type AppliedSummary } from "../run/version-table.js";

/** One current head, with what the files and the version row say about it. */
export interface CurrentHead {
  readonly revision: string;
  /** The revision's message, or null when no file defines it. */
  readonly message: string | null;
  /** Its file relative to the migrations directory, or null. */
  readonly file: string | null;
  /** True when it is also a head of the revision graph (nothing left to apply above it). */
  readonly isHead: boolean;
  readonly state: AppliedRevisionState;
  /** For `state: "started"`: whether its upgrade or its downgrade began and never finished. */
  readonly unfinished: UnfinishedRevision | null;
  readonly appliedAt: string;
  readonly appliedBy: string;
}

/** What {@link current} returns. `--json` prints `{ environment, current }`. */
export interface CurrentResult {
  readonly environment: string;
  /** Applied heads, parents first. Empty when nothing is applied. */
  readonly current: readonly string[];
  readonly heads: readonly CurrentHead[];
  /**
   * Non-transactional revisions whose upgrade or downgrade began and never finished: they
   * are recorded (a head among `current` when nothing applied stands above them) but
   * neither cleanly applied nor cleanly reverted. `--json` prints it when not empty.
   */
  readonly unfinished: readonly UnfinishedRevision[];
  /** False when the version table does not exist yet. */
  readonly versionTableExists: boolean;
}

/** Options of {@link current}. */
export interface CurrentOptions {
  readonly graph?: RevisionGraph | undefined;
  /** A session the caller owns. */
  readonly session?: Session | undefined;
  readonly connectTimeoutMs?: number | undefined;
  /** How long to wait for another process that has a PGlite directory open (default 60 s). */
  readonly lockWaitMs?: number | undefined;
  /** Aborts that wait. */
  readonly signal?: AbortSignalLike | undefined;
  /** Called once when that wait begins, with the holder. */
  readonly onLockWait?: ((holder: string) => void) | undefined;
}

/**
 * The applied heads of an environment.
 * @example
 * const { current: heads } = await current(env); // ["3f2a9c1d0b7e"]
 */
export async function current(env: ResolvedEnvironment, options: CurrentOptions = {}): Promise<CurrentResult> {
  // Headers only: `current` compares no checksum. The connection opens and the ids are
  // read while the directory is scanned (the scan yields between batches, so the
  // handshake and the query progress meanwhile); a broken directory is still the error reported.
  const opening = options.session !== undefined ? Promise.resolve(options.session) : openReadSession(env, "current", options);
  const reading = opening.then((session) => (session === null ? null : readAppliedSummary(session, env.versionTable)));
  reading.catch(() => {});
  let graph: RevisionGraph;
  try {
    graph = options.graph ?? (await loadRevisionGraph(env.migrationsDir, { cacheDir: projectCacheDir(env.rootDir), checksums: false }));
  } catch (error) {
    if (options.session === undefined) await opening.then((session) => reading.finally(() => session?.close())).catch(() => {});
    // The caller's session: leave it with no query of ours still running on it.
    else await reading.catch(() => {});
    throw error;
  }
  const session = await opening;
  try {
    const summary = await reading;
    if (session === null || summary === null) return { environment: env.name, current: [], heads: [], unfinished: [], versionTableExists: false };
    let read: AppliedSummary = summary;
    let ids = currentHeads(graph, summary.ids);
    // Only the heads' rows are printed: the summary's latest rows are usually they; any
    // other head's row is read alone.
    let rows = new Map(summary.latest.map((row) => [row.revision, row] as const));
    const missing = ids.filter((id) => !rows.has(id));
    const found = await readAppliedRows(session, env.versionTable, missing);
    for (const row of found) rows.set(row.revision, row);
    if (found.length < missing.length) {
      // A head's row went away between the two reads (another runner reverted it): read
      // every row in one query, one snapshot, and take the heads from that.
      const state = await readAppliedState(session, env.versionTable);
      if (state === null) return { environment: env.name, current: [], heads: [], unfinished: [], versionTableExists: false };
      read = state;
      ids = currentHeads(graph, state.ids);
      rows = new Map(state.rows.map((row) => [row.revision, row] as const));
    }
    const graphHeads = new Set(graph.heads());
    const unfinished = unfinishedRevisions(graph, read);
    const heads = ids.map((id): CurrentHead => {
      const file = graph.find(id);
      const row = rows.get(id);
      return {
        revision: id,
        message: file?.message ?? null,
        file: file?.relativePath ?? null,
        isHead: graphHeads.has(id),
        state: row?.state ?? "applied",
        unfinished: unfinished.find((u) => u.revision === id) ?? null,
        appliedAt: row?.appliedAt ?? "",
        appliedBy: row?.appliedBy ?? "",
      };
    });
    return { environment: env.name, current: ids, heads, unfinished, versionTableExists: true };
  } finally {
    if (options.session === undefined) await session?.close();
  }
}
