/**
 * `athanor revision -m MSG --autogenerate [--against ENV]`: a new SQL revision whose
 * upgrade turns "what the database has" into the declared schema (config `schema`), and
 * whose downgrade turns it back.
 *
 * "What the database has" is, by default, the schema the existing revisions produce
 * (their upgrade sections replayed in order on an in-memory PGlite), or with `--against`
 * the live schema of an environment's database (read only, athanor's version tables left
 * out). The schema loaders here are shared with `diff` (src/commands/diff.ts).
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { applyDeclaredSchema, readDeclaredSchema } from "../autogenerate/declared.js";
import { autogenerateRevisionSql } from "../autogenerate/compare.js";
import { introspect, listUnmodelledObjects, type UnmodelledObject } from "../autogenerate/introspect.js";
import { emptyModel, type QualifiedName, type SchemaModel } from "../autogenerate/model.js";
import type { SchemaChange } from "../autogenerate/operations.js";
import { extensionsCreatedBy, replayRevisions, withShadowSession, type RevisionSql } from "../autogenerate/shadow.js";
import type { ResolvedEnvironment } from "../config/types.js";
import { ConfigError } from "../errors.js";
import { RevisionGraph } from "../revisions/graph.js";
import { loadRevisionBody, loadRevisionGraph } from "../revisions/script-directory.js";
import { openReadSession } from "../run/connect.js";
import { createRevision, type CreatedRevision } from "./revision.js";

/** A schema as read from one source, with the objects the model leaves out. */
export interface LoadedSchema {
  readonly model: SchemaModel;
  /** Objects that exist there but that the schema model does not describe (not compared). */
  readonly unmodelled: readonly UnmodelledObject[];
}

/** athanor's own tables of an environment: the version table, its history and its meta table. */
export function versionTables(env: Pick<ResolvedEnvironment, "versionTable">): QualifiedName[] {
  const { schema, table } = env.versionTable;
  return [table, `${table}_history`, `${table}_meta`].map((name) => ({ schema, name }));
}

/**
 * The declared schema (config `schema`), loaded into an empty shadow PGlite and introspected.
 * @throws ConfigError (exit 2) when the config has no `schema`; DeclaredSchemaError for a broken file.
 */
export async function loadDeclaredSchema(env: Pick<ResolvedEnvironment, "schemaPaths">, schemas: readonly string[]): Promise<LoadedSchema> {
  if (env.schemaPaths.length === 0) {
    throw new ConfigError("no-declared-schema", "the config has no `schema`: there is no declared schema to compare", {
      hint: 'Set `schema` in athanor.config.ts to a .sql file, a folder of .sql files or a module exporting the SQL text, e.g. schema: "./db/schema.sql".',
    });
  }
  const sources = await readDeclaredSchema(env.schemaPaths);
  return withShadowSession(
    undefined,
    async (session) => {
      await applyDeclaredSchema(session, sources);
      return { model: await introspect(session, { schemas, exclude: [] }), unmodelled: await listUnmodelledObjects(session, schemas) };
    },
    { extensions: extensionsCreatedBy(sources.map((s) => s.sql)) },
  );
}

/** The graph of the migrations directory; an absent directory is an empty project. */
async function readGraph(migrationsDir: string): Promise<RevisionGraph | null> {
  return existsSync(migrationsDir) ? loadRevisionGraph(migrationsDir) : null;
}

/**
 * The upgrade SQL of every revision, parents first.
 * @throws ConfigError (exit 2) for a TypeScript revision (it cannot be replayed).
 */
export async function revisionUpgrades(migrationsDir: string, graph?: RevisionGraph | null): Promise<RevisionSql[]> {
  const g = graph === undefined ? await readGraph(migrationsDir) : graph;
  if (g === null) return [];
  const upgrades: RevisionSql[] = [];
  for (const id of g.topologicalOrder()) {
    const file = g.get(id);
    if (file.format !== "sql") {
      throw new ConfigError("cannot-replay-typescript", `revision ${id} (${file.relativePath}) is a TypeScript revision: athanor cannot replay it to learn the schema the migrations produce`, {
        hint: "Compare with a database that has every revision applied instead: `--against ENV` (for `diff`, `--from ENV`/`--to ENV`).",
        details: { revision: id, file: file.relativePath },
      });
    }
    const body = await loadRevisionBody(file);
    if (body.format !== "sql") continue;
    upgrades.push({ id, sql: body.upgrade.sql, startLine: body.upgrade.line, file: file.relativePath });
  }
  return upgrades;
}

