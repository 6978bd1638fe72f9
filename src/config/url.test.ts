import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LIBPQ_VARIABLE_NAMES } from "./libpq-environment.js";
import { parseDatabaseUrl } from "./url.js";

describe("parseDatabaseUrl", () => {
  // libpq's variables apply to a URL (the CI's test server exports PGPORT, PGUSER, PGPASSWORD...):
  // these cases are about the URL alone (src/config/libpq-environment.test.ts covers the variables).
  const saved = new Map([...LIBPQ_VARIABLE_NAMES].map((name) => [name, process.env[name]] as const));
  beforeEach(() => {
    for (const name of saved.keys()) delete process.env[name];
  });
  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it.each([
    ["postgres://u:p@h:5433/db", { host: "h", port: 5433, database: "db", user: "u" }, "p"],
    ["postgresql://u@h/db", { host: "h", port: 5432, database: "db", user: "u" }, null],
    ["postgresql+asyncpg://user:pass@localhost:5432/db_dev", { host: "localhost", port: 5432, database: "db_dev", user: "user" }, "pass"],
    ["postgresql+psycopg://user:pass@localhost/db", { host: "localhost", port: 5432, database: "db", user: "user" }, "pass"],
    ["postgresql://app:p%40ss%3Aw%2Frd@db:5432/prod", { host: "db", port: 5432, database: "prod", user: "app" }, "p@ss:w/rd"],
  ])("parses %s", (url, expected, password) => {
    const parsed = parseDatabaseUrl(url, "/root", "test");
    expect(parsed.target).toMatchObject({ kind: "postgres", ...expected });
    expect(parsed.password).toBe(password);
    if (parsed.target.kind === "postgres") expect(parsed.target.connectionString.startsWith("postgresql://")).toBe(true);
  });

  it("gives tools a URL whose password is encoded once", () => {
    const parsed = parseDatabaseUrl("postgresql://app:p%40ss%3Aw%2Frd@db:5432/prod", "/root", "test");
    expect(parsed.target.kind === "postgres" && decodeURIComponent(new URL(parsed.target.connectionString).password)).toBe("p@ss:w/rd");
  });

  it("refuses a raw @ in the password instead of connecting to the host libpq would read", () => {
    expect(() => parseDatabaseUrl("postgresql://app:raw@pass@db:5432/prod", "/root", 'environment "x"')).toThrow(/host holds "@"/);
  });

  it.each([
    ["postgresql://app:Sup3r/S3cr3t/pw@[::1/db", ["Sup3r", "S3cr3t"]],
    ["postgresql+asyncpg://app:Sup3r-S3cr3t-p@ss:w/rd#%?&@host/db", ["Sup3r", "ss:w", "rd#"]],
    ["postgresql://u:hunter22@h:99999/db", ["hunter22"]],
    ["postgresql://u:hunter22@h:abc/db", ["hunter22"]],
  ])("names the wrong part of %s without any piece of its password", (url, pieces) => {
    try {
      parseDatabaseUrl(url, "/root", 'environment "production"');
      expect.unreachable();
    } catch (error) {
      const message = (error as Error).message + String((error as { hint?: string }).hint);
      expect(message).toContain('environment "production"');
      for (const piece of pieces) expect(message).not.toContain(piece);
    }
  });

  it.each([
    ["postgresql://h:99999/db", /port "99999" is not a number from 1 to 65535/],
    ["postgresql://h:abc/db", /port "abc"/],
    ["mysql://u:p@h/db", /scheme "mysql:\/\/"/],
    ["postgresql:///db", /has no host/],
  ])("says what is wrong in %s", (url, message) => {
    expect(() => parseDatabaseUrl(url, "/root", 'environment "x"')).toThrow(message);
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

  it.each(["verify_full", "Verify-Full", "REQUIRE", "requre"])("refuses sslmode=%s as libpq does, instead of connecting in clear text", (mode) => {
    expect(() => parseDatabaseUrl(`postgresql://u:pw@h/db?sslmode=${mode}`, "/root", "test")).toThrow(/sslmode "[^"]+" is not a libpq value/);
  });

  it.each(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"])("takes sslmode=%s", (mode) => {
    expect(parseDatabaseUrl(`postgresql://u:pw@h/db?sslmode=${mode}`, "/root", "test").target).toMatchObject({ kind: "postgres", params: { sslmode: mode } });
  });

  it.each([
    ["hostaddr=127.0.0.2", /hostaddr "127.0.0.2" cannot be honoured/],
    ["channel_binding=require", /channel_binding "require" cannot be honoured/],
    ["gssencmode=require", /gssencmode "require" cannot be honoured/],
  ])("refuses %s, which libpq would honour and node-postgres cannot", (param, message) => {
    expect(() => parseDatabaseUrl(`postgresql://u:pw@127.0.0.1:5432/db?${param}`, "/root", "test")).toThrow(message);
  });

  it("takes the port from PGPORT when the URL has none, as libpq does; refuses a set PGHOSTADDR", () => {
    process.env["PGPORT"] = "5581";
    expect(parseDatabaseUrl("postgresql://u:pw@h/db", "/root", "test").target).toMatchObject({ port: 5581 });
    expect(parseDatabaseUrl("postgresql://u:pw@h:6000/db", "/root", "test").target).toMatchObject({ port: 6000 });
    process.env["PGPORT"] = "nope";
    expect(() => parseDatabaseUrl("postgresql://u:pw@h/db", "/root", "test")).toThrow(/PGPORT \("nope"\) is not a number/);
    delete process.env["PGPORT"];
    process.env["PGHOSTADDR"] = "127.0.0.2";
    expect(() => parseDatabaseUrl("postgresql://u:pw@h/db", "/root", "test")).toThrow(/PGHOSTADDR is set/);
  });
});
