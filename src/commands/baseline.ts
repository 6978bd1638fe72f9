/**
 * `athanor baseline -m MSG`: adopts athanor on a live database without replaying its
 * history (Flyway's `baseline`, Alembic's "write a first revision, then `stamp head`").
 *
 * 1. Refuses when the migrations directory already holds revisions (a project that uses
 *    athanor already: stamp the database instead), or when the database already records
 *    applied revisions, unless `force`.
 * 2. Introspects the environment's database (the autogenerate introspection, athanor's
 *    own version tables left out), diffs it against an empty database and renders the
 *    SQL: the upgrade creates the schema, the downgrade drops it.
 * 3. Writes that SQL as a new root revision (extensions the database uses come first).
 * 4. Stamps the environment at the new revision with the runtime's `stamp` (lock,
 *    guards, one history row). When the stamp fails or is refused, the file is removed
 *    again, so a failed baseline leaves the project as it was.
 *
 * Objects the schema model does not describe (functions, triggers, materialized
 * views, policies...) are not in the revision: they are listed as warnings, and as a
 * comment at the top of the file, so the author adds them by hand. The bookkeeping
 * tables of other migration tools (`alembic_version`, `knex_migrations`,
 * `_prisma_migrations`...) are left out and named the same way.
 */
import { mkdir, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import type { ResolvedEnvironment } from "../config/types.js";
import { diffSchemas } from "../autogenerate/compare.js";
import { introspect, listUnmodelledObjects, type UnmodelledObject } from "../autogenerate/introspect.js";
import { emptyModel, type QualifiedName, type SchemaModel } from "../autogenerate/model.js";
import type { SchemaChange } from "../autogenerate/operations.js";
import { renderScript } from "../autogenerate/render.js";
import { quoteIdent } from "../dialects/sql.js";
import type { Session } from "../dialects/types.js";
import { ConfigError, isAthanorError } from "../errors.js";
import { withHint } from "../with-hint.js";
import { guardrailOptionsOf, type GuardrailOptions } from "../guard/hook.js";
import type { RevisionGraph } from "../revisions/graph.js";
import { loadRevisionGraph } from "../revisions/script-directory.js";
import { openReadSession, type LockedCommandOptions } from "../run/connect.js";
import type { BeforeExecute } from "../run/migrate.js";
import { readAppliedState, type AppliedState } from "../run/version-table.js";
import { createRevision, type CreatedRevision } from "./revision.js";
import { stamp, type StampResult } from "./stamp.js";

/** Options of {@link baseline}. */
export interface BaselineOptions extends LockedCommandOptions, GuardrailOptions {
  /** The revision's message, e.g. `baseline` or `initial schema`. */
  readonly message: string;
  /**
   * Take the baseline even though the migrations directory already holds revisions (the
   * new revision is then a second root: the first step of squashing a long history) or
   * the database already records applied revisions.
   */
  readonly force?: boolean | undefined;
  /** False writes the revision without stamping the environment (default true). */
  readonly stamp?: boolean | undefined;
  /** Guards of the caller's own, run by the stamp after the guardrails. */
  readonly beforeExecute?: readonly BeforeExecute[] | undefined;
  /** Called once when reading the schema waits for another process that has the PGlite directory open, with the holder. */
  readonly onLockWait?: ((holder: string) => void) | undefined;
}

/** An extension the database uses, created first by the baseline. */
export interface BaselineExtension {
  readonly name: string;
  readonly schema: string;
}

/** How many objects of each kind the baseline creates. */
export interface BaselineCounts {
  readonly schemas: number;
  readonly enums: number;
  readonly sequences: number;
  readonly tables: number;
  readonly views: number;
  readonly indexes: number;
  /** Functions, procedures, domains and composite types. */
  readonly routines: number;
}

/** What {@link baseline} did. `baseline --json` prints it. */
export interface BaselineResult {
  readonly environment: string;
  /** The revision file written. */
  readonly revision: CreatedRevision;
  readonly counts: BaselineCounts;
  /** Extensions created at the top of the revision (`CREATE EXTENSION IF NOT EXISTS`). */
  readonly extensions: readonly BaselineExtension[];
  /** Objects the revision does not create (the model does not describe them): add them by hand. */
  readonly unmodelled: readonly UnmodelledObject[];
  /** Bookkeeping tables of other migration tools (`alembic_version`, `knex_migrations`...), left out of the revision. */
  readonly toolTables: readonly MigrationToolTable[];
  /** One sentence each: what the author must look at before committing the revision. */
  readonly warnings: readonly string[];
  /** The stamp of the environment, or null with `stamp: false`. */
  readonly stamped: StampResult | null;
}

/** The SQL of a baseline revision (pure), from the live model. */
export interface BaselineSql {
  readonly upgradeSql: string;
  readonly downgradeSql: string;
  readonly changes: readonly SchemaChange[];
  /** Extensions left out (they live in a schema the revision cannot create first). */
  readonly skippedExtensions: readonly BaselineExtension[];
}

/**
 * The upgrade and downgrade SQL that create `live` from an empty database and drop it
 * again. Schemas come first, then the extensions, then everything else; the downgrade
 * runs in the reverse order. Pure.
 * @example
 * const { upgradeSql } = renderBaselineSql(model, [{ name: "citext", schema: "public" }], ["function public.f"]);
 */
export function renderBaselineSql(live: SchemaModel, extensions: readonly BaselineExtension[], notes: readonly string[] = []): BaselineSql {
  // A new database has `public`; every other introspected schema is created.
  const changes = diffSchemas(emptyModel(live.schemas.filter((schema) => schema === "public")), live);
  const schemaChanges = changes.filter((change) => change.operation.kind === "create-schema");
  // Extensions are written below (IF NOT EXISTS, only in schemas the baseline creates), not by the diff.
  const otherChanges = changes.filter((change) => change.operation.kind !== "create-schema" && change.operation.kind !== "create-extension");
  const created = new Set(["public", ...schemaChanges.map((change) => (change.operation.kind === "create-schema" ? change.operation.schema : ""))]);
  const written = extensions.filter((extension) => created.has(extension.schema));
  const skippedExtensions = extensions.filter((extension) => !created.has(extension.schema));
  const header = notes.length === 0 ? "" : `${notes.map((note) => `-- ${note}`).join("\n")}\n\n`;
  const createExtensions = written.length === 0 ? "" : `${written.map((e) => `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(e.name)} WITH SCHEMA ${quoteIdent(e.schema)};`).join("\n")}\n`;
  const dropExtensions = written.length === 0 ? "" : `${[...written].reverse().map((e) => `DROP EXTENSION IF EXISTS ${quoteIdent(e.name)};`).join("\n")}\n`;
  const join = (...parts: string[]): string => parts.filter((part) => part !== "").join("\n");
  return {
    upgradeSql: header + join(renderScript(schemaChanges, "upgrade"), createExtensions, renderScript(otherChanges, "upgrade")),
    downgradeSql: join(renderScript(otherChanges, "downgrade"), dropExtensions, renderScript(schemaChanges, "downgrade")),
    changes,
    skippedExtensions,
  };
}

