/**
 * adv21sql: `--dry-run` must say what the real run then does and change nothing. docs/runtime.md,
 * "Dry run": "`--dry-run` connects, reads the state (no lock, nothing created), checks the
 * blocking problems and prints the plan". It printed "N revisions to upgrade ... nothing was
 * changed" and exit 0 for plans the real run (and `--sql`) refuses with exit 2 before
 * running anything: a `COPY ... FROM STDIN`, and a `transaction false` revision under
 * `--single-transaction`, a session with standard_conforming_strings off. On PGlite, a data directory that exists but is empty (made by
 * `mkdir`, or a volume mount) was turned into a whole database cluster by the dry run.
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { baseEnv, runCli } from "./support/cli.js";
import { queryUrl, tempDir } from "./support/databases.js";
import { diffProject, sqlRevision, stateOf, type DiffProject } from "./support/offline-diff.js";

let project: DiffProject | undefined;
afterEach(async () => {
  await project?.remove();
  project = undefined;
});

describe("adv21sql: --dry-run refuses what the real run refuses (PostgreSQL)", () => {
  it("COPY ... FROM STDIN: exit 2 like the real run, and nothing changed", async () => {
    project = await diffProject({
      "1.sql": sqlRevision({ id: "d7a000000001", message: "copy", upgrade: "CREATE TABLE c (v text);\nCOPY c (v) FROM STDIN;", downgrade: "DROP TABLE c;" }),
    });
    const db = await project.database();
    const before = await stateOf(db.url);
    const dry = await project.cli(db.url, ["upgrade", "--dry-run"]);
    const real = await project.cli(db.url, ["upgrade"]);
    expect(real.status).toBe(2);
    expect(dry.status, dry.stdout).toBe(real.status);
    expect(dry.stderr).toContain("FROM STDIN");
    expect(await stateOf(db.url)).toEqual(before);
  }, 60_000);

  it("a transaction false revision under --single-transaction: exit 2 like the real run", async () => {
    project = await diffProject({
      "1.sql": sqlRevision({ id: "d7a000000001", message: "table", upgrade: "CREATE TABLE t (v text);", downgrade: "DROP TABLE t;" }),
      "2.sql": sqlRevision({ id: "d7a000000002", down: "d7a000000001", message: "index", transactional: false, upgrade: "CREATE INDEX CONCURRENTLY t_v ON t (v);", downgrade: "DROP INDEX CONCURRENTLY t_v;" }),
    });
    const db = await project.database();
    const dry = await project.cli(db.url, ["upgrade", "--dry-run", "--single-transaction"]);
    const real = await project.cli(db.url, ["upgrade", "--single-transaction"]);
    expect(real.status).toBe(2);
    expect(dry.status, dry.stdout).toBe(2);
    expect(dry.stderr).toContain("--single-transaction");
  }, 60_000);

  it("a database whose standard_conforming_strings is off: exit 2 like the real run", async () => {
    project = await diffProject({
      "1.sql": sqlRevision({ id: "d7a000000001", message: "table", upgrade: "CREATE TABLE t (v text);", downgrade: "DROP TABLE t;" }),
    });
    const db = await project.database();
    await queryUrl(db.url, `ALTER DATABASE "${db.name}" SET standard_conforming_strings = off`);
    const dry = await project.cli(db.url, ["upgrade", "--dry-run"]);
    const real = await project.cli(db.url, ["upgrade"]);
    expect(real.status).toBe(2);
    expect(dry.status, dry.stdout).toBe(2);
    expect(dry.stderr).toContain("standard_conforming_strings = off");
  }, 60_000);
});

describe("adv21sql: --dry-run on PGlite creates nothing", () => {
  async function pgliteProject(): Promise<{ dir: string; remove(): Promise<void> }> {
    const tmp = await tempDir("athanor-adv21sql-pglite-");
    await mkdir(join(tmp.dir, "migrations"));
    await writeFile(join(tmp.dir, "athanor.config.mjs"), 'export default { migrations: "./migrations", environments: { development: { url: "pglite://./data/dev" } } };\n');
    await writeFile(join(tmp.dir, "migrations", "1.sql"), sqlRevision({ id: "d7a000000001", message: "table", upgrade: "CREATE TABLE t (v text);", downgrade: "DROP TABLE t;" }));
    return tmp;
  }

  it("a data directory that does not exist: still does not exist", async () => {
    const tmp = await pgliteProject();
    try {
      const dry = await runCli(["upgrade", "--dry-run"], { cwd: tmp.dir, env: baseEnv() });
      expect(dry.status, dry.stderr).toBe(0);
      expect(dry.stdout).toContain("1 revision to upgrade");
      expect(await readdir(tmp.dir)).not.toContain("data");
    } finally {
      await tmp.remove();
    }
  }, 60_000);

  it("a data directory that exists and is empty: stays empty (no cluster written into it)", async () => {
    const tmp = await pgliteProject();
    try {
      await mkdir(join(tmp.dir, "data", "dev"), { recursive: true });
      const dry = await runCli(["upgrade", "--dry-run"], { cwd: tmp.dir, env: baseEnv() });
      expect(dry.status, dry.stderr).toBe(0);
      expect(dry.stdout).toContain("1 revision to upgrade");
      expect(await readdir(join(tmp.dir, "data", "dev"))).toEqual([]);
    } finally {
      await tmp.remove();
    }
  }, 60_000);
});
