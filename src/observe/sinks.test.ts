import { describe, expect, it } from "vitest";
import type { MigrationEvent } from "../run/events.js";
import { collectEvents, composeSinks } from "./sinks.js";
import { formatMessageLine, plainText } from "./message-line.js";

const event: MigrationEvent = { type: "lock-acquired", time: "2026-01-01T00:00:00.000Z", environment: "testing", waitedMs: 3 };

describe("composeSinks", () => {
  it("feeds every sink in order and skips missing ones", () => {
    const seen: string[] = [];
    composeSinks((e) => seen.push(`a ${e.type}`), null, undefined, false, (e) => seen.push(`b ${e.type}`))(event);
    expect(seen).toEqual(["a lock-acquired", "b lock-acquired"]);
  });

  it("keeps going when a sink throws, and never throws itself", () => {
    const { sink, events } = collectEvents();
    const composed = composeSinks(() => {
      throw new Error("exporter down");
    }, sink);
    expect(() => composed(event)).not.toThrow();
    expect(events).toEqual([event]);
    expect(() =>
      composeSinks(() => {
        throw new Error("alone");
      })(event),
    ).not.toThrow();
  });
});

describe("formatMessageLine", () => {
  it("writes one JSON line with the event lines' common fields, colours removed", () => {
    const line = formatMessageLine({ level: "warn", event: "message", msg: "\u001b[33mbackup: skipped\u001b[39m  ", toolVersion: "1.0.0", fields: { environment: "production" } }, new Date("2026-01-02T03:04:05.000Z"));
    expect(line.endsWith("\n")).toBe(true);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(["level", "pid", "hostname", "time", "event", "toolVersion", "environment", "msg"]);
    expect(parsed).toMatchObject({ level: "warn", time: "2026-01-02T03:04:05.000Z", event: "message", msg: "backup: skipped", pid: process.pid });
  });

  it("plainText strips ANSI sequences and trailing space", () => {
    expect(plainText("\u001b[1mbold\u001b[22m \u001b[2K\n")).toBe("bold");
  });
});
