/**
 * Issue #8, concurrent runners and waiting without harm (the real binary, `npm run
 * build` first):
 * - 8 processes run `upgrade head` at once on 50 pending revisions (one sleeps 2 s):
 *   each revision is applied exactly once by one run; the others wait and find nothing
 *   to do, or exit 4; none fails in another way.
 * - While runner A builds an index with CREATE INDEX CONCURRENTLY, runner B waits for the
 *   lock on connections that are idle, never idle in transaction; A finishes within twice
 *   its solo time and B then finds nothing to do.
 * - A runner SIGKILLed inside a non-transactional revision leaves it started: `status`
 *   and `upgrade` refuse (exit 5) naming `resolve`, `check` lists the invalid index.
 * - A lockTimeout shorter than a blocking reader's transaction fails the revision in
 *   about that time while other sessions' queries keep flowing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";
import { baseEnv } from "./support/cli.js";
import { createPostgresDatabase, tempDir, type TestDatabase } from "./support/databases.js";
import { sqlRevisionText, type SqlRevision } from "./support/engine-project.js";
import { advisoryLocks, athanorBackends, connect, hasStack, sleep, startCli, until } from "./support/faults.js";

interface Project {
  dir: string;
  env: Record<string, string | undefined>;
  write(revisions: SqlRevision[]): Promise<void>;
}

async function project(dir: string, url: string, environments: Record<string, Record<string, unknown>>): Promise<Project> {
  await mkdir(join(dir, "migrations"), { recursive: true });
  await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", defaultEnvironment: Object.keys(environments)[0], environments }));
  return {
    dir,
    env: baseEnv({ DATABASE_URL: url }),
    async write(revisions) {
      for (const name of await readdir(join(dir, "migrations"))) await rm(join(dir, "migrations", name));
      for (const revision of revisions) await writeFile(join(dir, "migrations", `${revision.id}.sql`), sqlRevisionText(revision));
    },
  };
}

const chain = (prefix: string, count: number, body: (i: number, id: string) => Partial<SqlRevision>): SqlRevision[] => {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(12 - prefix.length, "0")}`);
  return ids.map((id, i) => ({ id, down: i === 0 ? null : (ids[i - 1] as string), message: `r${i + 1}`, upgrade: "SELECT 1;", ...body(i, id) }));
};

describe("8 runners at once on 50 pending revisions", () => {
  let db: TestDatabase;
  let dir: { dir: string; remove(): Promise<void> };

  beforeAll(async () => {
    db = await createPostgresDatabase("athanor_fault_conc");
    dir = await tempDir("athanor-faults-conc-");
  });
  afterAll(async () => {
    await db.drop();
    await dir.remove();
  });

  it("each revision is applied exactly once by one run; the others wait and find nothing, or exit 4", async () => {
    const p = await project(dir.dir, db.url, { development: { url: "${DATABASE_URL}" } });
    const revisions = chain("a", 50, (i, id) => ({
      upgrade: `CREATE TABLE t_${i} (id int);\nINSERT INTO applied_marker VALUES ('${id}');${i === 24 ? "\nSELECT pg_sleep(2);" : ""}`,
      ...(i === 0 ? { upgrade: `CREATE TABLE applied_marker (revision text NOT NULL);\nCREATE TABLE t_0 (id int);\nINSERT INTO applied_marker VALUES ('${id}');` } : {}),
    }));
    await p.write(revisions);
    const client = await connect(db.url);
    try {
      const started = Date.now();
      const runners = Array.from({ length: 8 }, (_, k) => startCli([...(k % 2 === 1 ? ["--lock-wait", "1"] : []), "--json", "upgrade", "head"], p.dir, p.env));
      const results = await Promise.all(runners.map((runner) => runner.done));
      const elapsed = Date.now() - started;
      const outcomes = results.map((result) => {
        const document = JSON.parse(result.stdout) as { completed?: string[]; error?: { code: string } };
        return { status: result.status, completed: document.completed?.length ?? null, error: document.error?.code ?? null, waited: /lock/.test(result.stderr) };
      });
      console.log(`[faults-concurrency] 8 runners, 50 revisions, ${elapsed} ms: ${JSON.stringify(outcomes)}`);
      for (const result of results) expect(hasStack(result.stderr)).toBe(false);
      const appliers = outcomes.filter((outcome) => outcome.status === 0 && outcome.completed === 50);
      expect(appliers).toHaveLength(1);
      for (const outcome of outcomes) {
        if (outcome.completed === 50) continue;
        if (outcome.status === 0) expect(outcome.completed).toBe(0);
        else expect(outcome).toMatchObject({ status: 4, error: "lock-timeout" });
      }
      // The runners with the default wait all waited and found nothing to do.
      expect(outcomes.filter((outcome, k) => k % 2 === 0 && outcome.status !== 0)).toEqual([]);
      const versions = await client.query<{ revision: string }>("SELECT revision FROM athanor_version ORDER BY revision");
      expect(versions.rows.map((row) => row.revision)).toEqual(revisions.map((revision) => revision.id));
      const markers = await client.query<{ revision: string; n: number }>("SELECT revision, count(*)::int AS n FROM applied_marker GROUP BY 1 HAVING count(*) <> 1");
      expect(markers.rows).toEqual([]);
      expect((await client.query("SELECT count(*)::int AS n FROM applied_marker")).rows).toEqual([{ n: 50 }]);
      const history = await client.query<{ direction: string; outcome: string; n: number }>("SELECT direction, outcome, count(*)::int AS n FROM athanor_version_history GROUP BY 1, 2");
      expect(history.rows).toEqual([{ direction: "up", outcome: "success", n: 50 }]);
      await until(async () => (await athanorBackends(client)).length === 0, 10_000, "runners' backends gone");
      expect(await advisoryLocks(client)).toBe(0);
    } finally {
      await client.end();
    }
  }, 90_000);
});

describe("waiting without harm", () => {
  let db: TestDatabase;
  let dir: { dir: string; remove(): Promise<void> };
  let client: pg.Client;
  let p: Project;
  const CIC = "b00000000002";
  const revisions: SqlRevision[] = [
    // Autovacuum off on the test's tables: an autovacuum worker holds a lock that
    // CREATE INDEX CONCURRENTLY and ALTER TABLE wait for until the server cancels the
    // worker after deadlock_timeout (1 s), the same second as the `locky` environment's
    // lockTimeout, so a run could fail on the server's timing rather than on what the test
    // sets up (CI, stop 35: `upgrade` under `locky` exited 1 while autovacuum read `big`).
    { id: "b00000000001", message: "small table", upgrade: "CREATE TABLE lt (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = off);\nINSERT INTO lt SELECT g, g FROM generate_series(1, 1000) g;", downgrade: "DROP TABLE lt;" },
    { id: CIC, down: "b00000000001", message: "index big concurrently", transactional: false, upgrade: "CREATE INDEX CONCURRENTLY big_v ON big (v);", downgrade: "DROP INDEX CONCURRENTLY big_v;" },
  ];

  beforeAll(async () => {
    db = await createPostgresDatabase("athanor_fault_wait");
    dir = await tempDir("athanor-faults-wait-");
    client = await connect(db.url);
    const started = Date.now();
    await client.query("CREATE TABLE big WITH (autovacuum_enabled = off) AS SELECT g AS id, random() AS v FROM generate_series(1, 2500000) g");
    // An index key that takes 30 s on one row: a concurrent build that is surely still running when its runner dies.
    await client.query(`CREATE FUNCTION slow_key(id int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN IF id = 1000 THEN PERFORM pg_sleep(30); END IF; RETURN id; END $$`);
    console.log(`[faults-concurrency] big table (2.5M rows) in ${Date.now() - started} ms`);
    p = await project(dir.dir, db.url, {
      a: { url: "${DATABASE_URL}" },
      b: { url: "${DATABASE_URL}" },
      locky: { url: "${DATABASE_URL}", lockTimeout: "1s" },
    });
    await p.write(revisions);
  }, 60_000);
  afterAll(async () => {
    await client.end();
    await db.drop();
    await dir.remove();
  });

  it("runner B waits on idle connections while A builds an index concurrently; A finishes within twice its solo time", async () => {
    await p.write(revisions);
    // The solo time: the slower of two runs (the machine runs other tests meanwhile).
    let soloMs = 0;
    for (let i = 0; i < 2; i++) {
      const solo = await startCli(["--env", "a", "upgrade"], p.dir, p.env).done;
      expect(solo.status, solo.stderr).toBe(0);
      soloMs = Math.max(soloMs, solo.durationMs);
      expect((await startCli(["--env", "a", "downgrade", "base"], p.dir, p.env).done).status).toBe(0);
    }

    const a = startCli(["--env", "a", "upgrade"], p.dir, p.env);
    await until(async () => (await athanorBackends(client)).some((backend) => backend.query.startsWith("CREATE INDEX CONCURRENTLY")), 20_000, "A building the index");
    const b = startCli(["--env", "b", "upgrade"], p.dir, p.env);
    const states = new Map<string, number>();
    let aDone = false;
    const aResult = a.done.then((result) => {
      aDone = true;
      return result;
    });
    while (!aDone) {
      const rows = await client.query<{ state: string | null; xact: boolean }>(
        "SELECT state, xact_start IS NOT NULL AS xact FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'athanor upgrade (b)'",
      );
      for (const row of rows.rows) {
        // A backend that is still starting (authenticating, loading its settings) has no state
        // in pg_stat_activity until it first waits for a query: a sample can catch B's
        // connection right then. Such a backend holds no transaction; it is named as what it is.
        const state = row.state ?? "starting";
        const key = `${state}${row.xact && state !== "active" ? " (transaction open)" : ""}`;
        states.set(key, (states.get(key) ?? 0) + 1);
      }
      await sleep(15);
    }
    const [ra, rb] = await Promise.all([aResult, b.done]);
    console.log(`[faults-concurrency] CREATE INDEX CONCURRENTLY: solo run ${soloMs} ms, with a waiting runner ${ra.durationMs} ms; the waiting runner's connection states ${JSON.stringify(Object.fromEntries(states))}`);
    expect(ra.status, ra.stderr).toBe(0);
    expect(rb.status, rb.stderr).toBe(0);
    expect(rb.stderr).toMatch(/waiting up to 60 s for the migration lock/);
    expect(rb.stdout).toContain("nothing to upgrade");
    expect(ra.durationMs).toBeLessThan(2 * soloMs);
    expect([...states.keys()].filter((state) => state !== "idle" && state !== "active" && state !== "starting")).toEqual([]);
    expect([...states.values()].reduce((x, y) => x + y, 0)).toBeGreaterThan(0);
    expect((await client.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_v'::regclass")).rows).toEqual([{ indisvalid: true }]);
  }, 240_000); // three runs of a build that takes 8–25 s on a shared 2-core machine, and their downgrades

  it("a runner killed inside a non-transactional revision leaves it started: status and upgrade refuse naming resolve, check lists the invalid index", async () => {
    const SLOW = "b00000000009";
    const slowRevisions: SqlRevision[] = [
      revisions[0] as SqlRevision,
      { id: SLOW, down: "b00000000001", message: "slow index concurrently", transactional: false, upgrade: "CREATE INDEX CONCURRENTLY big_slow ON big (slow_key(id));", downgrade: "DROP INDEX CONCURRENTLY big_slow;" },
    ];
    expect((await startCli(["--env", "a", "downgrade", "base"], p.dir, p.env).done).status).toBe(0);
    await p.write(slowRevisions);
    const victim = startCli(["--env", "a", "upgrade"], p.dir, p.env);
    await until(
      async () => (await client.query("SELECT 1 FROM pg_stat_progress_create_index WHERE relid = 'big'::regclass AND phase LIKE 'building index%'")).rows.length > 0,
      20_000,
      "the concurrent index build in progress",
    );
    victim.child.kill("SIGKILL");
    await victim.done;
    const killedAt = Date.now();
    // The dead runner's backend stops its 30 s build within about a second (client_connection_check_interval).
    await until(async () => (await athanorBackends(client)).length === 0, 15_000, "the dead runner's backends gone");
    console.log(`[faults-concurrency] SIGKILL during CREATE INDEX CONCURRENTLY: the leftover backend stopped ${Date.now() - killedAt} ms after the kill`);
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    expect(await advisoryLocks(client)).toBe(0);
    expect((await client.query("SELECT revision, state FROM athanor_version ORDER BY revision")).rows).toEqual([
      { revision: "b00000000001", state: "applied" },
      { revision: SLOW, state: "started" },
    ]);
    expect((await client.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_slow'::regclass")).rows).toEqual([{ indisvalid: false }]);

    const status = await startCli(["--env", "a", "status"], p.dir, p.env).done;
    expect(status.status, status.stdout + status.stderr).toBe(5);
    expect(status.stdout + status.stderr).toContain(`athanor resolve ${SLOW}`);
    const upgrade = await startCli(["--env", "a", "upgrade"], p.dir, p.env).done;
    expect(upgrade.status, upgrade.stderr).toBe(5);
    expect(upgrade.stderr).toMatch(new RegExp(`error: revision ${SLOW} \\(${SLOW}\\.sql\\) is non-transactional; it started at .* and never finished`));
    expect(upgrade.stderr).toContain(`athanor resolve ${SLOW} --applied`);
    expect(hasStack(upgrade.stderr)).toBe(false);
    const check = await startCli(["--env", "a", "check", "--json"], p.dir, p.env).done;
    expect(check.status).toBe(5);
    const findings = (JSON.parse(check.stdout) as { environments: { findings: { check: string; status: string; message: string }[] }[] }).environments[0]?.findings;
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ check: "unfinished", status: "error", message: expect.stringContaining(SLOW) }),
        expect.objectContaining({ check: "invalid-indexes", message: expect.stringContaining("public.big_slow") }),
      ]),
    );

    // What the operator does: fix the cause, drop the invalid index, say the revision did not happen, run again.
    await client.query(`CREATE OR REPLACE FUNCTION slow_key(id int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT id'`);
    await client.query("DROP INDEX CONCURRENTLY big_slow");
    expect((await startCli(["--env", "a", "resolve", SLOW, "--rolled-back"], p.dir, p.env).done).status).toBe(0);
    const again = await startCli(["--env", "a", "upgrade"], p.dir, p.env).done;
    expect(again.status, again.stderr).toBe(0);
    expect((await client.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_slow'::regclass")).rows).toEqual([{ indisvalid: true }]);
    expect((await startCli(["--env", "a", "downgrade", "base"], p.dir, p.env).done).status).toBe(0);
  }, 90_000);

  it("a lockTimeout shorter than a blocking reader's transaction fails the revision in about that time; other queries keep flowing", async () => {
    await p.write([...revisions, { id: "b00000000003", down: CIC, message: "add a column", upgrade: "ALTER TABLE lt ADD COLUMN c int;", downgrade: "ALTER TABLE lt DROP COLUMN c;" }]);
    const setUp = await startCli(["--env", "locky", "upgrade", CIC], p.dir, p.env).done;
    expect(setUp.status, setUp.stderr).toBe(0);
    const blocker = await connect(db.url);
    const reader = await connect(db.url);
    try {
      await blocker.query("BEGIN");
      await blocker.query("SELECT count(*) FROM lt");
      let running = true;
      const latencies: number[] = [];
      const reading = (async () => {
        while (running) {
          const t = Date.now();
          await reader.query("SELECT count(*) FROM lt");
          latencies.push(Date.now() - t);
          await sleep(20);
        }
      })();
      const run = await startCli(["--env", "locky", "upgrade"], p.dir, p.env).done;
      running = false;
      await reading;
      const history = await client.query<{ duration_ms: number; error: string }>("SELECT duration_ms, error FROM athanor_version_history WHERE revision = 'b00000000003' AND outcome = 'failed'");
      const failedAfter = history.rows[0]?.duration_ms ?? -1;
      const worst = Math.max(...latencies);
      console.log(`[faults-concurrency] lockTimeout 1s against an open reader transaction: the revision failed after ${failedAfter} ms; ${latencies.length} queries of other sessions meanwhile, slowest ${worst} ms`);
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/canceling statement due to lock timeout/);
      expect(hasStack(run.stderr)).toBe(false);
      expect(failedAfter).toBeGreaterThanOrEqual(950);
      expect(failedAfter).toBeLessThan(3_000);
      // Other sessions were held up at most while the ALTER waited in the lock queue (about lockTimeout).
      expect(worst).toBeLessThan(2_500);
      expect(latencies.length).toBeGreaterThan(5);
      // The reader's transaction is unharmed; the column was not added; nothing is left to resolve.
      await blocker.query("COMMIT");
      expect((await client.query("SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'lt' AND column_name = 'c'")).rows).toEqual([{ n: 0 }]);
      expect((await client.query("SELECT revision FROM athanor_version WHERE revision = 'b00000000003'")).rows).toEqual([]);
      const after = await startCli(["--env", "locky", "upgrade"], p.dir, p.env).done;
      expect(after.status, after.stderr).toBe(0);
    } finally {
      await blocker.end().catch(() => {});
      await reader.end().catch(() => {});
    }
  }, 60_000);
});
