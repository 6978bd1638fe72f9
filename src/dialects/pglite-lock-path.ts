/**
 * Where a PGlite data directory's lock file is, and which sessions hold it: what a run on
 * PostgreSQL also asks (src/dialects/open.ts) without loading the lock file's code and
 * node:fs/promises with it (~2.4 ms of every command's start-up). The lock itself is
 * src/dialects/pglite-lock-file.ts.
 */

/** The lock file of a PGlite data directory: `<dataDir>.lock`. */
export function lockFilePath(dataDir: string): string {
  return `${dataDir.replace(/[\\/]+$/, "")}.lock`;
}

/** The sessions opened under their directory's lock, and that directory. */
const sessionsHolding = new WeakMap<object, string>();

/** Records that `session` holds the lock of `dataDir` until it closes. */
export function markHoldsDirectory(session: object, dataDir: string): void {
  sessionsHolding.set(session, lockFilePath(dataDir));
}

/** True when `session` was opened under the lock of `dataDir` (so that lock is held for as long as it is open). */
export function holdsDirectory(session: object, dataDir: string): boolean {
  return sessionsHolding.get(session) === lockFilePath(dataDir);
}
