import { describe, expect, it } from "vitest";
import { formatFleetProgressLine } from "./fleet-progress.js";

describe("formatFleetProgressLine", () => {
  const state = { environment: "prod", total: 100, done: 12, running: 4, failed: 0, revisions: 240, elapsedMs: 4_000 };
  it.each([
    ["no failure", state, 200, "prod: 12/100 targets done · 4 running · 240 revisions applied · 4.0 s"],
    ["a failure", { ...state, failed: 1 }, 200, "prod: 12/100 targets done · 4 running · 1 failed · 240 revisions applied · 4.0 s"],
    ["one target, one revision", { ...state, total: 1, done: 0, running: 1, revisions: 1 }, 200, "prod: 0/1 target done · 1 running · 1 revision applied · 4.0 s"],
    ["cut to the width", state, 20, "prod: 12/100 target…"],
  ])("%s", (_name, input, width, expected) => {
    expect(formatFleetProgressLine(input, width)).toBe(expected);
  });
});
