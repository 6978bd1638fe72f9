import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { LibpqEnvironment } from "../config/libpq-environment.js";
import { parseDatabaseUrl } from "../config/url.js";
import { ConfigError } from "../errors.js";
import { knownSecrets } from "../secrets/redact.js";
import { postgresClientConfig, triesNextHost, type PostgresTarget } from "./postgres-client-config.js";

const dir = mkdtempSync(join(tmpdir(), "athanor-client-config-"));
/** A home without ~/.postgresql, and one whose ~/.postgresql/root.crt exists. */
const bareHome = join(dir, "bare");
const pinnedHome = join(dir, "pinned");
mkdirSync(bareHome);
mkdirSync(join(pinnedHome, ".postgresql"), { recursive: true });
writeFileSync(join(pinnedHome, ".postgresql", "root.crt"), "HOME ROOT CERTIFICATE");
const explicitRoot = join(dir, "ca.crt");
writeFileSync(explicitRoot, "EXPLICIT ROOT CERTIFICATE");

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function target(url: string, variables: Record<string, string> = {}): PostgresTarget {
  const environment: LibpqEnvironment = { get: (name) => variables[name], osUser: "osuser" };
  const parsed = parseDatabaseUrl(url, "/root", "test", environment);
  if (parsed.target.kind !== "postgres") throw new Error("not postgres");
  return parsed.target;
}

/** The driver's `ssl` option for the target's first host. */
function ssl(url: string, home: string, variables: Record<string, string> = {}): unknown {
  const resolved = target(url, variables);
  return postgresClientConfig(resolved, resolved.hosts[0] as PostgresTarget["hosts"][number], home).ssl;
}

describe("postgresClientConfig: TLS as libpq does it", () => {
  it.each(["disable", "allow", "prefer"])("sslmode=%s (from the URL or PGSSLMODE) connects in clear, and says so explicitly", (mode) => {
    expect(ssl(`postgresql://u@db.internal/app?sslmode=${mode}`, pinnedHome)).toBe(false);
    expect(ssl("postgresql://u@db.internal/app", pinnedHome, { PGSSLMODE: mode })).toBe(false);
    expect(ssl("postgresql://u@db.internal/app", pinnedHome)).toBe(false);
  });

  it("sslmode=require without a root certificate encrypts without verifying", () => {
    expect(ssl("postgresql://u@db.internal/app?sslmode=require", bareHome)).toMatchObject({ rejectUnauthorized: false });
    expect(ssl("postgresql://u@db.internal/app", bareHome, { PGSSLMODE: "require" })).toMatchObject({ rejectUnauthorized: false });
  });

  it("sslmode=require verifies the CA when ~/.postgresql/root.crt or PGSSLROOTCERT exists, as libpq does", () => {
    for (const options of [ssl("postgresql://u@db.internal/app?sslmode=require", pinnedHome), ssl("postgresql://u@db.internal/app", bareHome, { PGSSLMODE: "require", PGSSLROOTCERT: explicitRoot })]) {
      expect(options).not.toMatchObject({ rejectUnauthorized: false });
      expect(typeof (options as { ca?: unknown }).ca).toBe("string");
    }
    expect(ssl("postgresql://u@db.internal/app?sslmode=require", pinnedHome)).toMatchObject({ ca: "HOME ROOT CERTIFICATE" });
    expect(ssl("postgresql://u@db.internal/app", pinnedHome, { PGSSLMODE: "require", PGSSLROOTCERT: explicitRoot })).toMatchObject({ ca: "EXPLICIT ROOT CERTIFICATE" });
  });

  it("verify-full takes the root certificate from PGSSLROOTCERT or ~/.postgresql/root.crt and checks the host name", () => {
    const options = ssl("postgresql://u@db.internal/app", bareHome, { PGSSLMODE: "verify-full", PGSSLROOTCERT: explicitRoot }) as { ca?: string; checkServerIdentity?: unknown };
    expect(options.ca).toBe("EXPLICIT ROOT CERTIFICATE");
    expect(options.checkServerIdentity).toBeUndefined();
    expect(ssl("postgresql://u@db.internal/app?sslmode=verify-full", pinnedHome)).toMatchObject({ ca: "HOME ROOT CERTIFICATE" });
  });

  it("refuses verify-ca and verify-full without a root certificate (exit 2), as libpq refuses to connect", () => {
    for (const mode of ["verify-ca", "verify-full"]) {
      let error: unknown;
      try {
        ssl(`postgresql://u@db.internal/app?sslmode=${mode}`, bareHome);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).exitStatus).toBe(2);
      expect((error as ConfigError).message).toContain(join(bareHome, ".postgresql", "root.crt"));
    }
  });

  it("asks for no TLS on a Unix socket, whatever sslmode says (libpq ignores it there)", () => {
    expect(ssl("postgresql://u@/app?host=/var/run/postgresql&sslmode=require", pinnedHome)).toBe(false);
    expect(ssl("postgresql://u@/app?host=/var/run/postgresql", pinnedHome, { PGSSLMODE: "verify-full" })).toBe(false);
  });

  it("follows ssl_min_protocol_version (libpq's default minimum is TLSv1.2)", () => {
    expect(ssl("postgresql://u@db.internal/app?sslmode=require", bareHome)).toMatchObject({ minVersion: "TLSv1.2" });
    expect(ssl("postgresql://u@db.internal/app?sslmode=require", bareHome, { PGSSLMINPROTOCOLVERSION: "tlsv1.3" })).toMatchObject({ minVersion: "TLSv1.3" });
  });

  it("gives node-postgres explicit values, so it reads no PG* variable itself", () => {
    const resolved = target("postgresql://db.internal/app", { PGUSER: "carol", PGAPPNAME: "deploy-42" });
    const config = postgresClientConfig(resolved, resolved.hosts[0] as PostgresTarget["hosts"][number], bareHome) as Record<string, unknown>;
    expect(config).toMatchObject({ user: "carol", database: "app", ssl: false, application_name: "deploy-42", sslnegotiation: "postgres" });
  });
});

