/**
 * A `${VAR}` value inside a URL template is data in the component it lands in, never URL
 * syntax, through the real binary on the test server:
 * - a password in `?password=${DB_PASSWORD}` holding `&` connects, and one holding
 *   `&host=127.0.0.2&port=...` neither reaches a listener there nor shows any piece of
 *   itself in `env`, `check`, `status --json` or `current`;
 * - a database name `${DB_NAME}` holding `?host=...` stays a database name;
 * - a host value holding a path or a query string is refused (exit 2), naming the variable;
 * - `check` warns about a readable `.env` whose variable is a secret by value or by use,
 *   whatever its name.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { countingListener } from "./support/counting-listener.js";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv, spawnCli } from "./support/cli.js";
import { createPostgresDatabase, queryUrl, serverUrl, tempDir, type TestDatabase } from "./support/databases.js";

const server = new URL(serverUrl());
const HOST = server.hostname;
const PORT = server.port || "5432";
const ADMIN_USER = decodeURIComponent(server.username);
const ADMIN_PASSWORD = decodeURIComponent(server.password);


const role = `athanor_amp_${randomBytes(4).toString("hex")}`;
const AMP_PASSWORD = `Xy7&kQ9!zz-${randomBytes(3).toString("hex")}`;
let db: TestDatabase;
let project: { dir: string; remove(): Promise<void> };

beforeAll(async () => {
  db = await createPostgresDatabase("athanor_urlvars");
  await queryUrl(serverUrl(), `CREATE ROLE "${role}" LOGIN PASSWORD '${AMP_PASSWORD}'`);
  project = await tempDir("athanor-urlvars-");
  await mkdir(join(project.dir, "migrations"));
}, 60_000);

afterAll(async () => {
  await db.drop();
  await queryUrl(serverUrl(), `DROP ROLE IF EXISTS "${role}"`);
  await project.remove();
});

async function writeConfig(url: string): Promise<void> {
  await writeFile(join(project.dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url } } }));
}

const run = (argv: string[], env: Record<string, string>) => spawnCli(argv, { cwd: project.dir, env: baseEnv(env) });

describe("a ${VAR} in the query string or the database path", () => {
  it("connects with a password parameter holding & and !", async () => {
    await writeConfig(`postgresql://${role}@${HOST}:${PORT}/${db.name}?password=\${DB_PASSWORD}`);
    const result = await run(["current"], { DB_PASSWORD: AMP_PASSWORD });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).not.toContain("kQ9");
  }, 60_000);

  it("never starts new parameters: nothing connects to the host a password names, and no piece of it is shown", async () => {
    const listener = await countingListener("127.0.0.2");
    try {
      await writeConfig(`postgresql://${role}@${HOST}:${PORT}/${db.name}?password=\${DB_PASSWORD}`);
      const password = `pw&host=127.0.0.2&port=${listener.port}&application_name=SECRETTAIL`;
      for (const argv of [["env"], ["env", "--json"], ["check"], ["status", "--json"], ["current"]]) {
        const result = await run(argv, { DB_PASSWORD: password });
        const output = result.stdout + result.stderr;
        expect(output, argv.join(" ")).not.toContain("SECRETTAIL");
        expect(output, argv.join(" ")).not.toContain("127.0.0.2");
        // The URL is shown with its whole password masked (`current` shows no URL).
        if (argv[0] !== "current") expect(output, argv.join(" ")).toContain("password=***");
      }
      const current = await run(["current"], { DB_PASSWORD: `Pa55&host=127.0.0.2&port=${listener.port}` });
      // The server refuses "Pa55&host=..." as the role's password: the connection went where the URL says.
      expect(current.status).toBe(1);
      expect(current.stderr).toContain("password authentication failed");
      expect(current.stderr).not.toContain("Pa55");
      expect(listener.connections()).toBe(0);
    } finally {
      await listener.close();
    }
  }, 60_000);

  it("keeps a database name holding ?host= a database name", async () => {
    const listener = await countingListener("127.0.0.2");
    try {
      await writeConfig(`postgresql://${ADMIN_USER}:\${DB_PASSWORD}@${HOST}:${PORT}/\${DB_NAME}`);
      const result = await run(["current"], { DB_PASSWORD: ADMIN_PASSWORD, DB_NAME: `u1?host=127.0.0.2&port=${listener.port}` });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`database "u1?host=127.0.0.2&port=${listener.port}" does not exist`);
      expect(result.stderr).not.toContain(ADMIN_PASSWORD);
      expect(listener.connections()).toBe(0);
    } finally {
      await listener.close();
    }
  }, 60_000);

  it("refuses a host value that holds a path or a query string (exit 2), naming the variable and not the value", async () => {
    const listener = await countingListener("127.0.0.2");
    try {
      await writeConfig(`postgresql://${ADMIN_USER}:\${DB_PASSWORD}@\${DB_HOST}/${db.name}`);
      const value = `${HOST}:${PORT}/${db.name}?host=127.0.0.2&port=${listener.port}`;
      const result = await run(["current"], { DB_PASSWORD: ADMIN_PASSWORD, DB_HOST: value });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain("variable DB_HOST ");
      expect(result.stderr).not.toContain("127.0.0.2");
      expect(listener.connections()).toBe(0);
    } finally {
      await listener.close();
    }
  }, 60_000);
});

describe("check and a readable .env that holds a secret under another name", () => {
  afterAll(async () => {
    await rm(join(project.dir, ".env"), { force: true });
  });

  const permissionWarnings = async (env: Record<string, string> = {}): Promise<string[]> => {
    const result = await run(["check", "--json"], env);
    const document = JSON.parse(result.stdout) as { environments: { findings: { check: string; status: string; message: string }[] }[] };
    return document.environments.flatMap((entry) => entry.findings).filter((finding) => finding.check === "env-file-permissions").map((finding) => finding.message);
  };

  it("warns when a variable is a URL with a password", async () => {
    await writeConfig("${PROD_DB_URL}");
    await writeFile(join(project.dir, ".env"), `PROD_DB_URL=postgresql://${ADMIN_USER}:${ADMIN_PASSWORD}@${HOST}:${PORT}/${db.name}\n`);
    await chmod(join(project.dir, ".env"), 0o644);
    expect(await permissionWarnings()).toEqual([expect.stringContaining(".env holds secrets and is readable by others (mode 644)")]);
    await chmod(join(project.dir, ".env"), 0o600);
    expect(await permissionWarnings()).toEqual([]);
  }, 60_000);

  it("warns when a variable is used as the URL's password", async () => {
    await writeConfig(`postgresql://${ADMIN_USER}:\${PW}@${HOST}:${PORT}/${db.name}`);
    await writeFile(join(project.dir, ".env"), `PW=${ADMIN_PASSWORD}\n`);
    await chmod(join(project.dir, ".env"), 0o640);
    expect(await permissionWarnings()).toEqual([expect.stringContaining(".env holds secrets and is readable by its group (mode 640)")]);
  }, 60_000);

  it("does not warn about a readable .env that holds no secret", async () => {
    await writeConfig(`postgresql://${ADMIN_USER}:\${PGPW}@${HOST}:${PORT}/\${DB_NAME}`);
    await writeFile(join(project.dir, ".env"), `DB_NAME=${db.name}\n`);
    await chmod(join(project.dir, ".env"), 0o644);
    expect(await permissionWarnings({ PGPW: ADMIN_PASSWORD })).toEqual([]);
  }, 60_000);
});
