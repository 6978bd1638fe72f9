/**
 * Masking hides the secret and only the secret, on the real binary (`npm run build`
 * first): a foreign-data option named as a quoted identifier (`OPTIONS (ADD "password"
 * '...', SET "user" '...')`) has its literal masked and the rest of the statement shown
 * (before, everything after `"password` was masked); a server message quoting a connection
 * string (`could not parse network address "1 password=..."`) keeps its closing quote
 * (before, the quote went with the mask).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv, spawnCli, type CliResult } from "./support/cli.js";
import { createPostgresDatabase, tempDir, type TestDatabase } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";

const tag = randomBytes(4).toString("hex");
const secret = `QuotedPw${tag}`;

/** Fails on both engines (no such foreign server): the statement is shown in the failure. */
const mapping = sqlRevisionText({
  id: "d0d0d0d0d001",
  message: "a user mapping",
  upgrade: `ALTER USER MAPPING FOR CURRENT_USER SERVER athanor_no_such_server OPTIONS (ADD "password" '${secret}', SET "user" 'visible_user');`,
});

/** dblink refuses the host address; the server's message quotes it, password and all. */
const link = sqlRevisionText({
  id: "d0d0d0d0d002",
  message: "a link",
  upgrade: `CREATE EXTENSION IF NOT EXISTS dblink;\nSELECT dblink_connect('hostaddr=''1 password=${secret}''');`,
});

interface ErrorDocument {
  error: { message: string; details: { detail?: string } };
}

describe("masking hides exactly the secret", () => {
  let project: { dir: string; remove(): Promise<void> };
  let db: TestDatabase;
  const cli = (...argv: string[]): Promise<CliResult> => spawnCli(argv, { cwd: project.dir, env: baseEnv() });

  beforeAll(async () => {
    db = await createPostgresDatabase("athanor_maskexact");
    project = await tempDir("athanor-maskexact-");
    await mkdir(join(project.dir, "migrations"));
  });
  afterAll(async () => {
    await db?.drop();
    await project.remove();
  });

  async function upgradeWith(url: string, revision: string): Promise<{ text: CliResult; json: CliResult }> {
    await rm(join(project.dir, "migrations"), { recursive: true, force: true });
    await mkdir(join(project.dir, "migrations"));
    await writeFile(join(project.dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url } } }));
    await writeFile(join(project.dir, "migrations", "d0d0d0d0d001_r.sql"), revision);
    const text = await cli("upgrade");
    const json = await cli("upgrade", "--json");
    for (const result of [text, json]) expect(`${result.stdout}${result.stderr}`).not.toContain(secret);
    return { text, json };
  }

  it.each([
    ["PostgreSQL", () => db.url],
    ["PGlite", () => "pglite://./.athanor/dev"],
  ])("%s: a quoted \"password\" option's literal is masked, the options after it are shown", async (_name, url) => {
    const { text, json } = await upgradeWith(url(), mapping);
    expect(text.status, text.stderr).toBe(1);
    expect(text.stderr).toContain(`OPTIONS (ADD "password" '***', SET "user" 'visible_user')`);
    expect(json.stdout).toContain(`OPTIONS (ADD \\"password\\" '***', SET \\"user\\" 'visible_user')`);
  });

  it("PostgreSQL: a server message quoting a connection string keeps its closing quote", async () => {
    const { json } = await upgradeWith(db.url, link.replace("d0d0d0d0d002", "d0d0d0d0d001"));
    expect(json.status, json.stderr).toBe(1);
    const document = JSON.parse(json.stdout) as ErrorDocument;
    expect(`${document.error.message}\n${document.error.details.detail ?? ""}`).toContain('could not parse network address "1 password=***"');
  });
});
