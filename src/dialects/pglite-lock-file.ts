/**
 * The lock of a PGlite data directory: an advisory lock excludes nothing (one backend
 * per process, and two processes can open the same data directory), so the lock is a
 * file beside the directory, created with O_EXCL before the directory is opened and
 * removed after it is closed. It is exclusive, for readers too: a data directory is a
 * single-user PostgreSQL, and every opener writes to it (recovery when it opens, a
 * shutdown checkpoint and its own view of the files when it closes), so a second
 * opener — even `athanor current` — can roll back what the first one committed. A file
 * left by a dead process on this host is taken over.
 */
import { readFileSync, unlinkSync } from "node:fs";
import { link, mkdir, open, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { DatabaseError, LockTimeoutError } from "../errors.js";
import { formatWait } from "../config/duration.js";
import { pollLock, sleep } from "./lock-poll.js";
import { lockFilePath } from "./pglite-lock-path.js";
import type { LockHolder, LockRequest, ReleaseLock } from "./types.js";

interface LockFileContent {
  pid: number;
  host: string;
  startedAt: string;
  holder: string;
}

/** Takes the lock file of `dataDir`, written with who holds it (`applicationName`). */
export async function lockDataDirectory(dataDir: string, request: LockRequest, applicationName: string): Promise<ReleaseLock> {
  const path = lockFilePath(dataDir);
  await mkdir(dirname(path), { recursive: true });
  const mine: LockFileContent = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), holder: applicationName };
  // The holder the last busy attempt found: named if it lets go before it is described again.
  let seen: LockFileContent | null = null;
  await pollLock(
    request,
    async () => {
      if (await tryCreate(path, mine)) return "taken";
      const holder = await readHolder(path);
      if (holder === "vanished") return "retry";
      if (holder === "stale") {
        await takeOver(path);
        return "retry";
      }
      seen = holder;
      return "busy";
    },
    async () => {
      const holder = await readHolder(path);
      return typeof holder === "object" ? describeFileHolder(holder, path) : seen === null ? null : describeFileHolder(seen, path);
    },
  );
  if (heldHere.size === 0) process.on("exit", removeHeldOnExit);
  heldHere.set(path, mine);
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    heldHere.delete(path);
    if (heldHere.size === 0) process.off("exit", removeHeldOnExit);
    const holder = await readHolder(path);
    if (typeof holder === "object" && isMine(holder, mine)) await unlink(path).catch(() => {});
  };
}

/**
 * The lock files this process holds. Process-wide by nature (a lock file names a pid):
 * a process that exits without releasing one (a second SIGINT, an unhandled rejection
 * in a revision) removes it on the way out, so the next command finds it free rather
 * than stale. The database engine ends with the process; nothing writes after `exit`.
 */
const heldHere = new Map<string, LockFileContent>();

