import { describe, expect, it } from "vitest";
import { runOverFleet, type FleetCounts } from "./run.js";

/** Work that records when each target starts and ends, and fails for the names in `failing`. */
function recorder(failing: readonly string[] = [], delayMs = 5) {
  const log: string[] = [];
  let running = 0;
  let peak = 0;
  const work = async (name: string): Promise<string> => {
    running += 1;
    peak = Math.max(peak, running);
    log.push(`start ${name}`);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    running -= 1;
    log.push(`end ${name}`);
    if (failing.includes(name)) throw new Error(`${name} failed`);
    return `${name} done`;
  };
  return { log, work, peak: () => peak };
}

const targets = ["c1", "c2", "t1", "t2", "t3", "t4", "t5"];
const name = (target: string) => target;

describe("runOverFleet", () => {
  it("runs the canaries alone and one at a time, then the rest at most `parallel` at once", async () => {
    const { log, work, peak } = recorder();
    const outcomes = await runOverFleet(targets, work, { parallel: 3, canary: 2, onFailure: "stop" }, name);
    expect(log.slice(0, 4)).toEqual(["start c1", "end c1", "start c2", "end c2"]);
    expect(peak()).toBe(3);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(7).fill("ok"));
    expect(outcomes.map((outcome) => outcome.target)).toEqual(targets);
  });

  it("stop: no target starts after a failure; the running ones finish", async () => {
    const { work } = recorder(["t2"]);
    const outcomes = await runOverFleet(targets, work, { parallel: 2, canary: 0, onFailure: "stop" }, name);
    expect(outcomes.map((outcome) => `${outcome.target}:${outcome.status}`)).toEqual(["c1:ok", "c2:ok", "t1:ok", "t2:failed", "t3:ok", "t4:skipped", "t5:skipped"]);
  });

  it("stop: an error the caller says does not stop the fleet (a lock timeout) lets the others start", async () => {
    const { work } = recorder(["t1"]);
    const outcomes = await runOverFleet(targets, work, { parallel: 1, canary: 0, onFailure: "stop", stopsFleet: () => false }, name);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["ok", "ok", "failed", "ok", "ok", "ok", "ok"]);
  });

  it("continue: every target runs, the failures are recorded", async () => {
    const { work } = recorder(["t2", "t4"]);
    const outcomes = await runOverFleet(targets, work, { parallel: 2, canary: 0, onFailure: "continue" }, name);
    expect(outcomes.filter((outcome) => outcome.status === "failed").map((outcome) => outcome.target)).toEqual(["t2", "t4"]);
    expect(outcomes.filter((outcome) => outcome.status === "ok")).toHaveLength(5);
  });

  it("a failed canary stops the fleet whatever the policy", async () => {
    const { work } = recorder(["c1"]);
    const outcomes = await runOverFleet(targets, work, { parallel: 4, canary: 2, onFailure: "continue" }, name);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["failed", ...Array(6).fill("skipped")]);
  });

  it("an aborted signal starts nothing new; the skipped ones say interrupted", async () => {
    const controller = new AbortController();
    const { work } = recorder();
    const outcomes = await runOverFleet(targets, (target) => (target === "c2" && controller.abort("SIGINT"), work(target)), { parallel: 1, canary: 0, onFailure: "continue", signal: controller.signal }, name);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["ok", "ok", "skipped", "skipped", "skipped", "skipped", "skipped"]);
    expect(outcomes[2]).toEqual({ target: "t1", status: "skipped", reason: "interrupted" });
  });

  it("reports the counts as targets start and end", async () => {
    const seen: FleetCounts[] = [];
    const { work } = recorder(["t1"]);
    await runOverFleet(["t1", "t2"], work, { parallel: 2, canary: 0, onFailure: "continue", onChange: (counts) => seen.push(counts) }, name);
    expect(seen.at(-1)).toEqual({ total: 2, done: 2, running: 0, failed: 1 });
    expect(seen[1]).toEqual({ total: 2, done: 0, running: 2, failed: 0 });
  });
});
