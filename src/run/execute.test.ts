import { describe, expect, it } from "vitest";
import { nextBatchSize } from "./execute.js";

describe("nextBatchSize", () => {
  it("doubles after a round trip within the budget, up to 64 revisions", () => {
    expect(nextBatchSize(1, 1, 5)).toBe(2);
    expect(nextBatchSize(32, 32, 60)).toBe(64);
    // 64 quick revisions that took 110 ms: the next round trip is as large, not back to one.
    expect(nextBatchSize(64, 64, 110)).toBe(64);
    // A short group (a TypeScript revision followed) keeps the allowance growing.
    expect(nextBatchSize(16, 3, 20)).toBe(32);
  });

  it("after a slow round trip, carries what its pace fits in the budget, at least one", () => {
    expect(nextBatchSize(64, 64, 1280)).toBe(25);
    expect(nextBatchSize(8, 8, 10_000)).toBe(1);
    expect(nextBatchSize(1, 1, 60_000)).toBe(1);
  });
});
