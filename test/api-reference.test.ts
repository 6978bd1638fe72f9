/**
 * docs/api.md lists every export of the package entry (src/index.ts) with its kind, its
 * signature and a one-line description. This test keeps it true: every documented name
 * is exported (with the kind the page says), and every export is documented.
 *
 * The exports, types included, come from the TypeScript compiler; the values are
 * checked once more by importing the entry. After adding or changing an export,
 * regenerate the page with
 *   ATHANOR_UPDATE_API_DOC=1 npx vitest run test/api-reference.test.ts
 * which keeps the descriptions already written and takes a new export's from its TSDoc.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as api from "../src/index.js";

const ENTRY = fileURLToPath(new URL("../src/index.ts", import.meta.url));
const SRC = fileURLToPath(new URL("../src/", import.meta.url));
const DOC = fileURLToPath(new URL("../docs/api.md", import.meta.url));
const UPDATE = process.env["ATHANOR_UPDATE_API_DOC"] === "1";

type Kind = "function" | "class" | "interface" | "type" | "const";

/** One export as the compiler sees it. */
interface ExportInfo {
  readonly name: string;
  readonly kind: Kind;
  /** `(env: ResolvedEnvironment, options?: MigrateOptions): Promise<MigrationResult>`, `class X extends Y`, `interface`... */
  readonly signature: string;
  /** The first sentence of its TSDoc ("" when it has none). */
  readonly summary: string;
  /** Path of the declaring module, relative to src/. */
  readonly module: string;
}

/** One entry of docs/api.md. */
interface DocEntry {
  readonly name: string;
  readonly signature: string;
  readonly description: string;
  readonly section: string;
}

function firstSentence(text: string): string {
  const flat = text.replace(/\{@link\s+([^}\s]+)\s*\}/g, "`$1`").replace(/\s+/g, " ").trim();
  const end = flat.search(/\.(\s|$)/);
  return end === -1 ? flat : flat.slice(0, end + 1);
}

function kindOf(symbol: ts.Symbol): Kind {
  const flags = symbol.flags;
  if (flags & ts.SymbolFlags.Function) return "function";
  if (flags & ts.SymbolFlags.Class) return "class";
  if (flags & ts.SymbolFlags.Interface) return "interface";
  if (flags & ts.SymbolFlags.TypeAlias) return "type";
  return "const";
}

/** Short enough to read on one line; longer types are left to the source. */
function short(text: string, max = 110): string | null {
  const flat = text.replace(/\s+/g, " ");
  return flat.length <= max ? flat : null;
}

/** Every export of src/index.ts, in the order the entry lists them. */
function readExports(): ExportInfo[] {
  const program = ts.createProgram([ENTRY], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    exactOptionalPropertyTypes: true,
    skipLibCheck: true,
    types: ["node"],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(ENTRY);
  const moduleSymbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
  if (moduleSymbol === undefined) throw new Error(`cannot read the exports of ${ENTRY}`);
  const flags = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope;
  return checker.getExportsOfModule(moduleSymbol).map((exported): ExportInfo => {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declaration = symbol.declarations?.[0];
    const kind = kindOf(symbol);
    let signature: string;
    if (kind === "function" && declaration !== undefined) {
      const signatures = checker.getSignaturesOfType(checker.getTypeOfSymbolAtLocation(symbol, declaration), ts.SignatureKind.Call);
      signature = signatures.map((s) => checker.signatureToString(s, undefined, flags)).join(" | ");
    } else if (kind === "class" && declaration !== undefined && ts.isClassDeclaration(declaration)) {
      const base = declaration.heritageClauses?.flatMap((clause) => clause.types.map((type) => type.expression.getText()))[0];
      signature = base === undefined ? "class" : `class extends ${base}`;
    } else if (kind === "type" && declaration !== undefined && ts.isTypeAliasDeclaration(declaration)) {
      const text = short(declaration.type.getText());
      signature = text === null ? "type" : `type = ${text}`;
    } else if (kind === "const" && declaration !== undefined) {
      const text = short(checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, declaration), undefined, flags));
      signature = text === null ? "const" : `const: ${text}`;
    } else signature = kind;
    const file = declaration?.getSourceFile().fileName ?? "";
    return {
      name: exported.name,
      kind,
      signature,
      summary: firstSentence(ts.displayPartsToString(symbol.getDocumentationComment(checker))),
      module: file.startsWith(SRC) ? file.slice(SRC.length) : file,
    };
  });
}

