/**
 * Writing new revision files: fresh ids, the SQL and TypeScript templates of DESIGN.md
 * §4, file names `<id>_<slug>.sql|.ts`. Rendering is pure; only
 * {@link writeRevisionFile} and {@link newRevisionId} touch the outside world.
 */
import { randomBytes } from "node:crypto";
import { chmod, open, type FileHandle } from "node:fs/promises";
import { join, resolve } from "node:path";
import { AthanorError, RevisionError } from "../errors.js";
import { parseRevisionHeader, readSqlDirective, type RevisionFormat } from "./header.js";
import type { RevisionHeader } from "./types.js";

/** Optional bodies of a new revision (from autogenerate, or given by the caller). */
export interface RevisionBodies {
  readonly upgradeSql?: string | undefined;
  readonly downgradeSql?: string | undefined;
}

/**
 * A new random revision id (12 lowercase hex characters) that is not in `taken`.
 * @param random source of random bytes, for tests
 * @example
 * newRevisionId(new Set(graph.topologicalOrder())) // "3f2a9c1d0b7e"
 */
export function newRevisionId(taken: ReadonlySet<string> = new Set(), random: (size: number) => Uint8Array = randomBytes): string {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const id = Buffer.from(random(6)).toString("hex");
    if (!taken.has(id)) return id;
  }
  throw new RevisionError("id-exhausted", "could not find an unused revision id", { hint: "this is unexpected: check the random source" });
}

/**
 * The file-name part made of a message: lowercase ASCII letters and digits joined by
 * `_`, accents dropped, at most 40 characters, `revision` when nothing is left.
 * @example
 * slugify("Add orders table!") // "add_orders_table"
 */
export function slugify(message: string): string {
  const ascii = message.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  let slug = ascii.replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
  if (slug.length > 40) {
    slug = slug.slice(0, 40);
    const lastBreak = slug.lastIndexOf("_");
    if (lastBreak >= 20) slug = slug.slice(0, lastBreak);
    slug = slug.replace(/_+$/, "");
  }
  return slug === "" ? "revision" : slug;
}

/** A message on one line, as a header line holds it. */
function oneLine(message: string): string {
  return message.replace(/\s*[\r\n\u2028\u2029]+\s*/g, " ").trim();
}

function withNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}

/** SQL bodies may not hold lines that read as athanor directives: they would split the file. */
function checkSqlBody(sql: string, which: string): string {
  const lines = sql.replace(/\r\n?/g, "\n").split("\n");
  lines.forEach((line, index) => {
    let isDirective: boolean;
    try {
      isDirective = readSqlDirective(line, index + 1, which) !== null;
    } catch {
      isDirective = true;
    }
    if (isDirective) {
      throw new RevisionError("invalid-revision-body", `line ${index + 1} of the ${which} SQL reads as an athanor directive: \`${line.trim()}\``, {
        hint: "write that comment without `athanor:`",
        details: { section: which, line: index + 1 },
      });
    }
  });
  return withNewline(lines.join("\n").replace(/\n+$/, ""));
}

/** The header lines of a new revision, `-- athanor:` for SQL, `// athanor:` for TypeScript. */
function headerLines(header: RevisionHeader, comment: "--" | "//"): string[] {
  const lines = [`${comment} athanor:revision ${header.id}`];
  if (header.parents.length > 0) lines.push(`${comment} athanor:down ${header.parents.join(", ")}`);
  lines.push(`${comment} athanor:message ${oneLine(header.message)}`.trimEnd());
  if (header.branchLabels.length > 0) lines.push(`${comment} athanor:branch-labels ${header.branchLabels.join(", ")}`);
  if (header.dependsOn.length > 0) lines.push(`${comment} athanor:depends-on ${header.dependsOn.join(", ")}`);
  lines.push(`${comment} athanor:transaction ${header.transactional ? "true" : "false"}`);
  if (header.allow.length > 0) lines.push(`${comment} athanor:allow ${header.allow.join(", ")}`);
  return lines;
}

/**
 * The text of an SQL revision (DESIGN.md §4).
 * @example
 * renderSqlRevision({ id: "3f2a9c1d0b7e", parents: ["9c0d1e2f3a4b"], message: "add orders", branchLabels: [], dependsOn: [], transactional: true, allow: [] })
 */
