/**
 * Backups before a protected run (DESIGN.md §6.3). On PostgreSQL: `pg_dump -Fc`, started
 * with an argument list (never a shell), the connection given as `--host/--port/
 * --username/--dbname` and everything else the URL says only in the child's environment
 * (`PGPASSWORD`, `PGOPTIONS`, `PGSSLMODE`...: src/guard/libpq-env.ts; a URL with
 * `sslpassword`, which has no variable, is refused),
 * written to `<dir>/<env>-<UTC timestamp>-<first revision|command>.dump.partial` (mode
 * 0600), checked with `pg_restore --list`, then renamed to `.dump`; the oldest backups of
 * the environment are pruned past `keep`. On PGlite: a copy of the data directory taken
 * after a CHECKPOINT, `<dir>/<env>-<UTC timestamp>.pglite/`, same rules.
 *
 * No backup, no migration: every failure is a DatabaseError (exit 1) raised before the
 * first revision runs; the CLI offers `--no-backup`. File names hold the environment's
 * name, a timestamp and a revision id: never a secret.
 */
import { spawn } from "node:child_process";
import { constants as fsConstants } from "node:fs";
import { chmod, cp, lstat, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ResolvedEnvironment } from "../config/types.js";
import type { AbortSignalLike, Session } from "../dialects/types.js";
import { DatabaseError, InterruptedError, isAthanorError } from "../errors.js";
import { redactUrl, scrubSecrets } from "../secrets/redact.js";
import { libpqVariables, parametersWithoutVariable } from "./libpq-env.js";

/** A backup found in a backup directory. */
export interface BackupEntry {
  /** File (or directory) name, e.g. `production-20260101T120000Z-3f2a9c1d0b7e.dump`. */
  readonly file: string;
  /** Absolute path. */
  readonly path: string;
  /** The environment whose run took it (from the name). */
  readonly environment: string;
  /** `dump`: a pg_dump custom-format file; `pglite`: a copy of a PGlite data directory. */
  readonly kind: "dump" | "pglite";
  /** Bytes (a PGlite copy: the sum of its files). */
  readonly sizeBytes: number;
  /** When it was taken (UTC, from the name). */
  readonly createdAt: Date;
  /** The first revision of the run it preceded, `stamp`, or null (PGlite copies carry none). */
  readonly revision: string | null;
  /** False for a `.partial` left by an interrupted backup: not restorable. */
  readonly complete: boolean;
}

/** What {@link takeBackup} did. */
export type BackupOutcome =
  | {
      readonly status: "taken";
      readonly backup: BackupEntry;
      /** Older backups removed to respect `keep` (and stale `.partial` leftovers). */
      readonly pruned: readonly string[];
      /** pg_dump's version line, or null for PGlite. */
      readonly tool: string | null;
      readonly durationMs: number;
    }
  | { readonly status: "skipped"; readonly reason: string };

/** Options of {@link takeBackup}. */
export interface BackupOptions {
  /** The first revision of the plan, or the command (`stamp`, `repair`, `resolve`). Part of the file name. */
  readonly label: string;
  /** Clock, injectable for tests. */
  readonly now?: Date | undefined;
  /** Environment the child processes inherit (PATH finds pg_dump); defaults to process.env. */
  readonly processEnv?: Readonly<Record<string, string | undefined>> | undefined;
  /** Aborts the dump (SIGINT/SIGTERM): the child is killed and the partial file removed. */
  readonly signal?: AbortSignalLike | undefined;
  /** Called with the child's pid once pg_dump runs (tests sample its command line). */
  readonly onDumpStarted?: ((pid: number) => void) | undefined;
}

const TIMESTAMP = /^\d{8}T\d{6}Z$/;
const DUMP_NAME = /^(.+)-(\d{8}T\d{6}Z)-([A-Za-z0-9_]+?)(?:-(\d+))?\.dump(\.partial)?$/;
const PGLITE_NAME = /^(.+)-(\d{8}T\d{6}Z)(?:-(\d+))?\.pglite(\.partial)?$/;

/** `20260101T120000Z`: the UTC timestamp used in backup names. */
export function formatBackupTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
}

