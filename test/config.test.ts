/**
 * The guide's test_environments cases, on real files in a temp directory: each
 * environment detected, each fallback, each error.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadConfig } from "../src/config/load.js";
import { resolveEnvironment } from "../src/config/resolve.js";
import { ConfigError } from "../src/errors.js";
import { tempDir } from "./support/databases.js";

const CONFIG = `import { defineConfig } from "athanor";
export default defineConfig({
  environments: {
    development: { url: "\${DATABASE_URL}", echo: true },
    testing: { url: "\${DATABASE_URL}", pool: "none" },
    production: { url: "\${DATABASE_URL}", pool: { max: 10 } },
  },
});
`;

let dir: string;
let remove: () => Promise<void>;

beforeEach(async () => {
  ({ dir, remove } = await tempDir());
  await writeFile(join(dir, "athanor.config.ts"), CONFIG);
  // The guide's three files.
  await writeFile(join(dir, ".env"), "ENVIRONMENT=development\nDATABASE_URL=postgresql+asyncpg://user:pass@localhost:5432/db_dev\n");
  await writeFile(join(dir, ".env.test"), "ENVIRONMENT=development\nDATABASE_URL=postgresql+asyncpg://user:pass@localhost:5432/db_test\n");
  await writeFile(
    join(dir, ".env.production"),
    "ENVIRONMENT=production\nDATABASE_URL=postgresql+asyncpg://user:${DB_PASSWORD}@${DB_HOST}:${DB_PORT}/${DB_NAME}\nDB_HOST=localhost\nDB_PORT=5432\nDB_NAME=mestocker_prod\nDB_PASSWORD=production_secure_password_change_me\n",
  );
});
afterEach(() => remove());

async function resolveWith(env: Record<string, string>, flag?: string) {
  const project = await loadConfig({ cwd: dir });
  return resolveEnvironment(project, { environment: flag, processEnv: env });
}

describe("environment selection", () => {
  it("takes ENVIRONMENT from .env when nothing else says (the guide's default)", async () => {
    const env = await resolveWith({});
    expect(env.name).toBe("development");
    expect(env.target).toMatchObject({ kind: "postgres", database: "db_dev" });
    expect(env.echo).toBe(true);
  });
  it("prefers --env over ATHANOR_ENV over ENVIRONMENT", async () => {
    expect((await resolveWith({ ENVIRONMENT: "production", ATHANOR_ENV: "testing" }, "development")).name).toBe("development");
    expect((await resolveWith({ ENVIRONMENT: "production", ATHANOR_ENV: "testing" })).name).toBe("testing");
    expect((await resolveWith({ ENVIRONMENT: "testing" })).name).toBe("testing");
  });
  it.each([["dev", "development"], ["test", "testing"], ["prod", "production"]])("maps the alias %s to %s", async (alias, full) => {
    expect((await resolveWith({}, alias)).name).toBe(full);
  });
  it("reads .env.test for testing, with the pool option", async () => {
    const env = await resolveWith({ ENVIRONMENT: "testing" });
    expect(env.target).toMatchObject({ database: "db_test" });
    expect(env.pool).toBe("none");
  });
  it("assembles production's URL from its variables, and protects it by default", async () => {
    const env = await resolveWith({}, "production");
    expect(env.target).toMatchObject({ kind: "postgres", host: "localhost", port: 5432, database: "mestocker_prod", user: "user" });
    expect(env.redactedUrl).toBe("postgresql+asyncpg://user:***@localhost:5432/mestocker_prod");
    expect(env.protected).toBe(true);
    expect(env.pool).toEqual({ max: 10 });
    expect(env.secrets).toContain("production_secure_password_change_me");
    expect(env.url.sources.map((s) => s.kind)).toEqual(["config", "env-file", "env-file", "env-file", "env-file", "env-file"]);
  });
  it("lets the real process environment win over every file", async () => {
    const env = await resolveWith({ DB_HOST: "db.internal" }, "production");
    expect(env.target).toMatchObject({ host: "db.internal" });
  });
  it("layers .env.<name>.local over .env.<name>", async () => {
    await writeFile(join(dir, ".env.production.local"), "DB_NAME=override\n");
    expect((await resolveWith({}, "production")).target).toMatchObject({ database: "override" });
  });
  it("rejects an unknown environment, listing the ones that exist", async () => {
    await expect(resolveWith({}, "staging")).rejects.toThrow(/unknown environment "staging".*development, testing, production/);
  });
  it("rejects an empty --env (an unset variable in --env \"$X\") instead of falling back to ATHANOR_ENV or the default", async () => {
    for (const flag of ["", " "]) {
      const failure = resolveWith({ ATHANOR_ENV: "production" }, flag);
      await expect(failure).rejects.toThrow(/--env was given an empty name/);
      await expect(failure).rejects.toMatchObject({ code: "empty-environment", exitStatus: 2 });
    }
  });
});

describe("settings PostgreSQL would refuse only at the first query", () => {
  it("a lockTimeout or statementTimeout above PostgreSQL's largest (INT_MAX ms) is a config error naming it", async () => {
    for (const [key, value] of [["lockTimeout", '"1000h"'], ["statementTimeout", "3000000000"]] as const) {
      await writeFile(join(dir, "athanor.config.ts"), `export default { environments: { development: { url: "pglite://memory", ${key}: ${value} } } };`);
      const failure = resolveWith({});
      await expect(failure).rejects.toMatchObject({ code: "invalid-duration", exitStatus: 2 });
      await expect(failure).rejects.toThrow(new RegExp(`${key} .*more than PostgreSQL's largest`));
    }
  });
  it("an empty versionTable schema or table is a config error, not a zero-length identifier at run time", async () => {
    await writeFile(join(dir, "athanor.config.ts"), `export default { environments: { development: { url: "pglite://memory", versionTable: { table: "" } } } };`);
    await expect(resolveWith({})).rejects.toThrow(/environments\.development\.versionTable\.table.*is empty/);
  });
});

describe("fallbacks", () => {
  it("uses the settings module's databaseUrl when the environment has no url", async () => {
    await writeFile(join(dir, "athanor.config.ts"), `export default { settings: "./src/settings.ts", environments: { development: {} } };`);
    await mkdir(join(dir, "src"));
    await writeFile(join(dir, "src/settings.ts"), `export const databaseUrl: string = "postgresql://s:pw@settings-host/app";`);
    const env = await resolveWith({});
    expect(env.target).toMatchObject({ host: "settings-host" });
    expect(env.url.sources[0]).toEqual({ kind: "settings", file: "./src/settings.ts", exportName: "databaseUrl" });
  });
  it("falls back to DATABASE_URL when there is neither url nor settings", async () => {
    await writeFile(join(dir, "athanor.config.ts"), `export default { environments: { development: {} } };`);
    const env = await resolveWith({ DATABASE_URL: "postgres://x@envhost/db" });
    expect(env.target).toMatchObject({ host: "envhost" });
  });
  it("says what is missing when nothing gives a URL", async () => {
    await writeFile(join(dir, "athanor.config.ts"), `export default { environments: { staging: {} } };`);
    await writeFile(join(dir, ".env"), "");
    await expect(resolveWith({}, "staging")).rejects.toThrow(/environment "staging" has no url/);
  });
  it("an empty DATABASE_URL is named as set but empty, where it was set (adv15 F15k)", async () => {
    await writeFile(join(dir, "athanor.config.ts"), `export default { environments: { staging: {}, testing: { url: "\${DATABASE_URL}" } } };`);
    await writeFile(join(dir, ".env"), "");
    await expect(resolveWith({ DATABASE_URL: "" }, "staging")).rejects.toThrow('environment "staging" has no url, and DATABASE_URL is set but empty (DATABASE_URL from the process environment)');
    await expect(resolveWith({ DATABASE_URL: "" }, "testing")).rejects.toThrow('the database URL of environment "testing" (environments.testing.url in athanor.config.ts, DATABASE_URL from the process environment) is empty');
  });
});

describe("errors", () => {
  it("names an unset variable, the environment and the setting that used it", async () => {
    await writeFile(join(dir, "athanor.config.ts"), `export default { environments: { production: { url: "postgresql://app:\${DB_PASSWORD}@\${DB_HOST}/x" } } };`);
    await writeFile(join(dir, ".env.production"), "DB_HOST=h\n");
    const error = await resolveWith({}, "production").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe('variable DB_PASSWORD is not set (environment "production", used by environments.production.url in athanor.config.ts)');
  });
  it("names the file and the path of a bad key, with the closest valid name", async () => {
    await writeFile(join(dir, "athanor.config.ts"), `export default { environments: { production: { url: "x", protectd: true } } };`);
    await expect(loadConfig({ cwd: dir })).rejects.toThrow(/athanor.config.ts: environments.production.protectd is not a known setting/);
    const error = await loadConfig({ cwd: dir }).catch((e: unknown) => e);
    expect((error as ConfigError).hint).toMatch(/Did you mean "protected"/);
  });
  it("names the path of a value of the wrong type", async () => {
    await writeFile(join(dir, "athanor.config.ts"), `export default { environments: { testing: { url: "x", pool: 3 } } };`);
    await expect(loadConfig({ cwd: dir })).rejects.toThrow(/environments.testing.pool must be "none" or \{ max/);
  });
  it("reports a config file that does not load", async () => {
    await writeFile(join(dir, "athanor.config.ts"), `export default {{{`);
    await expect(loadConfig({ cwd: dir })).rejects.toThrow(/could not be loaded/);
  });
  it("says where a syntax error in a TypeScript config is, in an editor's line and column", async () => {
    const line = `    development: { url: "pglite://./.athanor/dev" ,,`;
    await writeFile(join(dir, "athanor.config.ts"), `import { defineConfig } from "athanor";\nexport default defineConfig({\n  environments: {\n${line}\n  },\n});\n`);
    // The second comma is the unexpected token: line 4, and its column counted from 1.
    const column = line.lastIndexOf(",") + 1;
    await expect(loadConfig({ cwd: dir })).rejects.toThrow(new RegExp(`athanor\\.config\\.ts could not be loaded: .*Unexpected token at line 4, column ${column}$`));
  });
  it("reports malformed JSON configs", async () => {
    await writeFile(join(dir, "athanor.config.ts"), "");
    const { rm } = await import("node:fs/promises");
    await rm(join(dir, "athanor.config.ts"));
    await writeFile(join(dir, "athanor.config.json"), `{"environments": {"dev": {"url": "x",}}}`);
    await expect(loadConfig({ cwd: dir })).rejects.toThrow(/is not valid JSON/);
  });
  it("finds the config walking up from a subdirectory", async () => {
    await mkdir(join(dir, "a/b"), { recursive: true });
    const project = await loadConfig({ cwd: join(dir, "a/b") });
    expect(project.rootDir).toBe(dir);
  });
});