function removeHeldOnExit(): void {
  for (const [path, mine] of heldHere) {
    try {
      const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<LockFileContent>;
      if (parsed.pid === mine.pid && parsed.startedAt === mine.startedAt) unlinkSync(path);
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}

function isMine(holder: LockFileContent, mine: LockFileContent): boolean {
  return holder.pid === mine.pid && holder.startedAt === mine.startedAt;
}

/**
 * The request for opening a PGlite directory when the caller gave none: wait up to
 * `waitMs` for the process that has it open, then fail with exit 4 naming that process.
 */
export function directoryOpenRequest(dataDir: string, waitMs: number, options: Pick<LockRequest, "signal" | "onWait" | "pollMs"> = {}): LockRequest {
  const path = lockFilePath(dataDir);
  return {
    key: 0n,
    waitMs,
    pollMs: options.pollMs,
    signal: options.signal,
    onWait: options.onWait,
    timeout: (holder, waitedMs) =>
      new LockTimeoutError(`the lock ${path} of the PGlite database ${dataDir} is held by ${holder?.description ?? "another process (it let go while we looked)"}; gave up after waiting ${formatWait(waitMs)}`, {
        hint:
          holder === null
            ? "Retry; the other command was finishing."
            : `A PGlite database is open in one process at a time, reading or writing. Wait for that command to finish and retry, or wait longer with --lock-wait. ${holder.remedy}`,
        details: { holder: holder?.details ?? null, waitedMs, lockFile: path },
      }),
  };
}

/**
 * Removes a stale lock file. Two runners may find the same stale file: the one that
 * creates `<lock>.takeover` (O_EXCL) checks again and removes it; the other retries, so
 * it never deletes the lock the first one has just created.
 */
async function takeOver(path: string): Promise<void> {
  const guard = `${path}.takeover`;
  let handle;
  try {
    handle = await open(guard, "wx", 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const info = await stat(guard).catch(() => null);
    if (info !== null && Date.now() - info.mtimeMs > UNREADABLE_GRACE_MS) await unlink(guard).catch(() => {});
    else await sleep(20, undefined);
    return;
  }
  try {
    await handle.close();
    if ((await readHolder(path)) === "stale") await unlink(path).catch(() => {});
  } finally {
    await unlink(guard).catch(() => {});
  }
}

async function tryCreate(path: string, content: LockFileContent): Promise<boolean> {
  // Written whole under a name of its own, then linked into place (link fails when the name
  // exists, as an exclusive create does): the lock file appears with its content, so no
  // reader finds it empty. Created empty and then written, a run of this very process found
  // it between the two and waited for "a runner starting up", said as a wait for another process.
  const staged = `${path}.${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`;
  try {
    await writeFile(staged, `${JSON.stringify(content)}\n`, { flag: "wx", mode: 0o644 });
  } catch (error) {
    throw lockFileError(path, error);
  }
  try {
    await link(staged, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    // A file system without hard links: the exclusive create, then the write.
    if (code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "ENOSYS") return createThenWrite(path, content);
    throw lockFileError(path, error);
  } finally {
    await unlink(staged).catch(() => {});
  }
}

/** The lock file created exclusively, then written (readers may find it empty meanwhile: readHolder's grace). */
async function createThenWrite(path: string, content: LockFileContent): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, "wx", 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw lockFileError(path, error);
  }
  try {
    await handle.writeFile(`${JSON.stringify(content)}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

function lockFileError(path: string, error: unknown): DatabaseError {
  return new DatabaseError("lock-file", `cannot create the lock file ${path}: ${(error as Error).message}`, {
    hint: "Check that the directory holding the PGlite database is writable.",
  });
}

/** A lock file that cannot be read for this long is a crashed writer's leftover. */
const UNREADABLE_GRACE_MS = 5_000;

async function readHolder(path: string): Promise<LockFileContent | "stale" | "vanished"> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return "vanished";
  }
  let parsed: Partial<LockFileContent> | null = null;
  try {
    parsed = JSON.parse(text) as Partial<LockFileContent>;
  } catch {
    parsed = null;
  }
  if (parsed === null || typeof parsed.pid !== "number" || typeof parsed.host !== "string") {
    // Being written right now, or garbage: stale once it is old enough.
    const info = await stat(path).catch(() => null);
    if (info === null) return "vanished";
    return Date.now() - info.mtimeMs > UNREADABLE_GRACE_MS ? "stale" : { pid: 0, host: "?", startedAt: new Date(info.mtimeMs).toISOString(), holder: "a runner starting up" };
  }
  const content: LockFileContent = {
    pid: parsed.pid,
    host: parsed.host,
    startedAt: typeof parsed.startedAt === "string" ? parsed.startedAt : "?",
    holder: typeof parsed.holder === "string" ? parsed.holder : "athanor",
  };
  if (content.host === hostname() && !processAlive(content.pid)) return "stale";
  return content;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function describeFileHolder(holder: LockFileContent, path: string): LockHolder {
  return {
    // By pid, not by heldHere: the holder may have written its file and not yet recorded it.
    inThisProcess: holder.pid === process.pid && holder.host === hostname(),
    description: `pid ${holder.pid} on ${holder.host} (${holder.holder}, since ${holder.startedAt})`,
    pid: holder.pid,
    remedy: `If process ${holder.pid} on ${holder.host} no longer runs athanor, delete ${path}.`,
    details: { ...holder, lockFile: path },
  };
}
