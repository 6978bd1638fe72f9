/** Identity helpers that give config files and TypeScript revisions their types. */
import type { AthanorConfig } from "./config/types.js";

/**
 * Declares the project's configuration (athanor.config.ts).
 * @example
 * export default defineConfig({ environments: { development: { url: "pglite://./.athanor/dev" } } });
 */
export function defineConfig(config: AthanorConfig): AthanorConfig {
  return config;
}

/** A tagged-template SQL runner given to TypeScript revisions. */
export interface MigrationSql {
  (strings: TemplateStringsArray, ...values: unknown[]): Promise<Record<string, unknown>[]>;
  /** Runs raw SQL text (one or more statements, no parameters). */
  unsafe(text: string): Promise<void>;
}

export interface MigrationContext {
  sql: MigrationSql;
  /** The environment's name. */
  environment: string;
}

/**
 * A TypeScript revision (DESIGN.md §4). The header fields are optional here because a
 * revision may carry its header as `// athanor:` lines at the top of the file instead
 * (what `athanor revision --ts` writes); athanor reads them from the text either way.
 */
export interface MigrationDefinition {
  revision?: string;
  down?: string | readonly string[] | null;
  message?: string;
  branchLabels?: readonly string[];
  dependsOn?: readonly string[];
  transaction?: boolean;
  allow?: readonly string[];
  upgrade(context: MigrationContext): Promise<void> | void;
  downgrade?(context: MigrationContext): Promise<void> | void;
}

/**
 * Declares a TypeScript revision.
 * @example
 * export default defineMigration({ revision: "3f2a9c1d0b7e", down: null, async upgrade({ sql }) { await sql`SELECT 1`; } });
 */
export function defineMigration(definition: MigrationDefinition): MigrationDefinition {
  return definition;
}
