/**
 * A signal that comes after the plan is known but before the run's first change (during
 * the check of the plan's files, or while the guards run) stops the run before it creates
 * the version tables or prepares anything: before, the tables were created, and the run
 * stopped only at its first revision. Library, both engines; the signal is given by one of
 * the caller's guards, the last thing before the first change.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upgrade } from "../src/commands/upgrade.js";
import { createEngineProject, ids, pgliteEngine, postgresEngine, type Engine, type EngineDatabase, type EngineProject } from "./support/engine-project.js";

for (const makeEngine of [postgresEngine, pgliteEngine] as (() => Engine)[]) {
  describe(`a signal before the first change (${makeEngine().dialect})`, { timeout: 120_000 }, () => {
    const engine = makeEngine();
    let project: EngineProject;
    let db: EngineDatabase;
    const [a, b] = ids(2, "c") as [string, string];

    beforeAll(async () => {
      project = await createEngineProject();
      db = await engine.database();
      await project.write({ id: a, down: null, upgrade: "CREATE TABLE before_change_a (x int);" });
      await project.write({ id: b, down: a, upgrade: "CREATE TABLE before_change_b (x int);" });
      await project.configure({ development: db.envConfig });
    });
    afterAll(async () => {
      await db.drop();
      await engine.close();
      await project.remove();
    });

    it("stops the run with 130 and nothing created: no version tables, no revision", async () => {
      const controller = new AbortController();
      const run = upgrade(await project.env("development"), {
        signal: controller.signal,
        beforeExecute: [() => controller.abort("SIGINT")],
        ...(db.session === undefined ? {} : { session: db.session }),
      });
      await expect(run).rejects.toMatchObject({ code: "interrupted", exitStatus: 130, message: expect.stringContaining("before the first change") });
      const tables = await db.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_name LIKE 'athanor%' OR table_name LIKE 'before_change%'");
      expect(tables).toEqual([]);
      // The lock was released: the next run applies both.
      await upgrade(await project.env("development"), db.session === undefined ? {} : { session: db.session });
      const after = await db.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_name LIKE 'before_change%' ORDER BY 1");
      expect(after.map((row) => row.name)).toEqual(["before_change_a", "before_change_b"]);
    });
  });

  // A protected environment's guardrails record its name in the database (creating the version
  // tables) before the first revision: a signal during the check must stop the run before them
  // (adv14 H: the tables were created, and the message said nothing was changed).
  describe(`a signal during the plan's check, protected environment (${makeEngine().dialect})`, { timeout: 120_000 }, () => {
    const engine = makeEngine();
    let project: EngineProject;
    let db: EngineDatabase;
    const [a, b] = ids(2, "d") as [string, string];
    const hook = "__athanorTestSignalDuringCheck";

    beforeAll(async () => {
      project = await createEngineProject();
      db = await engine.database();
      await project.write({ id: a, down: null, upgrade: "CREATE TABLE during_check_a (x int);" });
      // Loaded (its module's code run) by the plan's check, not before: the signal comes during the check.
      await project.writeFile(
        `${b}_signals.ts`,
        `import { defineMigration } from "athanor";\n(globalThis as Record<string, unknown> & { ${hook}?: () => void }).${hook}?.();\nexport default defineMigration({ revision: "${b}", down: "${a}", message: "signals", async upgrade({ sql }) { await sql.unsafe("CREATE TABLE during_check_b (x int)"); } });\n`,
      );
      await project.configure({ production: { ...db.envConfig, protected: true } });
    });
    afterAll(async () => {
      delete (globalThis as Record<string, unknown>)[hook];
      await db.drop();
      await engine.close();
      await project.remove();
    });

    it("stops the run before the guardrails: nothing recorded, no version tables, no revision", async () => {
      const controller = new AbortController();
      (globalThis as Record<string, unknown>)[hook] = () => controller.abort("SIGINT");
      const run = upgrade(await project.env("production"), { yes: true, signal: controller.signal, ...(db.session === undefined ? {} : { session: db.session }) });
      await expect(run).rejects.toMatchObject({ code: "interrupted", exitStatus: 130, message: expect.stringContaining("before the first change: no revision ran, nothing was changed") });
      const tables = await db.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_name LIKE 'athanor%' OR table_name LIKE 'during_check%'");
      expect(tables).toEqual([]);
    });
  });
}
