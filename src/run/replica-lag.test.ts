import { describe, expect, it } from "vitest";
import { describeLag, standbyLag, worstOverLimit, type ReplicationRow, type WalSample } from "./replica-lag.js";

const row = (fields: Partial<ReplicationRow>): ReplicationRow => ({
  application_name: "walreceiver",
  client_addr: "127.0.0.1",
  state: "streaming",
  replay_pos: 1000,
  now_pos: 1000,
  now_ms: 10_000,
  replay_lag_ms: null,
  reply_age_ms: null,
  ...fields,
});

const samples: WalSample[] = [
  { pos: 100, ms: 1_000 },
  { pos: 500, ms: 4_000 },
  { pos: 900, ms: 9_000 },
];

describe("standbyLag", () => {
  it.each<[string, Partial<ReplicationRow>, readonly WalSample[], number | null]>([
    ["caught up: 0, whatever replay_lag says", { replay_pos: 1000, replay_lag_ms: 7_000 }, samples, 0],
    ["behind: time since the latest sample it has replayed (an upper bound)", { replay_pos: 600 }, samples, 6_000],
    ["replay_lag cannot lower the bound (a standby waiting before a commit reports little)", { replay_pos: 600, replay_lag_ms: 5 }, samples, 6_000],
    ["exactly at a sample's position: that sample counts", { replay_pos: 900 }, samples, 1_000],
    ["before every sample: replay_lag plus the age of the reply", { replay_pos: 50, replay_lag_ms: 1_500, reply_age_ms: 700 }, samples, 2_200],
    ["before every sample and no replay_lag: unknown", { replay_pos: 50 }, samples, null],
    ["no sample yet (the first boundary): replay_lag plus reply age", { replay_pos: 900, replay_lag_ms: 300, reply_age_ms: 200 }, [], 500],
    ["nothing replayed yet, nothing known: unknown", { replay_pos: null }, samples, null],
  ])("%s", (_name, fields, history, expected) => {
    expect(standbyLag(row(fields), history)?.lagMs).toBe(expected);
  });

  it("counts the WAL not replayed yet, and ignores senders that are not standbys (a base backup)", () => {
    expect(standbyLag(row({ replay_pos: 600 }), samples)).toEqual({ name: "walreceiver (127.0.0.1)", lagMs: 6_000, behindBytes: 400 });
    expect(standbyLag(row({ state: "backup" }), samples)).toBeNull();
    expect(standbyLag(row({ state: "catchup", replay_pos: 600 }), samples)?.lagMs).toBe(6_000);
  });
});

describe("worstOverLimit", () => {
  const lag = (name: string, lagMs: number | null) => ({ name, lagMs, behindBytes: 2_097_152 });
  it("is null when every standby is within the limit (or there is none)", () => {
    expect(worstOverLimit([], 1_000)).toBeNull();
    expect(worstOverLimit([lag("a", 0), lag("b", 1_000)], 1_000)).toBeNull();
  });
  it("names the furthest behind, an unknown lag first", () => {
    expect(worstOverLimit([lag("a", 1_500), lag("b", 3_000), lag("c", 200)], 1_000)?.name).toBe("b");
    expect(worstOverLimit([lag("a", 1_500), lag("b", null)], 1_000)?.name).toBe("b");
  });
  it("describes a lag in seconds, an unknown one by its WAL", () => {
    expect(describeLag(lag("a", 12_345))).toBe("12.3 s");
    expect(describeLag(lag("a", null))).toBe("an unknown time (2.0 MB of WAL)");
  });
});