describe("postgresClientConfig: the password file", () => {
  it("a password read from it is registered as a secret, so an output that quotes it is masked", async () => {
    const passfile = join(dir, "pgpass");
    writeFileSync(passfile, "db.internal:5432:app:carol:Pf-Secret-77\n", { mode: 0o600 });
    const resolved = target(`postgresql://carol@db.internal/app?passfile=${encodeURIComponent(passfile)}`);
    const password = postgresClientConfig(resolved, resolved.hosts[0] as PostgresTarget["hosts"][number], bareHome).password as () => Promise<string | undefined>;
    expect(await password()).toBe("Pf-Secret-77");
    expect(knownSecrets.scrub("server said: Pf-Secret-77")).toBe("server said: ***");
  });
});

describe("triesNextHost: libpq's rule for moving along a host list", () => {
  const errno = (code: string) => Object.assign(new Error(`connect ${code}`), { code });
  it.each([
    [errno("ECONNREFUSED"), true],
    [errno("EHOSTUNREACH"), true],
    [errno("ENOTFOUND"), true],
    [errno("ENOENT"), true],
    [new Error("timeout expired"), true],
    [Object.assign(new Error("the database system is starting up"), { code: "57P03" }), true],
    [Object.assign(new Error("password authentication failed"), { code: "28P01" }), false],
    [Object.assign(new Error('database "x" does not exist'), { code: "3D000" }), false],
    [new Error("The server does not support SSL connections"), false],
    [Object.assign(new Error("unable to verify the first certificate"), { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" }), false],
    [new Error("Connection terminated unexpectedly"), false],
    [errno("ECONNRESET"), false],
  ])("%s → %s", (error, expected) => {
    expect(triesNextHost(error)).toBe(expected);
  });
});
