/**
 * Backups before protected runs (DESIGN.md §6.3), against the real PostgreSQL server and
 * PGlite: a 0600 custom-format dump that pg_restore reads, the password never on a
 * command line or in a file name, pruning past `keep`, and every failure (no pg_dump,
 * version mismatch, failed dump) a DatabaseError that leaves no file behind.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { chmod, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadConfig } from "../src/config/load.js";
import { resolveEnvironment } from "../src/config/resolve.js";
import type { ResolvedEnvironment } from "../src/config/types.js";
import { openSession } from "../src/dialects/open.js";
import type { Session } from "../src/dialects/types.js";
import { DatabaseError } from "../src/errors.js";
import { backupFileName, listBackups, parseBackupFileName, parseToolMajor, takeBackup } from "../src/guard/backup.js";
import { baseEnv, runCli } from "./support/cli.js";
import type { TestDatabase } from "./support/databases.js";
import { createGuardProject, createGuardRole, createOwnedDatabase, GUARD_PASSWORD, guardUrlTemplate, writeRevision, type GuardProject } from "./support/guard-project.js";

/** The passphrase of an encrypted TLS key, as a URL's sslpassword: never shown, never on a command line. */
const KEY_PASSPHRASE = "k3y-passphrase-9f1e";

function noSecret(text: string): void {
  expect(text).not.toContain(GUARD_PASSWORD);
  expect(text).not.toContain(encodeURIComponent(GUARD_PASSWORD));
}

describe("backup names", () => {
  it("formats and parses names without secrets", () => {
    const date = new Date("2026-01-02T03:04:05.678Z");
    expect(backupFileName("production", "dump", date, "3f2a9c1d0b7e")).toBe("production-20260102T030405Z-3f2a9c1d0b7e.dump");
    expect(backupFileName("production", "dump", date, "stamp", 2)).toBe("production-20260102T030405Z-stamp-2.dump");
    expect(backupFileName("prod-eu", "pglite", date, "3f2a9c1d0b7e")).toBe("prod-eu-20260102T030405Z.pglite");
    expect(backupFileName("a/b c", "dump", date, "x")).toBe("a_b_c-20260102T030405Z-x.dump");
    expect(parseBackupFileName("prod-eu-20260102T030405Z-3f2a9c1d0b7e-2.dump")).toMatchObject({ environment: "prod-eu", kind: "dump", revision: "3f2a9c1d0b7e", sequence: 2, complete: true });
    expect(parseBackupFileName("production-20260102T030405Z-stamp.dump.partial")).toMatchObject({ environment: "production", revision: "stamp", complete: false });
    expect(parseBackupFileName("production-20260102T030405Z.pglite")?.createdAt.toISOString()).toBe("2026-01-02T03:04:05.000Z");
    expect(parseBackupFileName("notes.txt")).toBeNull();
  });

  it("reads pg_dump's version line", () => {
    expect(parseToolMajor("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)")).toBe(15);
    expect(parseToolMajor("pg_dump (PostgreSQL) 17beta1")).toBe(17);
    expect(parseToolMajor("pg_dump (PostgreSQL) 9.6.24")).toBe(9.6);
    expect(parseToolMajor("nonsense")).toBeNull();
  });
});

