/**
 * `replicaLag` (docs/replicas.md): before each revision, on the primary, wait until every
 * streaming standby is within `max` of the primary, so a run of heavy revisions never
 * leaves the standbys far behind.
 *
 * How far behind a standby is, honestly. PostgreSQL's `replay_lag` does not say it: it is
 * the lag of the last WAL position the standby replayed, as of its last reply (stale by up
 * to `wal_receiver_status_interval`), small while the standby waits before a commit, and
 * NULL once WAL goes quiet. The byte gap (`pg_wal_lsn_diff`) is exact but is not a time.
 * So the waiter keeps its own clock: each time it looks it records the primary's WAL
 * position and time (`pg_current_wal_insert_lsn()`, `clock_timestamp()`). A standby that has
 * replayed up to position P has everything the primary had written at the latest sample
 * at or below P: its lag is at most the time since that sample. That upper bound is what
 * is compared with `max` (never under-reported; samples are taken at every revision
 * boundary, so it overstates by at most one revision). A standby that has replayed
 * everything is 0 behind. Before the first sample, PostgreSQL's `replay_lag` plus the age
 * of its reply stands in, and when that is NULL too the lag is unknown and counts as over.
 * The primary's position is its insert position, not its write position: a commit made
 * without waiting for the WAL flush (`synchronous_commit = off`, athanor's lazy commits)
 * may not be written yet, and a standby level with the write position would look caught
 * up while lacking that commit.
 */
import type { AbortSignalLike } from "../dialects/types.js";
import type { Session } from "../dialects/types.js";
import { ConfigError, DatabaseError } from "../errors.js";
import type { EventInput } from "./events.js";
import { interrupted, sleep } from "./lock.js";

/** One standby as the primary sees it. */
export interface StandbyLag {
  /** `application_name (client address)`, for messages. */
  readonly name: string;
  /** Milliseconds behind, at most (see the module comment), or null: unknown. */
  readonly lagMs: number | null;
  /** WAL bytes the standby has not replayed yet. */
  readonly behindBytes: number;
}

/** A row of {@link REPLICATION_SQL}. */
export interface ReplicationRow {
  application_name: string | null;
  client_addr: string | null;
  state: string | null;
  /** Bytes of WAL from the start of WAL to the standby's replay position (null: nothing replayed yet). */
  replay_pos: number | string | null;
  /** The same for the primary's current position, and the primary's clock, in ms since the epoch. */
  now_pos: number | string;
  now_ms: number | string;
  replay_lag_ms: number | string | null;
  reply_age_ms: number | string | null;
}

/** The primary's WAL position (bytes) at a time (ms since the epoch, the primary's clock). */
export interface WalSample {
  readonly pos: number;
  readonly ms: number;
}

// Positions as float8 byte offsets: exact up to 2^53 bytes (8 PB) of WAL.
const REPLICATION_SQL = `SELECT r.application_name, host(r.client_addr) AS client_addr, r.state,
       pg_wal_lsn_diff(r.replay_lsn, '0/0')::float8 AS replay_pos,
       pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::float8 AS now_pos,
       (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now_ms,
       (extract(epoch FROM r.replay_lag) * 1000)::float8 AS replay_lag_ms,
       (extract(epoch FROM clock_timestamp() - r.reply_time) * 1000)::float8 AS reply_age_ms
  FROM pg_catalog.pg_stat_replication r`;

