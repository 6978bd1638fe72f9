/**
 * Issue #8, crashes: a runner killed with SIGKILL at random moments of an upgrade, and
 * the server itself restarted (`pg_ctl restart -m immediate`) in the middle of a run.
 * Every revision inserts its id into a marker table inside its own transaction, so the
 * version rows and the effects of the revisions must always agree; afterwards the lock
 * is free, a new runner takes it at once, and `upgrade head` completes. Then "nothing
 * lost": `check` is clean and upgrade → downgrade base → upgrade leaves the same schema.
 *
 * Seeds are printed; `FAULT_SEED=<n> npx vitest run test/faults-crash.test.ts` replays a run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";
import { introspect } from "../src/autogenerate/introspect.js";
import { canonicalModel } from "../src/autogenerate/model.js";
import { openSession } from "../src/dialects/open.js";
import { runLockKey } from "../src/run/lock.js";
import { baseEnv } from "./support/cli.js";
import { createPostgresDatabase, tempDir, type TestDatabase } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";
import {
  advisoryLocks,
  athanorBackends,
  baseSeed,
  connect,
  freePort,
  hasStack,
  seededRandom,
  sleep,
  startCli,
  startOwnServer,
  until,
  type OwnServer,
} from "./support/faults.js";

const REVISIONS = 24;
const ids = Array.from({ length: REVISIONS }, (_, i) => `c${String(i + 1).padStart(11, "0")}`);
/** Revision 13 is a JavaScript module (a function revision); the others are SQL. */
const FUNCTION_REVISION = 12;

/** Seconds revision i sleeps: a mix of instant and slow revisions, so kills land inside transactions. */
function sleepOf(i: number): number {
  return [0, 0.01, 0, 0.08][i % 4] as number;
}

/** A slow revision (seconds) for the server-restart test; none in the kill trials. */
async function writeProject(dir: string, slow?: { at: number; seconds: number }): Promise<void> {
  await mkdir(join(dir, "migrations"), { recursive: true });
  await writeFile(
    join(dir, "athanor.config.json"),
    JSON.stringify({
      migrations: "./migrations",
      defaultEnvironment: "plain",
      environments: { plain: { url: "${DATABASE_URL}" }, echoed: { url: "${DATABASE_URL}", echo: true } },
    }),
  );
  for (const [i, id] of ids.entries()) {
    const down = i === 0 ? null : (ids[i - 1] as string);
    const seconds = slow?.at === i ? slow.seconds : sleepOf(i);
    const sleep = seconds > 0 ? `\nSELECT pg_sleep(${seconds});` : "";
    if (i === FUNCTION_REVISION) {
      await writeFile(
        join(dir, "migrations", `${id}_function.mjs`),
        `export default {
  revision: "${id}",
  down: "${down}",
  message: "function revision",
  async upgrade({ sql }) {
    await sql\`CREATE TABLE f_${i} (id int)\`;
    await sql\`INSERT INTO fault_marker (revision) VALUES (\${"${id}"})\`;
    await sql\`SELECT pg_sleep(0.1)\`;
  },
  async downgrade({ sql }) {
    await sql\`DROP TABLE f_${i}\`;
    await sql\`DELETE FROM fault_marker WHERE revision = \${"${id}"}\`;
  },
};
`,
      );
      continue;
    }
    const create = i === 0 ? "CREATE TABLE fault_marker (revision text PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());\n" : "";
    await writeFile(
      join(dir, "migrations", `${id}_step.sql`),
      sqlRevisionText({
        id,
        down,
        message: `step ${i + 1}`,
        upgrade: `${create}CREATE TABLE f_${i} (id int PRIMARY KEY, note text);\nCREATE INDEX f_${i}_note ON f_${i} (note);\nINSERT INTO fault_marker (revision) VALUES ('${id}');${sleep}`,
        downgrade: i === 0 ? "DROP TABLE f_0;\nDROP TABLE fault_marker;" : `DROP TABLE f_${i};\nDELETE FROM fault_marker WHERE revision = '${id}';`,
      }),
    );
  }
}

