import { describe, expect, it } from "vitest";
import { timeoutSettings } from "./timeouts.js";

describe("timeoutSettings (the online session and the offline script)", () => {
  it.each([
    [{ lockTimeoutMs: null, statementTimeoutMs: null }, []],
    [{ lockTimeoutMs: 5000, statementTimeoutMs: null }, ["SET lock_timeout = 5000"]],
    [{ lockTimeoutMs: null, statementTimeoutMs: 900_000 }, ["SET statement_timeout = 900000"]],
    [{ lockTimeoutMs: 0.4, statementTimeoutMs: 1500.6 }, ["SET lock_timeout = 0", "SET statement_timeout = 1501"]],
  ] as const)("%o → %o", (env, expected) => {
    expect(timeoutSettings(env)).toEqual(expected);
  });
});
