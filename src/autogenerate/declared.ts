/**
 * The declared schema (`schema` in the config): one `.sql` file, a folder of `.sql`
 * files applied in name order, or a TypeScript/JavaScript module whose default export
 * (or `schema` export) is the SQL text. It is loaded into an empty shadow database and
 * introspected there, so the server itself decides what it means.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Session } from "../dialects/types.js";
import { DeclaredSchemaError } from "./errors.js";
import { compareText } from "./model.js";
import { lineAt } from "../sql/lexer.js";
import { runScript, shadowHint, shadowName } from "./shadow.js";
import { loadJiti } from "../config/user-module.js";

/** One piece of declared SQL and where it came from. */
export interface DeclaredSource {
  /** The file it was read from (as given, resolved to absolute). */
  readonly file: string;
  /** `sql` for a .sql file, `module` for a TS/JS module's export. */
  readonly kind: "sql" | "module";
  readonly sql: string;
}

const moduleExtensions = new Set([".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"]);

let declaredSizeObserver: ((chars: number) => void) | null = null;

/**
 * Registers what to call with the declared schema's total size (characters of SQL) each
 * time it has been read, before any shadow database runs it (null: nothing). The CLI uses
 * it to choose how V8 compiles PGlite's WASM for a large schema (src/cli/bin.ts); a
 * library caller's process is left as it is.
 */
export function observeDeclaredSchemaSize(observer: ((chars: number) => void) | null): void {
  declaredSizeObserver = observer;
}

/**
 * Reads the declared schema into SQL sources, in the order they must run: the paths in
 * the order given, a folder's `.sql` files sorted by name (not recursive).
 *
 * @throws DeclaredSchemaError (exit 2) when a path is missing, of an unknown kind, or a module exports no SQL text.
 */
export async function readDeclaredSchema(schemaPaths: readonly string[]): Promise<DeclaredSource[]> {
  const sources = await readDeclaredSources(schemaPaths);
  declaredSizeObserver?.(sources.reduce((total, source) => total + source.sql.length, 0));
  return sources;
}

async function readDeclaredSources(schemaPaths: readonly string[]): Promise<DeclaredSource[]> {
  if (schemaPaths.length === 0)
    throw new DeclaredSchemaError("schema-not-configured", "no declared schema is configured", null, {
      hint: 'Set `schema` in athanor.config.ts to a .sql file, a folder of .sql files or a module exporting the SQL text, e.g. schema: "./db/schema.sql".',
    });
  const sources: DeclaredSource[] = [];
  for (const given of schemaPaths) {
    const path = resolve(given);
    const info = await stat(path).catch(() => null);
    if (info === null)
      throw new DeclaredSchemaError("schema-not-found", `the declared schema ${given} does not exist`, { file: given, line: null }, {
        hint: "Fix `schema` in the config (paths are relative to the config file), or create the file.",
      });
    if (info.isDirectory()) {
      const names = (await readdir(path)).filter((name) => name.toLowerCase().endsWith(".sql")).sort(compareText);
      if (names.length === 0)
        throw new DeclaredSchemaError("schema-folder-empty", `the declared schema folder ${given} holds no .sql file`, { file: given, line: null }, {
          hint: "Put the schema's .sql files in the folder (they run in name order), or point `schema` at a file.",
        });
      for (const name of names) sources.push({ file: join(path, name), kind: "sql", sql: await readFile(join(path, name), "utf8") });
      continue;
    }
    const extension = extname(path).toLowerCase();
    if (extension === ".sql") sources.push({ file: path, kind: "sql", sql: await readFile(path, "utf8") });
    else if (moduleExtensions.has(extension)) sources.push({ file: path, kind: "module", sql: await loadSchemaModule(path, given) });
    else
      throw new DeclaredSchemaError("schema-unknown-kind", `the declared schema ${given} is neither a .sql file, a folder nor a TS/JS module`, { file: given, line: null }, {
        hint: "Use a .sql file, a folder of .sql files, or a .ts/.mts/.js/.mjs module whose default export is the SQL text.",
      });
  }
  return sources;
}

/** The SQL text a schema module exports: `default` or `schema`, a string or a (async) function returning one. */
async function loadSchemaModule(path: string, given: string): Promise<string> {
  let exported: unknown;
  try {
    const { createJiti } = loadJiti();
    const jiti = createJiti(pathToFileURL(path).href, { moduleCache: false, fsCache: false });
    exported = await jiti.import(path);
  } catch (error) {
    throw new DeclaredSchemaError("schema-module-failed", `the declared schema module ${given} failed to load: ${error instanceof Error ? error.message : String(error)}`, { file: given, line: null }, {
      hint: "Fix the error in the module (it is loaded with jiti, like the config file).",
    });
  }
  // `default` or `schema`; a CommonJS or interop-wrapped module may nest them once more under `default`.
  const record = asRecord(exported);
  const nested = asRecord(record["default"]);
  const candidates = [record["default"], record["schema"], nested["default"], nested["schema"]];
  let value: unknown = candidates.find((candidate) => typeof candidate === "string" || typeof candidate === "function");
  if (typeof value === "function") value = await (value as () => unknown)();
  if (typeof value !== "string")
    throw new DeclaredSchemaError("schema-module-invalid", `the declared schema module ${given} exports no SQL text`, { file: given, line: null }, {
      hint: "Export the schema's SQL as a string: `export default sql` or `export const schema = ...` (a function returning the string works too).",
    });
  return value;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

/**
 * Runs the declared sources, in order, on an empty database (the shadow PGlite).
 *
 * @throws DeclaredSchemaError (exit 2) naming the file and line of the failing statement.
 */
export async function applyDeclaredSchema(session: Session, sources: readonly DeclaredSource[]): Promise<void> {
  for (const source of sources) {
    const failure = await runScript(session, source.sql);
    if (failure === null) continue;
    const line = failure.offset === null ? null : lineAt(source.sql, failure.offset);
    const where = line === null ? source.file : source.kind === "module" ? `${source.file} (line ${line} of its SQL text)` : `${source.file}:${line}`;
    throw new DeclaredSchemaError("declared-schema-failed", `the declared schema fails at ${where}: ${failure.message}`, { file: source.file, line }, {
      hint: shadowHint(session, failure, `The declared schema is loaded, file by file in order, into ${shadowName(session)}. Fix that statement (or one it depends on).`),
      details: failure.sqlstate === null ? {} : { sqlstate: failure.sqlstate },
    });
  }
}