function parseBackupTimestamp(text: string): Date {
  const iso = `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}T${text.slice(9, 11)}:${text.slice(11, 13)}:${text.slice(13, 15)}Z`;
  return new Date(iso);
}

/** Keeps a name part to letters, digits, `_`, `.` and `-` (an environment name is a config key, never a secret). */
function safePart(text: string, extra = ""): string {
  const allowed = new RegExp(`[^A-Za-z0-9_${extra}]`, "g");
  const cleaned = text.replace(allowed, "_");
  return cleaned.length > 0 ? cleaned : "_";
}

/**
 * The name of a backup (without `.partial`).
 * @example
 * backupFileName("production", "dump", new Date("2026-01-01T12:00:00Z"), "3f2a9c1d0b7e") // "production-20260101T120000Z-3f2a9c1d0b7e.dump"
 */
export function backupFileName(environment: string, kind: "dump" | "pglite", date: Date, label: string, sequence = 1): string {
  const env = safePart(environment, ".\\-");
  const seq = sequence > 1 ? `-${sequence}` : "";
  const stamp = formatBackupTimestamp(date);
  return kind === "dump" ? `${env}-${stamp}-${safePart(label)}${seq}.dump` : `${env}-${stamp}${seq}.pglite`;
}

/**
 * Parses a backup name. `environments` (when given) disambiguates environment names that
 * hold a `-`; a name of another tool's file gives null.
 */
export function parseBackupFileName(file: string): { environment: string; kind: "dump" | "pglite"; createdAt: Date; revision: string | null; sequence: number; complete: boolean } | null {
  const dump = DUMP_NAME.exec(file);
  if (dump && dump[1] && dump[2] && dump[3] && TIMESTAMP.test(dump[2])) {
    return { environment: dump[1], kind: "dump", createdAt: parseBackupTimestamp(dump[2]), revision: dump[3], sequence: Number(dump[4] ?? 1), complete: dump[5] === undefined };
  }
  const pglite = PGLITE_NAME.exec(file);
  if (pglite && pglite[1] && pglite[2] && TIMESTAMP.test(pglite[2])) {
    return { environment: pglite[1], kind: "pglite", createdAt: parseBackupTimestamp(pglite[2]), revision: null, sequence: Number(pglite[3] ?? 1), complete: pglite[4] === undefined };
  }
  return null;
}

async function sizeOf(path: string): Promise<number> {
  const info = await lstat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await sizeOf(join(path, entry));
  return total;
}

/**
 * Lists the backups in a directory, oldest first. A missing directory is an empty list.
 * @param environment when given, only that environment's backups
 */
export async function listBackups(dir: string, environment?: string): Promise<BackupEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new DatabaseError("backup-dir-unreadable", `cannot read the backup directory ${dir}: ${(error as Error).message}`, {
      hint: "Check that the directory exists and that this user may read it.",
    });
  }
  const entries: (BackupEntry & { sequence: number })[] = [];
  for (const file of names) {
    const parsed = parseBackupFileName(file);
    if (parsed === null) continue;
    if (environment !== undefined && parsed.environment !== safePart(environment, ".\\-")) continue;
    const path = join(dir, file);
    let sizeBytes = 0;
    try {
      sizeBytes = await sizeOf(path);
    } catch {
      continue; // removed while we looked
    }
    entries.push({ file, path, environment: parsed.environment, kind: parsed.kind, sizeBytes, createdAt: parsed.createdAt, revision: parsed.revision, complete: parsed.complete, sequence: parsed.sequence });
  }
  entries.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.sequence - b.sequence || a.file.localeCompare(b.file));
  return entries.map(({ sequence: _sequence, ...entry }) => entry);
}

/**
 * Removes the oldest complete backups of an environment beyond `keep`, and any `.partial`
 * left by an interrupted backup of that environment. Returns the removed names.
 */
export async function pruneBackups(dir: string, environment: string, keep: number, protect?: string): Promise<string[]> {
  const all = await listBackups(dir, environment);
  const removed: string[] = [];
  const stale = all.filter((entry) => !entry.complete && entry.file !== protect);
  const complete = all.filter((entry) => entry.complete);
  const excess = complete.slice(0, Math.max(0, complete.length - Math.max(1, keep))).filter((entry) => entry.file !== protect);
  for (const entry of [...stale, ...excess]) {
    await rm(entry.path, { recursive: true, force: true });
    removed.push(entry.file);
  }
  return removed;
}