interface Snapshot {
  versions: string[];
  states: string[];
  markers: string[];
}

/** Version rows and marker rows read in ONE statement (one snapshot). */
async function snapshot(client: pg.Client): Promise<Snapshot> {
  const exists = await client.query<{ v: boolean; m: boolean }>("SELECT to_regclass('athanor_version') IS NOT NULL AS v, to_regclass('fault_marker') IS NOT NULL AS m");
  const row = exists.rows[0];
  if (!row?.v) return { versions: [], states: [], markers: row?.m ? ["<marker table without version table>"] : [] };
  const result = await client.query<{ versions: string[] | null; states: string[] | null; markers: string[] | null }>(
    `SELECT (SELECT array_agg(revision ORDER BY revision) FROM athanor_version) AS versions,
            (SELECT array_agg(DISTINCT state) FROM athanor_version) AS states,
            ${row.m ? "(SELECT array_agg(revision ORDER BY revision) FROM fault_marker)" : "NULL::text[]"} AS markers`,
  );
  const r = result.rows[0];
  return { versions: r?.versions ?? [], states: r?.states ?? [], markers: r?.markers ?? [] };
}

const figures = { trials: 0, killsInSingleTransactionRuns: 0, killsBeforeFirstCommit: 0, killsMidRun: 0, killsAfterLastCommit: 0, orphanMsMax: 0, restartedAtOnce: 0, failures: 0 };

describe("SIGKILL at random points of an upgrade", () => {
  let project: { dir: string; remove(): Promise<void> };
  const seed = baseSeed();

  beforeAll(async () => {
    project = await tempDir("athanor-faults-crash-");
    await writeProject(project.dir);
    console.log(`[faults-crash] base seed ${seed} (replay with FAULT_SEED=${seed})`);
  });
  afterAll(async () => {
    await project.remove();
    console.log(`[faults-crash] figures ${JSON.stringify(figures)}`);
  });

  const TRIALS = 20;
  it(`${TRIALS} trials: version rows always match the committed revisions, the lock is free, a new upgrade completes`, async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const trialSeed = (seed + trial * 7919) >>> 0;
      const random = seededRandom(trialSeed);
      const mode = (["plain", "echoed", "single"] as const)[Math.floor(random() * 3)] as "plain" | "echoed" | "single";
      // A third of the kills are timed from the spawn (they may land before the lock, during
      // start-up); the others from the moment the lock is held, so they land in the run
      // whatever the machine's load.
      const fromSpawn = random() < 1 / 3;
      const killAfterMs = Math.round(fromSpawn ? 150 + random() * 1000 : random() * 700);
      const restartAtOnce = random() < 0.5;
      const db: TestDatabase = await createPostgresDatabase("athanor_fault_crash");
      const client = await connect(db.url);
      const env = baseEnv({ DATABASE_URL: db.url });
      try {
        const argv = ["--env", mode === "echoed" ? "echoed" : "plain", "upgrade", "head", ...(mode === "single" ? ["--single-transaction"] : [])];
        const victim = startCli(argv, project.dir, env);
        if (!fromSpawn) {
          let exited = false;
          void victim.done.then(() => (exited = true));
          await until(async () => exited || (await advisoryLocks(client)) > 0, 30_000, "the victim holding the lock");
        }
        await new Promise((resolve) => setTimeout(resolve, killAfterMs));
        victim.child.kill("SIGKILL");
        const killed = await victim.done;
        const killedAt = Date.now();
        // Effects and version rows agree in every snapshot, even while a dead runner's backend finishes.
        const first = await snapshot(client);
        expect(first.markers, `trial ${trial} seed ${trialSeed}`).toEqual(first.versions);
        expect(first.states.filter((state) => state !== "applied")).toEqual([]);
        // Revisions commit in order: the rows are a prefix of the plan (all or nothing for --single-transaction).
        expect(first.versions).toEqual(ids.slice(0, first.versions.length));
        if (mode === "single") expect([0, REVISIONS]).toContain(first.versions.length);

        let next;
        if (restartAtOnce) {
          // An orchestrator restarting the job at once: the new runner must wait for anything the dead one left running.
          next = await startCli(["--env", "plain", "upgrade", "head"], project.dir, env).done;
          figures.restartedAtOnce++;
        } else {
          await until(async () => (await athanorBackends(client)).length === 0, 30_000, "the dead runner's backends gone");
          figures.orphanMsMax = Math.max(figures.orphanMsMax, Date.now() - killedAt);
          expect(await advisoryLocks(client)).toBe(0);
          // The lock is free: a runner that may not wait at all takes it.
          next = await startCli(["--lock-wait", "0", "--env", "plain", "upgrade", "head"], project.dir, env).done;
        }
        const context = `trial ${trial} seed ${trialSeed} mode ${mode} kill ${killAfterMs} ms after ${fromSpawn ? "spawn" : "lock"} (killed: ${killed.signal ?? killed.status}) restart-at-once ${restartAtOnce}\n${next.stdout}\n${next.stderr}`;
        expect(next.status, context).toBe(0);
        expect(hasStack(next.stderr)).toBe(false);
        const final = await snapshot(client);
        expect(final.versions, context).toEqual(ids);
        expect(final.markers, context).toEqual(ids);
        expect(final.states).toEqual(["applied"]);
        await until(async () => (await athanorBackends(client)).length === 0, 10_000, "the new runner's backends gone");
        expect(await advisoryLocks(client)).toBe(0);

        figures.trials++;
        if (mode === "single") figures.killsInSingleTransactionRuns++;
        else if (first.versions.length === 0) figures.killsBeforeFirstCommit++;
        else if (first.versions.length === REVISIONS) figures.killsAfterLastCommit++;
        else figures.killsMidRun++;
        console.log(`[faults-crash] trial ${trial} seed ${trialSeed} mode ${mode} killed ${killAfterMs} ms after ${fromSpawn ? "spawn" : "the lock"}: ${first.versions.length}/${REVISIONS} committed, ${restartAtOnce ? "restarted at once" : "lock free, taken at once"}: ok`);
      } catch (error) {
        figures.failures++;
        throw error;
      } finally {
        await client.end().catch(() => {});
        await db.drop();
      }
    }
    expect(figures.killsMidRun).toBeGreaterThan(0);
  }, 240_000);
});

