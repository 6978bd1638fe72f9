/**
 * libpq's environment variables, through the real binary, against loopback servers that
 * record what they are sent (test/support/fake-postgres.ts): the password never goes
 * where psql would not send it, and athanor contacts no host or port psql would not.
 * (adv15 F1, F2, F5, F11, F12, F14, F15a, F16.)
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, spawnCli } from "./support/cli.js";
import { makeTestCertificates, startFakePostgres, type FakePostgres, type TestCertificates } from "./support/fake-postgres.js";

const PASSWORD = "Pw-libpq15-7781";
let project: string;
let home: string;
let certificates: TestCertificates;
const servers: FakePostgres[] = [];

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), "athanor-libpq-env-"));
  mkdirSync(join(project, "migrations"));
  writeFileSync(join(project, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { staging: { url: "${TURL}" } } }));
  home = mkdtempSync(join(tmpdir(), "athanor-libpq-home-"));
  certificates = makeTestCertificates();
});

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  rmSync(join(project, ".env.staging"), { force: true });
  rmSync(join(home, ".postgresql"), { recursive: true, force: true });
});

afterAll(() => {
  for (const dir of [project, home, certificates.dir]) rmSync(dir, { recursive: true, force: true });
});

async function fake(options: Parameters<typeof startFakePostgres>[0] = {}): Promise<FakePostgres> {
  const server = await startFakePostgres(options);
  servers.push(server);
  return server;
}

/** `athanor -e staging current` with TURL and the given variables (HOME is the test's own). */
function current(url: string, variables: Record<string, string> = {}) {
  return spawnCli(["-e", "staging", "current"], { cwd: project, env: baseEnv({ HOME: home, TURL: url, ...variables }), timeoutMs: 30_000 });
}

/** Every password the servers were sent. */
function passwordsSent(...list: FakePostgres[]): (string | null)[] {
  return list.flatMap((server) => server.connections.map((connection) => connection.password)).filter((password) => password !== null);
}