describe("pg_dump backups on PostgreSQL", () => {
  let project: GuardProject;
  let role: { name: string; drop(): Promise<void> };
  let db: TestDatabase;
  let env: ResolvedEnvironment;
  let session: Session;
  const processEnv = () => ({ PATH: process.env["PATH"], HOME: process.env["HOME"], DB_PASSWORD: GUARD_PASSWORD, KEY_PASSPHRASE: KEY_PASSPHRASE });
  /** Resolves one of the environments of the config written in beforeAll. */
  const environment = async (name: string) => resolveEnvironment(await loadConfig({ cwd: project.dir }), { environment: name, processEnv: processEnv() });

  beforeAll(async () => {
    project = await createGuardProject();
    role = await createGuardRole();
    db = await createOwnedDatabase(role.name);
    const url = guardUrlTemplate(role.name, db.name);
    await project.writeConfig({
      production: { url, protected: true, backup: { dir: "./backups", keep: 2 } },
      // A session setting the environment needs (options=-c ...) and libpq parameters: what pg_dump must be given too.
      tuned: { url: `${url}?options=-c%20TimeZone%3DAsia/Kathmandu&sslmode=disable&application_name=tuned_backup&connect_timeout=7`, protected: true, backup: { dir: "./backups-tuned" } },
      keyed: { url: `${url}?sslmode=disable&sslpassword=\${KEY_PASSPHRASE}`, protected: true, backup: { dir: "./backups-keyed" } },
      // A host list whose first host is down (a failover): 127.0.0.1:1 refuses connections.
      listed: { url: url.replace("@", "@127.0.0.1:1,"), protected: true, backup: { dir: "./backups-listed" } },
    });
    env = await environment("production");
    session = await openSession(env.target, { secrets: env.secrets });
    await session.exec("CREATE TABLE orders (id int PRIMARY KEY, total numeric); INSERT INTO orders VALUES (1, 10), (2, 20);");
  });
  afterAll(async () => {
    await session?.close();
    await db?.drop();
    await role?.drop();
    await project?.remove();
  });

  it("writes a 0600 custom-format dump that pg_restore --list reads; the password is in no command line or name", async () => {
    const cmdlines: string[] = [];
    const outcome = await takeBackup(env, session, {
      label: "3f2a9c1d0b7e",
      processEnv: processEnv(),
      onDumpStarted: (pid) => {
        // Sampled while pg_dump runs: what `ps` shows every user on the host.
        try {
          cmdlines.push(execFileSync("cat", [`/proc/${pid}/cmdline`]).toString("utf8").split("\0").join(" "));
        } catch {
          // the dump finished before we looked: the onDumpStarted contract still ran
        }
      },
    });
    expect(outcome.status).toBe("taken");
    if (outcome.status !== "taken") return;
    const { backup } = outcome;
    expect(backup.file).toMatch(/^production-\d{8}T\d{6}Z-3f2a9c1d0b7e\.dump$/);
    expect(backup.path).toBe(join(project.dir, "backups", backup.file));
    noSecret(backup.path);
    const info = await stat(backup.path);
    expect(info.mode & 0o777).toBe(0o600);
    expect(info.size).toBeGreaterThan(0);
    expect((await readFile(backup.path)).subarray(0, 5).toString("latin1")).toBe("PGDMP");
    const toc = execFileSync("pg_restore", ["--list", backup.path]).toString("utf8");
    expect(toc).toMatch(/TABLE public orders/);
    expect(toc).toMatch(/TABLE DATA public orders/);
    for (const line of cmdlines) {
      expect(line).toContain("pg_dump");
      expect(line).toContain(`--dbname=${db.name}`);
      noSecret(line);
    }
    expect(cmdlines.length).toBeGreaterThan(0);
    expect((await readdir(join(project.dir, "backups"))).filter((name) => name.endsWith(".partial"))).toEqual([]);
  });

  it("the URL's options= and libpq parameters reach pg_dump in its environment, never on its command line", async () => {
    const tuned = await environment("tuned");
    await session.exec("CREATE TABLE stamps (at timestamptz); INSERT INTO stamps VALUES ('2026-01-01 12:00:00+00');");
    const seen: { cmdline: string; environ: string[] }[] = [];
    const outcome = await takeBackup(tuned, session, {
      label: "stamp",
      processEnv: processEnv(),
      onDumpStarted: (pid) => {
        try {
          const read = (file: string) => execFileSync("cat", [`/proc/${pid}/${file}`]).toString("utf8").split("\0");
          seen.push({ cmdline: read("cmdline").join(" "), environ: read("environ") });
        } catch {
          // the dump finished before we looked: the data below still shows the setting
        }
      },
    });
    expect(outcome.status).toBe("taken");
    if (outcome.status !== "taken") return;
    // pg_dump's session ran in the URL's time zone: the data it wrote is in Kathmandu's offset (+05:45).
    const data = execFileSync("pg_restore", ["--data-only", "--table=stamps", "--file=-", outcome.backup.path]).toString("utf8");
    expect(data).toContain("2026-01-01 17:45:00+05:45");
    expect(seen.length).toBeGreaterThan(0);
    for (const { cmdline, environ } of seen) {
      expect(cmdline).not.toMatch(/TimeZone|sslmode|tuned_backup|connect_timeout/);
      noSecret(cmdline);
      expect(environ).toEqual(expect.arrayContaining(["PGOPTIONS=-c TimeZone=Asia/Kathmandu", "PGSSLMODE=disable", "PGAPPNAME=tuned_backup", "PGCONNECT_TIMEOUT=7", `PGPASSWORD=${GUARD_PASSWORD}`]));
    }
  });

  it("a host list: pg_dump dumps the host the session connected to, not the list's first (adv15 F10)", async () => {
    const listed = await environment("listed");
    expect(listed.target.kind === "postgres" && listed.target.hosts.map((host) => host.port)[0]).toBe(1);
    const listedSession = await openSession(listed.target, { secrets: listed.secrets });
    try {
      const outcome = await takeBackup(listed, listedSession, { label: "listed", processEnv: processEnv() });
      expect(outcome.status).toBe("taken");
      if (outcome.status !== "taken") return;
      const listing = execFileSync("pg_restore", ["--list", outcome.backup.path]).toString("utf8");
      expect(listing).toContain("TABLE public orders");
    } finally {
      await listedSession.close();
    }
  });

  it("a URL with sslpassword is refused before pg_dump runs: it has no libpq variable, and a command line or a file would expose it", async () => {
    const keyed = await environment("keyed");
    const error = await takeBackup(keyed, session, { label: "stamp", processEnv: processEnv() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    const refusal = error as DatabaseError;
    expect(refusal.code).toBe("backup-needs-sslpassword");
    expect(refusal.exitStatus).toBe(1);
    expect(refusal.message).toMatch(/holds sslpassword .* no backup was taken and nothing was migrated/);
    expect(refusal.hint).toMatch(/not encrypted.*--no-backup.*passfile/);
    const shown = `${refusal.message} ${refusal.hint ?? ""} ${JSON.stringify(refusal.details)}`;
    expect(shown).not.toContain(KEY_PASSPHRASE);
    noSecret(shown);
    expect(await readdir(join(project.dir, "backups-keyed")).catch(() => [])).toEqual([]);
  });

  it("through the CLI, an upgrade of that environment exits 1 with the refusal and migrates nothing", async () => {
    await writeRevision(project.migrationsDir, { id: "c3c3c3c3c3c3", down: null, message: "one", upgrade: "CREATE TABLE keyed_one (x int);" }, 1);
    const result = await runCli(["--env", "keyed", "--yes", "upgrade", "head"], { cwd: project.dir, env: { ...baseEnv(), DB_PASSWORD: GUARD_PASSWORD, KEY_PASSPHRASE } });
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain("holds sslpassword");
    expect(result.stderr).toContain("--no-backup");
    expect(result.stdout + result.stderr).not.toContain(KEY_PASSPHRASE);
    noSecret(result.stdout + result.stderr);
    const tables = await session.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'keyed%'");
    expect(tables.rows).toEqual([]);
  });

  it("prunes the oldest backups past keep, and only this environment's", async () => {
    const dir = join(project.dir, "backups");
    await writeFile(join(dir, "staging-20200101T000000Z-aaaaaaaaaaaa.dump"), "other environment");
    await writeFile(join(dir, "production-20200101T000000Z-bbbbbbbbbbbb.dump.partial"), "left by a crash");
    for (const day of ["2030-01-01", "2030-01-02", "2030-01-03"]) {
      await takeBackup(env, session, { label: "stamp", now: new Date(`${day}T00:00:00Z`), processEnv: processEnv() });
    }
    const remaining = (await listBackups(dir)).map((entry) => entry.file);
    expect(remaining).toEqual(["staging-20200101T000000Z-aaaaaaaaaaaa.dump", "production-20300102T000000Z-stamp.dump", "production-20300103T000000Z-stamp.dump"]);
  });

  it("two backups in the same second get distinct names", async () => {
    const now = new Date("2031-05-05T05:05:05Z");
    const a = await takeBackup(env, session, { label: "stamp", now, processEnv: processEnv() });
    const b = await takeBackup(env, session, { label: "stamp", now, processEnv: processEnv() });
    expect(a.status === "taken" && a.backup.file).toBe("production-20310505T050505Z-stamp.dump");
    expect(b.status === "taken" && b.backup.file).toBe("production-20310505T050505Z-stamp-2.dump");
  });

  it("without pg_dump on PATH: a DatabaseError that says why, no file left", async () => {
    const before = await readdir(join(project.dir, "backups"));
    const error = await takeBackup(env, session, { label: "3f2a9c1d0b7e", processEnv: { PATH: "/nonexistent", DB_PASSWORD: GUARD_PASSWORD } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe("backup-tool-missing");
    expect((error as DatabaseError).message).toMatch(/pg_dump was not found on PATH/);
    expect((error as DatabaseError).hint).toMatch(/--no-backup/);
    expect(await readdir(join(project.dir, "backups"))).toEqual(before);
  });

  it("a pg_dump of another major version is refused, naming both versions", async () => {
    const bin = join(project.dir, "fake-bin-old");
    await mkdir(bin);
    await writeFile(join(bin, "pg_dump"), "#!/bin/sh\necho 'pg_dump (PostgreSQL) 13.4'\n");
    await chmod(join(bin, "pg_dump"), 0o755);
    const error = await takeBackup(env, session, { label: "x", processEnv: { PATH: `${bin}:/usr/bin:/bin` } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe("backup-version-mismatch");
    expect((error as DatabaseError).message).toMatch(/pg_dump is version 13 .* server is PostgreSQL 1[0-9]/);
  });

  it("a failing dump (disk full) is a DatabaseError with pg_dump's message, and the partial file is removed", async () => {
    const bin = join(project.dir, "fake-bin-full");
    await mkdir(bin);
    const real = execFileSync("pg_dump", ["--version"]).toString("utf8").trim();
    await writeFile(join(bin, "pg_dump"), `#!/bin/sh\nif [ "$1" = "--version" ]; then echo '${real}'; exit 0; fi\necho "pg_dump: error: could not write to output file: No space left on device (password was $PGPASSWORD)" >&2\nexit 1\n`);
    await chmod(join(bin, "pg_dump"), 0o755);
    const before = await readdir(join(project.dir, "backups"));
    const error = await takeBackup(env, session, { label: "x", processEnv: { PATH: `${bin}:/usr/bin:/bin` } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    const failure = error as DatabaseError;
    expect(failure.code).toBe("backup-failed");
    expect(failure.message).toMatch(/No space left on device/);
    expect(failure.hint).toMatch(/disk .* is full/);
    noSecret(`${failure.message} ${failure.hint ?? ""} ${JSON.stringify(failure.details)}`);
    expect(await readdir(join(project.dir, "backups"))).toEqual(before);
  });
});

describe("PGlite backups", () => {
  it("copies the data directory to <env>-<timestamp>.pglite, 0700, a database that opens", async () => {
    const project = await createGuardProject();
    try {
      await project.writeConfig({ production: { url: "pglite://./data", protected: true, backup: { dir: "./backups", keep: 1 } } });
      const env = await resolveEnvironment(await loadConfig({ cwd: project.dir }), { environment: "production", processEnv: {} });
      const session = await openSession(env.target);
      await session.exec("CREATE TABLE t (x int); INSERT INTO t VALUES (42);");
      const first = await takeBackup(env, session, { label: "abc", now: new Date("2030-01-01T00:00:00Z") });
      const outcome = await takeBackup(env, session, { label: "abc", now: new Date("2030-01-02T00:00:00Z") });
      await session.close();
      expect(first.status).toBe("taken");
      expect(outcome.status).toBe("taken");
      if (outcome.status !== "taken") return;
      expect(outcome.backup.file).toBe("production-20300102T000000Z.pglite");
      expect(outcome.pruned).toEqual(["production-20300101T000000Z.pglite"]);
      expect((await stat(outcome.backup.path)).mode & 0o777).toBe(0o700);
      const copy = await openSession({ kind: "pglite", dataDir: outcome.backup.path });
      const rows = await copy.query<{ x: number }>("SELECT x FROM t");
      await copy.close();
      expect(rows.rows).toEqual([{ x: 42 }]);
    } finally {
      await project.remove();
    }
  });
});

describe("PGlite backups through the CLI", () => {
  it("a protected PGlite environment is copied before the upgrade; the copy holds the state before it", async () => {
    const project = await createGuardProject();
    try {
      await project.writeConfig({ production: { url: "pglite://./data", protected: true, backup: { dir: "./backups" } } });
      await writeRevision(project.migrationsDir, { id: "a1a1a1a1a1a1", down: null, message: "one", upgrade: "CREATE TABLE one (x int);" }, 1);
      await writeRevision(project.migrationsDir, { id: "b2b2b2b2b2b2", down: "a1a1a1a1a1a1", message: "two", upgrade: "CREATE TABLE two (x int);" }, 2);
      const first = await runCli(["--env", "production", "--yes", "upgrade", "a1a1a1a1a1a1"], { cwd: project.dir, env: baseEnv() });
      expect(first.status).toBe(0);
      const second = await runCli(["--env", "production", "--yes", "upgrade", "head"], { cwd: project.dir, env: baseEnv() });
      expect(second.status).toBe(0);
      expect(second.stderr).toMatch(/backup: .*production-\d{8}T\d{6}Z(-2)?\.pglite/);
      const copies = (await readdir(join(project.dir, "backups"))).sort();
      expect(copies).toHaveLength(2);
      const latest = join(project.dir, "backups", copies[copies.length - 1] as string);
      const copy = await openSession({ kind: "pglite", dataDir: latest });
      const tables = await copy.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
      await copy.close();
      expect(tables.rows.map((r) => r.name)).toEqual(["athanor_version", "athanor_version_history", "athanor_version_meta", "one"]);
    } finally {
      await project.remove();
    }
  });
});