/** What a live database holds, read in one session. */
interface LiveSchema {
  readonly model: SchemaModel;
  readonly unmodelled: readonly UnmodelledObject[];
  readonly extensions: readonly BaselineExtension[];
  readonly state: AppliedState | null;
  readonly toolTables: readonly MigrationToolTable[];
}

/** athanor's own tables: the version table, its history and its meta table. */
function athanorTables(env: ResolvedEnvironment): QualifiedName[] {
  const { schema, table } = env.versionTable;
  return [table, `${table}_history`, `${table}_meta`].map((name) => ({ schema, name }));
}

/**
 * The bookkeeping tables of the migration tools a team adopts athanor from. They belong
 * to the old tool, not to the schema: the baseline leaves them out (and says so).
 */
export const MIGRATION_TOOL_TABLES: Readonly<Record<string, string>> = {
  alembic_version: "Alembic",
  knex_migrations: "knex",
  knex_migrations_lock: "knex",
  pgmigrations: "node-pg-migrate",
  _prisma_migrations: "Prisma Migrate",
  flyway_schema_history: "Flyway",
  schema_migrations: "golang-migrate, Rails, dbmate",
  kysely_migration: "Kysely",
  kysely_migration_lock: "Kysely",
  SequelizeMeta: "Sequelize",
  __drizzle_migrations: "drizzle-kit",
  databasechangelog: "Liquibase",
  databasechangeloglock: "Liquibase",
};

/** A table of another migration tool that the baseline left out. */
export interface MigrationToolTable extends QualifiedName {
  /** The tool it belongs to, e.g. `Alembic`. */
  readonly tool: string;
}

