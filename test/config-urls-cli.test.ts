/**
 * Issue #13 through the CLI, on the test server:
 * - an "@" after the host (in the query, the path, an option) never makes athanor connect
 *   to the host:port written after it: a TCP listener there counts connections;
 * - an unquoted `DB_PASSWORD=S3cr3t-p@ss:w/rd!#x` in `.env.production` is read whole (as
 *   python-dotenv and docker compose read it) and connects; `check` warns that Node's
 *   dotenv would read it differently;
 * - a host list connects to the first host that answers and fits target_session_attrs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv, runCli } from "./support/cli.js";
import { countingListener } from "./support/counting-listener.js";
import { createPostgresDatabase, queryUrl, serverUrl, tempDir, type TestDatabase } from "./support/databases.js";

const server = new URL(serverUrl());
const HOST = server.hostname;
const PORT = server.port || "5432";
const USER = decodeURIComponent(server.username);
const PASSWORD = decodeURIComponent(server.password);

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const listener = await countingListener();
  await listener.close();
  return listener.port;
}

let db: TestDatabase;
let project: { dir: string; remove(): Promise<void> };

beforeAll(async () => {
  db = await createPostgresDatabase("athanor_urls");
  project = await tempDir("athanor-urls-");
  await mkdir(join(project.dir, "migrations"));
}, 60_000);

afterAll(async () => {
  await db.drop();
  await project.remove();
});

async function writeConfig(environments: Record<string, { url: string }>, env: Record<string, string> = {}): Promise<void> {
  await writeFile(join(project.dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments }));
  await writeFile(join(project.dir, ".env"), Object.entries({ PGPW: PASSWORD, ...env }).map(([key, value]) => `${key}='${value}'`).join("\n") + "\n", { mode: 0o600 });
}

describe("an @ after the host never moves the connection", () => {
  it("connects only to the host the URL names, never to a listener named after an @", async () => {
    const listener = await countingListener();
    try {
      const at = `127.0.0.1:${listener.port}`;
      const base = `postgresql://${USER}:\${PGPW}@${HOST}:${PORT}`;
      const urls: Record<string, string> = {
        query: `${base}/${db.name}?application_name=ci@${at}`,
        queryNoPath: `${base}?dbname=${db.name}&application_name=ci@${at}`,
        path: `${base}/${db.name}@${at}`,
        options: `${base}/${db.name}?options=-c%20application_name%3Dx@${at}`,
        paramsOnly: `postgresql://${HOST}:${PORT}/${db.name}?user=${USER}&password=\${PGPW}&application_name=x@${at}`,
        noUserInfo: `postgresql://${HOST}:${PORT}?application_name=ci@${at}`,
        fragment: `${base}/${db.name}#@${at}`,
        asyncpg: `postgresql+asyncpg://${USER}:\${PGPW}@${HOST}:${PORT}/${db.name}?application_name=a@${at}`,
      };
      await writeConfig(Object.fromEntries(Object.entries(urls).map(([name, url]) => [name, { url }])));
      const statuses: Record<string, number> = {};
      for (const name of Object.keys(urls)) {
        const result = await runCli(["--env", name, "current"], { cwd: project.dir, env: baseEnv() });
        statuses[name] = result.status;
        expect(result.stderr).not.toContain(PASSWORD);
      }
      expect(listener.connections()).toBe(0);
      // Those naming an existing database connect to it; the others fail there (database
      // "...@127.0.0.1:port" does not exist) or are refused before connecting (exit 2).
      expect(statuses).toEqual({ query: 0, queryNoPath: 0, path: 1, options: 0, paramsOnly: 0, noUserInfo: 2, fragment: 1, asyncpg: 0 });
    } finally {
      await listener.close();
    }
  }, 60_000);
});

describe(".env read as python-dotenv reads it", () => {
  const role = `athanor_hash_${randomBytes(4).toString("hex")}`;
  const HASH_PASSWORD = "S3cr3t-p@ss:w/rd!#x";

  beforeAll(async () => {
    await queryUrl(serverUrl(), `CREATE ROLE "${role}" LOGIN PASSWORD '${HASH_PASSWORD}'`);
  });
  afterAll(async () => {
    await queryUrl(serverUrl(), `DROP ROLE IF EXISTS "${role}"`);
  });

  it("connects with an unquoted password holding # and warns that Node's dotenv reads it differently", async () => {
    await writeConfig({ production: { url: `postgresql://${role}:\${DB_PASSWORD}@${HOST}:${PORT}/${db.name}` } });
    await writeFile(join(project.dir, ".env.production"), `# production\nexport DB_PASSWORD=${HASH_PASSWORD}\n`, { mode: 0o600 });
    const current = await runCli(["--env", "production", "current"], { cwd: project.dir, env: baseEnv() });
    expect(current.status, current.stderr).toBe(0);
    const check = await runCli(["--env", "production", "--json", "check"], { cwd: project.dir, env: baseEnv() });
    const findings = (JSON.parse(check.stdout) as { environments: { findings: { check: string; status: string; message: string }[] }[] }).environments.flatMap((entry) => entry.findings);
    const warning = findings.find((finding) => finding.check === "env-file-syntax");
    expect(warning?.status).toBe("warning");
    expect(warning?.message).toContain("DB_PASSWORD");
    expect(warning?.message).toContain(".env.production");
    for (const output of [current.stdout, current.stderr, check.stdout, check.stderr]) expect(output).not.toContain(HASH_PASSWORD);
  }, 60_000);
});

describe("host lists and target_session_attrs", () => {
  it("skips a host that does not answer and connects to the next writable one", async () => {
    const dead = await closedPort();
    const hosts = `127.0.0.1:${dead},${HOST}:${PORT}`;
    await writeConfig({
      readwrite: { url: `postgresql://${USER}:\${PGPW}@${hosts}/${db.name}?target_session_attrs=read-write` },
      preferstandby: { url: `postgresql://${USER}:\${PGPW}@${hosts}/${db.name}?target_session_attrs=prefer-standby` },
      standby: { url: `postgresql://${USER}:\${PGPW}@${HOST}:${PORT}/${db.name}?target_session_attrs=standby` },
      readonly: { url: `postgresql://${USER}:\${PGPW}@${hosts}/${db.name}?target_session_attrs=read-only` },
    });
    const run = (name: string) => runCli(["--env", name, "current"], { cwd: project.dir, env: baseEnv() });
    expect((await run("readwrite")).status).toBe(0);
    expect((await run("preferstandby")).status).toBe(0);
    // The test server is a primary that accepts writes: no host fits.
    for (const name of ["standby", "readonly"]) {
      const result = await run(name);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("target_session_attrs");
    }
  }, 60_000);

  it("PGTARGETSESSIONATTRS is honoured like the URL's parameter, and the URL's wins (adv15 F6)", async () => {
    const dead = await closedPort();
    const hosts = `127.0.0.1:${dead},${HOST}:${PORT}`;
    await writeConfig({
      plain: { url: `postgresql://${USER}:\${PGPW}@${hosts}/${db.name}` },
      readwrite: { url: `postgresql://${USER}:\${PGPW}@${hosts}/${db.name}?target_session_attrs=read-write` },
    });
    const run = (name: string) => runCli(["--env", name, "current"], { cwd: project.dir, env: baseEnv({ PGTARGETSESSIONATTRS: "read-only" }) });
    // The test server is a primary: read-only fits no host.
    const refused = await run("plain");
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("read-only (target_session_attrs)");
    expect((await run("readwrite")).status).toBe(0);
  }, 60_000);
});
