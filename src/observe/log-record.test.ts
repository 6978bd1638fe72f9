import { describe, expect, it } from "vitest";
import type { EventInput, MigrationEvent } from "../run/events.js";
import { LogRecordFormatter } from "./log-record.js";

const time = "2026-01-02T03:04:05.000Z";
const environment = "production";

function run(events: readonly EventInput[]) {
  const formatter = new LogRecordFormatter("1.2.3");
  return events.map((event) => formatter.format({ ...event, time, environment } as MigrationEvent));
}

describe("LogRecordFormatter", () => {
  const start = { type: "command-start", command: "upgrade", url: "postgresql://app:***@db:5432/prod", mode: "online" } as const;

  it("gives every record the common fields", () => {
    const [record] = run([start]);
    expect(record).toEqual({
      level: "info",
      msg: "upgrade started on production",
      fields: { time, event: "command-start", environment, toolVersion: "1.2.3", command: "upgrade", url: "postgresql://app:***@db:5432/prod", mode: "online" },
    });
  });

  it("describes a revision that succeeded, counting its echoed statements", () => {
    const records = run([
      start,
      { type: "revision-start", revision: "3f2a9c1d0b7e", message: "add orders", file: "3f2a_add.sql", direction: "up", transactional: true, index: 1, total: 2 },
      { type: "statement", revision: "3f2a9c1d0b7e", file: "3f2a_add.sql", line: 7, sql: "CREATE TABLE orders ()" },
      { type: "statement", revision: "3f2a9c1d0b7e", file: "3f2a_add.sql", line: 8, sql: "CREATE INDEX ON orders (id)" },
      { type: "revision-end", revision: "3f2a9c1d0b7e", message: "add orders", file: "3f2a_add.sql", direction: "up", durationMs: 12, outcome: "success" },
    ]);
    expect(records[1]?.level).toBe("debug");
    expect(records[2]?.fields).toMatchObject({ event: "statement", sql: "CREATE TABLE orders ()", line: 7, command: "upgrade" });
    expect(records[4]).toEqual({
      level: "info",
      msg: "applied 3f2a9c1d0b7e add orders in 12 ms",
      fields: {
        time,
        event: "revision-end",
        environment,
        toolVersion: "1.2.3",
        command: "upgrade",
        revision: "3f2a9c1d0b7e",
        message: "add orders",
        file: "3f2a_add.sql",
        direction: "up",
        durationMs: 12,
        statements: 2,
        outcome: "success",
      },
    });
  });

  it("prefers the statement count and statement duration the runtime reports", () => {
    const records = run([
      { type: "revision-start", revision: "aaaaaaaaaaaa", message: "", file: "a.sql", direction: "down", transactional: true, index: 1, total: 1 },
      { type: "statement", revision: "aaaaaaaaaaaa", file: "a.sql", line: null, sql: "DROP TABLE t", durationMs: 3 },
      { type: "revision-end", revision: "aaaaaaaaaaaa", message: "", file: "a.sql", direction: "down", durationMs: 5, outcome: "success", statements: 4 },
    ]);
    expect(records[1]?.fields.durationMs).toBe(3);
    expect(records[2]?.fields.statements).toBe(4);
    expect(records[2]?.msg).toBe("reverted aaaaaaaaaaaa in 5 ms");
  });

  it("logs a failed revision and command at level error with the error", () => {
    const error = { code: "migration-failed", message: "relation \"x\" does not exist", hint: "fix it" };
    const records = run([
      start,
      { type: "revision-end", revision: "bbbbbbbbbbbb", message: "broken", file: "b.sql", direction: "up", durationMs: 4, outcome: "failed", error },
      { type: "command-end", command: "upgrade", durationMs: 40, outcome: "failed", completed: 1, current: ["aaaaaaaaaaaa"], error },
    ]);
    expect(records[1]).toMatchObject({ level: "error", fields: { outcome: "failed", error } });
    expect(records[1]?.msg).toBe('upgrade of bbbbbbbbbbbb broken failed: relation "x" does not exist');
    expect(records[2]).toMatchObject({
      level: "error",
      fields: { event: "command-end", url: "postgresql://app:***@db:5432/prod", mode: "online", startedAt: time, durationMs: 40, outcome: "failed", completed: 1, current: ["aaaaaaaaaaaa"], error },
    });
  });

  it("summarises a plan and a lock wait", () => {
    const records = run([
      { type: "lock-wait", holder: "pid 42 (athanor upgrade (production)) since 10:00", waitMs: 60000 },
      {
        type: "plan",
        command: "upgrade",
        direction: "up",
        target: "head",
        current: [],
        revisions: [{ revision: "aaaaaaaaaaaa", message: "a", file: "a.sql", direction: "up", transactional: true }],
        singleTransaction: false,
      },
      { type: "plan", command: "upgrade", direction: "up", target: "head", current: ["aaaaaaaaaaaa"], revisions: [], singleTransaction: false },
    ]);
    expect(records[0]).toMatchObject({ level: "warn", fields: { holder: "pid 42 (athanor upgrade (production)) since 10:00", waitMs: 60000 } });
    expect(records[1]).toMatchObject({ msg: "1 revision to upgrade (target head)", fields: { revisions: ["aaaaaaaaaaaa"], total: 1, current: [] } });
    expect(records[2]?.msg).toBe("nothing to upgrade: already at head");
  });
});
