/**
 * Revisions that committed in a round trip whose connection was then lost: their
 * durations are in their history rows, which can no longer be read, so the text says
 * "duration unknown" and the `revision-end` event carries `durationMs: null`, not 0.
 *
 * Quick revisions share round trips (1, 2, 4, then 5 here, as in test/engine.test.ts); the
 * ninth ends its own connection, after the eighth committed in the same round trip.
 */
import { describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv, spawnCli } from "./support/cli.js";
import { createPostgresDatabase, tempDir } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";

const ids = Array.from({ length: 12 }, (_, i) => `d${String(i + 1).padStart(11, "0")}`);
const KILLER = 8;

async function project(dir: string, url: string): Promise<void> {
  await mkdir(join(dir, "migrations"));
  await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url } } }));
  for (const [i, id] of ids.entries()) {
    const upgrade = i === KILLER ? "SELECT pg_terminate_backend(pg_backend_pid());" : `CREATE TABLE t_${i} (v int);`;
    await writeFile(join(dir, "migrations", `${id}_step.sql`), sqlRevisionText({ id, down: i === 0 ? null : (ids[i - 1] as string), message: `step ${i + 1}`, upgrade }));
  }
}

describe("durations of revisions committed before the connection was lost", { timeout: 120_000 }, () => {
  it("are unknown: `(duration unknown)` in the text, durationMs null in the revision-end event", async () => {
    for (const format of ["text", "json"] as const) {
      const { dir, remove } = await tempDir("athanor-duration-unknown-");
      const db = await createPostgresDatabase("athanor_duration_unknown");
      try {
        await project(dir, db.url);
        const argv = format === "json" ? ["--log-format", "json", "upgrade"] : ["upgrade"];
        const result = await spawnCli(argv, { cwd: dir, env: baseEnv(), timeoutMs: 90_000 });
        expect(result.status, result.stderr).toBe(1);
        const eighth = ids[KILLER - 1] as string;
        if (format === "text") {
          const lines = result.stdout.split("\n").filter((line) => line.startsWith("upgrade "));
          expect(lines.at(-1)).toBe(`upgrade ${eighth} step 8 (duration unknown)`);
          // Those whose round trip came back intact have theirs (a quick one shows 0 ms).
          expect(lines.slice(0, -1).every((line) => / \(\d+ ms\)$/.test(line))).toBe(true);
        } else {
          const ends = result.stderr
            .split("\n")
            .filter((line) => line.startsWith("{"))
            .map((line) => JSON.parse(line) as { event?: string; revision?: string; outcome?: string; durationMs?: number | null; msg?: string })
            .filter((record) => record.event === "revision-end" && record.outcome === "success");
          expect(ends.map((record) => record.revision)).toEqual(ids.slice(0, KILLER));
          const last = ends.at(-1);
          expect(last).toMatchObject({ revision: eighth, durationMs: null, msg: `applied ${eighth} step 8 (duration unknown)` });
          // The first revision travelled alone: its duration is known.
          expect(typeof ends[0]?.durationMs).toBe("number");
        }
      } finally {
        await db.drop();
        await remove();
      }
    }
  });
});
