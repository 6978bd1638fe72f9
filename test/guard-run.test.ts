/**
 * The guards inside real runs (library level, real PostgreSQL): refusals leave the
 * database exactly as it was (no version table, no history row, no lock, no backup),
 * identity and promotion gates, the linter gate, and `lock_timeout` on a blocked revision.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { downgrade } from "../src/commands/downgrade.js";
import { stamp } from "../src/commands/stamp.js";
import { upgrade } from "../src/commands/upgrade.js";
import { loadConfig } from "../src/config/load.js";
import { resolveEnvironment } from "../src/config/resolve.js";
import type { ResolvedEnvironment } from "../src/config/types.js";
import type { ConfirmationUI } from "../src/guard/confirm.js";
import type { GuardrailHooks, GuardrailOptions } from "../src/guard/hook.js";
import { evaluatePromotion } from "../src/guard/promotion.js";
import { loadRevisionGraph } from "../src/revisions/script-directory.js";
import { lockKey } from "../src/run/lock.js";
import type { TestDatabase } from "./support/databases.js";
import { adminQuery, createGuardProject, createGuardRole, createOwnedDatabase, GUARD_PASSWORD, guardUrlTemplate, writeRevision, type GuardProject } from "./support/guard-project.js";
import { caught } from "./support/caught.js";

const R1 = "a1a1a1a1a1a1";
const R2 = "b2b2b2b2b2b2";
const R3 = "c3c3c3c3c3c3";

async function tables(database: string): Promise<string[]> {
  const rows = await adminQuery<{ name: string }>(database, "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
  return rows.map((row) => row.name);
}

async function advisoryLocks(database: string): Promise<number> {
  const rows = await adminQuery<{ n: string }>(database, "SELECT count(*) AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()");
  return Number(rows[0]?.n ?? 0);
}

interface GuardChoices extends Pick<GuardrailOptions, "yes" | "allowDangerous" | "noBackup">, Pick<GuardrailHooks, "interactive" | "ui" | "resolveEnvironment" | "onBackup"> {}

/** The guardrail options of a library run, without a terminal unless `interactive`. */
const guards = (choices: GuardChoices = {}): GuardrailOptions => ({
  yes: choices.yes,
  allowDangerous: choices.allowDangerous,
  noBackup: choices.noBackup,
  guardrails: { interactive: choices.interactive, ui: choices.ui, resolveEnvironment: choices.resolveEnvironment, onBackup: choices.onBackup, processEnv: { PATH: process.env["PATH"] } },
});

