/** Typed errors of the autogenerate engine (exit statuses from src/errors.ts). */
import { ConfigError, DatabaseError, RevisionError } from "../errors.js";
import type { AthanorErrorOptions } from "../errors.js";

/** Where in a source file a failing statement is. */
export interface SourceLocation {
  /** Path of the file (as given), or a label such as `schema.ts (default export)`. */
  readonly file: string;
  /** 1-based line in that file, when it could be determined. */
  readonly line: number | null;
}

/**
 * Exit 2: the declared schema (`schema` in the config) is missing, unreadable, or a
 * statement in it fails on the shadow database. `details` has `file`, `line` and the
 * server's `sqlstate`.
 */
export class DeclaredSchemaError extends ConfigError {
  override name = "DeclaredSchemaError";
  readonly location: SourceLocation | null;
  constructor(code: string, message: string, location: SourceLocation | null, options: AthanorErrorOptions = {}) {
    super(code, message, { ...options, details: { ...(options.details ?? {}), ...(location ? { file: location.file, line: location.line } : {}) } });
    this.location = location;
  }
}

/**
 * Exit 2: a revision's upgrade SQL fails when replayed on the shadow database, so the
 * revisions do not produce a schema. `details` has `revision`, `file`, `line`, `sqlstate`.
 */
export class ShadowReplayError extends RevisionError {
  override name = "ShadowReplayError";
  readonly revision: string;
  readonly location: SourceLocation;
  constructor(revision: string, message: string, location: SourceLocation, options: AthanorErrorOptions = {}) {
    super("shadow-replay-failed", message, {
      ...options,
      details: { ...(options.details ?? {}), revision, file: location.file, line: location.line },
    });
    this.revision = revision;
    this.location = location;
  }
}

/** Exit 2: the diff was asked for something it cannot do (an impossible rename, an unknown table in a rename). */
export class DiffError extends ConfigError {
  override name = "DiffError";
}

/** Exit 1: the catalog answered with something introspection does not understand. */
export class IntrospectionError extends DatabaseError {
  override name = "IntrospectionError";
  constructor(message: string, options: AthanorErrorOptions = {}) {
    super("introspection-failed", message, {
      ...options,
      hint: options.hint ?? "This is a bug in athanor's introspection: please report it with the server version.",
    });
  }
}

/**
 * Exit 2: a generated revision does not round-trip on the shadow database: its upgrade
 * fails, or leaves differences from the declared schema, or its downgrade does not give
 * back the schema it started from. Nothing is written. `details.changes` lists what is left.
 */
export class RoundTripError extends RevisionError {
  override name = "RoundTripError";
  constructor(message: string, options: AthanorErrorOptions = {}) {
    super("autogenerate-round-trip-failed", message, {
      ...options,
      hint:
        options.hint ??
        "athanor cannot express this change exactly: write this part of the revision by hand (`athanor revision -m MSG`), then run `revision --autogenerate` again for the rest; please report the schema that caused it.",
    });
  }
}

/** Exit 2: the shadow server (`shadowUrl`) cannot be reached, or the shadow database cannot be created there. */
export class ShadowServerError extends ConfigError {
  override name = "ShadowServerError";
  constructor(message: string, options: AthanorErrorOptions = {}) {
    super("shadow-server-failed", message, options);
  }
}
