/**
 * athanor's URL parser against libpq's own (`PQconninfoParse` through python3 and ctypes,
 * test/support/libpq-parse.py; no server needed). For every URL, athanor uses the same
 * user, password, hosts, ports, database and parameters as libpq, or refuses the URL
 * where libpq refuses it too (at parse time, or later when it connects: a bad port, no
 * host, a host holding "@"). Hostile URLs included: "@" in the query, path and password,
 * brackets, "%" escapes, empty parts.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { LibpqEnvironment } from "../src/config/libpq-environment.js";
import { parseDatabaseUrl } from "../src/config/url.js";
import { postgresClientConfig } from "../src/dialects/postgres-client-config.js";
import { ConfigError } from "../src/errors.js";

/** What the URL must give: the same as libpq, or a refusal naming this part. */
type Expectation = "same" | { refused: string };

const SAME = "same" as const;
const refused = (part: string): Expectation => ({ refused: part });

const CASES: readonly (readonly [string, Expectation])[] = [
  // Plain forms.
  ["postgresql://u:p@h:5433/db", SAME],
  ["postgres://u:p@h/db", SAME],
  ["postgresql://h", SAME],
  ["postgresql://h/", SAME],
  ["postgresql://h:5432", SAME],
  ["postgresql://u@h/db", SAME],
  ["postgresql://u:@h/db", SAME],
  ["postgresql://:p@h/db", SAME],
  ["postgresql://@h/db", SAME],
  ["postgresql://h/db?", SAME],
  ["postgresql+asyncpg://user:pass@localhost:5432/db_dev", SAME],
  ["postgresql+psycopg://user:pass@localhost/db", SAME],
  ["postgresql+psycopg2://u:p@db.internal:6432/app?sslmode=require", SAME],
  // Percent-encoding.
  ["postgresql://app:p%40ss%3Aw%2Frd@db:5432/prod", SAME],
  ["postgresql://app:%25%23%3F%26@db/prod", SAME],
  ["postgresql://us%65r:pa%73s@h/d%62", SAME],
  ["postgresql://u:p@h/my%20db", SAME],
  ["postgresql://u:p@h/db%2Fwith%2Fslashes", SAME],
  ["postgresql://u:caf%C3%A9@h/db", SAME],
  ["postgresql://u:p@h/db?application_name=a+b", SAME],
  ["postgresql://u:p@h/db?application_name=a%2Bb%26c%3Dd", SAME],
  ["postgresql://u:p%zz@h/db", refused("password")],
  ["postgresql://u:p%4@h/db", refused("password")],
  ["postgresql://u:p%00x@h/db", refused("password")],
  ["postgresql://u:p@h/d%b", refused("database name")],
  ["postgresql://u:p@h/db?application_name=%", refused("value")],
  // "@" where it does not end the user-info.
  ["postgresql://u:devpass@127.0.0.1:5432/app?application_name=ci@127.0.0.1:5997", SAME],
  ["postgresql://u:devpass@127.0.0.1:5432/app@127.0.0.1:5997", SAME],
  ["postgresql://127.0.0.1:5432/app?application_name=ci@127.0.0.1:5997", SAME],
  ["postgresql://127.0.0.1:5432/?options=-c%20x@y", SAME],
  ["postgresql://app:raw@pass@db:5432/prod", refused("host")],
  // libpq reads "127.0.0.1:5432?application_name=ci" as user and password and connects to :5997; athanor refuses.
  ["postgresql://127.0.0.1:5432?application_name=ci@127.0.0.1:5997", refused("user-info")],
  ["postgresql://u:p@h:5432?application_name=ci@127.0.0.1:5997", SAME],
  ["postgresql+asyncpg://app:Sup3r-S3cr3t-p@ss:w/rd#%?&@host/db", refused("database name")],
  ["postgresql://app:Sup3r/S3cr3t/pw@[::1/db", refused("port")],
  ["postgresql://u:p@h/db#fragment", SAME],
  ["postgresql://u:p#x@h/db", SAME],
  ["postgresql://u:p?x@h/db", SAME],
  ["postgresql://u:a:b:c@h/db", SAME],
  // IPv6.
  ["postgresql://u:p@[::1]:5433/db", SAME],
  ["postgresql://[::1]/db", SAME],
  ["postgresql://[2001:db8::7]:6000,[::1]/db", SAME],
  ["postgresql://[::1/db", refused("host")],
  ["postgresql://[]/db", refused("host")],
  ["postgresql://[::1]x/db", refused("host")],
  // Unix sockets.
  ["postgresql:///db?host=/var/run/postgresql", SAME],
  ["postgresql://%2Fvar%2Frun%2Fpostgresql/db", SAME],
  ["postgresql://u@/db?host=/tmp&port=5499", SAME],
  ["postgresql://ignored/db?host=/var/run/postgresql", SAME],
  // Host lists.
  ["postgresql://h1:5432,h2:5433/db?target_session_attrs=read-write", SAME],
  ["postgresql://h1,h2,h3/db?target_session_attrs=any", SAME],
  ["postgresql://h1,h2:5433/db", SAME],
  ["postgresql://h1:1,h2:2,h3/db", SAME],
  ["postgresql://h1:1,h2:2/db?host=a,b,c", refused("port")],
  ["postgresql://h1:1,h2:2,h3:3/db?target_session_attrs=prefer-standby", SAME],
  ["postgresql://h1,h2/db?port=5433", SAME],
  ["postgresql://h1,,h2/db", refused("host")],
  ["postgresql://h/db?target_session_attrs=standby", SAME],
  ["postgresql://h/db?target_session_attrs=primary", SAME],
  ["postgresql://h/db?target_session_attrs=read-only", SAME],
  ["postgresql://h/db?target_session_attrs=writable", refused("target_session_attrs")],
  // Parameters.
  ["postgresql://h/db?sslmode=verify-full&sslrootcert=/etc/ssl/root.crt", SAME],
  ["postgresql://h/db?ssl=true", SAME],
  ["postgresql://h/db?options=-c%20search_path%3Dapp%2Cpublic", SAME],
  ["postgresql://h/db?user=other&password=qp%40ss", SAME],
  ["postgresql://u@h/db?dbname=other", SAME],
  ["postgresql://h/db?connect_timeout=5&application_name=athanor", SAME],
  ["postgresql://h/db?unknown=1", refused("query")],
  ["postgresql://h/db?application_name", refused("query")],
  ["postgresql://h/db?a=b=c", refused("query")],
  ["postgresql://h/db?sslmode=require&&x=y", refused("query")],
  // Ports and hosts athanor refuses before connecting (libpq fails when it connects).
  ["postgresql://h:99999/db", refused("port")],
  ["postgresql://h:abc/db", refused("port")],
  ["postgresql://h:0/db", refused("port")],
  ["postgresql://u:p@/db", refused("host")],
  ["postgresql:///db", refused("host")],
  ["postgresql://", refused("host")],
];