describe("guards in real runs", () => {
  let project: GuardProject;
  let role: { name: string; drop(): Promise<void> };
  const dbs: TestDatabase[] = [];
  let prodDb: TestDatabase;
  let testDb: TestDatabase;
  const processEnv = { PATH: process.env["PATH"], DB_PASSWORD: GUARD_PASSWORD };
  let resolve: (name: string) => Promise<ResolvedEnvironment>;

  beforeAll(async () => {
    project = await createGuardProject();
    role = await createGuardRole();
    prodDb = await createOwnedDatabase(role.name);
    testDb = await createOwnedDatabase(role.name);
    dbs.push(prodDb, testDb);
    await project.writeConfig({
      testing: { url: guardUrlTemplate(role.name, testDb.name) },
      production: { url: guardUrlTemplate(role.name, prodDb.name), protected: true, backup: { dir: "./backups", keep: 3 }, promoteFrom: "testing", lockTimeout: "1s" },
      // A development config pointing at production's database by mistake.
      development: { url: guardUrlTemplate(role.name, prodDb.name) },
    });
    await writeRevision(project.migrationsDir, { id: R1, down: null, message: "create users", upgrade: "CREATE TABLE users (id bigint PRIMARY KEY, email text);", downgrade: "DROP TABLE users;" }, 1);
    await writeRevision(project.migrationsDir, { id: R2, down: R1, message: "add name", upgrade: "ALTER TABLE users ADD COLUMN name text;", downgrade: "ALTER TABLE users DROP COLUMN name;" }, 2);
    const loaded = await loadConfig({ cwd: project.dir });
    resolve = (name) => resolveEnvironment(loaded, { environment: name, processEnv });
  });
  afterAll(async () => {
    for (const db of dbs) await db.drop();
    await role?.drop();
    await project?.remove();
  });
  afterEach(async () => {
    // No run may leave the migration lock behind.
    expect(await advisoryLocks(prodDb.name)).toBe(0);
  });

  it("a protected run without --yes and without a terminal is refused (exit 3) and changes nothing", async () => {
    const production = await resolve("production");
    const shown: number[] = [];
    const ui: ConfirmationUI = { showPlan: (request) => shown.push(request.steps.length), askEnvironmentName: () => Promise.reject(new Error("must not ask")) };
    const error = await caught(upgrade(production, { target: R1, ...guards({ ui, resolveEnvironment: resolve }) }));
    // The promotion gate speaks first: testing has applied nothing.
    expect(error.code).toBe("promotion-gate");
    await upgrade(await resolve("testing"), { target: R1 });
    const refused = await caught(upgrade(production, { target: R1, ...guards({ ui, resolveEnvironment: resolve }) }));
    expect(refused.code).toBe("confirmation-required");
    expect(refused.exitStatus).toBe(3);
    expect(refused.message).toContain("--yes");
    expect(shown).toEqual([1]);
    expect(await tables(prodDb.name)).toEqual([]);
    await expect(readdir(join(project.dir, "backups"))).rejects.toThrow();
  });

  it("a wrong typed name is refused and changes nothing; the right one runs, with a backup first", async () => {
    const production = await resolve("production");
    const typed = (answer: string): ConfirmationUI => ({ showPlan() {}, askEnvironmentName: async () => answer });
    const wrong = await caught(upgrade(production, { target: R1, ...guards({ interactive: true, ui: typed("prod"), resolveEnvironment: resolve }) }));
    expect(wrong.code).toBe("not-confirmed");
    expect(await tables(prodDb.name)).toEqual([]);
    const backups: string[] = [];
    const result = await upgrade(production, {
      target: R1,
      ...guards({ interactive: true, ui: typed("production"), resolveEnvironment: resolve, onBackup: (o) => o.status === "taken" && backups.push(o.backup.file) }),
    });
    expect(result.completed).toEqual([R1]);
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatch(new RegExp(`^production-\\d{8}T\\d{6}Z-${R1}\\.dump$`));
    const meta = await adminQuery<{ value: string }>(prodDb.name, "SELECT value FROM athanor_version_meta WHERE key = 'environment'");
    expect(meta).toEqual([{ value: "production" }]);
  });

  it("the promotion gate refuses a revision testing has not applied, listing it", async () => {
    const production = await resolve("production");
    const error = await caught(upgrade(production, { target: "head", ...guards({ yes: true, resolveEnvironment: resolve }) }));
    expect(error.code).toBe("promotion-gate");
    expect(error.exitStatus).toBe(3);
    expect(error.message).toContain(R2);
    expect(error.message).toContain('"testing"');
    const rows = await adminQuery<{ revision: string }>(prodDb.name, "SELECT revision FROM athanor_version");
    expect(rows).toEqual([{ revision: R1 }]);
    const graph = await loadRevisionGraph(production.migrationsDir);
    const evaluation = await evaluatePromotion(production, { steps: [{ revision: graph.get(R2), direction: "up" }] }, { resolveEnvironment: resolve });
    expect(evaluation).toMatchObject({ allowed: false, source: "testing", blocked: [{ revision: R2 }] });
  });

  it("a database recorded as production is refused through the development config (exit 3)", async () => {
    const development = await resolve("development");
    const error = await caught(upgrade(development, { target: "head", ...guards({ resolveEnvironment: resolve }) }));
    expect(error.code).toBe("environment-mismatch");
    expect(error.exitStatus).toBe(3);
    expect(error.message).toMatch(/belongs to environment "production", but this run reached it through environment "development"/);
    expect(error.hint).toMatch(/--env production/);
    expect(`${error.message} ${error.hint}`).not.toContain(GUARD_PASSWORD);
    const rows = await adminQuery<{ revision: string }>(prodDb.name, "SELECT revision FROM athanor_version");
    expect(rows).toEqual([{ revision: R1 }]);
    // stamp goes through the same guards.
    const stamped = await caught(stamp(development, { target: "head", ...guards({ resolveEnvironment: resolve }) }));
    expect(stamped.code).toBe("environment-mismatch");
  });

  it("a dangerous change on a protected environment needs --allow-dangerous", async () => {
    const production = await resolve("production");
    await upgrade(await resolve("testing"), { target: "head" });
    await upgrade(production, { target: "head", ...guards({ yes: true, noBackup: true, resolveEnvironment: resolve }) });
    // Reverting R2 drops a column: dangerous.
    const refused = await caught(downgrade(production, { target: R1, ...guards({ yes: true, noBackup: true, resolveEnvironment: resolve }) }));
    expect(refused.code).toBe("dangerous-change");
    expect(refused.exitStatus).toBe(3);
    expect(refused.message).toMatch(/drop-column/);
    expect(refused.hint).toMatch(/--allow-dangerous/);
    const result = await downgrade(production, { target: R1, ...guards({ yes: true, noBackup: true, allowDangerous: true, resolveEnvironment: resolve }) });
    expect(result.completed).toEqual([R2]);
  });

  it("a revision blocked by another session's lock fails after lockTimeout (exit 1) and leaves a clean state", async () => {
    await writeRevision(project.migrationsDir, { id: R3, down: R2, message: "blocked alter", upgrade: "ALTER TABLE users ADD COLUMN blocked int;" }, 3);
    const testing = await resolve("testing");
    await upgrade(testing, { target: "head" });
    const production = await resolve("production");
    await upgrade(production, { target: R2, ...guards({ yes: true, noBackup: true, resolveEnvironment: resolve }) });
    const url = new URL(prodDb.url);
    const blocker = new pg.Client({ connectionString: url.toString() });
    await blocker.connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query("SELECT * FROM users"); // ACCESS SHARE until the transaction ends: ALTER TABLE waits for it
      const started = Date.now();
      const error = await caught(upgrade(production, { target: "head", ...guards({ yes: true, noBackup: true, resolveEnvironment: resolve }) }));
      const elapsed = Date.now() - started;
      expect(error.exitStatus).toBe(1);
      expect(error.message).toMatch(/lock timeout/i);
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(10_000);
    } finally {
      await blocker.query("ROLLBACK").catch(() => {});
      await blocker.end();
    }
    const rows = await adminQuery<{ revision: string }>(prodDb.name, "SELECT revision FROM athanor_version ORDER BY applied_at");
    expect(rows.map((r) => r.revision)).toEqual([R1, R2]);
    const columns = await adminQuery<{ name: string }>(prodDb.name, "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position");
    expect(columns.map((c) => c.name)).toEqual(["id", "email", "name"]);
    const history = await adminQuery<{ revision: string; outcome: string }>(prodDb.name, "SELECT revision, outcome FROM athanor_version_history ORDER BY id DESC LIMIT 1");
    expect(history).toEqual([{ revision: R3, outcome: "failed" }]);
    expect(lockKey({ schema: "public", table: "athanor_version" })).toBeTypeOf("bigint");
  });
});
