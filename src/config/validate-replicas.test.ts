import { describe, expect, it } from "vitest";
import { validateConfig } from "./validate.js";

const withEnv = (env: Record<string, unknown>) => validateConfig({ environments: { production: { url: "postgres://h/db", ...env } } }, "athanor.config.ts");

describe("schema and replicaLag in an environment", () => {
  it("accepts a schema name and replicaLag durations", () => {
    expect(withEnv({ schema: "tenant_a", replicaLag: { max: "10s", wait: "5min" } }).environments["production"]).toMatchObject({ schema: "tenant_a", replicaLag: { max: "10s", wait: "5min" } });
    expect(withEnv({ replicaLag: { max: 10 } }).environments["production"]?.replicaLag).toEqual({ max: 10 });
  });
  it.each<[string, Record<string, unknown>, RegExp]>([
    ["a schema that is not a string", { schema: 3 }, /environments\.production\.schema must be a string/],
    ["an empty schema", { schema: "" }, /environments\.production\.schema must be a schema name of 1 to 63 characters/],
    ["replicaLag as a string", { replicaLag: "10s" }, /environments\.production\.replicaLag must be an object/],
    ["replicaLag without max", { replicaLag: { wait: "1min" } }, /environments\.production\.replicaLag\.max is missing/],
    ["an unknown key in replicaLag", { replicaLag: { max: "1s", maxx: 2 } }, /replicaLag\.maxx is not a known setting/],
    ["a mistyped key", { replicalag: { max: "1s" } }, /environments\.production\.replicalag is not a known setting/],
  ])("refuses %s", (_name, env, message) => {
    expect(() => withEnv(env)).toThrow(message);
  });
});
