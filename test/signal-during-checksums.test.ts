/**
 * A run with many applied revisions and one pending compares every applied file's
 * checksum with its version row before it plans. Reading and hashing the files gives the
 * event loop a turn every millisecond (src/run/hash-applied.ts): a signal that comes
 * meanwhile is handled before the comparison finishes and stops the run there, before the
 * plan. Before, the comparison ran in one go (10,000 files: ~0.6 s in which no signal
 * handler ran), and the run went on to plan. Checked by the order of events, not by time:
 * the signal is sent from a turn of the event loop taken after the lock is held, and the
 * run must stop without a `plan` event. Library, both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upgrade } from "../src/commands/upgrade.js";
import type { MigrationEvent } from "../src/run/events.js";
import { createEngineProject, ids, pgliteEngine, postgresEngine, versionRows, type Engine, type EngineDatabase, type EngineProject } from "./support/engine-project.js";

const COUNT = 2_000;

for (const engine of [postgresEngine(), pgliteEngine()] as Engine[]) {
  describe(`a signal while the applied revisions' checksums are compared (${engine.dialect})`, { timeout: 300_000 }, () => {
    let project: EngineProject;
    let db: EngineDatabase;
    const revisionIds = ids(COUNT, "b");

    beforeAll(async () => {
      project = await createEngineProject();
      db = await engine.database();
      for (const [i, id] of revisionIds.entries()) await project.write({ id, down: i === 0 ? null : (revisionIds[i - 1] as string), upgrade: `SELECT ${i};` });
      await project.configure({ development: db.envConfig });
      // Every revision but the last applied: the next run compares COUNT - 1 checksums, then has one to apply.
      await upgrade(await project.env("development"), { target: revisionIds[COUNT - 2] as string, ...(db.session === undefined ? {} : { session: db.session }) });
    });
    afterAll(async () => {
      await db.drop();
      await engine.close();
      await project.remove();
    });

    it("is handled before the comparison finishes: the run stops with 143 before it plans, nothing applied", async () => {
      const controller = new AbortController();
      const order: string[] = [];
      const events = (event: MigrationEvent): void => {
        order.push(event.type);
        // A turn of the event loop after the lock is held, as a signal's handler gets one.
        if (event.type === "lock-acquired") {
          setImmediate(() => {
            order.push("SIGTERM handled");
            controller.abort("SIGTERM");
          });
        }
      };
      const run = upgrade(await project.env("development"), { signal: controller.signal, events, ...(db.session === undefined ? {} : { session: db.session }) });
      await expect(run).rejects.toMatchObject({ code: "interrupted", exitStatus: 143 });
      expect(order).toContain("SIGTERM handled");
      expect(order).not.toContain("plan");
      expect(await versionRows(db)).toHaveLength(COUNT - 1);
    });
  });
}
