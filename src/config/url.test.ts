import { describe, expect, it } from "vitest";
import { parseDatabaseUrl } from "./url.js";

describe("parseDatabaseUrl", () => {
  it.each([
    ["postgres://u:p@h:5433/db", { host: "h", port: 5433, database: "db", user: "u" }, "p"],
    ["postgresql://u@h/db", { host: "h", port: 5432, database: "db", user: "u" }, null],
    ["postgresql+asyncpg://user:pass@localhost:5432/db_dev", { host: "localhost", port: 5432, database: "db_dev", user: "user" }, "pass"],
    ["postgresql+psycopg://user:pass@localhost/db", { host: "localhost", port: 5432, database: "db", user: "user" }, "pass"],
    ["postgresql://app:p%40ss%3Aw%2Frd@db:5432/prod", { host: "db", port: 5432, database: "prod", user: "app" }, "p@ss:w/rd"],
    ["postgresql://app:raw@pass@db:5432/prod", { host: "db", port: 5432, database: "prod", user: "app" }, "raw@pass"],
  ])("parses %s", (url, expected, password) => {
    const parsed = parseDatabaseUrl(url, "/root", "test");
    expect(parsed.target).toMatchObject({ kind: "postgres", ...expected });
    expect(parsed.password).toBe(password);
    if (parsed.target.kind === "postgres") expect(parsed.target.connectionString.startsWith("postgresql://")).toBe(true);
  });

  it("gives the driver a URL whose password is encoded once", () => {
    const parsed = parseDatabaseUrl("postgresql://app:raw@pass@db:5432/prod", "/root", "test");
    expect(parsed.target.kind === "postgres" && new URL(parsed.target.connectionString).password).toBe("raw%40pass");
  });

  it.each([
    ["pglite://memory", null],
    ["pglite://./.athanor/dev", "/root/.athanor/dev"],
    ["pglite:///var/data/db", "/var/data/db"],
  ])("parses %s", (url, dataDir) => {
    expect(parseDatabaseUrl(url, "/root", "test").target).toEqual({ kind: "pglite", dataDir });
  });

  it.each([
    ["mysql://u:secretpw@h/db", /"mysql:\/\/"/],
    ["", /empty/],
    ["postgresql://u:p@/db", /no host/],
  ])("rejects %s", (url, message) => {
    expect(() => parseDatabaseUrl(url, "/root", "environment \"x\"")).toThrow(message);
  });

  it("never puts the password into an error", () => {
    try {
      parseDatabaseUrl("mysql://u:secretpw@h/db", "/root", "x");
      expect.unreachable();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain("secretpw");
    }
  });
});
