import { describe, expect, it } from "vitest";
import type { MigrationEvent } from "../run/events.js";
import { createProgress, formatDuration, formatProgressLine } from "./progress.js";

describe("formatDuration", () => {
  it.each([
    [0, "0 ms"],
    [420.4, "420 ms"],
    [4_260, "4.2 s"],
    [59_999, "59.9 s"],
    [125_000, "2 min 05 s"],
    [3_720_000, "1 h 02 min"],
  ])("%d ms → %s", (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe("formatProgressLine", () => {
  const state = { direction: "up", revision: "3f2a9c1d0b7e", message: "add orders table", index: 3, total: 20, revisionElapsedMs: 1_200, elapsedMs: 4_000 } as const;

  it("shows the running revision, how many are left and the elapsed time", () => {
    expect(formatProgressLine(state, 120)).toBe("[3/20] applying 3f2a9c1d0b7e add orders table · 1.2 s · 17 left · 4.0 s elapsed");
  });

  it("never exceeds the width (a wrapped line cannot be redrawn)", () => {
    for (const width of [20, 40, 60, 75]) expect(formatProgressLine({ ...state, message: "x".repeat(200) }, width).length).toBeLessThanOrEqual(width);
  });

  it("says when it is the last one", () => {
    expect(formatProgressLine({ ...state, index: 20, direction: "down" }, 200)).toContain("reverting 3f2a9c1d0b7e add orders table · 1.2 s · last one");
  });
});

describe("createProgress", () => {
  const base = { time: "2026-01-01T00:00:00.000Z", environment: "testing" };
  const events: MigrationEvent[] = [
    { ...base, type: "command-start", command: "upgrade", url: "pglite://memory", mode: "online" },
    { ...base, type: "revision-start", revision: "aaaaaaaaaaaa", message: "one", file: "a.sql", direction: "up", transactional: true, index: 1, total: 2 },
    { ...base, type: "revision-end", revision: "aaaaaaaaaaaa", message: "one", file: "a.sql", direction: "up", durationMs: 5, outcome: "success" },
    { ...base, type: "revision-start", revision: "bbbbbbbbbbbb", message: "two", file: "b.sql", direction: "up", transactional: true, index: 2, total: 2 },
    { ...base, type: "revision-end", revision: "bbbbbbbbbbbb", message: "two", file: "b.sql", direction: "up", durationMs: 7, outcome: "failed", error: { code: "migration-failed", message: "boom" } },
    { ...base, type: "command-end", command: "upgrade", durationMs: 20, outcome: "failed", completed: 1 },
  ];

  it("redraws one line and leaves one clean line per revision, erased before other output", () => {
    let screen = "";
    let clock = 0;
    const progress = createProgress({ write: (text) => (screen += text), now: () => clock, intervalMs: 1_000_000, columns: 100 });
    const sink = progress.wrap((event) => {
      if (event.type === "command-end") screen += "[renderer] done\n";
    });
    for (const event of events) {
      clock += 100;
      sink(event);
    }
    // What a terminal shows: apply each \r\x1b[2K as "erase the current line".
    const lines: string[] = [];
    let current = "";
    for (const part of screen.split(/(\r\x1b\[2K|\n)/)) {
      if (part === "\r\x1b[2K") current = "";
      else if (part === "\n") {
        lines.push(current);
        current = "";
      } else current += part;
    }
    expect(current).toBe("");
    expect(lines).toEqual(["✓ [1/2] applied aaaaaaaaaaaa one (5 ms)", "✗ [2/2] bbbbbbbbbbbb two failed after 7 ms: boom", "[renderer] done"]);
    expect(screen).toContain("[1/2] applying aaaaaaaaaaaa one");
    progress.stop();
  });
});