async function readLiveSchema(env: ResolvedEnvironment, session: Session): Promise<LiveSchema> {
  const state = await readAppliedState(session, env.versionTable);
  const toolRows = await session.query<{ schema: string; name: string }>(
    "SELECT n.nspname AS schema, c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1::text[]) AND c.relname = ANY($2::text[]) ORDER BY 1, 2",
    [[...env.schemas], Object.keys(MIGRATION_TOOL_TABLES)],
  );
  const toolTables = toolRows.rows.map((row) => ({ schema: row.schema, name: row.name, tool: MIGRATION_TOOL_TABLES[row.name] ?? "another tool" }));
  const exclude = [...athanorTables(env), ...toolTables.map(({ schema, name }) => ({ schema, name }))];
  const model = await introspect(session, { schemas: env.schemas, exclude });
  const unmodelled = await listUnmodelledObjects(session, env.schemas);
  const extensionRows = await session.query<{ name: string; schema: string }>(
    "SELECT e.extname AS name, n.nspname AS schema FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' ORDER BY e.extname",
  );
  return { model, unmodelled, extensions: extensionRows.rows.map((row) => ({ name: row.name, schema: row.schema })), state, toolTables };
}

function countsOf(model: SchemaModel): BaselineCounts {
  return {
    schemas: model.schemas.filter((schema) => schema !== "public").length,
    enums: model.enums.length,
    sequences: model.sequences.length,
    tables: model.tables.length,
    views: model.views.length,
    indexes: model.tables.reduce((sum, table) => sum + table.indexes.length, 0),
    routines: (model.routines?.length ?? 0) + (model.domains?.length ?? 0) + (model.compositeTypes?.length ?? 0),
  };
}

function isEmpty(counts: BaselineCounts): boolean {
  return counts.schemas + counts.enums + counts.sequences + counts.tables + counts.views + counts.routines === 0;
}

/** `function public.f`, `trigger public.users.touch`. */
function describeUnmodelled(object: UnmodelledObject): string {
  return `${object.kind} ${object.schema}.${object.name}`;
}

/** The graph of the migrations directory; an absent directory is an empty project. */
async function readGraph(migrationsDir: string): Promise<RevisionGraph | null> {
  if (!existsSync(migrationsDir)) return null;
  return loadRevisionGraph(migrationsDir);
}

/**
 * Writes a first revision from the environment's live schema and stamps the environment
 * at it, so a team adopts athanor on an existing database without replaying its history.
 * @throws ConfigError (exit 2) when the migrations directory already holds revisions or
 *   the database already records applied revisions (without `force`), or when the
 *   database holds nothing to baseline.
 * @example
 * const env = await resolveEnvironment(await loadConfig({ cwd: process.cwd() }), { environment: "production" });
 * const result = await baseline(env, { message: "baseline", yes: true });
 * result.revision.file // "3f2a9c1d0b7e_baseline.sql"
 */
