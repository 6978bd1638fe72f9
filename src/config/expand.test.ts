import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { expandTemplate, type VariableValue } from "./expand.js";
import { AthanorError, ConfigError } from "../errors.js";

function vars(values: Record<string, string>, expand = true): (name: string) => VariableValue | undefined {
  return (name) => (name in values ? { value: values[name] as string, source: { kind: "env-file", file: ".env", variable: name }, expand } : undefined);
}
const ctx = (values: Record<string, string>, expand = true) => ({ lookup: vars(values, expand), environment: "testing", where: "environments.testing.url in athanor.config.ts" });

describe("expandTemplate", () => {
  it.each([
    ["plain text", "postgres://h/db", {}, "postgres://h/db"],
    ["a set variable", "${A}", { A: "x" }, "x"],
    ["a default when unset", "${A:-fallback}", {}, "fallback"],
    ["a default when empty", "${A:-fallback}", { A: "" }, "fallback"],
    ["the value over the default", "${A:-fallback}", { A: "set" }, "set"],
    ["a nested default", "${A:-${B}}", { B: "bee" }, "bee"],
    ["a literal ${ through $${", "$${A}", { A: "x" }, "${A}"],
    ["a bare $ kept", "ab$defgh@jk", {}, "ab$defgh@jk"],
    ["a $word kept", "$HOME/x", {}, "$HOME/x"],
    ["references between variables", "${URL}", { URL: "pg://${HOST}/db", HOST: "h1" }, "pg://h1/db"],
    ["a password with $ untouched", "${P}", { P: "ab$defgh@jk" }, "ab$defgh@jk"],
  ])("expands %s", (_name, template, values, expected) => {
    expect(expandTemplate(template, ctx(values)).value).toBe(expected);
  });

  it("percent-encodes values substituted into the user-info of a URL", () => {
    const result = expandTemplate("postgresql://app:${DB_PASSWORD}@${DB_HOST}:${DB_PORT:-5432}/${DB_NAME}", ctx({ DB_PASSWORD: "p@ss:w/rd#%$x", DB_HOST: "db", DB_NAME: "prod" }));
    expect(result.value).toBe("postgresql://app:p%40ss%3Aw%2Frd%23%25%24x@db:5432/prod");
  });

  it("does not let a password redirect the connection", () => {
    const result = expandTemplate("postgresql://u:${P}@127.0.0.1:5432/app", ctx({ P: "x@evil.example:5432/postgres#" }));
    const url = new URL(result.value);
    expect(url.hostname).toBe("127.0.0.1");
    expect(url.pathname).toBe("/app");
    expect(decodeURIComponent(url.password)).toBe("x@evil.example:5432/postgres#");
  });

  it.each([
    ["a path", "postgresql://u:p@${H}/db", "evil.example/x"],
    ["a user-info", "postgresql://u:p@${H}/db", "x@evil.example"],
    ["a query string", "postgresql://u:p@${H}/db", "127.0.0.1?host=evil"],
    ["a parameter after the port", "postgresql://u:p@127.0.0.1:${PORT}/db", "5432&host=evil"],
    ["a space", "postgresql://u:p@${H}/db", "a b"],
    ["a scheme holding an authority", "${S}://u:p@h/db", "postgresql://evil:5432/?a="],
  ])("refuses a host, port or scheme value holding %s, naming the variable and not the value", (_name, template, value) => {
    const name = /\$\{([A-Z]+)\}/.exec(template)?.[1] as string;
    let caught: unknown;
    try {
      expandTemplate(template, ctx({ [name]: value }));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).code).toBe("unsafe-url-value");
    expect((caught as ConfigError).exitStatus).toBe(2);
    expect((caught as ConfigError).message).toContain(`variable ${name} `);
    expect((caught as ConfigError).message).not.toContain(value);
    expect((caught as ConfigError).hint).toContain(name);
  });

  it.each([
    ["a host", "postgresql://u@${H}/db", { H: "db.internal" }, "postgresql://u@db.internal/db"],
    ["host:port", "postgresql://u@${H}/db", { H: "db:6432" }, "postgresql://u@db:6432/db"],
    ["a host list", "postgresql://u@${H}/db", { H: "h1:5432,h2:5433" }, "postgresql://u@h1:5432,h2:5433/db"],
    ["an IPv6 literal", "postgresql://u@${H}/db", { H: "[::1]:5432" }, "postgresql://u@[::1]:5432/db"],
    ["an IPv6 address in literal brackets", "postgresql://u@[${H}]/db", { H: "2001:db8::7" }, "postgresql://u@[2001:db8::7]/db"],
    ["a socket directory", "postgresql://${H}/db", { H: "%2Fvar%2Frun%2Fpostgresql" }, "postgresql://%2Fvar%2Frun%2Fpostgresql/db"],
    ["a port", "postgresql://u@h:${P:-5432}/db", {}, "postgresql://u@h:5432/db"],
    ["a driver", "postgresql${D}://u@h/db", { D: "+asyncpg" }, "postgresql+asyncpg://u@h/db"],
  ])("accepts %s in the host, port or scheme", (_name, template, values, expected) => {
    expect(expandTemplate(template, ctx(values)).value).toBe(expected);
  });

  it.each([
    ["a password parameter", "postgresql://app@h:5432/u1?password=${DB_PASSWORD}", { DB_PASSWORD: "pw&host=127.0.0.2&port=5599" }, "postgresql://app@h:5432/u1?password=pw%26host%3D127.0.0.2%26port%3D5599"],
    ["the database", "postgresql://u:p@h:5432/${DB_NAME}", { DB_NAME: "u1?host=127.0.0.2&port=5599" }, "postgresql://u:p@h:5432/u1%3Fhost%3D127.0.0.2%26port%3D5599"],
    ["a parameter name and value", "postgresql://h/db?${K}=${V}&sslmode=disable", { K: "application_name", V: "a#b/c@d%e" }, "postgresql://h/db?application_name=a%23b%2Fc%40d%25e&sslmode=disable"],
    ["the text after #", "postgresql://h/db#${F}", { F: "x&host=evil" }, "postgresql://h/db#x%26host%3Devil"],
  ])("percent-encodes a value substituted into %s", (_name, template, values, expected) => {
    expect(expandTemplate(template, ctx(values)).value).toBe(expected);
  });

  it("keeps a whole-URL variable as it is", () => {
    const url = "postgresql://u:p@h:5432/db?sslmode=require&application_name=x";
    expect(expandTemplate("${DATABASE_URL}", ctx({ DATABASE_URL: url })).value).toBe(url);
  });

  it("reports the values and variables substituted where the URL holds its password", () => {
    const result = expandTemplate("${URL}", ctx({ URL: "postgresql://${U}:${PW}@h/db?sslpassword=${KP}&application_name=${APP}", U: "app", PW: "pw1&x", KP: "kp2", APP: "a" }));
    expect(result.passwords).toEqual(["pw1&x", "kp2"]);
    expect(result.passwordVariables).toEqual(["PW", "KP"]);
  });

  it("encodes user-info inside a variable that is itself a URL template (the guide's .env.production)", () => {
    const result = expandTemplate("${DATABASE_URL}", ctx({ DATABASE_URL: "postgresql+asyncpg://user:${DB_PASSWORD}@${DB_HOST}:${DB_PORT}/${DB_NAME}", DB_PASSWORD: "a@b", DB_HOST: "localhost", DB_PORT: "5432", DB_NAME: "mestocker_prod" }));
    expect(result.value).toBe("postgresql+asyncpg://user:a%40b@localhost:5432/mestocker_prod");
  });

  it("records every source", () => {
    const result = expandTemplate("${A}-${B:-b}", ctx({ A: "a" }));
    expect(result.sources).toEqual([{ kind: "env-file", file: ".env", variable: "A" }, { kind: "default", expression: "${B:-b}" }]);
  });

  it("does not expand values from the process environment", () => {
    expect(expandTemplate("${P}", ctx({ P: "x${Y}" }, false)).value).toBe("x${Y}");
  });

  it.each([
    ["an unset variable", "${MISSING}", {}, /variable MISSING is not set \(environment "testing", used by environments.testing.url in athanor.config.ts\)/],
    ["a :? message", "${DB:?set DB to the database name}", {}, /variable DB is not set: set DB to the database name/],
    ["a loop", "${A}", { A: "${B}", B: "${A}" }, /loop: A -> B -> A/],
    ["a self reference", "${A}", { A: "x${A}" }, /loop: A -> A/],
    ["an unclosed reference", "${A", {}, /unclosed/],
    ["an empty name", "${}", {}, /not a valid reference/],
    ["a bad name", "${1A}", {}, /not a valid reference/],
  ])("fails on %s with a ConfigError naming it", (_name, template, values, message) => {
    let caught: unknown;
    try {
      expandTemplate(template, ctx(values));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).exitStatus).toBe(2);
    expect((caught as Error).message).toMatch(message);
    expect((caught as ConfigError).hint).toBeTruthy();
  });

  it("a nested default of the same name is not a loop", () => {
    expect(expandTemplate("${A:-${A:-x}}", ctx({})).value).toBe("x");
    expect(expandTemplate("${A:-${B:-${C:-deep}}}", ctx({})).value).toBe("deep");
  });

  it.each([
    ["a 20,000-variable chain", () => Object.fromEntries([...Array.from({ length: 20_000 }, (_, i) => [`V${i}`, `\${V${i + 1}}`]), ["V20000", "end"]]), "${V0}", /references nest more than 32 levels deep \(V0 -> V1 -> V2 -> V3 -> V4 -> \.\.\.\)/],
    ["defaults nested 20,000 deep", () => ({}), `${"${A:-".repeat(20_000)}x${"}".repeat(20_000)}`, /references nest more than 32 levels deep/],
    ["references doubling at each level (a billion laughs)", () => Object.fromEntries([...Array.from({ length: 30 }, (_, i) => [`L${i}`, `\${L${i + 1}}\${L${i + 1}}`]), ["L30", "lol"]]), "${L0}", /expands more than 10000 variable references/],
    ["empty values doubling at each level", () => Object.fromEntries([...Array.from({ length: 30 }, (_, i) => [`L${i}`, `\${L${i + 1}}\${L${i + 1}}`]), ["L30", ""]]), "${L0}", /expands more than 10000 variable references/],
    ["a huge value repeated", () => ({ BIG: "x".repeat(200_000), R: "${BIG}${BIG}${BIG}${BIG}${BIG}${BIG}" }), "${R}", /expands to more than 1 MB/],
  ])("stops %s quickly with a ConfigError", (_name, values, template, message) => {
    const started = Date.now();
    let caught: unknown;
    try {
      expandTemplate(template, ctx(values()));
    } catch (error) {
      caught = error;
    }
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).exitStatus).toBe(2);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message.length).toBeLessThan(400);
    expect((caught as ConfigError).hint).toBeTruthy();
  });

  it("never crashes or hangs when variables refer to each other in any way (property)", () => {
    // Values drawn from the same pieces as templates, so references between variables, loops, self
    // references, nested defaults and doubling all occur.
    const piece = fc.constantFrom("${A}", "${B}", "${C}", "${D}", "${A:-", "${B:-x}", "${C:?m}", "}", "$${", "$", "x", "@", ":", "/", "://");
    const text = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(""));
    fc.assert(
      fc.property(text, fc.dictionary(fc.constantFrom("A", "B", "C", "D"), text), fc.boolean(), (template, values, fromFiles) => {
        const started = Date.now();
        try {
          const result = expandTemplate(template, ctx(values, fromFiles));
          expect(typeof result.value).toBe("string");
          expect(result.value.length).toBeLessThanOrEqual(1024 * 1024);
        } catch (error) {
          expect(error).toBeInstanceOf(AthanorError);
        }
        expect(Date.now() - started).toBeLessThan(1_000);
      }),
      { numRuns: 3000 },
    );
  });

  it("never crashes or hangs on any input (property)", () => {
    const alphabet = fc.constantFrom("$", "{", "}", ":", "-", "?", "A", "B", "_", "x", "@", "/", "://", "${", "$${", "${A", "${B:-");
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 40 }).map((parts) => parts.join("")), fc.dictionary(fc.constantFrom("A", "B", "C"), fc.string({ maxLength: 8 })), (template, values) => {
        try {
          const result = expandTemplate(template, ctx(values));
          expect(typeof result.value).toBe("string");
        } catch (error) {
          expect(error).toBeInstanceOf(AthanorError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
