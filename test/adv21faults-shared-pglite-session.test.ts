/**
 * adv21faults finding 9 (exactly-once): two runs at once in one process on the caller's own
 * PGlite session (`session` option; docs/runtime.md "Library": "a session the caller owns,
 * e.g. an in-memory PGlite database"). Nothing keeps the second out: on PGlite the migration
 * lock is the data directory's lock file, and it is skipped for `pglite://memory` and for a
 * session that already holds its directory. Both runs "take the lock" at once and interleave
 * on the one connection: the second's statements run inside the first's transaction, the
 * revision's INSERT runs twice and commits twice, and the second run fails with "Revision ...
 * was rolled back entirely. Nothing was committed in this run" although its INSERT committed.
 * On PostgreSQL the same two calls on one caller session are serialised by the advisory lock
 * on its own connection (checked by hand: the second waits, then has nothing to do).
 */
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, openSession, resolveEnvironment, upgrade } from "../src/index.js";

const R = "e21e21e21e21";

describe("adv21faults: two runs at once on one caller-owned PGlite session", () => {
  for (const url of ["pglite://memory", "pglite://./.athanor/dev"]) {
    it(`a revision runs once, and the run that did not apply it says nothing false (${url})`, async () => {
      const dir = await mkdtemp(join(tmpdir(), "athanor-adv21-shared-"));
      try {
        await mkdir(join(dir, "migrations"));
        await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url } } }));
        // Two round trips with a pause between them, as any TypeScript revision that awaits something has.
        await writeFile(
          join(dir, "migrations", `${R}_slow.ts`),
          [
            `// athanor:revision ${R}`,
            "// athanor:message slow",
            "export default {",
            "  async upgrade({ sql }: any) {",
            "    await sql`CREATE TABLE IF NOT EXISTS m1 (x int)`;",
            "    await new Promise((resolve) => setTimeout(resolve, 300));",
            "    await sql`INSERT INTO m1 VALUES (1)`;",
            "  },",
            "  async downgrade({ sql }: any) { await sql`DROP TABLE m1`; },",
            "};",
            "",
          ].join("\n"),
        );
        const env = await resolveEnvironment(await loadConfig({ cwd: dir }), { environment: "development", processEnv: {} });
        const session = await openSession(env.target);
        try {
          const outcomes = await Promise.allSettled([upgrade(env, { session }), upgrade(env, { session })]);
          const rows = (await session.query<{ n: number }>("SELECT count(*)::int AS n FROM m1")).rows[0]?.n;
          const failures = outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [outcome.reason as { message: string; hint?: string }] : []));
          // Today: rows 2, one run fulfilled and the other rejected with "duplicate key value violates unique constraint".
          expect(rows, `the revision's INSERT ran ${rows} times; failures: ${JSON.stringify(failures.map((f) => [f.message, f.hint]))}`).toBe(1);
          expect(outcomes.map((outcome) => outcome.status), JSON.stringify(failures.map((f) => [f.message, f.hint]))).toEqual(["fulfilled", "fulfilled"]);
        } finally {
          await session.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 60_000);
  }
  it("a run that failed gives its turn back: the next run on the session fails the same way, not on the lock", async () => {
    const dir = await mkdtemp(join(tmpdir(), "athanor-adv21-shared-"));
    try {
      await mkdir(join(dir, "migrations"));
      await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: "pglite://memory" } } }));
      await writeFile(join(dir, "migrations", `${R}_bad.sql`), `-- athanor:revision ${R}\n-- athanor:message bad\n\n-- athanor:upgrade\nSELECT 1/0;\n`);
      const env = await resolveEnvironment(await loadConfig({ cwd: dir }), { environment: "development", processEnv: {} });
      const session = await openSession(env.target);
      try {
        for (let run = 0; run < 2; run++) {
          const error = await upgrade(env, { session, lockWaitMs: 2_000 }).then(
            () => null,
            (caught: unknown) => caught as { code?: string },
          );
          expect(error?.code).toBe("migration-failed");
        }
        const controller = new AbortController();
        controller.abort();
        await expect(upgrade(env, { session, signal: controller.signal })).rejects.toMatchObject({ code: "interrupted" });
        await expect(upgrade(env, { session, lockWaitMs: 2_000 })).rejects.toMatchObject({ code: "migration-failed" });
      } finally {
        await session.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