describe("a runner killed in a long revision, restarted at once", () => {
  it("the new runner waits for the dead runner's statement to end instead of running beside it", async () => {
    const { dir, remove } = await tempDir("athanor-faults-orphan-");
    const db = await createPostgresDatabase("athanor_fault_orphan");
    const client = await connect(db.url);
    try {
      await mkdir(join(dir, "migrations"));
      await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: "${DATABASE_URL}" } } }));
      const [a, b] = ["d00000000001", "d00000000002"];
      await writeFile(join(dir, "migrations", `${a}_a.sql`), sqlRevisionText({ id: a, message: "marker", upgrade: "CREATE TABLE fault_marker (revision text PRIMARY KEY);" }));
      await writeFile(join(dir, "migrations", `${b}_b.sql`), sqlRevisionText({ id: b, down: a, message: "long", upgrade: `CREATE TABLE long_one (id int);\nINSERT INTO fault_marker VALUES ('${b}');\nSELECT pg_sleep(4);` }));
      const env = baseEnv({ DATABASE_URL: db.url });
      const victim = startCli(["upgrade"], dir, env);
      await until(async () => (await athanorBackends(client)).some((backend) => backend.query.includes("pg_sleep(4)")), 20_000, "the long revision running");
      const victimPids = (await athanorBackends(client)).map((backend) => backend.pid);
      victim.child.kill("SIGKILL");
      await victim.done;
      const started = Date.now();
      const restarted = startCli(["upgrade"], dir, env);
      await until(async () => (await client.query("SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1)", [victimPids])).rowCount === 0, 10_000, "the dead runner's backends gone");
      const leftoverMs = Date.now() - started;
      const next = await restarted.done;
      console.log(`[faults-crash] killed in a 4 s statement: its leftover backend ended ${leftoverMs} ms after the kill; the restarted runner exited ${next.status} after ${Date.now() - started} ms`);
      // PostgreSQL 14+: client_connection_check_interval ends the orphaned statement within about a second.
      expect(leftoverMs).toBeLessThan(3_000);
      expect(next.status, `${next.stdout}\n${next.stderr}`).toBe(0);
      expect(hasStack(next.stderr)).toBe(false);
      const final = await snapshot(client);
      expect(final.versions).toEqual([a, b]);
      expect(final.markers).toEqual([b]);
      expect((await client.query("SELECT revision, outcome FROM athanor_version_history WHERE direction = 'up' ORDER BY id")).rows).toEqual([
        { revision: a, outcome: "success" },
        { revision: b, outcome: "success" },
      ]);
    } finally {
      await client.end().catch(() => {});
      await db.drop();
      await remove();
    }
  });
});

