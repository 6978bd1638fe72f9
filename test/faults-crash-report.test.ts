/**
 * What a failed run reports as committed (adv9 F1). Every commit but a round trip's last
 * (and a driven revision's, but the plan's last) is made with `synchronous_commit = off`:
 * acknowledged, not yet on disk. A server crash (`pg_ctl restart -m immediate`) may lose
 * those, so the report lists them apart (`unflushed`) and `committed` holds only what a
 * synchronous commit flushed. A statement error on a live connection is followed by the
 * failed history row's synchronous commit, which flushes them all: `committed` is exact.
 *
 * The crash comes at a known point: the third revision waits on an advisory lock the test
 * holds, after the first (a TypeScript revision: always committed with its flush, since a
 * lost commit would run its code again, adv9 F1) and the second (an SQL revision driven
 * statement by statement with `echo: true`, committed lazily).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv } from "./support/cli.js";
import { tempDir } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";
import { connect, freePort, startCli, startOwnServer, until, type OwnServer } from "./support/faults.js";

const [one, two, three] = ["d00000000001", "d00000000002", "d00000000003"] as const;
const HELD = 8675309;

/** r1 a function revision, r2 SQL (driven: `echo`), r3 SQL: `third` is its upgrade. */
async function writeProject(dir: string, third: string): Promise<void> {
  await mkdir(join(dir, "migrations"), { recursive: true });
  await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: "${DATABASE_URL}", echo: true } } }));
  await writeFile(
    join(dir, "migrations", `${one}_one.mjs`),
    `export default {
  revision: "${one}",
  message: "one",
  async upgrade({ sql }) {
    await sql\`CREATE TABLE crash_one (id int)\`;
  },
};
`,
  );
  await writeFile(join(dir, "migrations", `${two}_two.sql`), sqlRevisionText({ id: two, down: one, message: "two", upgrade: "CREATE TABLE crash_two (id int);" }));
  await writeFile(join(dir, "migrations", `${three}_three.sql`), sqlRevisionText({ id: three, down: two, message: "three", upgrade: third }));
}

interface ErrorDocument {
  readonly error: { readonly code: string; readonly hint: string; readonly details: { readonly committed: string[]; readonly unflushed: string[] } };
}

describe("a failed run's report of what it committed", () => {
  let server: OwnServer;
  let project: { dir: string; remove(): Promise<void> };
  let databases = 0;

  beforeAll(async () => {
    const port = await freePort();
    // Durable (synchronous_commit on, fsync on): athanor's synchronous commits are flushed.
    server = await startOwnServer(port, `/tmp/athanor-crash-report-pg-${port}`);
    project = await tempDir("athanor-crash-report-");
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await project?.remove();
  });

  async function freshDatabase(): Promise<string> {
    const name = `crash_report_${++databases}`;
    const admin = await connect(server.url);
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    return url.toString();
  }

  it("after a server crash, the lazily committed revision is listed as acknowledged but not flushed, not as committed", async () => {
    await writeProject(project.dir, `SELECT pg_advisory_xact_lock(${HELD});\nCREATE TABLE crash_three (id int);`);
    const url = await freshDatabase();
    const holder = await connect(url);
    await holder.query("SELECT pg_advisory_lock($1)", [HELD]);
    const run = startCli(["upgrade", "--json"], project.dir, baseEnv({ DATABASE_URL: url }));
    await until(
      async () => {
        const waiting = await holder.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted", [HELD]);
        return waiting.rowCount === 1;
      },
      60_000,
      "revision three waiting for the test's advisory lock",
    );
    // The lock is held through the crash: revision three is still waiting when the server goes.
    await server.restartImmediate();
    await holder.end().catch(() => {});
    const result = await run.done;
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(1);
    const document = JSON.parse(result.stdout) as ErrorDocument;
    expect(document.error.code).toBe("migration-failed");
    // One is a TypeScript revision, committed with its flush; two's commit was lazy.
    expect(document.error.details.committed).toEqual([one]);
    expect(document.error.details.unflushed).toEqual([two]);
    expect(document.error.hint).toContain(`Committed before it in this run (flushed to the server's disk): ${one}.`);
    expect(document.error.hint).toContain(`Acknowledged by the server but not yet flushed when the connection was lost: ${two}; if the server crashed they may be lost`);
    expect(result.stderr).toContain("`athanor current` shows what it kept");

    // What the report calls committed is there after the crash; what it kept apart may or may not be.
    const client = await connect(url);
    try {
      const rows = await client.query<{ revision: string }>("SELECT revision FROM athanor_version ORDER BY revision");
      const kept = rows.rows.map((row) => row.revision);
      expect(kept).toContain(one);
      expect(kept.every((id) => id === one || id === two)).toBe(true);
    } finally {
      await client.end();
    }
  }, 180_000);

  it("after a statement error on a live connection, every revision committed before it is reported committed (the failed row's commit flushed them)", async () => {
    await writeProject(project.dir, "CREATE TABLE crash_three (id int);\nSELECT 1/0;");
    const url = await freshDatabase();
    const result = await startCli(["upgrade", "--json"], project.dir, baseEnv({ DATABASE_URL: url })).done;
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(1);
    const document = JSON.parse(result.stdout) as ErrorDocument;
    expect(document.error.details.committed).toEqual([one, two]);
    expect(document.error.details.unflushed).toEqual([]);
    expect(document.error.hint).toContain(`Revision ${three} was rolled back entirely. Committed before it in this run (flushed to the server's disk): ${one}, ${two}.`);
    expect(document.error.hint).not.toContain("Acknowledged");
  }, 120_000);
});