/** The schema the existing revisions produce, replayed on an in-memory PGlite. */
export async function loadMigrationsSchema(migrationsDir: string, schemas: readonly string[], graph?: RevisionGraph | null): Promise<LoadedSchema> {
  const upgrades = await revisionUpgrades(migrationsDir, graph);
  return withShadowSession(
    undefined,
    async (session) => {
      const model = await replayRevisions(upgrades, { session, schemas });
      return { model, unmodelled: await listUnmodelledObjects(session, schemas) };
    },
    { extensions: extensionsCreatedBy(upgrades.map((u) => u.sql)) },
  );
}

/**
 * The live schema of an environment's database, read only (athanor's version tables left
 * out). A PGlite data directory that does not exist yet is an empty database (not created).
 */
export async function loadLiveSchema(env: ResolvedEnvironment, schemas: readonly string[], command: string): Promise<LoadedSchema> {
  const session = await openReadSession(env, command);
  if (session === null) return { model: emptyModel(schemas.filter((s) => s === "public")), unmodelled: [] };
  try {
    const model = await introspect(session, { schemas, exclude: versionTables(env) });
    return { model, unmodelled: await listUnmodelledObjects(session, schemas) };
  } finally {
    await session.close();
  }
}

/** Options of {@link autogenerate}. */
export interface AutogenerateOptions {
  readonly message: string;
  /** Compare with this environment's live database instead of the replayed revisions. */
  readonly against?: ResolvedEnvironment | undefined;
  /** Write the revision even when nothing changed (empty sections). */
  readonly empty?: boolean | undefined;
  readonly head?: string | undefined;
  readonly splice?: boolean | undefined;
  readonly branchLabel?: readonly string[] | undefined;
  readonly dependsOn?: readonly string[] | undefined;
}

/** What {@link autogenerate} found and wrote. `revision --autogenerate --json` prints it. */
export interface AutogenerateResult {
  /** What the declared schema was compared with: `migrations` or an environment's name. */
  readonly against: string;
  /** The revision written, or null when nothing changed (and `empty` was not asked). */
  readonly revision: CreatedRevision | null;
  /** The changes, in upgrade order. */
  readonly changes: readonly SchemaChange[];
  /** One sentence each: what the author must look at before applying. */
  readonly warnings: readonly string[];
  readonly upgradeSql: string;
  readonly downgradeSql: string;
}

/**
 * Compares the declared schema with the revisions' schema (or an environment's database)
 * and writes an SQL revision with the difference.
 * @throws ConfigError (exit 2) without a declared schema, or for TypeScript revisions without `against`.
 * @example
 * const result = await autogenerate(env, { message: "add orders" });
 * result.revision?.file // "3f2a9c1d0b7e_add_orders.sql", or null when nothing changed
 */
export async function autogenerate(env: ResolvedEnvironment, options: AutogenerateOptions): Promise<AutogenerateResult> {
  const schemas = options.against?.schemas ?? env.schemas;
  const graph = await readGraph(env.migrationsDir);
  const [declared, current] = await Promise.all([
    loadDeclaredSchema(env, schemas),
    options.against !== undefined ? loadLiveSchema(options.against, schemas, "autogenerate") : loadMigrationsSchema(env.migrationsDir, schemas, graph),
  ]);
  const generated = autogenerateRevisionSql(declared.model, current.model);
  const warnings = [...generated.warnings];
  const unmodelled = declared.unmodelled.map((o) => `${o.kind} ${o.schema}.${o.name}`);
  if (unmodelled.length > 0) warnings.push(`not compared (athanor's schema model does not describe them; write their SQL by hand): ${unmodelled.join(", ")}`);
  let revision: CreatedRevision | null = null;
  if (!generated.empty || options.empty === true) {
    if (graph === null) await mkdir(env.migrationsDir, { recursive: true });
    revision = await createRevision({
      migrationsDir: env.migrationsDir,
      message: options.message,
      format: "sql",
      head: options.head,
      splice: options.splice,
      branchLabel: options.branchLabel,
      dependsOn: options.dependsOn,
      upgradeSql: generated.upgradeSql,
      downgradeSql: generated.downgradeSql,
      graph: graph ?? RevisionGraph.build([]),
    });
  }
  return {
    against: options.against?.name ?? "migrations",
    revision,
    changes: generated.operations,
    warnings,
    upgradeSql: generated.upgradeSql,
    downgradeSql: generated.downgradeSql,
  };
}
