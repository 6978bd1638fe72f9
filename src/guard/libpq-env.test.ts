import { describe, expect, it } from "vitest";
import { LIBPQ_KEYWORDS } from "../config/url.js";
import { libpqVariables, parametersWithoutVariable } from "./libpq-env.js";

describe("libpqVariables", () => {
  it.each([
    [{}, null, {}],
    [{ options: "-c search_path=app -c statement_timeout=5s" }, null, { PGOPTIONS: "-c search_path=app -c statement_timeout=5s" }],
    [{ sslmode: "verify-full", sslrootcert: "/etc/ca.pem", sslcert: "/k/c.crt", sslkey: "/k/c.key" }, "pw", { PGSSLMODE: "verify-full", PGSSLROOTCERT: "/etc/ca.pem", PGSSLCERT: "/k/c.crt", PGSSLKEY: "/k/c.key", PGPASSWORD: "pw" }],
    [{ application_name: "deploy", target_session_attrs: "read-write", passfile: "/home/u/.pgpass" }, null, { PGAPPNAME: "deploy", PGTARGETSESSIONATTRS: "read-write", PGPASSFILE: "/home/u/.pgpass" }],
    // TCP tuning has no variable and does not change what is dumped; sslpassword is refused by the caller.
    [{ keepalives: "1", tcp_user_timeout: "100", fallback_application_name: "x", sslpassword: "p" }, null, {}],
  ])("%j, password %j → %j", (params, password, expected) => {
    expect(libpqVariables(params, password)).toEqual(expected);
  });
});

describe("parametersWithoutVariable", () => {
  it("names sslpassword when it is set, nothing else", () => {
    expect(parametersWithoutVariable({ sslpassword: "p", sslmode: "require" })).toEqual(["sslpassword"]);
    expect(parametersWithoutVariable({ sslpassword: "" })).toEqual([]);
    expect(parametersWithoutVariable({ options: "-c x=1" })).toEqual([]);
  });
});

describe("every parameter a URL may carry", () => {
  // url.ts keeps host, port, user, password and dbname apart; every other libpq keyword is a parameter.
  const parameters = [...LIBPQ_KEYWORDS].filter((keyword) => !["host", "port", "user", "password", "dbname"].includes(keyword));

  it.each(parameters)("%s has a variable, is left out on purpose, or is refused", (keyword) => {
    expect(() => libpqVariables({ [keyword]: "x" }, null)).not.toThrow();
  });
});
