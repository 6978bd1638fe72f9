/**
 * Guardrails by default in the library (issue 12.7), on PostgreSQL and PGlite: `upgrade()`
 * on a protected environment is refused without `yes: true` and changes nothing; with it,
 * the backup is taken (as the CLI takes it) before the revisions run; `guardrails: false`
 * applies with no check and no backup. `stamp()` goes through the same guardrails.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { upgrade } from "../src/commands/upgrade.js";
import { stamp } from "../src/commands/stamp.js";
import { loadConfigFile } from "../src/config/load.js";
import { resolveEnvironment } from "../src/config/resolve.js";
import { parseDatabaseUrl } from "../src/config/url.js";
import type { ResolvedEnvironment } from "../src/config/types.js";
import { openSession } from "../src/dialects/open.js";
import { RefusedError } from "../src/errors.js";
import { createPostgresDatabase, tempDir, type TestDatabase } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";
import { caught } from "./support/caught.js";

const R1 = "a1a1a1a1a1a1";
const R2 = "b2b2b2b2b2b2";

interface Target {
  /** The environment's url for the production and scratch databases. */
  urls(dir: string): Promise<{ production: string; scratch: string }>;
  /** Tables in the public schema of a database given by its url. */
  tables(url: string, dir: string): Promise<string[]>;
  cleanup(): Promise<void>;
}

async function publicTables(url: string, dir: string): Promise<string[]> {
  const session = await openSession(parseDatabaseUrl(url, dir, "the test").target);
  try {
    return (await session.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")).rows.map((row) => row.name);
  } finally {
    await session.close();
  }
}

function postgres(): Target {
  const dbs: TestDatabase[] = [];
  return {
    async urls() {
      const production = await createPostgresDatabase("athanor_guardlib");
      const scratch = await createPostgresDatabase("athanor_guardlib");
      dbs.push(production, scratch);
      return { production: production.url, scratch: scratch.url };
    },
    tables: publicTables,
    async cleanup() {
      for (const db of dbs) await db.drop();
    },
  };
}

function pglite(): Target {
  return {
    async urls() {
      return { production: "pglite://./prod", scratch: "pglite://./scratch" };
    },
    async tables(url, dir) {
      // Opening a data directory that is not there would create one.
      if (!existsSync(join(dir, url.slice("pglite://./".length)))) return [];
      return publicTables(url, dir);
    },
    async cleanup() {},
  };
}

describe.each([
  ["PostgreSQL", postgres],
  ["PGlite", pglite],
] as const)("library guardrails on %s", { timeout: 240_000 }, (_name, makeTarget) => {
  const target = makeTarget();
  let dir: string;
  let remove: () => Promise<void>;
  let urls: { production: string; scratch: string };
  let env: (name: string) => Promise<ResolvedEnvironment>;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-guardlib-"));
    urls = await target.urls(dir);
    await writeFile(
      join(dir, "athanor.config.json"),
      JSON.stringify({
        migrations: "./migrations",
        environments: {
          production: { url: urls.production, protected: true, backup: { dir: "./backups" } },
          scratch: { url: urls.scratch, protected: true, backup: { dir: "./scratch-backups" } },
        },
      }),
    );
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "migrations", `${R1}_one.sql`), sqlRevisionText({ id: R1, message: "one", upgrade: "CREATE TABLE one (x int);", downgrade: "DROP TABLE one;" }));
    await writeFile(join(dir, "migrations", `${R2}_two.sql`), sqlRevisionText({ id: R2, down: R1, message: "two", upgrade: "CREATE TABLE two (x int);", downgrade: "DROP TABLE two;" }));
    const loaded = await loadConfigFile(join(dir, "athanor.config.json"));
    env = (name) => resolveEnvironment(loaded, { environment: name, processEnv: process.env });
  });
  afterAll(async () => {
    await target.cleanup();
    await remove();
  });

  it("refuses a protected upgrade without yes: true and changes nothing", async () => {
    const production = await env("production");
    const error = await caught(upgrade(production, { target: R1 }));
    expect(error).toBeInstanceOf(RefusedError);
    expect(error.exitStatus).toBe(3);
    expect(error.code).toBe("confirmation-required");
    expect(error.message).toContain("yes: true");
    // stamp changes the version rows: the same guardrails.
    const stamped = await caught(stamp(production, { target: R1 }));
    expect(stamped.code).toBe("confirmation-required");
    expect(await target.tables(urls.production, dir)).toEqual([]);
    expect(existsSync(join(dir, "backups"))).toBe(false);
  });

  it("with yes: true takes the backup, then applies", async () => {
    const production = await env("production");
    const result = await upgrade(production, { target: R1, yes: true });
    expect(result.completed).toEqual([R1]);
    expect(await readdir(join(dir, "backups"))).toHaveLength(1);
    const second = await upgrade(production, { yes: true });
    expect(second.completed).toEqual([R2]);
    expect(await readdir(join(dir, "backups"))).toHaveLength(2);
    expect(await target.tables(urls.production, dir)).toEqual(["athanor_version", "athanor_version_history", "athanor_version_meta", "one", "two"]);
  });

  it("with guardrails: false applies with no backup and no confirmation", async () => {
    const scratch = await env("scratch");
    const result = await upgrade(scratch, { guardrails: false });
    expect(result.completed).toEqual([R1, R2]);
    expect(existsSync(join(dir, "scratch-backups"))).toBe(false);
    expect(await target.tables(urls.scratch, dir)).toEqual(expect.arrayContaining(["one", "two"]));
  });
});
