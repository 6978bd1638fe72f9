/**
 * What a failed file system call means for the user: the reason in words and the fix, by
 * errno code. Only ENOENT means "does not exist"; a file or directory athanor may not
 * read, a symbolic link loop or a path through a regular file are told as what they are,
 * or the user looks for a missing file that is there.
 */

/** A failed file system call, described. */
export interface FsProblem {
  /** The errno code (`EACCES`), or null when the error had none. */
  readonly code: string | null;
  /** What went wrong, in words: "permission denied". */
  readonly reason: string;
  /** What to do about it, for a hint. */
  readonly fix: string;
}

/** The errno code of a Node.js system error, if it has one. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

const PROBLEMS: Readonly<Record<string, { reason: string; fix: string }>> = {
  ENOENT: { reason: "does not exist", fix: "check the path" },
  EACCES: {
    reason: "permission denied",
    fix: "give the user that runs athanor read access to it, and search (x) access to every directory above it (ls -ld each of them)",
  },
  EPERM: { reason: "operation not permitted", fix: "check its permissions, ownership and any security policy (SELinux, AppArmor) for the user that runs athanor" },
  ELOOP: { reason: "too many levels of symbolic links (a symbolic link that points back to itself?)", fix: "fix the symbolic link (ls -l shows where it points)" },
  ENOTDIR: { reason: "a part of its path is a file, not a directory", fix: "check the path" },
  EISDIR: { reason: "it is a directory", fix: "it must be a file: name the file, or move the directory away" },
  ENAMETOOLONG: { reason: "its name is too long", fix: "use a shorter path" },
  // What a read of a FIFO or a socket opened without blocking gives (athanor reads at an offset, and never waits on one).
  ESPIPE: { reason: "it is not a regular file (a FIFO or a socket?)", fix: "it must be a regular file: put the file back (ls -l shows what it is)" },
  EAGAIN: { reason: "it is not a regular file (a FIFO or a device with nothing to read?)", fix: "it must be a regular file: put the file back (ls -l shows what it is)" },
};

/**
 * Describes a failed file system call.
 * @example
 * describeFsError(error) // { code: "EACCES", reason: "permission denied", fix: "give the user ..." }
 */
export function describeFsError(error: unknown): FsProblem {
  const code = errnoCode(error) ?? null;
  const known = code === null ? undefined : PROBLEMS[code];
  if (known !== undefined) return { code, ...known };
  const message = error instanceof Error ? error.message : String(error);
  return { code, reason: message, fix: "check the path and its permissions" };
}
