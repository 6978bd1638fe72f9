import { describe, expect, it } from "vitest";
import { isAthanorError } from "../errors.js";
import { checkOpened, searchPathStartupOption, searchPathValue } from "./session-checks.js";

describe("search_path for a schema-scoped session", () => {
  it.each([
    ["tenant_a", '-c search_path="tenant_a"'],
    ["Tenant A", '-c search_path="Tenant\\ A"'],
    ['we"ird\\', '-c search_path="we""ird\\\\"'],
  ])("%s is quoted, and escaped for the options startup parameter", (schema, option) => {
    expect(searchPathStartupOption(schema)).toBe(option);
  });
});

describe("checkOpened", () => {
  const facts = { standby: false, searchPath: '"tenant_a"', schemaExists: true };
  const code = (run: () => void): string | null => {
    try {
      run();
      return null;
    } catch (error) {
      return isAthanorError(error) ? `${error.code}/${error.exitStatus}` : "other";
    }
  };
  it.each<[string, Partial<typeof facts>, { writable?: boolean; searchPath?: string | null }, string | null]>([
    ["a standby for a writer: refused (3)", { standby: true }, { writable: true }, "standby/3"],
    ["a standby for a reader: fine", { standby: true }, { writable: false }, null],
    ["the schema is missing (2)", { schemaExists: false }, { searchPath: "tenant_a" }, "schema-missing/2"],
    ["the search_path did not arrive (2)", { searchPath: '"$user", public' }, { searchPath: "tenant_a" }, "search-path-lost/2"],
    ["all as asked", {}, { writable: true, searchPath: "tenant_a" }, null],
    ["no schema asked: search_path not checked", { searchPath: "public" }, { searchPath: null }, null],
  ])("%s", (_name, overrides, wanted, expected) => {
    expect(code(() => checkOpened({ ...facts, ...overrides }, wanted, "127.0.0.1:5432/app"))).toBe(expected);
  });
  it("names the value the server runs with", () => {
    expect(searchPathValue("tenant_a")).toBe('"tenant_a"');
  });
});