describe("the run lock", () => {
  it("a runner waits for a session that still holds the run lock, and exits 4 naming it when it outlives --lock-wait, without calling it dead (adv9 F6)", async () => {
    const { dir, remove } = await tempDir("athanor-faults-runlock-");
    const db = await createPostgresDatabase("athanor_fault_runlock");
    const client = await connect(db.url);
    const leftover = await connect(db.url);
    try {
      await mkdir(join(dir, "migrations"));
      await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: "${DATABASE_URL}" } } }));
      await writeFile(join(dir, "migrations", "e00000000001_a.sql"), sqlRevisionText({ id: "e00000000001", message: "a", upgrade: "CREATE TABLE run_lock_a (id int);" }));
      const env = baseEnv({ DATABASE_URL: db.url });
      // A backend of a dead runner still in its statement: it holds the run lock of the version table.
      await leftover.query("SET application_name = 'athanor upgrade (development)'");
      await leftover.query("SELECT pg_advisory_lock($1::bigint)", [runLockKey({ schema: "public", table: "athanor_version" }).toString()]);
      const refused = await startCli(["--lock-wait", "1", "upgrade"], dir, env).done;
      expect(refused.status, refused.stderr).toBe(4);
      // A live run whose lock connection was ended looks the same from here: what is known, and no advice to end a live run.
      expect(refused.stderr).toMatch(
        /another run's migration session is still working on this database, though its migration lock's connection is gone \(its runner may have died, or that connection was ended by a timeout or a proxy\): pid \d+ \(athanor upgrade \(development\), idle/,
      );
      expect(refused.stderr).toContain("gave up after waiting 1 s");
      expect(refused.stderr).toMatch(/Only if no athanor process is running against this database, end it with SELECT pg_terminate_backend\(\d+\)/);
      expect(refused.stderr).not.toMatch(/crashed|after its runner ended/);
      expect(hasStack(refused.stderr)).toBe(false);
      expect((await client.query("SELECT to_regclass('run_lock_a') AS t")).rows).toEqual([{ t: null }]);
      // Once it ends, the next runner proceeds (here while it waits).
      const waiting = startCli(["--lock-wait", "20", "upgrade"], dir, env);
      await until(() => waiting.stderr().includes("whose migration lock connection is gone"), 15_000, "the runner waiting for the other session");
      await leftover.end();
      const done = await waiting.done;
      expect(done.status, done.stderr).toBe(0);
      expect((await client.query("SELECT to_regclass('run_lock_a')::text AS t")).rows).toEqual([{ t: "run_lock_a" }]);
      expect(await advisoryLocks(client)).toBe(0);
    } finally {
      await leftover.end().catch(() => {});
      await client.end().catch(() => {});
      await db.drop();
      await remove();
    }
  });
});

/** The schema of a database as introspection sees it (athanor's own tables left out). */
async function schemaOf(url: string): Promise<unknown> {
  const { parseDatabaseUrl } = await import("../src/config/url.js");
  const session = await openSession(parseDatabaseUrl(url, "/", "test").target);
  try {
    const exclude = ["athanor_version", "athanor_version_history", "athanor_version_meta"].map((name) => ({ schema: "public", name }));
    return canonicalModel(await introspect(session, { schemas: ["public"], exclude }));
  } finally {
    await session.close();
  }
}