describe("a libpq variable athanor cannot honour is refused before anything is contacted", () => {
  it.each([
    [{ PGSSLMODE: "verify_full" }, "PGSSLMODE"],
    [{ PGSSLMODE: "REQUIRE" }, "PGSSLMODE"],
    [{ PGCHANNELBINDING: "require" }, "PGCHANNELBINDING"],
    [{ PGGSSENCMODE: "require" }, "PGGSSENCMODE"],
    [{ PGSERVICE: "prod" }, "PGSERVICE"],
  ])("%j: exit 2 naming %s, the server never contacted", async (variables, name) => {
    const server = await fake();
    const result = await current(`postgresql://u:${PASSWORD}@127.0.0.1:${server.port}/d`, variables);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(name);
    expect(server.connections).toEqual([]);
  });

  it("refuses the same variables from the environment's .env file (as a shell that sources it would give them to libpq)", async () => {
    const server = await fake();
    writeFileSync(join(project, ".env.staging"), `TURL=postgresql://u:${PASSWORD}@127.0.0.1:${server.port}/d\nPGCHANNELBINDING=require\n`, { mode: 0o600 });
    const result = await spawnCli(["-e", "staging", "current"], { cwd: project, env: baseEnv({ HOME: home }), timeoutMs: 30_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("PGCHANNELBINDING");
    expect(server.connections).toEqual([]);
  });
});

describe("libpq's variables are honoured", () => {
  it("PGSSLMODE=require and PGPORT from the .env file: TLS is asked for on that port, and refused, no password is sent", async () => {
    const server = await fake();
    writeFileSync(join(project, ".env.staging"), `TURL=postgresql://u:${PASSWORD}@127.0.0.1/d\nPGPORT=${server.port}\nPGSSLMODE=require\n`, { mode: 0o600 });
    const result = await spawnCli(["-e", "staging", "current"], { cwd: project, env: baseEnv({ HOME: home }), timeoutMs: 30_000 });
    expect(result.status).toBe(1);
    expect(server.connections.map((connection) => connection.sslRequested)).toEqual([true]);
    expect(passwordsSent(server)).toEqual([]);
    const check = await spawnCli(["-e", "staging", "check"], { cwd: project, env: baseEnv({ HOME: home }), timeoutMs: 30_000 });
    expect(check.stdout).toContain(".env.staging sets PGPORT, PGSSLMODE: applied to the url as libpq applies them");
  });

  it("a URL without user or database: the OS user (not $USER), PGDATABASE, PGAPPNAME, as in libpq's startup packet", async () => {
    const server = await fake();
    await current(`postgresql://127.0.0.1:${server.port}`, { USER: "mallory", PGDATABASE: "app", PGAPPNAME: "deploy-42" });
    expect(server.connections[0]?.startup).toMatchObject({ user: userInfo().username, database: "app", application_name: "deploy-42" });
    const second = await fake();
    await current(`postgresql://127.0.0.1:${second.port}`, { PGUSER: "carol" });
    expect(second.connections[0]?.startup).toMatchObject({ user: "carol", database: "carol" });
  });

  it("a host list without ports goes to 5432, never to PGPORT (libpq reads PGPORT only when the URL sets no port)", async () => {
    const server = await fake();
    await current(`postgresql://u:${PASSWORD}@127.0.0.1,127.0.0.1/d`, { PGPORT: String(server.port) });
    expect(server.connections).toEqual([]);
  });

  it("passfile= in the URL wins over PGPASSFILE, and a PGPASSFILE from the .env file is read (libpq's order)", async () => {
    const server = await fake();
    const file = (name: string, password: string): string => {
      const path = join(home, name);
      writeFileSync(path, `127.0.0.1:${server.port}:*:u:${password}\n`, { mode: 0o600 });
      return path;
    };
    const pf1 = file("pf1", "Pf1-Password");
    const pf2 = file("pf2", "Pf2-Password");
    await current(`postgresql://u@127.0.0.1:${server.port}/d?passfile=${encodeURIComponent(pf1)}`, { PGPASSFILE: pf2 });
    writeFileSync(join(project, ".env.staging"), `PGPASSFILE=${pf2}\n`, { mode: 0o600 });
    await current(`postgresql://u@127.0.0.1:${server.port}/d`);
    expect(passwordsSent(server)).toEqual(["Pf1-Password", "Pf2-Password"]);
  });

  it("a host list stops, as psql, at a first host without TLS under sslmode=require or one that drops the connection", async () => {
    const second = await fake();
    const withoutTls = await fake();
    const refused = await current(`postgresql://u:${PASSWORD}@127.0.0.1:${withoutTls.port},127.0.0.1:${second.port}/d?sslmode=require`);
    expect(refused.status).toBe(1);
    expect(withoutTls.connections.map((connection) => connection.sslRequested)).toEqual([true]);
    const dropper = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => dropper.listen(0, "127.0.0.1", resolve));
    try {
      const port = (dropper.address() as AddressInfo).port;
      expect((await current(`postgresql://u:${PASSWORD}@127.0.0.1:${port},127.0.0.1:${second.port}/d`)).status).toBe(1);
    } finally {
      await new Promise<void>((resolve) => dropper.close(() => resolve()));
    }
    expect(second.connections).toEqual([]);
  });

  it("a host list stops at a server's refusal (wrong password): the next host is never sent the password", async () => {
    const first = await fake();
    const second = await fake();
    const result = await current(`postgresql://u:${PASSWORD}@127.0.0.1:${first.port},127.0.0.1:${second.port}/d`);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("password authentication failed");
    expect(passwordsSent(first)).toEqual([PASSWORD]);
    expect(second.connections).toEqual([]);
  });
});

describe("no password anywhere libpq looks", () => {
  it("is refused when the server asks for one (exit 2, no-password), and nothing is sent, as libpq's \"no password supplied\"", async () => {
    const server = await fake();
    const result = await spawnCli(["--json", "-e", "staging", "current"], { cwd: project, env: baseEnv({ HOME: home, TURL: `postgresql://u@127.0.0.1:${server.port}/d` }), timeoutMs: 30_000 });
    expect(result.status, result.stderr).toBe(2);
    const error = (JSON.parse(result.stdout) as { error: { code: string; message: string; hint: string } }).error;
    expect(error.code).toBe("no-password");
    expect(error.message).toContain(`127.0.0.1:${server.port}/d asks user "u" for a password, and none is set`);
    expect(error.hint).toContain(`127.0.0.1:${server.port}:d:u:<password>`);
    // The server asked (its startup packet arrived), and got no password message at all.
    expect(server.connections[0]?.startup).toMatchObject({ user: "u", database: "d" });
    expect(server.connections.map((connection) => connection.password)).toEqual([null]);
  });
});

describe("a Unix socket", () => {
  it("asks for no TLS there whatever sslmode says, as libpq (adv15 F15n)", async () => {
    const socketDir = mkdtempSync(join(tmpdir(), "athanor-socket-"));
    try {
      const server = await fake({ socketDir });
      await current(`postgresql://u:${PASSWORD}@/d?host=${encodeURIComponent(socketDir)}&port=5432&sslmode=require`);
      expect(server.connections.map((connection) => ({ ssl: connection.sslRequested, user: connection.startup?.["user"] }))).toEqual([{ ssl: false, user: "u" }]);
    } finally {
      rmSync(socketDir, { recursive: true, force: true });
    }
  });
});

describe("sslmode=require verifies the CA when a root certificate exists, as libpq does", () => {
  it("~/.postgresql/root.crt of another CA: the TLS server is not trusted and never sent the password", async () => {
    const server = await fake({ tls: { key: readFileSync(certificates.serverKey, "utf8"), cert: readFileSync(certificates.serverCert, "utf8") } });
    mkdirSync(join(home, ".postgresql"));
    copyFileSync(certificates.otherCaCert, join(home, ".postgresql", "root.crt"));
    const result = await current(`postgresql://u:${PASSWORD}@127.0.0.1:${server.port}/d?sslmode=require`);
    expect(result.status).toBe(1);
    expect(server.connections.map((connection) => connection.sslRequested)).toEqual([true]);
    expect(passwordsSent(server)).toEqual([]);
  });

  it("PGSSLROOTCERT of another CA with PGSSLMODE=require: not trusted; of the right CA with verify-full: the password goes over TLS", async () => {
    const tls = { key: readFileSync(certificates.serverKey, "utf8"), cert: readFileSync(certificates.serverCert, "utf8") };
    const wrong = await fake({ tls });
    await current(`postgresql://u:${PASSWORD}@127.0.0.1:${wrong.port}/d`, { PGSSLMODE: "require", PGSSLROOTCERT: certificates.otherCaCert });
    expect(passwordsSent(wrong)).toEqual([]);
    const right = await fake({ tls });
    await current(`postgresql://u:${PASSWORD}@127.0.0.1:${right.port}/d`, { PGSSLMODE: "verify-full", PGSSLROOTCERT: certificates.caCert });
    expect(right.connections.map((connection) => ({ tls: connection.tls, password: connection.password }))).toEqual([{ tls: true, password: PASSWORD }]);
  });
});

describe("connect_timeout, as libpq reads it (a server that takes the connection and never answers)", () => {
  it("the URL's connect_timeout bounds the connect instead of athanor's 10 s, 1 read as 2 as libpq does; PGCONNECT_TIMEOUT when the URL sets none", async () => {
    const server = await fake({ silent: true });
    const started = Date.now();
    const result = await current(`postgresql://u:${PASSWORD}@127.0.0.1:${server.port}/d?connect_timeout=1`);
    const elapsedMs = Date.now() - started;
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain(`cannot connect to 127.0.0.1:${server.port}/d: timeout expired: no answer within 2 s (connect_timeout)`);
    expect(server.connections[0]?.startup).toMatchObject({ user: "u", database: "d" });
    // Not athanor's own bound of 10 s (a bound, not a speed: the connect cannot end before the 2 s).
    expect(elapsedMs).toBeLessThan(9_000);
    const fromEnvironment = await current(`postgresql://u:${PASSWORD}@127.0.0.1:${server.port}/d`, { PGCONNECT_TIMEOUT: "3" });
    expect(fromEnvironment.stderr).toContain("no answer within 3 s (connect_timeout)");
    expect(passwordsSent(server)).toEqual([]);
  });

  it("a connect_timeout that is not a whole number is refused before anything is contacted (exit 2), as libpq refuses it", async () => {
    const server = await fake({ silent: true });
    const result = await current(`postgresql://u:${PASSWORD}@127.0.0.1:${server.port}/d?connect_timeout=10s`);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('connect_timeout "10s" is not a whole number of seconds (libpq refuses to connect)');
    const fromEnvironment = await current(`postgresql://u:${PASSWORD}@127.0.0.1:${server.port}/d`, { PGCONNECT_TIMEOUT: "ten" });
    expect(fromEnvironment.status).toBe(2);
    expect(fromEnvironment.stderr).toContain('PGCONNECT_TIMEOUT="ten" in the environment (libpq\'s connect_timeout) is not a whole number of seconds');
    expect(server.connections).toEqual([]);
  });
});