/** An environment without libpq variables, whose OS user is "os-user". */
const OS_USER = "os-user";
const NO_VARIABLES: LibpqEnvironment = { get: () => undefined, osUser: OS_USER };

interface Libpq {
  readonly version: number;
  readonly results: readonly ({ values: Record<string, string> } | { error: string })[];
}

function libpqParse(urls: readonly string[]): Libpq {
  const script = fileURLToPath(new URL("./support/libpq-parse.py", import.meta.url));
  // libpq knows no "+driver": athanor drops it, so libpq is given the URL without it.
  const input = JSON.stringify(urls.map((url) => url.replace(/^(postgres(?:ql)?)\+[a-z0-9_]+:\/\//i, "$1://")));
  return JSON.parse(execFileSync("python3", [script], { input, encoding: "utf8" })) as Libpq;
}

/** athanor's target in libpq's terms: the options libpq would set. */
function asLibpqOptions(url: string): Record<string, string> {
  const parsed = parseDatabaseUrl(url, "/root", "environment \"test\"", NO_VARIABLES);
  if (parsed.target.kind !== "postgres") throw new Error("not postgres");
  const target = parsed.target;
  return {
    host: target.hosts.map((entry) => entry.host).join(","),
    port: target.hosts.map((entry) => String(entry.port)).join(","),
    user: target.user,
    password: target.password ?? "",
    dbname: target.database,
    ...target.params,
  };
}

/**
 * libpq's options with the defaults libpq's connect fills in (PQconninfoParse applies
 * none), in an environment without libpq variables: every empty port entry 5432, the
 * user the OS user, the database the user. test/libpq-environment.test.ts covers the variables.
 */
function withDefaults(values: Record<string, string>): Record<string, string> {
  const hosts = (values["host"] ?? "").split(",");
  const ports = (values["port"] ?? "").split(",");
  const out: Record<string, string> = { ...values };
  out["port"] = hosts.map((_host, index) => ((ports.length === 1 ? ports[0] : ports[index]) ?? "").trim() || "5432").join(",");
  out["user"] = values["user"] || OS_USER;
  out["password"] = values["password"] ?? "";
  out["dbname"] = values["dbname"] || out["user"];
  return out;
}

describe("database URLs mean what libpq says they mean", () => {
  const libpq = libpqParse(CASES.map(([url]) => url));

  it("runs against libpq 14 or later and covers at least 60 URLs", () => {
    expect(libpq.version).toBeGreaterThanOrEqual(140000);
    expect(CASES.length).toBeGreaterThanOrEqual(60);
  });

  it.each(CASES.map(([url, expectation], index) => [url, expectation, index] as const))("%s", (url, expectation, index) => {
    const reference = libpq.results[index];
    if (reference === undefined) throw new Error("libpq gave no result");
    if (expectation === SAME) {
      if ("error" in reference) throw new Error(`libpq refuses this URL (${reference.error}) but the table expects it to parse`);
      expect(asLibpqOptions(url)).toEqual(withDefaults(reference.values));
      return;
    }
    let error: unknown;
    try {
      parseDatabaseUrl(url, "/root", 'environment "test"', NO_VARIABLES);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.exitStatus).toBe(2);
    expect(configError.message).toContain('environment "test"');
    expect(String(configError.details["part"])).toContain(expectation.refused);
    // libpq refuses it too, or would fail on connecting: athanor never connects elsewhere.
    // The one deliberate exception: a query string before the "@" (libpq would connect to the host after it).
    if (!("error" in reference) && expectation.refused !== "user-info") {
      const values = reference.values;
      const hosts = (values["host"] ?? "").split(",");
      const ports = (values["port"] ?? "").split(",");
      const connectFails =
        hosts.some((host) => host === "" || host.includes("@")) ||
        ports.some((port) => !/^\d+$/.test(port.trim()) || Number(port) < 1 || Number(port) > 65535) ||
        (ports.length > 1 && ports.length !== hosts.length) ||
        (values["target_session_attrs"] !== undefined && !["any", "read-write", "read-only", "primary", "standby", "prefer-standby"].includes(values["target_session_attrs"]));
      expect(connectFails).toBe(true);
    }
  });

  it("gives node-postgres the same target for every host", () => {
    for (const [url, expectation] of CASES) {
      if (expectation !== SAME) continue;
      const parsed = parseDatabaseUrl(url, "/root", "test", NO_VARIABLES);
      if (parsed.target.kind !== "postgres") continue;
      const { target } = parsed;
      // The client configuration reads the certificate file: that row has none on disk.
      if (target.params["sslrootcert"] !== undefined) continue;
      for (const host of target.hosts) {
        const config = postgresClientConfig(target, host) as Record<string, unknown>;
        expect({ host: config["host"], port: config["port"], user: config["user"] ?? "", password: typeof config["password"] === "string" ? config["password"] : null, database: config["database"] }).toEqual({
          host: host.host,
          port: host.port,
          user: target.user,
          password: target.password,
          database: target.database,
        });
        for (const [key, value] of Object.entries(target.params)) {
          if (!key.startsWith("ssl") && key !== "target_session_attrs") expect(config[key]).toBe(value);
        }
      }
    }
  });
});
