import { describe, expect, it } from "vitest";
import { parseStackFrame, stackFrames } from "./stack-frames.js";

describe("parseStackFrame", () => {
  it.each([
    ["    at Timeout._onTimeout (/app/migrations/a_b.ts:6:53)", { file: "/app/migrations/a_b.ts", line: 6 }],
    ["    at /app/athanor.config.ts:2:9", { file: "/app/athanor.config.ts", line: 2 }],
    ["    at async upgrade (file:///app/m/x.mjs:3:9)", { file: "/app/m/x.mjs", line: 3 }],
    ["    at f (file:///app/m/x.mjs?version=4:3:9)", { file: "/app/m/x.mjs", line: 3 }],
    ["    at listOnTimeout (node:internal/timers:581:17)", null],
    ["    at new Promise (<anonymous>)", null],
    ["    at Array.map (native)", null],
  ])("%s", (text, expected) => {
    expect(parseStackFrame(text)).toEqual(expected);
  });
});

describe("stackFrames", () => {
  it("skips the message, even one that looks like a frame, and Node's own frames", () => {
    const stack = "Error: at /not/a/frame.ts:1:1\n    at /app/a.ts:1:2\n    at processTicksAndRejections (node:internal/process/task_queues:95:5)\n    at g (/app/b.ts:7:3)";
    expect(stackFrames(stack)).toEqual([
      { file: "/app/a.ts", line: 1 },
      { file: "/app/b.ts", line: 7 },
    ]);
  });

  it("is empty without a stack", () => {
    expect(stackFrames(undefined)).toEqual([]);
  });
});