/** Major version from `pg_dump --version` ("pg_dump (PostgreSQL) 15.18 (Debian ...)" → 15). */
export function parseToolMajor(versionLine: string): number | null {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(versionLine) ?? /\b(\d+)\.(\d+)/.exec(versionLine);
  if (!match?.[1]) return null;
  const major = Number(match[1]);
  // Before PostgreSQL 10 the major was two numbers (9.6); athanor supports 13+.
  return major < 10 && match[2] !== undefined ? Number(`${major}.${match[2]}`) : major;
}

/** Major version from `server_version_num` (150018 → 15). */
export function serverMajor(versionNum: number): number {
  return versionNum >= 100000 ? Math.floor(versionNum / 10000) : Math.floor(versionNum / 100) / 100;
}

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const MAX_CAPTURE = 64 * 1024;

/** Runs a program with an argument list (no shell), capturing a bounded amount of output. */
function runChild(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  options: { signal?: AbortSignalLike | undefined; onStart?: ((pid: number) => void) | undefined; timeoutMs?: number } = {},
): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, [...args], { env, stdio: ["ignore", "pipe", "pipe"], shell: false });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      if (stdout.length < MAX_CAPTURE) stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < MAX_CAPTURE) stderr += chunk.toString("utf8");
    });
    const onAbort = () => child.kill("SIGTERM");
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    child.once("spawn", () => {
      if (child.pid !== undefined) options.onStart?.(child.pid);
    });
    child.once("error", (error) => {
      options.signal?.removeEventListener("abort", onAbort);
      if (timer) clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code, signal) => {
      options.signal?.removeEventListener("abort", onAbort);
      if (timer) clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** Variables that would point a libpq tool at another server or user than the one athanor gives it. */
const CONNECTION_VARIABLES = new Set(["PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE", "PGAPPNAME"]);

type PostgresTarget = Extract<ResolvedEnvironment["target"], { kind: "postgres" }>;

/**
 * The environment of a libpq child: the caller's, minus connection overrides, plus what the
 * target's URL says (password, `options`, TLS files and modes...) in libpq's own variables.
 */
function libpqEnv(target: PostgresTarget | null, processEnv: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(processEnv)) {
    if (value === undefined || CONNECTION_VARIABLES.has(key)) continue;
    env[key] = value;
  }
  env["PGAPPNAME"] = "athanor backup";
  if (target === null) return env;
  // The password travels in the child's environment, never on its command line (/proc/<pid>/cmdline is world-readable).
  return { ...env, ...libpqVariables(target.params, target.password) };
}

/**
 * Refuses a target whose URL holds a parameter libpq reads from no variable (sslpassword):
 * it would have to go on pg_dump's command line or into a file, so no backup is taken.
 */
function refuseUnpassable(env: ResolvedEnvironment, target: PostgresTarget): void {
  const params = parametersWithoutVariable(target.params);
  if (params.length === 0) return;
  throw new DatabaseError(
    "backup-needs-sslpassword",
    `the url of environment "${env.name}" holds ${params.join(", ")} (the passphrase of an encrypted TLS key), which pg_dump can only be given on its command line, readable by every user of this host, or in a file; no backup was taken and nothing was migrated`,
    {
      hint: "Give the backup user a TLS key that is not encrypted (sslkey pointing at a file of mode 0600), or run with --no-backup to migrate without a backup, or authenticate with a password from a passfile (passfile=... in the url) instead of the encrypted key.",
      details: { parameters: params },
    },
  );
}

/** Where pg_dump and pg_restore come from: `ATHANOR_PG_BINDIR` when set, else PATH. */
function toolPath(name: "pg_dump" | "pg_restore", processEnv: Readonly<Record<string, string | undefined>>): string {
  const dir = processEnv["ATHANOR_PG_BINDIR"];
  return dir ? join(dir, name) : name;
}

/** `--dbname` value: a database name holding `=` or starting like a URL would be read as a connection string by libpq. */
function dbnameArgument(database: string): string {
  if (!database.includes("=") && !/^postgres(ql)?:\/\//i.test(database)) return database;
  return `dbname='${database.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function missingTool(name: string, processEnv: Readonly<Record<string, string | undefined>>): DatabaseError {
  const where = processEnv["ATHANOR_PG_BINDIR"] ? `in ATHANOR_PG_BINDIR (${processEnv["ATHANOR_PG_BINDIR"]})` : "on PATH";
  return new DatabaseError("backup-tool-missing", `${name} was not found ${where}, so no backup can be taken; nothing was migrated`, {
    hint: `Install the PostgreSQL client tools matching the server (e.g. apt-get install postgresql-client-15), put ${name} on PATH or set ATHANOR_PG_BINDIR to its directory; or run with --no-backup to migrate without a backup.`,
    details: { tool: name },
  });
}

function backupFailed(message: string, hint: string, details: Record<string, unknown> = {}): DatabaseError {
  return new DatabaseError("backup-failed", `${message}; nothing was migrated`, { hint: `${hint} Or run with --no-backup to migrate without a backup.`, details });
}

/** Cleans a tool's stderr for a message: secrets masked, URLs redacted, at most a few lines. */
function cleanOutput(text: string, secrets: readonly string[]): string {
  const lines = redactUrl(scrubSecrets(text, secrets)).split("\n").map((line) => line.trim()).filter(Boolean);
  return lines.slice(-6).join(" | ");
}

function isErrno(error: unknown, ...codes: string[]): boolean {
  return typeof error === "object" && error !== null && codes.includes(String((error as NodeJS.ErrnoException).code));
}

function fsFailure(action: string, path: string, error: unknown): DatabaseError {
  const code = typeof error === "object" && error !== null ? String((error as NodeJS.ErrnoException).code ?? "") : "";
  const reason = code === "ENOSPC" ? "the disk is full" : code === "EACCES" || code === "EPERM" ? "permission denied" : code === "EROFS" ? "the file system is read-only" : code === "ENOTDIR" ? "a part of the path is not a directory" : (error as Error).message ?? String(error);
  return backupFailed(`cannot ${action} ${path}: ${reason}`, code === "ENOSPC" ? "Free disk space in the backup directory (or point backup.dir at a larger disk)." : "Check the backup directory (backup.dir in the config) and its permissions.", { path, errno: code });
}

/** Picks a free name: the same second twice gets a `-2`, `-3`... suffix. */
async function freeName(dir: string, environment: string, kind: "dump" | "pglite", now: Date, label: string): Promise<string> {
  for (let sequence = 1; sequence < 1000; sequence += 1) {
    const name = backupFileName(environment, kind, now, label, sequence);
    const taken = await Promise.all([name, `${name}.partial`].map((candidate) => stat(join(dir, candidate)).then(() => true, () => false)));
    if (!taken.some(Boolean)) return name;
  }
  throw backupFailed(`too many backups named ${backupFileName(environment, kind, now, label)} in ${dir}`, "Remove old backups.");
}

async function prepareDir(dir: string): Promise<void> {
  try {
    // Backups hold the whole database: the directory is its owner's only (when athanor creates it).
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw fsFailure("create the backup directory", dir, error);
  }
}

/** Checks that pg_dump exists and matches the server's major version; returns its version line. */
export async function checkPgDumpVersion(session: Session, processEnv: Readonly<Record<string, string | undefined>> = process.env): Promise<{ versionLine: string; toolMajor: number; serverMajor: number }> {
  const env = libpqEnv(null, processEnv);
  let result: ChildResult;
  try {
    result = await runChild(toolPath("pg_dump", processEnv), ["--version"], env, { timeoutMs: 30_000 });
  } catch (error) {
    if (isErrno(error, "ENOENT", "EACCES")) throw missingTool("pg_dump", processEnv);
    throw backupFailed(`cannot run pg_dump: ${(error as Error).message}`, "Check the PostgreSQL client installation.");
  }
  const versionLine = result.stdout.trim().split("\n")[0] ?? "";
  const toolMajor = parseToolMajor(versionLine);
  if (result.code !== 0 || toolMajor === null) {
    throw backupFailed(`pg_dump --version did not report a version (${versionLine || `exit ${result.code}`})`, "Check the PostgreSQL client installation.");
  }
  const major = serverMajor(await session.serverVersion());
  if (toolMajor !== major) {
    throw new DatabaseError("backup-version-mismatch", `pg_dump is version ${toolMajor} (${versionLine}) but the server is PostgreSQL ${major}; no backup was taken and nothing was migrated`, {
      hint: `Install pg_dump ${major} (e.g. apt-get install postgresql-client-${major}) and put it first on PATH, or set ATHANOR_PG_BINDIR to its directory (e.g. /usr/lib/postgresql/${major}/bin); or run with --no-backup.`,
      details: { pgDumpMajor: toolMajor, serverMajor: major },
    });
  }
  return { versionLine, toolMajor, serverMajor: major };
}

async function dumpPostgres(env: ResolvedEnvironment, target: PostgresTarget, session: Session, dir: string, options: BackupOptions, now: Date): Promise<Extract<BackupOutcome, { status: "taken" }>> {
  const processEnv = options.processEnv ?? process.env;
  const started = Date.now();
  refuseUnpassable(env, target);
  const { versionLine } = await checkPgDumpVersion(session, processEnv);
  await prepareDir(dir);
  const name = await freeName(dir, env.name, "dump", now, options.label);
  const finalPath = join(dir, name);
  const partialPath = `${finalPath}.partial`;
  // Created here with mode 0600 before pg_dump opens it: pg_dump truncates the existing
  // file and keeps its mode, so the dump is never readable by others, not even briefly.
  try {
    const handle = await open(partialPath, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
    await handle.close();
  } catch (error) {
    throw fsFailure("create the backup file", partialPath, error);
  }
  const removePartial = () => rm(partialPath, { force: true }).catch(() => {});
  try {
    // The host the session connected to, not the list's first: after a failover the first is
    // down, or a standby, or a former primary, and the dump must be of the migrated server.
    const server = session.connectedHost?.() ?? { host: target.host, port: target.port };
    const args = ["--format=custom", `--file=${partialPath}`, "--no-password", `--host=${server.host}`, `--port=${server.port}`];
    if (target.user !== "") args.push(`--username=${target.user}`);
    if (env.lockTimeoutMs !== null && env.lockTimeoutMs > 0) args.push(`--lock-wait-timeout=${env.lockTimeoutMs}ms`);
    args.push(`--dbname=${dbnameArgument(target.database)}`);
    let result: ChildResult;
    try {
      result = await runChild(toolPath("pg_dump", processEnv), args, libpqEnv(target, processEnv), { signal: options.signal, onStart: options.onDumpStarted });
    } catch (error) {
      if (isErrno(error, "ENOENT", "EACCES")) throw missingTool("pg_dump", processEnv);
      throw backupFailed(`cannot run pg_dump: ${(error as Error).message}`, "Check the PostgreSQL client installation.");
    }
    if (options.signal?.aborted) {
      throw InterruptedError.fromReason(options.signal.reason, { hint: "The backup was interrupted before any migration ran; nothing was changed." });
    }
    if (result.code !== 0) {
      const output = cleanOutput(result.stderr, env.secrets);
      const full = /No space left on device/i.test(result.stderr);
      throw backupFailed(
        `pg_dump failed (${result.signal ? `killed by ${result.signal}` : `exit ${result.code}`})${output ? `: ${output}` : ""}`,
        full ? "The disk of the backup directory is full: free space or point backup.dir at a larger disk." : "Read pg_dump's message above; the server, the user's privileges (it must read every table) and the disk are the usual causes.",
        { tool: "pg_dump", exitCode: result.code },
      );
    }
    await syncFile(partialPath);
    await verifyDump(partialPath, env, processEnv);
    try {
      await chmod(partialPath, 0o600);
      await rename(partialPath, finalPath);
    } catch (error) {
      throw fsFailure("finish the backup file", finalPath, error);
    }
  } catch (error) {
    await removePartial();
    throw error;
  }
  const pruned = await pruneBackups(dir, env.name, env.backup?.keep ?? 10, name);
  const [backup] = (await listBackups(dir, env.name)).filter((entry) => entry.file === name);
  if (backup === undefined) throw backupFailed(`the backup ${finalPath} disappeared after it was written`, "Check what else writes to the backup directory.");
  return { status: "taken", backup, pruned, tool: versionLine, durationMs: Date.now() - started };
}

async function syncFile(path: string): Promise<void> {
  try {
    const handle = await open(path, "r+");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw fsFailure("flush the backup file", path, error);
  }
}

/** `pg_restore --list` must read the archive's table of contents. */
async function verifyDump(path: string, env: ResolvedEnvironment, processEnv: Readonly<Record<string, string | undefined>>): Promise<void> {
  let result: ChildResult;
  try {
    result = await runChild(toolPath("pg_restore", processEnv), ["--list", path], libpqEnv(null, processEnv), { timeoutMs: 10 * 60_000 });
  } catch (error) {
    if (isErrno(error, "ENOENT", "EACCES")) throw missingTool("pg_restore", processEnv);
    throw backupFailed(`cannot run pg_restore to check the backup: ${(error as Error).message}`, "Check the PostgreSQL client installation.");
  }
  if (result.code !== 0 || !/^;\s*Archive created at/m.test(result.stdout)) {
    throw backupFailed(`the backup ${path} does not read back with pg_restore --list${result.stderr ? `: ${cleanOutput(result.stderr, env.secrets)}` : ""}`, "Check the disk and the pg_dump/pg_restore installation.", { tool: "pg_restore", exitCode: result.code });
  }
}

/** Files of a PGlite data directory that describe a running instance, not data: not copied. */
const PGLITE_SKIP = new Set(["postmaster.pid", "postmaster.opts"]);

async function copyPglite(env: ResolvedEnvironment, dataDir: string, session: Session, dir: string, options: BackupOptions, now: Date): Promise<Extract<BackupOutcome, { status: "taken" }>> {
  const started = Date.now();
  // The copy is taken with the migration lock held and nothing running: a CHECKPOINT first
  // writes every dirty page, so the files on disk are the database as it is now.
  await session.exec("CHECKPOINT");
  await prepareDir(dir);
  const name = await freeName(dir, env.name, "pglite", now, options.label);
  const finalPath = join(dir, name);
  const partialPath = `${finalPath}.partial`;
  try {
    await cp(dataDir, partialPath, {
      recursive: true,
      errorOnExist: true,
      force: false,
      filter: (source) => !PGLITE_SKIP.has(source.slice(source.lastIndexOf("/") + 1)) && !/\.athanor[^/]*\.lock$/.test(source),
    });
    await chmod(partialPath, 0o700);
    await stat(join(partialPath, "PG_VERSION")).catch(() => {
      throw backupFailed(`the copy of ${dataDir} has no PG_VERSION file`, "Check that the environment's url points at a PGlite data directory.");
    });
    await rename(partialPath, finalPath);
  } catch (error) {
    await rm(partialPath, { recursive: true, force: true }).catch(() => {});
    if (isAthanorError(error)) throw error;
    throw fsFailure("copy the PGlite data directory to", partialPath, error);
  }
  const pruned = await pruneBackups(dir, env.name, env.backup?.keep ?? 10, name);
  const [backup] = (await listBackups(dir, env.name)).filter((entry) => entry.file === name);
  if (backup === undefined) throw backupFailed(`the backup ${finalPath} disappeared after it was written`, "Check what else writes to the backup directory.");
  return { status: "taken", backup, pruned, tool: null, durationMs: Date.now() - started };
}

/**
 * Takes the backup of a protected environment before a run. Call it with the migration
 * lock held and before the first revision; it throws a DatabaseError (exit 1) when no
 * backup could be taken, so no migration runs without one.
 * @example
 * const outcome = await takeBackup(env, session, { label: plan.steps[0]?.revision.id ?? "stamp" });
 * if (outcome.status === "taken") console.log(outcome.backup.path);
 */
export async function takeBackup(env: ResolvedEnvironment, session: Session, options: BackupOptions): Promise<BackupOutcome> {
  if (env.backup === null) return { status: "skipped", reason: `environment "${env.name}" has no backup setting` };
  const now = options.now ?? new Date();
  const target = env.target;
  if (target.kind === "postgres") return dumpPostgres(env, target, session, env.backup.dir, options, now);
  if (target.dataDir === null) return { status: "skipped", reason: "an in-memory PGlite database has nothing on disk to back up" };
  return copyPglite(env, target.dataDir, session, env.backup.dir, options, now);
}