/** A server of the test's own needs the PostgreSQL binaries and root (ci/start-postgres.sh runs them as `postgres`). */
const canStartServer = existsSync("/usr/lib/postgresql") && typeof process.getuid === "function" && process.getuid() === 0;
if (!canStartServer) console.log("[faults-crash] not root or no PostgreSQL binaries: the server-restart test is skipped");

describe.skipIf(!canStartServer)("the server restarted (pg_ctl restart -m immediate) in the middle of a run, then nothing lost", () => {
  let server: OwnServer;
  let project: { dir: string; remove(): Promise<void> };
  const SLOW = 9;

  beforeAll(async () => {
    const port = await freePort();
    const started = Date.now();
    server = await startOwnServer(port, `/tmp/athanor-fault-pg-${port}`);
    console.log(`[faults-crash] own server on 127.0.0.1:${port} ready in ${Date.now() - started} ms`);
    project = await tempDir("athanor-faults-restart-");
    await writeProject(project.dir, { at: SLOW, seconds: 3 });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await project?.remove();
  });

  it("the runner exits 1 with a clear message, nothing is half-recorded, a new upgrade completes; check is clean and upgrade -> downgrade base -> upgrade keeps the schema", async () => {
    const admin = await connect(server.url);
    await admin.query("CREATE DATABASE fault_restart");
    await admin.end();
    const url = new URL(server.url);
    url.pathname = "/fault_restart";
    const dbUrl = url.toString();
    const env = baseEnv({ DATABASE_URL: dbUrl });
    let client = await connect(dbUrl);

    const victim = startCli(["upgrade"], project.dir, env);
    // The revisions before the slow one are committed: it is running (3 s).
    await until(
      async () => (await snapshot(client)).markers.length === SLOW,
      30_000,
      "the slow revision running",
    );
    await sleep(300);
    await client.end();
    const restartStarted = Date.now();
    await server.restartImmediate();
    console.log(`[faults-crash] server restarted (immediate) in ${Date.now() - restartStarted} ms`);
    const result = await victim.done;
    console.log(`[faults-crash] the runner during the restart: exit ${result.status}\n${result.stderr.trim()}`);
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(1);
    expect(result.stderr).toMatch(/^error: revision c\d+ \(step \d+\) failed to upgrade at c\d+_step\.sql(:\d+)?: the connection to the server was lost \(/m);
    // The hint says what happened and what to do, not "fix the file" (the file is fine).
    expect(result.stderr).toMatch(/hint: The server restarted, failed over, ended the session or became unreachable: PostgreSQL rolled back (the open transaction|revision c\d+'s transaction)/);
    expect(result.stderr).toContain("`athanor status`");
    expect(result.stderr).not.toMatch(/Fix c\d+_step\.sql/);
    expect(hasStack(result.stderr)).toBe(false);
    expect(result.stderr).not.toContain("internal error");

    client = await connect(dbUrl);
    try {
      const after = await snapshot(client);
      expect(after.markers).toEqual(after.versions);
      expect(after.states.filter((state) => state !== "applied")).toEqual([]);
      expect(after.versions).toEqual(ids.slice(0, after.versions.length));
      expect(after.versions).not.toContain(ids[SLOW]);
      expect(await advisoryLocks(client)).toBe(0);
      console.log(`[faults-crash] after the restart: ${after.versions.length}/${REVISIONS} revisions committed and recorded, the slow one rolled back`);

      const again = await startCli(["--lock-wait", "5", "upgrade", "head"], project.dir, env).done;
      expect(again.status, again.stderr).toBe(0);
      const final = await snapshot(client);
      expect(final.versions).toEqual(ids);
      expect(final.markers).toEqual(ids);

      // Nothing lost: check is clean, and a full round trip gives the same schema back.
      const check = await startCli(["check", "--exit-code", "--json"], project.dir, env).done;
      expect(check.status, check.stdout + check.stderr).toBe(0);
      const report = JSON.parse(check.stdout) as { ok: boolean; environments: { findings: { check: string; status: string; message: string }[] }[] };
      expect(report.ok).toBe(true);
      const findings = report.environments[0]?.findings ?? [];
      expect(findings.filter((finding) => finding.status !== "ok")).toEqual([]);
      expect(findings.find((finding) => finding.check === "state")?.message).toMatch(/^up-to-date/);

      const before = await schemaOf(dbUrl);
      const down = await startCli(["downgrade", "base"], project.dir, env).done;
      expect(down.status, down.stderr).toBe(0);
      expect((await client.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'athanor_version%'")).rows).toEqual([{ n: 0 }]);
      const up = await startCli(["upgrade", "head"], project.dir, env).done;
      expect(up.status, up.stderr).toBe(0);
      expect(await schemaOf(dbUrl)).toEqual(before);
      const history = await client.query<{ direction: string; outcome: string; n: number }>("SELECT direction, outcome, count(*)::int AS n FROM athanor_version_history GROUP BY 1, 2 ORDER BY 1, 2");
      console.log(`[faults-crash] round trip after the faults: history ${JSON.stringify(history.rows)}`);
      expect(history.rows.filter((row) => row.outcome !== "success")).toEqual([]);
    } finally {
      await client.end().catch(() => {});
    }
  }, 120_000);
});

describe("a runner killed during a long batch, another started at once", () => {
  it("every revision is applied exactly once: the leftover backend stops and the new runner waits for it", async () => {
    const { dir, remove } = await tempDir("athanor-faults-batch-");
    const db = await createPostgresDatabase("athanor_fault_batch");
    const client = await connect(db.url);
    try {
      await mkdir(join(dir, "migrations"));
      await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: "${DATABASE_URL}" } } }));
      const count = 150;
      const revisionIds = Array.from({ length: count }, (_, i) => `b${String(i + 1).padStart(11, "0")}`);
      for (const [i, id] of revisionIds.entries()) {
        // A side table with no key: a revision that ran twice would leave two rows.
        const upgrade = i === 0 ? "CREATE TABLE side_effects (revision text);" : `INSERT INTO side_effects VALUES ('${id}');\nSELECT pg_sleep(0.01);`;
        await writeFile(join(dir, "migrations", `${id}.sql`), sqlRevisionText({ id, down: i === 0 ? null : (revisionIds[i - 1] as string), message: `step ${i + 1}`, upgrade }));
      }
      const env = baseEnv({ DATABASE_URL: db.url });
      const victim = startCli(["upgrade"], dir, env);
      // Killed once batches are under way (several revisions committed), in the middle of one.
      await until(async () => (await client.query("SELECT 1 FROM pg_class WHERE relname = 'side_effects'")).rowCount === 1 && Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM side_effects")).rows[0]?.n) >= 10, 60_000, "batches under way");
      victim.child.kill("SIGKILL");
      const killed = await victim.done;
      const restarted = await startCli(["upgrade"], dir, env).done;
      expect(killed.signal).toBe("SIGKILL");
      expect(restarted.status, `${restarted.stdout}\n${restarted.stderr}`).toBe(0);
      expect(hasStack(restarted.stderr)).toBe(false);
      const rows = await client.query<{ revision: string; n: string }>("SELECT revision, count(*) AS n FROM side_effects GROUP BY revision ORDER BY revision");
      expect(rows.rows.map((row) => row.revision)).toEqual(revisionIds.slice(1));
      expect(rows.rows.filter((row) => Number(row.n) !== 1)).toEqual([]);
      expect((await snapshot(client)).versions).toEqual(revisionIds);
      const history = await client.query<{ revision: string; n: string }>("SELECT revision, count(*) AS n FROM athanor_version_history WHERE direction = 'up' AND outcome = 'success' GROUP BY revision HAVING count(*) <> 1");
      expect(history.rows).toEqual([]);
      console.log(`[faults-crash] killed during a batch after ${(await client.query<{ n: string }>("SELECT count(*) AS n FROM athanor_version_history WHERE outcome = 'success'")).rows[0]?.n} successes in total; the restarted runner exited 0 after ${restarted.durationMs} ms`);
    } finally {
      await client.end().catch(() => {});
      await db.drop();
      await remove();
    }
  }, 180_000);
});
