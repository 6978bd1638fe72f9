/**
 * A TypeScript revision whose function calls `sql` after it returned (from a timer): the
 * statement must not run in the next revision's transaction (or in none), recorded
 * nowhere. It is refused before it is sent, the revision's code sees the refusal, and the
 * run stops at the next revision boundary with `statement-after-revision` (exit 1),
 * saying the revision was applied without it. Through the real binary (`npm run build`).
 *
 * Deterministic without timing: the first revision's timer makes its calls once the second
 * revision runs, and the second waits for them, so they happen while its transaction is open.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseDatabaseUrl } from "../src/config/url.js";
import { openSession } from "../src/dialects/open.js";
import { baseEnv, spawnCli } from "./support/cli.js";
import { createPostgresDatabase, tempDir, type TestDatabase } from "./support/databases.js";
import { sqlRevisionText } from "./support/engine-project.js";

const R1 = "f00000000001";
const R2 = "f00000000002";
const R3 = "f00000000003";

/** Creates `late_rows`, returns, then (timer, once the second revision runs) calls sql and sql.unsafe: their outcomes go to a global. */
const LATE_REVISION = `export default {
  revision: "${R1}",
  down: null,
  message: "late",
  async upgrade({ sql }) {
    await sql\`CREATE TABLE late_rows (n int)\`;
    const late = () => {
      if (!globalThis.secondRunning) return setTimeout(late, 5);
      globalThis.lateOutcomes = Promise.all([
        sql\`INSERT INTO late_rows VALUES (1)\`.then(() => "ran", (e) => e.code ?? e.message),
        sql.unsafe("INSERT INTO late_rows VALUES (2)").then(() => "ran", (e) => e.code ?? e.message),
      ]);
    };
    setTimeout(late, 0);
  },
};
`;

/** Waits, inside its own transaction, for the first revision's late calls, and prints what they got. */
const WAITING_REVISION = `export default {
  revision: "${R2}",
  down: "${R1}",
  message: "waits",
  async upgrade({ sql }) {
    await sql\`CREATE TABLE waited (n int)\`;
    globalThis.secondRunning = true;
    while (globalThis.lateOutcomes === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    console.error("late calls: " + (await globalThis.lateOutcomes).join(","));
  },
};
`;

describe.each(["PostgreSQL", "PGlite"] as const)("sql called after a TypeScript revision's function returned (%s)", { timeout: 300_000 }, (engine) => {
  let dir: string;
  let remove: () => Promise<void>;
  let db: TestDatabase | undefined;
  let url: string;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-late-sql-"));
    db = engine === "PostgreSQL" ? await createPostgresDatabase("athanor_late_sql") : undefined;
    url = db?.url ?? "pglite://./data";
    await mkdir(join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url } } }));
    await writeFile(join(dir, "migrations", `${R1}_late.mjs`), LATE_REVISION);
    await writeFile(join(dir, "migrations", `${R2}_waits.mjs`), WAITING_REVISION);
    await writeFile(join(dir, "migrations", `${R3}_three.sql`), sqlRevisionText({ id: R3, down: R2, message: "three", upgrade: "CREATE TABLE three (x int);" }));
  });
  afterAll(async () => {
    await db?.drop();
    await remove();
  });

  async function state(): Promise<{ versions: string[]; lateRows: number; three: boolean }> {
    const session = await openSession(parseDatabaseUrl(url, dir, "the test").target);
    try {
      const versions = (await session.query<{ revision: string }>("SELECT revision FROM athanor_version ORDER BY 1")).rows.map((row) => row.revision);
      const lateRows = Number((await session.query<{ n: string }>("SELECT count(*) AS n FROM late_rows")).rows[0]?.n);
      const three = (await session.query<{ t: string | null }>("SELECT to_regclass('three')::text AS t")).rows[0]?.t === "three";
      return { versions, lateRows, three };
    } finally {
      await session.close();
    }
  }

  /** Tables of the revisions that exist (none after the plan's transaction rolled back). */
  async function revisionTables(): Promise<string[]> {
    const session = await openSession(parseDatabaseUrl(url, dir, "the test").target);
    try {
      const rows = (await session.query<{ t: string | null }>("SELECT unnest(ARRAY[to_regclass('late_rows'), to_regclass('waited'), to_regclass('three')])::text AS t")).rows;
      return rows.flatMap((row) => (row.t === null ? [] : [row.t]));
    } finally {
      await session.close();
    }
  }

  it("refuses the statements; with --single-transaction the plan rolls back: exit 1, statement-after-revision, nothing applied", async () => {
    const result = await spawnCli(["upgrade", "--single-transaction", "--json"], { cwd: dir, env: baseEnv(), timeoutMs: 240_000 });
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain("late calls: statement-after-revision,statement-after-revision");
    const document = JSON.parse(result.stdout) as { error: { code: string; message: string; details: Record<string, unknown> } };
    expect(document.error).toMatchObject({ code: "statement-after-revision", details: { revision: R1, state: "rolled-back" } });
    expect(document.error.message).toMatch(/the statement was refused and did not run; the plan's transaction was rolled back: nothing was applied$/);
    expect(await revisionTables()).toEqual([]);
  });

  it("refuses the statements, and the run stops after the revision running then: exit 1, statement-after-revision naming the file", async () => {
    const result = await spawnCli(["upgrade", "--json"], { cwd: dir, env: baseEnv(), timeoutMs: 240_000 });
    expect(result.status, result.stderr).toBe(1);
    // The revision's own code saw each call refused.
    expect(result.stderr).toContain("late calls: statement-after-revision,statement-after-revision");
    const document = JSON.parse(result.stdout) as { error: { code: string; exitStatus: number; message: string; details: Record<string, unknown> } };
    expect(document.error).toMatchObject({ code: "statement-after-revision", exitStatus: 1, details: { revision: R1, file: `${R1}_late.mjs`, state: "applied" } });
    expect(document.error.message).toBe(
      `revision ${R1} (${R1}_late.mjs) called sql after its function had returned (INSERT INTO late_rows VALUES (1)): the statement was refused and did not run; revision ${R1} had already been applied without it, and the run stopped there`,
    );
    expect(await state()).toEqual({ versions: [R1, R2], lateRows: 0, three: false });

    // The rest applies on the next run.
    const rerun = await spawnCli(["upgrade"], { cwd: dir, env: baseEnv(), timeoutMs: 240_000 });
    expect(rerun.status, rerun.stderr).toBe(0);
    expect(await state()).toEqual({ versions: [R1, R2, R3], lateRows: 0, three: true });
  });
});
