/**
 * `replicaLag` (docs/replicas.md): between two revisions, on the primary, wait until every
 * streaming standby has replayed to within `max` of the primary, so a long run of heavy
 * revisions never leaves the standbys minutes behind.
 *
 * How far behind a standby is, honestly: PostgreSQL's `replay_lag` is the age, when the
 * standby last replied, of the WAL it had replayed by then. It is stale by the time since
 * that reply (`reply_time`; up to `wal_receiver_status_interval` while the standby only
 * replays), and NULL once the standby caught up and WAL went quiet. So:
 * - a standby whose `replay_lsn` has reached the primary's current WAL position is 0 behind;
 * - otherwise its lag is `replay_lag` plus the age of its last reply (an upper bound: it
 *   may have replayed more since), and when `replay_lag` is NULL while WAL is still
 *   unreplayed, the lag is unknown and counts as over the limit (the byte gap is shown).
 * Never under-reporting costs at most one status interval of waiting.
 */
import type { Session } from "../dialects/types.js";
import { ConfigError, DatabaseError } from "../errors.js";
import type { EventInput } from "./events.js";
import { interrupted, sleep } from "./lock.js";

/** One standby as the primary sees it (a row of pg_stat_replication). */
export interface StandbyLag {
  /** `application_name (client address)`, for messages. */
  readonly name: string;
  /** Milliseconds behind (see the module comment), or null: unknown. */
  readonly lagMs: number | null;
  /** WAL bytes the standby has not replayed yet. */
  readonly behindBytes: number;
}

interface ReplicationRow {
  application_name: string | null;
  client_addr: string | null;
  state: string | null;
  behind_bytes: number | string | null;
  replay_lag_ms: number | string | null;
  reply_age_ms: number | string | null;
}

const REPLICATION_SQL = `SELECT application_name, host(client_addr) AS client_addr, state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS behind_bytes,
       (extract(epoch FROM replay_lag) * 1000)::float8 AS replay_lag_ms,
       (extract(epoch FROM clock_timestamp() - reply_time) * 1000)::float8 AS reply_age_ms
  FROM pg_catalog.pg_stat_replication`;

function numberOrNull(value: number | string | null): number | null {
  if (value === null) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/**
 * The lag of one pg_stat_replication row, or null for a row that is not a standby
 * replaying WAL (a base backup's sender). Pure.
 */
export function standbyLag(row: ReplicationRow): StandbyLag | null {
  if (row.state !== "streaming" && row.state !== "catchup") return null;
  const name = `${row.application_name || "standby"}${row.client_addr ? ` (${row.client_addr})` : ""}`;
  const behindBytes = Math.max(0, numberOrNull(row.behind_bytes) ?? 0);
  if (numberOrNull(row.behind_bytes) !== null && behindBytes === 0) return { name, lagMs: 0, behindBytes };
  const replayLag = numberOrNull(row.replay_lag_ms);
  if (replayLag === null) return { name, lagMs: null, behindBytes };
  return { name, lagMs: replayLag + Math.max(0, numberOrNull(row.reply_age_ms) ?? 0), behindBytes };
}

/**
 * Reads every standby's lag on the primary.
 * @throws ConfigError `replica-lag-unreadable` when the role may not see the replay positions
 */
export async function readStandbyLags(session: Session): Promise<StandbyLag[]> {
  const { rows } = await session.query<ReplicationRow>(REPLICATION_SQL);
  // Without pg_read_all_stats, every column but the sender's identity reads NULL.
  if (rows.some((row) => row.state === null)) {
    throw new ConfigError("replica-lag-unreadable", "replicaLag is set but this role cannot read the standbys' replay positions in pg_stat_replication (they read as NULL)", {
      hint: "Grant the migration role pg_monitor (GRANT pg_monitor TO <role>), or remove replicaLag from the environment.",
    });
  }
  return rows.map(standbyLag).filter((lag): lag is StandbyLag => lag !== null);
}

/** The standby that is furthest over the limit, or null when every one is within it. */
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
  readonly signal?: AbortSignal | undefined;
  readonly emit: (event: EventInput) => void;
  /** How often to look again (default 200 ms). */
  readonly pollMs?: number | undefined;
}

/** How often a long wait is reported again. */
const REPORT_EVERY_MS = 5_000;

/**
 * Waits until every standby is within `maxMs`; returns at once when they are (or when
 * there is none). Emits `replica-wait` when waiting starts, every 5 s while it lasts, and
 * once more (`done`) when it ends.
 * @throws DatabaseError `replica-lag-timeout` after `waitMs`
 * @throws InterruptedError when `signal` aborts
 */
export async function waitForReplicas(session: Session, options: WaitForReplicasOptions): Promise<void> {
  const started = Date.now();
  let reported = -Infinity;
  let last: StandbyLag | null = null;
  for (;;) {
    if (options.signal?.aborted) throw interrupted(options.signal);
    const worst = worstOverLimit(await readStandbyLags(session), options.maxMs);
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