export function renderSqlRevision(header: RevisionHeader, bodies: RevisionBodies = {}): string {
  const lines = headerLines(header, "--");
  const upgrade = bodies.upgradeSql === undefined ? "-- the SQL that applies this revision\n" : checkSqlBody(bodies.upgradeSql, "upgrade");
  const downgrade = bodies.downgradeSql === undefined ? "-- the SQL that reverts it\n" : checkSqlBody(bodies.downgradeSql, "downgrade");
  return `${lines.join("\n")}\n\n-- athanor:upgrade\n${upgrade}\n-- athanor:downgrade\n${downgrade}`;
}

/** SQL text as a template literal, with backslashes, backquotes and `${` escaped. */
function templateLiteral(sql: string): string {
  const escaped = sql.replace(/\r\n?/g, "\n").replace(/\n+$/, "").replace(/\\/g, "\\\\").replace(/`/g, "\\`").replace(/\$\{/g, "\\${");
  return `\`\n${escaped.split("\n").map((line) => (line === "" ? "" : `      ${line}`)).join("\n")}\n    \``;
}

function tsFunction(name: "upgrade" | "downgrade", sql: string | undefined): string {
  if (sql === undefined) {
    const example = name === "upgrade" ? "await sql`UPDATE orders SET total = 0 WHERE total IS NULL`;" : "revert what upgrade did";
    return `  async ${name}({ sql }) {\n    // ${example}\n  },`;
  }
  return `  async ${name}({ sql }) {\n    await sql.unsafe(${templateLiteral(sql)});\n  },`;
}

/**
 * The text of a TypeScript revision: the header as `// athanor:` lines at the top (read
 * without a tokenizer, see `parseTsHeader`), then `defineMigration` from "athanor"
 * with the two functions. SQL bodies, when given, run through `sql.unsafe`.
 */
export function renderTsRevision(header: RevisionHeader, bodies: RevisionBodies = {}): string {
  return [
    ...headerLines(header, "//"),
    'import { defineMigration } from "athanor";',
    "",
    "export default defineMigration({",
    tsFunction("upgrade", bodies.upgradeSql),
    tsFunction("downgrade", bodies.downgradeSql),
    "});",
    "",
  ].join("\n");
}

/** What {@link writeRevisionFile} wrote. */
export interface WrittenRevision {
  /** Absolute path of the new file. */
  readonly path: string;
  /** Its name inside the migrations directory. */
  readonly relativePath: string;
  readonly text: string;
}

/**
 * Writes a new revision file `<id>_<slug>.sql` or `.ts` into `migrationsDir` with mode
 * 0644, never overwriting an existing file. The text is parsed back before it is written,
 * so a file athanor writes always reads.
 * @example
 * await writeRevisionFile("./migrations", header, "sql", { upgradeSql: "CREATE TABLE t ();" });
 */
export async function writeRevisionFile(migrationsDir: string, header: RevisionHeader, format: RevisionFormat, bodies: RevisionBodies = {}): Promise<WrittenRevision> {
  const relativePath = `${header.id}_${slugify(header.message)}.${format === "sql" ? "sql" : "ts"}`;
  const directory = resolve(migrationsDir);
  const path = join(directory, relativePath);
  const text = format === "sql" ? renderSqlRevision(header, bodies) : renderTsRevision(header, bodies);
  parseRevisionHeader(text, relativePath, format);
  let handle: FileHandle;
  try {
    handle = await open(path, "wx", 0o644);
  } catch (error) {
    const code = typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : "";
    if (code === "EEXIST") {
      throw new RevisionError("revision-file-exists", `${path} already exists`, { hint: "athanor never overwrites a revision: run the command again for a new id", details: { path } });
    }
    if (code === "ENOENT") {
      throw new RevisionError("missing-migrations-dir", `the migrations directory ${directory} does not exist`, {
        hint: "run `athanor init` to create it, or set `migrations` in athanor.config.ts to the directory that holds your revisions",
        details: { migrationsDir: directory },
      });
    }
    throw new RevisionError("unwritable-revision", `cannot write ${path} (${code || String(error)})`, { hint: "check the directory's permissions", details: { path }, cause: error });
  }
  try {
    await handle.writeFile(text, "utf8");
  } catch (error) {
    if (error instanceof AthanorError) throw error;
    throw new RevisionError("unwritable-revision", `cannot write ${path}`, { hint: "check the free space and permissions", details: { path }, cause: error });
  } finally {
    await handle.close();
  }
  // The umask may have narrowed the mode given to open.
  await chmod(path, 0o644);
  return { path, relativePath, text };
}
