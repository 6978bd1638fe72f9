/**
 * `repair` and `resolve` go through the guardrails as `stamp` does (fix8c, finding 1): a
 * database recorded as another environment's is refused (exit 3), a protected
 * environment needs `yes: true` / `--yes` or the name typed on a terminal (after the plan
 * of what will change), the environment's name is recorded on the first change, and
 * `guardrails: false` turns it all off. Library on PostgreSQL and PGlite; the CLI on
 * PostgreSQL, with a pseudo-terminal for the prompt.
 */
import { afterAll, describe, expect, it } from "vitest";
import { repair } from "../src/commands/repair.js";
import { resolve } from "../src/commands/resolve.js";
import { upgrade } from "../src/commands/upgrade.js";
import { baseEnv, runCli } from "./support/cli.js";
import { createPostgresDatabase } from "./support/databases.js";
import { createEngineProject, ids, pgliteEngine, postgresEngine, type Engine, type EngineProject } from "./support/engine-project.js";
import { onTerminal } from "./support/terminal.js";
import { caught } from "./support/caught.js";

const [A, B] = ids(2, "a") as [string, string];

/** A: a table; B: a non-transactional revision that fails. `edit` changes A's file (a comment: cosmetic). */
async function writeRevisions(project: EngineProject, edit = ""): Promise<void> {
  await project.write({ id: A, message: "a", upgrade: "CREATE TABLE t_a (x int);", downgrade: `DROP TABLE t_a;${edit}` });
  await project.write({ id: B, down: A, message: "b", transactional: false, upgrade: "SELECT 1/0;", downgrade: "SELECT 1;" });
}

describe.each([
  ["PostgreSQL", postgresEngine],
  ["PGlite", pgliteEngine],
] as const)("repair and resolve from the library on %s", { timeout: 240_000 }, (_name, makeEngine) => {
  const engine: Engine = makeEngine();
  afterAll(() => engine.close());

  it("check the identity, need yes: true on a protected environment, record the identity, and run with guardrails: false", async () => {
    const db = await engine.database();
    const project = await createEngineProject();
    try {
      await project.configure({ production: { ...db.envConfig, protected: true }, development: db.envConfig });
      await writeRevisions(project);
      const production = await project.env("production");
      const development = await project.env("development");
      const session = { session: db.session };
      const checksum = async () => (await db.query<{ checksum: string }>(`SELECT checksum FROM ${db.schema}.athanor_version WHERE revision = $1`, [A]))[0]?.checksum;
      const identity = async () => (await db.query<{ value: string }>(`SELECT value FROM ${db.schema}.athanor_version_meta WHERE key = 'environment'`))[0]?.value;
      const history = async () => (await db.query<{ direction: string; environment: string }>(`SELECT direction, environment FROM ${db.schema}.athanor_version_history ORDER BY id`)).map((r) => `${r.direction}:${r.environment}`);

      // Applied without guardrails: nothing records whose database this is yet.
      await upgrade(production, { ...session, target: A, guardrails: false });
      expect(await identity()).toBeUndefined();
      await writeRevisions(project, " -- edited");
      const stored = await checksum();

      const unconfirmed = await caught(repair(production, session));
      expect([unconfirmed.code, unconfirmed.exitStatus]).toEqual(["confirmation-required", 3]);
      expect(unconfirmed.hint).toContain("yes: true");
      expect(await checksum()).toBe(stored);

      const repaired = await repair(production, { ...session, yes: true });
      expect(repaired.repaired.map((item) => item.revision)).toEqual([A]);
      expect(await checksum()).not.toBe(stored);
      expect(await identity()).toBe("production");

      // The database is production's now: development's configuration may not repair it.
      await writeRevisions(project, " -- edited again");
      const before = await checksum();
      const wrongEnv = await caught(repair(development, session));
      expect([wrongEnv.code, wrongEnv.exitStatus]).toEqual(["environment-mismatch", 3]);
      expect(await checksum()).toBe(before);

      await writeRevisions(project);
      await repair(production, { ...session, yes: true });
      await caught(upgrade(production, { ...session, yes: true }));
      const started = async () => (await db.query<{ state: string }>(`SELECT state FROM ${db.schema}.athanor_version WHERE revision = $1`, [B]))[0]?.state;
      expect(await started()).toBe("started");

      const resolveWrongEnv = await caught(resolve(development, { ...session, revision: B, as: "applied" }));
      expect(resolveWrongEnv.code).toBe("environment-mismatch");
      const resolveUnconfirmed = await caught(resolve(production, { ...session, revision: B, as: "rolled-back" }));
      expect([resolveUnconfirmed.code, resolveUnconfirmed.exitStatus]).toEqual(["confirmation-required", 3]);
      expect(await started()).toBe("started");

      // guardrails: false is the one way past them, said in the call.
      const unguarded = await resolve(development, { ...session, revision: B, as: "rolled-back", guardrails: false });
      expect(unguarded.resolution).toBe("rolled-back");
      expect(await started()).toBeUndefined();
      expect(await history()).toEqual(["up:production", "repair:production", "repair:production", "up:production", "up:production", "resolve:development"]);
    } finally {
      await project.remove();
      await db.drop();
    }
  });
});

describe("repair and resolve from the CLI (PostgreSQL)", { timeout: 240_000 }, () => {
  it("show what they change, refuse without a terminal or --yes, and run once the name is typed", async () => {
    const db = await createPostgresDatabase("athanor_rowguard");
    const project = await createEngineProject();
    try {
      await project.configure({ production: { url: "${DATABASE_URL}", protected: true } });
      await writeRevisions(project);
      const env = baseEnv({ DATABASE_URL: db.url });
      const cli = (...argv: string[]) => runCli(argv, { cwd: project.dir, env });
      expect((await cli("--yes", "upgrade", A)).status).toBe(0);
      await writeRevisions(project, " -- edited");

      const refused = await cli("repair");
      expect(refused.status).toBe(3);
      expect(refused.stderr).toContain(`repair: store the checksum of ${A}_a.sql for ${A}`);
      expect(refused.stderr).toContain("the --yes flag is missing");
      expect(await cli("status", "--json").then((r) => JSON.parse(r.stdout).environments[0].problems.map((p: { code: string }) => p.code))).toEqual(["checksum-mismatch"]);

      const wrongName = await onTerminal(["repair"], "staging\r", project.dir, env);
      expect(wrongName.status, wrongName.stdout).toBe(3);
      const typed = await onTerminal(["repair"], "production\r", project.dir, env);
      expect(typed.status, typed.stdout).toBe(0);
      expect(typed.stdout).toContain(`repaired ${A}`);

      expect((await cli("--yes", "upgrade")).status).toBe(1);
      const resolveRefused = await cli("resolve", B, "--rolled-back");
      expect(resolveRefused.status).toBe(3);
      expect(resolveRefused.stderr).toContain(`resolve ${B} --rolled-back: remove its row`);
      const resolved = await cli("--yes", "resolve", B, "--rolled-back");
      expect(resolved.status, resolved.stderr).toBe(0);
    } finally {
      await project.remove();
      await db.drop();
    }
  });
});
