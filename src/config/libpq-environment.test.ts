import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.js";
import type { LibpqEnvironment } from "./libpq-environment.js";
import type { DatabaseTarget } from "./types.js";
import { parseDatabaseUrl } from "./url.js";

/** An environment with these variables and the OS user "osuser" (what getpwuid says; $USER is not read). */
function environment(variables: Record<string, string>, osUser: string | null = "osuser"): LibpqEnvironment {
  return { get: (name) => variables[name], osUser };
}

function target(url: string, variables: Record<string, string> = {}, osUser: string | null = "osuser"): Extract<DatabaseTarget, { kind: "postgres" }> {
  const parsed = parseDatabaseUrl(url, "/root", 'environment "production"', environment(variables, osUser));
  if (parsed.target.kind !== "postgres") throw new Error("not postgres");
  return parsed.target;
}

function refusal(url: string, variables: Record<string, string>): ConfigError {
  try {
    target(url, variables);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("not refused");
}

describe("libpq's variables apply to a URL as libpq applies them", () => {
  it.each([
    ["PGSSLMODE", "verify_full"],
    ["PGSSLMODE", "REQUIRE"],
    ["PGSSLMODE", "no-verify"],
    ["PGSSLMODE", ""],
    ["PGTARGETSESSIONATTRS", "readwrite"],
    ["PGCHANNELBINDING", "maybe"],
    ["PGGSSENCMODE", ""],
    ["PGSSLMINPROTOCOLVERSION", "TLS1.3"],
  ])("refuses %s=%j as libpq does (exit 2, naming the variable), before any connection", (variable, value) => {
    const error = refusal("postgresql://u:pw@db.internal:5432/app", { [variable]: value });
    expect(error.exitStatus).toBe(2);
    expect(error.message).toContain(`${variable}="${value}" in the environment`);
    expect(error.hint).toContain(`unset ${variable}`);
    expect(error.details["variable"]).toBe(variable);
  });

  it.each([
    ["PGCHANNELBINDING", "require", "channel binding"],
    ["PGGSSENCMODE", "require", "GSSAPI"],
    ["PGREQUIREPEER", "postgres", "peer"],
    ["PGSERVICE", "prod", "pg_service.conf"],
    ["PGSSLCRL", "/etc/crl.pem", "revocation"],
  ])("refuses %s=%s, which athanor cannot honour, like the URL parameter", (variable, value, why) => {
    const error = refusal("postgresql://u:pw@db.internal/app", { [variable]: value });
    expect(error.exitStatus).toBe(2);
    expect(error.message).toContain(`${variable}="${value}" in the environment`);
    expect(error.message).toContain(why);
    expect(error.hint).toContain(`Unset ${variable}`);
  });

  it("refuses service= in the URL (libpq would read host, user, database and password from pg_service.conf)", () => {
    expect(refusal("postgresql://u@db.internal/app?service=prod", {}).message).toMatch(/service "prod" cannot be honoured: athanor does not read pg_service.conf/);
  });

  it("maps every valid PGSSLMODE as the URL's sslmode, and the URL's sslmode wins", () => {
    for (const mode of ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]) {
      expect(target("postgresql://u@h/app", { PGSSLMODE: mode }).params["sslmode"]).toBe(mode);
    }
    expect(target("postgresql://u@h/app?sslmode=disable", { PGSSLMODE: "require" }).params["sslmode"]).toBe("disable");
    // The URL's own valid value wins over an invalid variable: libpq never looks at it.
    expect(target("postgresql://u@h/app?sslmode=require", { PGSSLMODE: "verify_full" }).params["sslmode"]).toBe("require");
    expect(target("postgresql://u@h/app", { PGREQUIRESSL: "1" }).params["sslmode"]).toBe("require");
    expect(target("postgresql://u@h/app", { PGREQUIRESSL: "1", PGSSLMODE: "disable" }).params["sslmode"]).toBe("disable");
  });

  it("takes target_session_attrs, application_name, sslrootcert and TLS versions from the environment unless the URL sets them", () => {
    const fromEnvironment = target("postgresql://u@h1,h2/app", { PGTARGETSESSIONATTRS: "read-write", PGAPPNAME: "deploy-42", PGSSLROOTCERT: "/etc/ca.crt", PGSSLMINPROTOCOLVERSION: "TLSv1.3" });
    expect(fromEnvironment.targetSessionAttrs).toBe("read-write");
    expect(fromEnvironment.params).toMatchObject({ application_name: "deploy-42", sslrootcert: "/etc/ca.crt", ssl_min_protocol_version: "TLSv1.3" });
    expect(target("postgresql://u@h1,h2/app?target_session_attrs=any", { PGTARGETSESSIONATTRS: "read-only" }).targetSessionAttrs).toBe("any");
  });

  it.each([
    // url, variables, OS user, expected user and database (never an invented "postgres")
    ["postgresql://h:5432", {}, "osuser", "osuser", "osuser"],
    ["postgresql://h:5432", { USER: "mallory" }, "osuser", "osuser", "osuser"],
    ["postgresql://h:5432", { PGUSER: "carol" }, "osuser", "carol", "carol"],
    ["postgresql://h:5432", { PGUSER: "postgres", PGDATABASE: "app" }, "osuser", "postgres", "app"],
    ["postgresql://u1@h:5432", { PGDATABASE: "dave" }, "osuser", "u1", "dave"],
    ["postgresql://u1@h:5432/own", { PGUSER: "carol", PGDATABASE: "dave" }, "osuser", "u1", "own"],
    ["postgresql://h:5432", { PGUSER: "", PGDATABASE: "" }, "osuser", "osuser", "osuser"],
  ])("%s with %j (OS user %s): user %s, database %s", (url, variables, osUser, user, database) => {
    const resolved = target(url, variables, osUser);
    expect({ user: resolved.user, database: resolved.database }).toEqual({ user, database });
  });

  it("refuses a URL without a user when there is no PGUSER and no OS user name", () => {
    expect(() => target("postgresql://h/app", {}, null)).toThrow(/names no user/);
  });

  it("takes PGPASSWORD when the URL has no password", () => {
    expect(target("postgresql://u@h/app", { PGPASSWORD: "from-env" }).password).toBe("from-env");
    expect(target("postgresql://u:url-pw@h/app", { PGPASSWORD: "from-env" }).password).toBe("url-pw");
  });

  it.each([
    ["postgresql://u@h/app", { PGPORT: "47001" }, [47001]],
    ["postgresql://u@h:5999/app", { PGPORT: "47001" }, [5999]],
    // A host list always sets the port list: its empty entries are 5432, never PGPORT.
    ["postgresql://u@h1,h2/app", { PGPORT: "47001" }, [5432, 5432]],
    ["postgresql://u@h1:47001,h2/app", { PGPORT: "5999" }, [47001, 5432]],
    ["postgresql://u@h1,h2/app", { PGPORT: "47001,47001" }, [5432, 5432]],
    // Hosts given as ?host= leave the port to PGPORT, which may be a list.
    ["postgresql:///app?host=h1,h2", { PGPORT: "5998,5999" }, [5998, 5999]],
  ])("%s with %j: ports %j", (url, variables, ports) => {
    expect(target(url, variables).hosts.map((host) => host.port)).toEqual(ports);
  });

  it("takes the host from PGHOST only when the URL names none", () => {
    expect(target("postgresql:///app", { PGHOST: "db.internal" }).hosts).toEqual([{ host: "db.internal", port: 5432 }]);
    expect(target("postgresql:///app", { PGHOST: "h1,h2", PGPORT: "5998,5999" }).hosts).toEqual([{ host: "h1", port: 5998 }, { host: "h2", port: 5999 }]);
    expect(target("postgresql://u@h/app", { PGHOST: "other" }).hosts).toEqual([{ host: "h", port: 5432 }]);
    expect(refusal("postgresql:///app", {}).message).toContain("has no host (and PGHOST is not set)");
  });

  it("refuses a PGPORT libpq cannot use, naming it", () => {
    expect(refusal("postgresql://u@h/app", { PGPORT: "nope" }).message).toContain('PGPORT ("nope") is not a number');
    expect(refusal("postgresql://u@h/app", { PGPORT: "5432,5433" }).message).toContain('PGPORT ("5432,5433") gives 2 ports');
  });
});
