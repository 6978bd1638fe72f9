import { describe, expect, it } from "vitest";
import { isAthanorError } from "../errors.js";
import { validateConfig } from "./validate.js";

const config = (prod: Record<string, unknown>) => ({ environments: { prod } });

function problem(prod: Record<string, unknown>): { path: unknown; message: string; hint: string } | null {
  try {
    validateConfig(config(prod), "athanor.config.json");
    return null;
  } catch (error) {
    if (!isAthanorError(error)) throw error;
    return { path: error.details["path"], message: error.message, hint: error.hint ?? "" };
  }
}

describe("fleet keys", () => {
  it.each([
    ["targets", { targets: { "eu-1": "postgres://a/b", us_1: "${US_URL}" }, parallel: 8, canary: 1, onFailure: "continue" }],
    ["targetsQuery", { targetsQuery: { url: "${DIRECTORY_URL}", sql: "SELECT name, url FROM shards" } }],
    ["tenantSchemas with url", { url: "postgres://a/b", tenantSchemas: "SELECT schema_name FROM tenants", canary: 0 }],
  ])("accepts %s", (_name, prod) => {
    expect(problem(prod)).toBeNull();
    expect(validateConfig(config(prod), "athanor.config.json").environments["prod"]).toEqual(prod);
  });

  it.each([
    ["two ways of listing", { targets: { a: "postgres://a/b" }, tenantSchemas: "SELECT 1" }, "environments.prod.tenantSchemas", "cannot be given with environments.prod.targets"],
    ["targets and url", { url: "postgres://a/b", targets: { a: "postgres://a/b" } }, "environments.prod.targets", "cannot be given with environments.prod.url"],
    ["empty targets", { targets: {} }, "environments.prod.targets", "is empty"],
    ["a bad target name", { targets: { "eu 1": "postgres://a/b" } }, "environments.prod.targets.eu 1", "is not a valid target name"],
    ["a target URL that is not a string", { targets: { a: 5 } }, "environments.prod.targets.a", "must be a string"],
    ["targetsQuery without sql", { targetsQuery: { url: "postgres://a/b" } }, "environments.prod.targetsQuery.sql", "is missing"],
    ["a misspelt targetsQuery key", { targetsQuery: { url: "postgres://a/b", sql: "x", sqll: "y" } }, "environments.prod.targetsQuery.sqll", "is not a known setting"],
    ["parallel 0", { targets: { a: "postgres://a/b" }, parallel: 0 }, "environments.prod.parallel", "must be a positive integer"],
    ["a negative canary", { targets: { a: "postgres://a/b" }, canary: -1 }, "environments.prod.canary", "must be a whole number"],
    ["an unknown policy", { targets: { a: "postgres://a/b" }, onFailure: "ignore" }, "environments.prod.onFailure", 'must be "stop" or "continue"'],
    ["parallel without a fleet", { url: "postgres://a/b", parallel: 2 }, "environments.prod.parallel", "applies to fleets only"],
  ])("refuses %s", (_name, prod, path, message) => {
    const found = problem(prod);
    expect(found?.path).toBe(path);
    expect(found?.message).toContain(message);
    expect(found?.hint).not.toBe("");
  });

  it("suggests the fleet key a typo meant", () => {
    expect(problem({ tenantSchema: "SELECT 1" })?.hint).toContain('Did you mean "tenantSchemas"?');
  });
});