function numberOrNull(value: number | string | null): number | null {
  if (value === null) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/**
 * The lag of one standby given the samples taken so far (oldest first), or null for a
 * row that is not a standby replaying WAL (a base backup's sender). Pure.
 */
export function standbyLag(row: ReplicationRow, samples: readonly WalSample[]): StandbyLag | null {
  if (row.state !== "streaming" && row.state !== "catchup") return null;
  const name = `${row.application_name || "standby"}${row.client_addr ? ` (${row.client_addr})` : ""}`;
  const nowPos = Number(row.now_pos);
  const nowMs = Number(row.now_ms);
  const replayed = numberOrNull(row.replay_pos);
  const behindBytes = replayed === null ? nowPos : Math.max(0, nowPos - replayed);
  if (replayed !== null && replayed >= nowPos) return { name, lagMs: 0, behindBytes: 0 };
  let covered: WalSample | undefined;
  if (replayed !== null) for (const sample of samples) if (sample.pos <= replayed) covered = sample;
  if (covered !== undefined) return { name, lagMs: Math.max(0, nowMs - covered.ms), behindBytes };
  const replayLag = numberOrNull(row.replay_lag_ms);
  if (replayLag === null) return { name, lagMs: null, behindBytes };
  return { name, lagMs: replayLag + Math.max(0, numberOrNull(row.reply_age_ms) ?? 0), behindBytes };
}

/**
 * Reads every standby's lag on the primary, and records the primary's position in `samples`.
 * @throws ConfigError `replica-lag-unreadable` when the role may not see the replay positions
 */
export async function readStandbyLags(session: Session, samples: WalSample[]): Promise<StandbyLag[]> {
  const { rows } = await session.query<ReplicationRow>(REPLICATION_SQL);
  // Without pg_read_all_stats, every column but the sender's identity reads NULL.
  if (rows.some((row) => row.state === null)) {
    throw new ConfigError("replica-lag-unreadable", "replicaLag is set but this role cannot read the standbys' replay positions in pg_stat_replication (they read as NULL)", {
      hint: "Grant the migration role pg_monitor (GRANT pg_monitor TO <role>), or remove replicaLag from the environment.",
    });
  }
  const lags = rows.map((row) => standbyLag(row, samples)).filter((lag): lag is StandbyLag => lag !== null);
  const first = rows[0];
  if (first !== undefined) samples.push({ pos: Number(first.now_pos), ms: Number(first.now_ms) });
  // Samples older than every standby's position are never consulted again.
  if (samples.length > 1000) samples.splice(0, samples.length - 1000);
  return lags;
}

/** The standby that is furthest over the limit, or null when every one is within it. Pure. */
export function worstOverLimit(lags: readonly StandbyLag[], maxMs: number): StandbyLag | null {
  let worst: StandbyLag | null = null;
  for (const lag of lags) {
    if (lag.lagMs !== null && lag.lagMs <= maxMs) continue;
    if (worst === null || (worst.lagMs !== null && (lag.lagMs === null || lag.lagMs > worst.lagMs))) worst = lag;
  }
  return worst;
}

/** Options of {@link waitForReplicas}. */
export interface WaitForReplicasOptions {
  readonly maxMs: number;
  /** Give up after this long. */
  readonly waitMs: number;
  /** The revision that waits to start, for messages. */
  readonly next: string;
  readonly signal?: AbortSignalLike | undefined;
  readonly emit: (event: EventInput) => void;
  /** How often to look again (default 200 ms). */
  readonly pollMs?: number | undefined;
}

/** How often a long wait is reported again. */
const REPORT_EVERY_MS = 5_000;

/**
 * Waits until every standby is within `maxMs`; returns at once when they are (or when
 * there is none). `samples` is the run's history of the primary's WAL positions (one
 * array per run, empty at first): this call adds to it. Emits `replica-wait` when waiting starts, every 5 s while it lasts, and
 * once more (`done`) when it ends.
 * @throws DatabaseError `replica-lag-timeout` after `waitMs`
 * @throws InterruptedError when `signal` aborts
 */
export async function waitForReplicas(session: Session, samples: WalSample[], options: WaitForReplicasOptions): Promise<void> {
  const started = Date.now();
  let reported = -Infinity;
  let last: StandbyLag | null = null;
  for (;;) {
    if (options.signal?.aborted) throw interrupted(options.signal);
    const worst = worstOverLimit(await readStandbyLags(session, samples), options.maxMs);
    const waited = Date.now() - started;
    if (worst === null) {
      if (last !== null) options.emit({ type: "replica-wait", standby: last.name, lagMs: 0, maxMs: options.maxMs, behindBytes: 0, waitedMs: waited, next: options.next, done: true });
      return;
    }
    last = worst;
    if (waited - reported >= REPORT_EVERY_MS) {
      reported = waited;
      options.emit({ type: "replica-wait", standby: worst.name, lagMs: worst.lagMs, maxMs: options.maxMs, behindBytes: worst.behindBytes, waitedMs: waited, next: options.next, done: false });
    }
    if (waited >= options.waitMs) {
      throw new DatabaseError("replica-lag-timeout", `standby ${worst.name} is still ${describeLag(worst)} behind (limit ${seconds(options.maxMs)}) after waiting ${seconds(options.waitMs)}; stopped before revision ${options.next}`, {
        hint: `The revisions before ${options.next} are applied. Check the standby (pg_stat_replication on the primary, the standby's server log), then run the same command again to continue; raise replicaLag.wait to wait longer.`,
        details: { standby: worst.name, lagMs: worst.lagMs, behindBytes: worst.behindBytes, maxMs: options.maxMs, waitMs: options.waitMs, next: options.next },
      });
    }
    await sleep(options.pollMs ?? 200, options.signal);
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}

/** `12.3 s` or `an unknown time (52.4 MB of WAL)`. Pure. */
export function describeLag(lag: Pick<StandbyLag, "lagMs" | "behindBytes">): string {
  const bytes = `${(lag.behindBytes / 1_048_576).toFixed(1)} MB of WAL`;
  return lag.lagMs === null ? `an unknown time (${bytes})` : `${(lag.lagMs / 1000).toFixed(1)} s`;
}
