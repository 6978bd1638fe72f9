/**
 * Turns an error thrown by `pg` or PGlite into a DatabaseError whose message, hint and
 * details hold no secret. The driver's error object is never kept as `cause`: its
 * `message`, `stack` and fields (`input`, connection parameters) may carry the password.
 */
import type { DatabaseTarget } from "../config/types.js";
import { DatabaseError, isAthanorError } from "../errors.js";
import { scrubSecrets, redactUrl } from "../secrets/redact.js";

export interface DriverErrorContext {
  secrets: readonly string[];
  action: string;
  target: DatabaseTarget;
}

interface DriverErrorFields {
  message?: unknown;
  code?: unknown;
  detail?: unknown;
  hint?: unknown;
  position?: unknown;
  severity?: unknown;
  errno?: unknown;
  address?: unknown;
  port?: unknown;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function describeTarget(target: DatabaseTarget): string {
  if (target.kind === "pglite") return target.dataDir === null ? "the in-memory PGlite database" : `the PGlite database in ${target.dataDir}`;
  return `${target.host}:${target.port}/${target.database}`;
}

/** Connection-level failures get a hint that names the likely fix. */
/**
 * PGlite's file-system errors (Emscripten's `ErrnoError`) carry no message, only a WASI
 * errno: "[object Object]" said nothing. The ones a data directory meets, by name.
 */
const PGLITE_ERRNO: Readonly<Record<number, readonly [code: string, text: string]>> = {
  2: ["EACCES", "permission denied"],
  20: ["EEXIST", "a file exists where a directory was to be made"],
  28: ["EINVAL", "invalid argument"],
  31: ["EISDIR", "a directory where a file was expected"],
  44: ["ENOENT", "no such file or directory"],
  54: ["ENOTDIR", "not a directory"],
  55: ["ENOTEMPTY", "directory not empty"],
  63: ["EPERM", "operation not permitted"],
  69: ["EROFS", "read-only file system"],
};

function pgliteFileError(fields: DriverErrorFields & { name?: unknown }): { message: string; code: string } | undefined {
  if (fields.name !== "ErrnoError" || typeof fields.errno !== "number") return undefined;
  const [code, text] = PGLITE_ERRNO[fields.errno] ?? [`errno ${fields.errno}`, "file system error"];
  return { message: `its data directory cannot be used: ${text} (${code})`, code };
}

function hintFor(code: string | undefined, target: DatabaseTarget): string | undefined {
  if (target.kind === "pglite") {
    return code !== undefined && Object.values(PGLITE_ERRNO).some(([name]) => name === code) && target.dataDir !== null
      ? `A PGlite URL names a directory (made if missing): check that ${target.dataDir} is a directory you may write, not a file or a link to one, or point the url elsewhere.`
      : undefined;
  }
  if (target.kind !== "postgres") return undefined;
  switch (code) {
    case "ECONNREFUSED":
      return `Nothing accepts connections at ${target.host}:${target.port}. Start the server, or fix the host and port in the environment's url.`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `The host name ${target.host} does not resolve. Fix the host in the environment's url (or the variable that sets it).`;
    case "ETIMEDOUT":
    case "connect-timeout":
      return `The server at ${target.host}:${target.port} did not answer in time. Check the host, the port and any firewall.`;
    case "28P01":
      return `The server refused the password for user "${target.user}". Fix the password variable used by the url.`;
    case "28000":
      return `The server refused user "${target.user}" (pg_hba.conf or role). Check the user in the url.`;
    case "57P05":
      return `The server ends a session idle for longer than its idle_session_timeout (SHOW idle_session_timeout; set in postgresql.conf, on the role or on the database), and athanor's sessions can be idle that long (the migration session while it waits for the migration lock, the lock connection while the revisions run): set it to 0 for the role that migrates (ALTER ROLE "${target.user}" SET idle_session_timeout = 0) or above --lock-wait, then run the command again.`;
    case "3D000":
      return `The database "${target.database}" does not exist on ${target.host}:${target.port}. Create it (createdb) or fix the database name.`;
    default:
      return undefined;
  }
}

export function toDatabaseError(error: unknown, context: DriverErrorContext): DatabaseError {
  if (isAthanorError(error)) return error as DatabaseError;
  const fields: DriverErrorFields = typeof error === "object" && error !== null ? (error as DriverErrorFields) : {};
  const fileError = pgliteFileError(fields);
  let rawMessage = fileError?.message ?? str(fields.message) ?? String(error);
  let code = fileError?.code ?? str(fields.code);
  if (/timeout expired|Connection terminated due to connection timeout/i.test(rawMessage)) code = code ?? "connect-timeout";
  const clean = (text: string) => redactUrl(scrubSecrets(text, context.secrets));
  rawMessage = clean(rawMessage);
  const hint = hintFor(code, context.target) ?? (str(fields.hint) ? clean(str(fields.hint) as string) : undefined);
  const where = describeTarget(context.target);
  const message = context.action === "connect" ? `cannot connect to ${where}: ${rawMessage}` : rawMessage;
  const details: Record<string, unknown> = {};
  if (code) details["sqlstate"] = code;
  if (str(fields.detail)) details["detail"] = clean(str(fields.detail) as string);
  if (fields.position !== undefined) details["position"] = Number(fields.position);
  return new DatabaseError(context.action === "connect" ? "connection-failed" : "database-error", message, {
    hint,
    details,
  });
}

/**
 * Returns `wrap(action, run)`: runs a driver call and turns what it throws into a
 * DatabaseError without secrets. Every Session implementation wraps its calls with it.
 */
export function driverErrorGuard(secrets: readonly string[], target: DatabaseTarget): <T>(action: string, run: () => Promise<T>) => Promise<T> {
  return async (action, run) => {
    try {
      return await run();
    } catch (error) {
      throw toDatabaseError(error, { secrets, action, target });
    }
  };
}
