/**
 * The differential harness of adv21sql: one project, two fresh databases; X gets the online
 * run (`athanor upgrade`), Y the offline script (`athanor upgrade --sql`) run with psql as a
 * DBA runs it. What each holds afterwards is compared: the schema (`pg_dump --schema-only`)
 * and athanor's rows without the columns offline cannot know (timings, the OS user and the
 * host, the "(offline)" of tool_version).
 */
import { spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCli, baseEnv, type CliResult } from "./cli.js";
import { createPostgresDatabase, queryUrl, tempDir, type TestDatabase } from "./databases.js";

export interface DiffProject {
  readonly dir: string;
  /** The CLI's environment for a database URL. */
  env(url: string): Record<string, string | undefined>;
  /** `athanor <argv>` against a database. */
  cli(url: string, argv: string[]): Promise<CliResult>;
  /** `athanor <argv>` (an `--sql` command) written to a file; the CLI's result beside it. */
  script(url: string, argv: string[], name?: string): Promise<{ result: CliResult; file: string }>;
  /** A fresh database on the test server, dropped by `remove`. */
  database(): Promise<TestDatabase>;
  remove(): Promise<void>;
}

/** A project whose one environment takes `DATABASE_URL`, holding `files` in migrations/. */
export async function diffProject(files: Record<string, string>): Promise<DiffProject> {
  const tmp = await tempDir("athanor-adv21sql-");
  const dbs: TestDatabase[] = [];
  await mkdir(join(tmp.dir, "migrations"));
  await writeFile(join(tmp.dir, "athanor.config.mjs"), 'export default { migrations: "./migrations", environments: { development: { url: "${DATABASE_URL}" } } };\n');
  for (const [name, text] of Object.entries(files)) await writeFile(join(tmp.dir, "migrations", name), text);
  const env = (url: string) => baseEnv({ DATABASE_URL: url });
  return {
    dir: tmp.dir,
    env,
    cli: (url, argv) => runCli(argv, { cwd: tmp.dir, env: env(url) }),
    async script(url, argv, name = "script.sql") {
      const result = await runCli(argv, { cwd: tmp.dir, env: env(url) });
      const file = join(tmp.dir, name);
      await writeFile(file, result.stdout);
      return { result, file };
    },
    async database() {
      const db = await createPostgresDatabase("adv21sql");
      dbs.push(db);
      return db;
    },
    async remove() {
      for (const db of dbs) await db.drop().catch(() => {});
      await tmp.remove();
    },
  };
}

/** Runs a script as the docs say: `psql -v ON_ERROR_STOP=1 -f` (or without ON_ERROR_STOP). */
export function psql(url: string, file: string, options: { onErrorStop?: boolean } = {}): { status: number | null; stdout: string; stderr: string } {
  const stop = options.onErrorStop === false ? [] : ["-v", "ON_ERROR_STOP=1"];
  return spawnSync("psql", ["-X", "-q", ...stop, "-f", file, url], { encoding: "utf8", timeout: 60_000 });
}

/** `pg_dump --schema-only`, without comments, blank lines and psql's \restrict lines (a random key). */
export function schemaOf(url: string): string {
  const dump = spawnSync("pg_dump", ["--schema-only", url], { encoding: "utf8" });
  if (dump.status !== 0) throw new Error(`pg_dump failed: ${dump.stderr}`);
  return dump.stdout
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("--") && !line.startsWith("\\restrict") && !line.startsWith("\\unrestrict"))
    .join("\n");
}

/** athanor's rows as an offline script can reproduce them. */
export async function bookkeepingOf(url: string): Promise<{ versions: string[]; history: string[] }> {
  const exists = await queryUrl<{ t: string | null }>(url, "SELECT to_regclass('public.athanor_version')::text AS t");
  if (exists[0]?.t === null) return { versions: [], history: [] };
  const versions = await queryUrl<{ r: string }>(url, "SELECT concat_ws('|', revision, checksum, state, split_part(applied_by, ' (', 1)) AS r FROM athanor_version ORDER BY revision");
  const history = await queryUrl<{ r: string }>(
    url,
    "SELECT concat_ws('|', environment, direction, revision, db_user, replace(tool_version, ' (offline)', ''), outcome, coalesce(error, '-')) AS r FROM athanor_version_history WHERE outcome <> 'started' ORDER BY id",
  );
  return { versions: versions.map((row) => row.r), history: history.map((row) => row.r) };
}

/** Everything the differential compares. */
export async function stateOf(url: string): Promise<{ schema: string; versions: string[]; history: string[] }> {
  return { schema: schemaOf(url), ...(await bookkeepingOf(url)) };
}

/** A SQL revision file. */
export function sqlRevision(r: { id: string; down?: string; message: string; transactional?: boolean; upgrade: string; downgrade: string; extra?: string }): string {
  return [
    `-- athanor:revision ${r.id}`,
    ...(r.down === undefined ? [] : [`-- athanor:down ${r.down}`]),
    `-- athanor:message ${r.message}`,
    ...(r.extra === undefined ? [] : [r.extra]),
    `-- athanor:transaction ${r.transactional === false ? "false" : "true"}`,
    "",
    "-- athanor:upgrade",
    r.upgrade,
    "",
    "-- athanor:downgrade",
    r.downgrade,
    "",
  ].join("\n");
}
