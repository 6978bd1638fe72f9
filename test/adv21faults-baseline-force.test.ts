/**
 * adv21faults finding 10: `athanor baseline -m MSG --force` on a database that records
 * revisions (README: "`--force` starts a new root, to squash a history") stamps the new root
 * beside the old rows. It then says `stamped development at <new>` while the database stands
 * at the new root and every old head (`current --json`, and baseline's own `--json`
 * `stamped.current`, list them all; `status` shows it behind). Text and database disagree.
 * Through the CLI on PostgreSQL.
 */
import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, runCli } from "./support/cli.js";
import { athanorWaitsOnLock, connect, startCli, startTwoTableProject, until, type TwoTableProject } from "./support/faults.js";
import type { TestDatabase } from "./support/databases.js";
import type { EngineProject } from "./support/engine-project.js";

const A = "a21d21a21d21";
const B = "b21d21b21d21";

describe("adv21faults: baseline --force over recorded revisions (PostgreSQL)", { timeout: 120_000 }, () => {
  let project: EngineProject;
  let db: TestDatabase;
  const cli = (...argv: string[]) => runCli(argv, { cwd: project.dir, env: baseEnv({ DATABASE_URL: db.url }) });

  let started: TwoTableProject;
  beforeAll(async () => {
    started = await startTwoTableProject("athanor_adv21_baseline", A, B);
    ({ project, db } = started);
  });
  afterAll(async () => {
    await started?.stop();
  });

  it("what it says the database is stamped at is what current reports", async () => {
    expect((await cli("upgrade")).status).toBe(0);
    const result = await cli("baseline", "-m", "squash", "--force");
    expect(result.status, result.stderr).toBe(0);
    // Where it says the database stands: the heads it names after "stands at", else the stamped revision alone.
    const stampedAt = (/stands at ([0-9a-f, ]+);/.exec(result.stdout) ?? /stamped development at ([0-9a-f]+);/.exec(result.stdout))?.[1]?.split(", ") ?? [];
    const current = (JSON.parse((await cli("current", "--json")).stdout) as { current: string[] }).current;
    // Today: stampedAt is [<new root>], current is [<new root>, B].
    expect([...current].sort(), result.stdout).toEqual([...stampedAt].sort());
  });

  it("a baseline whose stamp committed before its lock was lost keeps its revision file (the database records it)", async () => {
    const { observer } = started;
    const holder = await connect(db.url);
    try {
      const files = () => readdirSync(project.migrationsDir).sort();
      const before = files();
      // The stamp's INSERT waits on this lock; the idle lock connection is ended meanwhile.
      await holder.query("BEGIN");
      await holder.query("LOCK TABLE athanor_version IN SHARE MODE");
      const run = startCli(["baseline", "-m", "kept", "--force", "--json"], project.dir, baseEnv({ DATABASE_URL: db.url }));
      await until(() => athanorWaitsOnLock(observer), 20_000, "the stamp waiting for the table lock");
      const ended = await observer.query(
        `SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
          WHERE a.datname = current_database() AND a.state = 'idle' AND a.application_name LIKE 'athanor %'`,
      );
      expect(ended.rowCount).toBe(1);
      await holder.query("COMMIT");
      const result = await run.done;
      const added = files().filter((name) => !before.includes(name));
      const recorded = (await observer.query<{ revision: string }>("SELECT revision FROM athanor_version")).rows.map((row) => row.revision);
      expect(result.status, result.stderr).toBe(1);
      const document = JSON.parse(result.stdout) as { error: { code: string; hint: string; details: Record<string, unknown> } };
      expect(document.error.code).toBe("lock-lost");
      expect(document.error.details["committed"]).toBe(true);
      // The new root is recorded, and its file is there.
      expect(added).toHaveLength(1);
      expect(recorded.some((id) => added[0]?.startsWith(id))).toBe(true);
      expect(document.error.hint).toContain("was kept");
    } finally {
      await holder.end().catch(() => {});
    }
  });
});