export async function baseline(env: ResolvedEnvironment, options: BaselineOptions): Promise<BaselineResult> {
  const force = options.force === true;
  const graph = await readGraph(env.migrationsDir);
  const existing = graph === null ? [] : graph.topologicalOrder();
  if (existing.length > 0 && !force) {
    const heads = graph?.heads() ?? [];
    throw new ConfigError("baseline-has-revisions", `${env.migrationsDir} already holds ${existing.length} revision${existing.length === 1 ? "" : "s"} (head${heads.length === 1 ? "" : "s"} ${heads.join(", ")}): baseline writes the first revision of a project`, {
      hint: `To record that environment "${env.name}" already has the schema of a revision, stamp it: \`athanor --env ${env.name} stamp ${heads.length === 1 ? heads[0] ?? "head" : "REV"}\` (stamp runs nothing: only when its schema really is that revision's). To squash the history into a new baseline, pass --force: the new revision becomes a second root, and you then remove the old revision files.`,
      details: { revisions: existing.length, heads },
    });
  }

  // The schema is read before the stamp takes the migration lock, with the same wait.
  const session = options.session ?? (await openReadSession(env, "baseline", { lockWaitMs: options.lockWaitMs, signal: options.signal, onLockWait: options.onLockWait }));
  if (session === null) {
    throw new ConfigError("baseline-empty-database", `the database of environment "${env.name}" (${env.redactedUrl}) does not exist yet: there is no schema to baseline`, {
      hint: "Check the environment's url; for a new database, write the first revision with `athanor revision -m MSG` instead.",
    });
  }
  let live: LiveSchema;
  try {
    live = await readLiveSchema(env, session);
  } finally {
    if (options.session === undefined) await session.close();
  }

  const recorded = live.state?.rows.map((row) => row.revision) ?? [];
  if (recorded.length > 0 && !force) {
    throw new ConfigError("baseline-already-managed", `environment "${env.name}" already records ${recorded.length} applied revision${recorded.length === 1 ? "" : "s"} (${recorded.slice(0, 3).join(", ")}${recorded.length > 3 ? ", ..." : ""}) but ${env.migrationsDir} holds none: this database is managed by athanor already`, {
      hint: "Check `migrations` in the config (it may point at the wrong folder). To take a new baseline anyway, pass --force: the stamp removes the rows no file defines.",
      details: { recorded },
    });
  }

  const counts = countsOf(live.model);
  if (isEmpty(counts)) {
    const only = live.unmodelled.length === 0 ? "" : ` (only objects athanor does not model: ${live.unmodelled.slice(0, 5).map(describeUnmodelled).join(", ")})`;
    throw new ConfigError("baseline-empty-database", `the database of environment "${env.name}" (${env.redactedUrl}) has no tables, views, types or sequences in ${env.schemas.join(", ")}${only}: there is nothing to baseline`, {
      hint: "Check the environment's url and `schemas`; for a new database, write the first revision with `athanor revision -m MSG` instead.",
    });
  }

  const warnings: string[] = [];
  const notes = [`Baseline of environment "${env.name}": the schema it had when athanor was adopted.`];
  if (live.unmodelled.length > 0) {
    const list = live.unmodelled.map(describeUnmodelled).join(", ");
    warnings.push(`not in the baseline (athanor's schema model does not describe them; add their SQL to the revision by hand): ${list}`);
    notes.push("Not included, add them by hand (athanor's schema model does not describe them):", ...live.unmodelled.map((object) => `  ${describeUnmodelled(object)}`));
  }
  if (live.toolTables.length > 0) {
    const list = live.toolTables.map((t) => `${t.schema}.${t.name} (${t.tool})`).join(", ");
    warnings.push(`left out of the baseline, as the previous tool's bookkeeping: ${list}; drop ${live.toolTables.length === 1 ? "it" : "them"} once you no longer run that tool`);
    notes.push(`Left out, as the previous migration tool's bookkeeping: ${list}.`);
  }
  const sql = renderBaselineSql(live.model, live.extensions, notes);
  for (const extension of sql.skippedExtensions) {
    warnings.push(`extension ${extension.name} lives in schema ${extension.schema}, which the baseline does not create: add CREATE SCHEMA / CREATE EXTENSION for it at the top of the revision by hand`);
  }

  if (graph === null) await mkdir(env.migrationsDir, { recursive: true });
  const revision = await createRevision({
    migrationsDir: env.migrationsDir,
    message: options.message,
    format: "sql",
    // With --force over an existing history, the baseline is a new root beside it.
    head: existing.length > 0 ? "base" : undefined,
    upgradeSql: sql.upgradeSql,
    downgradeSql: sql.downgradeSql,
  });

  let stamped: StampResult | null = null;
  if (options.stamp !== false) {
    try {
      stamped = await stamp(env, {
        target: revision.id,
        lockWaitMs: options.lockWaitMs,
        signal: options.signal,
        events: options.events,
        beforeExecute: options.beforeExecute,
        ...guardrailOptionsOf(options),
        session: options.session,
      });
    } catch (error) {
      // A baseline that could not be stamped is not taken: leave the project as it was. Unless
      // the stamp committed, or may have (its session lost at the COMMIT, a signal that came
      // too late, the lock lost after it): the database would then record a revision whose
      // file is gone.
      if (!(isAthanorError(error) && (error.details["committed"] === true || error.details["connectionLost"] === true))) {
        await rm(revision.path, { force: true });
        throw error;
      }
      throw withHint(error, `${error.hint === undefined ? "" : `${error.hint} `}The baseline revision ${revision.path} was kept: the database records it${error.details["committed"] === true ? "" : " if the stamp committed"}.`);
    }
  }
  return {
    environment: env.name,
    revision,
    counts,
    extensions: live.extensions.filter((extension) => !sql.skippedExtensions.includes(extension)),
    unmodelled: live.unmodelled,
    toolTables: live.toolTables,
    warnings,
    stamped,
  };
}