const ENTRY_LINE = /^- \*\*`([A-Za-z_$][\w$]*)`\*\* `(.+?)`(?: — (.*))?$/;

/** The entries of docs/api.md, by `## section`. */
export function parseApiDoc(markdown: string): DocEntry[] {
  const entries: DocEntry[] = [];
  let section = "";
  for (const line of markdown.split("\n")) {
    const heading = /^## (.+)$/.exec(line);
    if (heading) section = heading[1] ?? "";
    const match = ENTRY_LINE.exec(line);
    if (match) entries.push({ name: match[1] ?? "", signature: match[2] ?? "", description: (match[3] ?? "").trim(), section });
  }
  return entries;
}

/** Which section of the page an export belongs in. */
const SECTIONS: readonly { title: string; intro: string; test(info: ExportInfo): boolean }[] = [
  { title: "Configuration", intro: "Find, load and resolve `athanor.config.ts` (DESIGN.md §3).", test: (i) => i.module.startsWith("config/") || i.name === "defineConfig" },
  { title: "Revision files", intro: "What a TypeScript revision exports (DESIGN.md §4).", test: (i) => i.module === "define.ts" },
  { title: "Migrating", intro: "The library side of `upgrade`, `downgrade`, `current`, `stamp`, `baseline`, `resolve`, `repair`: what a test suite's global setup calls.", test: (i) => ["commands/upgrade.ts", "commands/downgrade.ts", "commands/current.ts", "commands/stamp.ts", "commands/baseline.ts", "commands/resolve.ts", "commands/repair.ts"].includes(i.module) || i.module.startsWith("run/") },
  { title: "Inspecting environments", intro: "The library side of `check`, `env`, `status`, `log`, `lint`, `backups list`, `init`, `shell-init`.", test: (i) => i.module.startsWith("commands/") },
  { title: "Guards", intro: "Production guardrails (DESIGN.md §6): confirmation, backups, the linter gate, promotion, environment identity.", test: (i) => i.module.startsWith("guard/") },
  { title: "Observability", intro: "Events to JSON lines, OpenTelemetry, progress, graph drawing (docs/observability.md).", test: (i) => i.module.startsWith("observe/") },
  { title: "Databases and secrets", intro: "The driver boundary and output redaction.", test: (i) => i.module.startsWith("dialects/") || i.module.startsWith("secrets/") },
  { title: "Errors", intro: "Every failure is an `AthanorError` with a `code`, a `hint` and the CLI's exit status.", test: (i) => i.module === "errors.ts" },
  { title: "CLI", intro: "The command line, callable in-process.", test: (i) => i.module.startsWith("cli/") },
];

function sectionOf(info: ExportInfo): string {
  return SECTIONS.find((section) => section.test(info))?.title ?? "Other";
}

