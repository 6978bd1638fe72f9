/**
 * `athanor diff --from A --to B`: the schema changes that turn A into B, where each side is
 * an environment's live database (its name), `schema` (the declared schema) or
 * `migrations` (the schema the revisions produce, replayed on an in-memory PGlite).
 * Read only: databases are introspected, never changed (a PGlite data directory that
 * does not exist yet counts as an empty database and is not created).
 */
import { diffSchemas } from "../autogenerate/compare.js";
import type { SchemaChange } from "../autogenerate/operations.js";
import { renderScript } from "../autogenerate/render.js";
import type { ResolvedEnvironment } from "../config/types.js";
import type { DirectoryWait } from "../run/connect.js";
import type { AbortSignalLike } from "../dialects/types.js";
import { loadDeclaredSchema, loadLiveSchema, loadMigrationsSchema, notComparedOf, type LoadedSchema, type NotCompared } from "./autogenerate.js";

export type { NotCompared } from "./autogenerate.js";

/** One side of a diff. */
export type DiffSide = { readonly kind: "schema" } | { readonly kind: "migrations" } | { readonly kind: "environment"; readonly environment: ResolvedEnvironment };

/** `schema` and `migrations` are keywords; anything else names an environment. */
export function parseDiffSide(value: string): "schema" | "migrations" | null {
  return value === "schema" || value === "migrations" ? value : null;
}

/** Options of {@link diff}. */
export interface DiffCommandOptions {
  readonly from: DiffSide;
  readonly to: DiffSide;
  /** Where `schema` and `migrations` come from (config `schema`, `migrations`), and the default schemas. */
  readonly project: Pick<ResolvedEnvironment, "schemaPaths" | "migrationsDir" | "schemas" | "shadow" | "secrets" | "autogenerate">;
  /** How opening an environment side's PGlite directory waits for another process that has it open (`--lock-wait`). */
  readonly directoryWait?: DirectoryWait | undefined;
  /** SIGINT/SIGTERM: stops the comparison with InterruptedError, its shadow closed (a `shadowUrl` shadow database dropped). */
  readonly signal?: AbortSignalLike | undefined;
}

/** A change, as `diff --json` prints it. */
export interface DiffChange {
  readonly kind: string;
  readonly summary: string;
  readonly destructive: boolean;
  readonly reason: string | null;
}

/** What {@link diff} found. */
export interface DiffResult {
  readonly from: string;
  readonly to: string;
  readonly changes: readonly DiffChange[];
  readonly notCompared: readonly NotCompared[];
  /** The SQL that turns `from` into `to` ("" when equal). */
  readonly upgradeSql: string;
  /** The full changes, for callers that render more. */
  readonly schemaChanges: readonly SchemaChange[];
}

function sideName(side: DiffSide): string {
  return side.kind === "environment" ? side.environment.name : side.kind;
}

async function loadSide(side: DiffSide, options: DiffCommandOptions, schemas: readonly string[]): Promise<LoadedSchema> {
  if (side.kind === "schema") return loadDeclaredSchema(options.project, schemas, undefined, options.signal);
  if (side.kind === "migrations") return loadMigrationsSchema(options.project.migrationsDir, schemas, undefined, options.project, options.signal);
  return loadLiveSchema(side.environment, schemas, "diff", options.project.autogenerate.privileges, options.directoryWait ?? { signal: options.signal });
}

/**
 * The changes that turn side `from` into side `to`. The schemas compared are those of the
 * first environment side, or the project's.
 * @throws ConfigError (exit 2) for `schema` without a declared schema, or `migrations` with TypeScript revisions.
 * @example
 * const result = await diff({ from: { kind: "schema" }, to: { kind: "environment", environment: prod }, project: prod });
 * result.changes.length // 0 when production matches the declared schema
 */
export async function diff(options: DiffCommandOptions): Promise<DiffResult> {
  const envSide = [options.from, options.to].find((side): side is Extract<DiffSide, { kind: "environment" }> => side.kind === "environment");
  const schemas = envSide?.environment.schemas ?? options.project.schemas;
  // Two shadow PGlites at once would double the peak memory (each holds a 128 MB WASM heap): they are loaded one after the other.
  const [from, to] =
    options.from.kind !== "environment" && options.to.kind !== "environment"
      ? [await loadSide(options.from, options, schemas), await loadSide(options.to, options, schemas)]
      : await Promise.all([loadSide(options.from, options, schemas), loadSide(options.to, options, schemas)]);
  const changes = diffSchemas(from.model, to.model, { privileges: options.project.autogenerate.privileges });
  const notCompared = notComparedOf([
    [sideName(options.from), from],
    [sideName(options.to), to],
  ]);
  return {
    from: sideName(options.from),
    to: sideName(options.to),
    changes: changes.map((c) => ({ kind: c.operation.kind, summary: c.summary, destructive: c.destructive, reason: c.reason })),
    notCompared,
    upgradeSql: renderScript(changes, "upgrade"),
    schemaChanges: changes,
  };
}