/** The page, regenerated: descriptions already written are kept. */
function renderApiDoc(exports: readonly ExportInfo[], previous: readonly DocEntry[]): string {
  const written = new Map(previous.map((entry) => [entry.name, entry.description]));
  const lines = [
    "# API reference",
    "",
    "Everything `import { ... } from \"athanor\"` gives you: every export of the package entry",
    "([src/index.ts](../src/index.ts)), with its kind or signature and what it is for. Types and",
    "interfaces are documented field by field in their TSDoc (your editor shows it); the",
    "functions that a test suite uses first are `loadConfig`, `resolveEnvironment`, `upgrade`,",
    "`downgrade` and `current` (see [testing.md](testing.md)).",
    "",
    "`test/api-reference.test.ts` checks that this page names every export and nothing else;",
    "`ATHANOR_UPDATE_API_DOC=1 npx vitest run test/api-reference.test.ts` regenerates the",
    "signatures and keeps the descriptions.",
    "",
    "Some signatures name a type that the entry does not export (`CheckOptions`, `ParsedUrl`,",
    "`Selection`...): its fields are in the function's TSDoc. The `ResolveOptions` in",
    "`resolveEnvironment`'s signature is the config resolver's own `{ environment?, processEnv? }`,",
    "not the exported `ResolveOptions` of `resolve`.",
  ];
  const titles = [...SECTIONS.map((section) => section.title), "Other"];
  for (const title of titles) {
    const members = exports.filter((info) => sectionOf(info) === title);
    if (members.length === 0) continue;
    const intro = SECTIONS.find((section) => section.title === title)?.intro;
    lines.push("", `## ${title}`, "");
    if (intro !== undefined) lines.push(intro, "");
    for (const info of members) {
      const description = written.get(info.name) || info.summary || "TODO: describe";
      lines.push(`- **\`${info.name}\`** \`${info.signature.replace(/`/g, "'")}\` — ${description}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

const exportsOfEntry = readExports();

if (UPDATE) {
  let previous: DocEntry[] = [];
  try {
    previous = parseApiDoc(readFileSync(DOC, "utf8"));
  } catch {
    previous = [];
  }
  writeFileSync(DOC, renderApiDoc(exportsOfEntry, previous));
}

describe("docs/api.md", () => {
  const entries = parseApiDoc(readFileSync(DOC, "utf8"));
  const documented = new Map(entries.map((entry) => [entry.name, entry]));
  const exported = new Map(exportsOfEntry.map((info) => [info.name, info]));

  it("documents every export of src/index.ts", () => {
    const missing = exportsOfEntry.filter((info) => !documented.has(info.name)).map((info) => info.name);
    expect(missing, "exports missing from docs/api.md (regenerate it: ATHANOR_UPDATE_API_DOC=1)").toEqual([]);
  });

  it("documents nothing that src/index.ts does not export", () => {
    const extra = entries.filter((entry) => !exported.has(entry.name)).map((entry) => entry.name);
    expect(extra, "names in docs/api.md that src/index.ts does not export").toEqual([]);
  });

  it("names each one once, with its kind and a description", () => {
    expect(entries.length).toBe(documented.size);
    for (const entry of entries) {
      const info = exported.get(entry.name);
      if (info === undefined) continue;
      const kind = entry.signature.startsWith("(") || entry.signature.startsWith("<") ? "function" : (entry.signature.split(/[\s:=]/)[0] ?? "");
      expect(kind, `kind of ${entry.name}`).toBe(info.kind);
      expect(entry.description, `description of ${entry.name}`).not.toMatch(/^(|TODO.*)$/);
    }
  });

  it("gives each function its current parameter list", () => {
    const params = (signature: string): string[] => {
      const open = signature.indexOf("(");
      let depth = 0;
      let close = open;
      for (let i = open; i < signature.length; i++) {
        if ("(<{[".includes(signature[i] ?? "")) depth += 1;
        if (")>}]".includes(signature[i] ?? "") && signature[i - 1] !== "=") depth -= 1;
        if (depth === 0) {
          close = i;
          break;
        }
      }
      return [...signature.slice(open + 1, close).matchAll(/(?:^|,\s*)(\.\.\.)?([A-Za-z_$][\w$]*)\??:/g)].map((m) => m[2] ?? "");
    };
    for (const entry of entries) {
      const info = exported.get(entry.name);
      if (info?.kind !== "function") continue;
      expect(params(entry.signature), `parameters of ${entry.name}`).toEqual(params(info.signature));
    }
  });

  it("keeps the CLI and process-wide state out of the library entry", () => {
    // The CLI is the binary; the secret registry and a global guard list would let one caller change another's runs.
    for (const name of ["main", "CliIO", "knownSecrets", "migrationGuards", "productionGuards", "runGuards"]) expect(exported.has(name), name).toBe(false);
  });

  it("matches the values the entry module really exports", () => {
    const values = exportsOfEntry.filter((info) => info.kind === "function" || info.kind === "class" || info.kind === "const").map((info) => info.name);
    for (const name of values) expect(api, `${name} at run time`).toHaveProperty(name);
    expect(Object.keys(api).sort()).toEqual([...values].sort());
  });
});
