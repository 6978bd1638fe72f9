#!/usr/bin/env node
/**
 * Part of `npm run build`, after tsc: bundles the CLI (dist/cli/bin.js and everything it
 * loads) into four CommonJS packs, dist/cli/bundle.cjs and bundle-read/-run/-rest.cjs
 * (see PACKS), which bin/athanor.js runs through the launcher (src/cli/launch.ts, with V8
 * code caches; also bundled here as CommonJS, dist/cli/launch.cjs). Start-up is part of every command's cost:
 * loading ~30 small ES modules (resolve, read, compile and link each) plus commander as
 * CommonJS cost more than `heads` itself on a small project. The library entry
 * (dist/index.js) is tsc's output, unchanged.
 *
 * Input is tsc's JavaScript in dist/, so the bundle runs the code the tests run. What it
 * keeps as it was:
 * - `import.meta.url`: each module sees its own dist/ file's URL (computed from the
 *   pack's location), so package.json, the PGlite template, bin/athanor.js and sibling
 *   modules are found as before.
 * - Laziness: a module loaded with `await import("./x.js")` is evaluated only then (its
 *   chunk runs at that moment, its pack is read then if it was not yet), and the packages
 *   and Node built-ins it imports become `require` calls run then too (`heads` loads
 *   neither pg nor node:crypto). Copied in: commander,
 *   which every run loads, dotenv, and node-postgres with every package it loads
 *   (pg-protocol, pg-types, pg-pool, pgpass...): a command that connects then restores
 *   them from the code cache instead of resolving, reading and compiling ~26 CommonJS
 *   files. A bundled package is still evaluated only when first required (esbuild's
 *   `__commonJS` wrappers), so `heads` evaluates no pg. Every other package (PGlite,
 *   jiti, pino, picomatch, picocolors, which only a run with colours loads...) is loaded
 *   from node_modules as before; so are `pg-native`
 *   (optional, not installed) and `pg-cloudflare` (only a Cloudflare Worker loads it).
 * - The licence notices of the copied packages: appended as one comment at the end of the
 *   pack holding their code (no bundled line moves), each package's LICENSE file, or the
 *   licence section of its README when it ships no such file (pg-types, pgpass).
 * - `import()` of a package or a computed URL (PGlite, jiti, a config file...): it goes
 *   through `__athanorImport`, the launcher's `import()` when launch.js runs the packs
 *   (code compiled by `vm.Script` has no dynamic import of its own on Node 20 without an
 *   experimental flag, and loses it for functions restored from a code cache), else the
 *   bundle's own. The build fails if any other `import(` is left.
 * - Strict mode, as the ES modules had.
 * - A debug hook for tests (the loader hooks that saw each module no longer can): with
 *   ATHANOR_DEBUG_MODULES=<file> the bundle appends the URL of each of athanor's modules
 *   and of each copied package's files (as in node_modules) as it is evaluated and, at
 *   exit, every file loaded with `require`.
 * A pack's first line names its SHA-256 (part of its code cache's key). A source map to
 * dist/'s modules is written next to each; the launcher enables them with --verbose.
 */
import { decode, encode } from "@jridgewell/sourcemap-codec";
import { parse } from "acorn";
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const entry = `${root}dist/cli/bin.js`;
const dist = `${root}dist/cli`;
const outfile = `${dist}/bundle.cjs`;

/**
 * Packages copied into the bundle, with every package they load: commander (every
 * command loads it), dotenv (every command that resolves an
 * environment: one small file), pg and pg-connection-string (every command that connects
 * to a server; athanor and pg share the one copy of the latter).
 */
const BUNDLED_PACKAGES = new Set(["commander", "dotenv", "pg", "pg-connection-string"]);
/** Loaded by a bundled package but never copied in: optional (pg-native) or never loaded on Node (pg-cloudflare). */
const EXTERNAL_PACKAGES = new Set(["pg-native", "pg-cloudflare"]);

/** A package specifier's name: `@scope/name` or `name`. */
function packageName(specifier) {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/**
 * The edits a module of dist/ needs inside the bundle, found on its syntax tree (acorn),
 * never by matching text: the same words inside a string or a template (the worker
 * shadow's code is one) are code of another realm and stay as they are.
 * - `fileURLToPath(import.meta.url)` (node:url's) becomes the module's own dist/ path,
 *   joined to the pack's folder: no URL is built (the first one of a process costs ~0.4 ms);
 * - any other `import.meta.url` becomes the module's own dist/ URL computed from the bundle's;
 * - `import(x)`, unless x is a relative string literal (esbuild bundles those), goes
 *   through `__athanorImport`.
 * Returned as [start, end, replacement] in source order.
 */
function moduleEdits(source, own) {
  const edits = [];
  const program = parse(source, { ecmaVersion: "latest", sourceType: "module" });
  const isMetaUrl = (node) => node.type === "MemberExpression" && node.object.type === "MetaProperty" && !node.computed && node.property.name === "url";
  // The local name node:url's fileURLToPath is imported under, if it is.
  const toPath = program.body
    .filter((node) => node.type === "ImportDeclaration" && (node.source.value === "node:url" || node.source.value === "url"))
    .flatMap((node) => node.specifiers)
    .find((specifier) => specifier.type === "ImportSpecifier" && specifier.imported.name === "fileURLToPath")?.local.name;
  walk(program, (node) => {
    if (toPath !== undefined && node.type === "CallExpression" && node.callee.type === "Identifier" && node.callee.name === toPath && node.arguments.length === 1 && isMetaUrl(node.arguments[0])) {
      edits.push([node.start, node.end, `__athanorPath(${JSON.stringify(own)})`]);
      return false;
    }
    if (node.type === "MemberExpression" && node.object.type === "MetaProperty" && !node.computed && node.property.name === "url") {
      edits.push([node.start, node.end, `__athanorUrl(${JSON.stringify(own)})`]);
      return false;
    }
    if (node.type === "ImportExpression") {
      const relativeLiteral = node.source.type === "Literal" && typeof node.source.value === "string" && /^\.{1,2}\//.test(node.source.value);
      if (!relativeLiteral) edits.push([node.start, node.start + "import".length, "__athanorImport"]);
    }
    return true;
  });
  return edits.sort((a, b) => a[0] - b[0]);
}

/** Calls `onNode` on every node of an acorn syntax tree, depth first; its children are skipped when it returns false. */
function walk(node, onNode) {
  if (node === null || typeof node !== "object") return;
  if (Array.isArray(node)) {
    for (const child of node) walk(child, onNode);
    return;
  }
  if (typeof node.type !== "string" || !onNode(node)) return;
  for (const key of Object.keys(node)) if (key !== "type" && key !== "start" && key !== "end") walk(node[key], onNode);
}

/** `source` with `edits` applied (none of them spans a line break, so lines stay where they were). */
function applyEdits(source, edits) {
  let out = "";
  let at = 0;
  for (const [start, end, text] of edits) {
    out += source.slice(at, start) + text;
    at = end;
  }
  return out + source.slice(at);
}

/**
 * commander requires node:child_process when it is loaded, and with it net, dgram and
 * the streams (~5 ms of every command's start-up), for the one thing athanor never asks
 * of it: running an executable subcommand. In its command.js the module is required when
 * `spawn` is first called instead, on the same line (no bundled line moves). A commander
 * whose line reads otherwise fails the build, so the edit is never silently lost.
 */
function lazyChildProcess(path, source) {
  if (!path.endsWith(`${sep}commander${sep}lib${sep}command.js`)) return source;
  const eager = "const childProcess = require('node:child_process');";
  if (!source.includes(eager)) throw new Error(`${path}: commander no longer requires node:child_process as the build expects; update lazyChildProcess in scripts/build-cli.mjs`);
  return source.replace(eager, "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };");
}

/**
 * commander's command.js also requires node:process, a module of its own for Node to load
 * (~0.1 ms of every command's start-up) whose value is the global `process`: the global is
 * used instead, on the same line. As above, a commander that reads otherwise fails the build.
 */
function globalProcess(path, source) {
  if (!path.endsWith(`${sep}commander${sep}lib${sep}command.js`)) return source;
  const required = "const process = require('node:process');";
  if (!source.includes(required)) throw new Error(`${path}: commander no longer requires node:process as the build expects; update globalProcess in scripts/build-cli.mjs`);
  return source.replace(required, "const process = globalThis.process;");
}

/** @type {import("esbuild").Plugin} */
const keepModuleSemantics = {
  name: "athanor-cli",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) => {
      const name = packageName(args.path);
      if (EXTERNAL_PACKAGES.has(name)) return { path: args.path, external: true };
      // A package a copied package loads is copied too (Node's built-ins stay require calls: platform "node").
      const fromCopied = args.importer.split(sep).includes("node_modules");
      return BUNDLED_PACKAGES.has(name) || fromCopied ? undefined : { path: args.path, external: true };
    });
    // A copied package's file: traced as it is evaluated, after its "use strict" directive (which must stay first), on its first line.
    pluginBuild.onLoad({ filter: /[\\/]node_modules[\\/].*\.c?js$/ }, async (args) => {
      const own = relative(dirname(outfile), args.path).split("\\").join("/");
      const trace = `__athanorTraceModule(${JSON.stringify(own)});`;
      // esbuild's ASCII output escapes strings and names but keeps comments (pg has an em dash in one):
      // \uXXXX means the same character in a string, template, regular expression or name.
      const source = globalProcess(args.path, lazyChildProcess(args.path, (await readFile(args.path, "utf8")).replace(/[^\x00-\x7f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)));
      const directive = /^(?:#![^\n]*\n)?\s*(["'])use strict\1;?/.exec(source);
      const contents = directive === null ? `${trace} ${source}` : `${directive[0]}; ${trace}${source.slice(directive[0].length)}`;
      return { contents, loader: "js" };
    });
    pluginBuild.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async (args) => {
      const own = relative(dirname(outfile), args.path).split("\\").join("/");
      const source = await readFile(args.path, "utf8");
      // On the module's first line: its lines stay where the source map says.
      return { contents: `__athanorTraceModule(${JSON.stringify(own)}); ${applyEdits(source, moduleEdits(source, own))}`, loader: "js" };
    });
  },
};

/** A package's own folder and name from one of its files' paths (the last `node_modules` in it). */
function packageOf(file) {
  const parts = file.split(/[\\/]/);
  const at = parts.lastIndexOf("node_modules");
  if (at === -1) return null;
  const length = parts[at + 1]?.startsWith("@") ? 2 : 1;
  return { dir: parts.slice(0, at + 1 + length).join(sep), name: parts.slice(at + 1, at + 1 + length).join("/") };
}

/**
 * A package's licence notice: its LICENSE (LICENCE, license.md...) file, else the licence
 * section of its README (pg-types and pgpass ship no licence file, only that section).
 * A copied package without either fails the build: its notice must be found by hand.
 */
async function licenceText(dir, name) {
  const files = await readdir(dir);
  const licence = files.find((file) => /^licen[cs]e(\.(md|txt))?$/i.test(file));
  if (licence !== undefined) return (await readFile(join(dir, licence), "utf8")).trim();
  const readme = files.find((file) => /^readme(\.md)?$/i.test(file));
  const section = readme === undefined ? null : /^(#+)\s*licen[cs]e\b[^\n]*\n([\s\S]*?)(?=^#{1,6}\s|(?![\s\S]))/im.exec(await readFile(join(dir, readme), "utf8"));
  if (section === null || section[2].trim() === "") throw new Error(`${name}: no licence file and no licence section in its README to copy into dist/cli/bundle.cjs`);
  return section[2].trim();
}

/**
 * One comment with the name, version, licence and notice of each package copied into the
 * bundle (MIT and ISC ask that the notice go with every copy). ASCII like the rest of the
 * bundle: another character is written as \uXXXX (a name in a notice, say); `*\/` cannot end it early.
 */
async function licenceComment(inputs) {
  const packages = new Map();
  for (const input of inputs) {
    const found = packageOf(input);
    if (found !== null) packages.set(found.dir, found.name);
  }
  const notices = [];
  for (const [dir, name] of [...packages].sort((a, b) => a[1].localeCompare(b[1]))) {
    const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
    notices.push(`${manifest.name}@${manifest.version} (${manifest.license}):\n\n${await licenceText(dir, name)}`);
  }
  const body = notices.join(`\n\n${"-".repeat(72)}\n\n`).replace(/[^\x00-\x7f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`).replaceAll("*/", "* /");
  return `/*!\nThis file contains code from the following packages, under their licences:\n\n${body}\n*/\n`;
}

/**
 * What each chunk's function starts with, on its first line: strict mode, the URL that
 * `import.meta.url` edits resolve against (a file of dist/cli/, where every pack is), the
 * path `fileURLToPath(import.meta.url)` edits join (in the chunks that have one), the
 * `import()` it routes, and the debug hook: with ATHANOR_DEBUG_MODULES=<file>, the URL of
 * each of athanor's modules and copied packages' files as it is evaluated and, written by
 * the entry at exit, every file loaded with require (from node_modules: picomatch...) as
 * `require <URL>`, one a line.
 */
function preamble(isEntry, usesPath) {
  return [
    '"use strict";',
    // Computed at the first use: pathToFileURL for each of the ~25 chunks `heads` runs cost ~1 ms.
    'var __athanorBase; function __athanorUrl(own) { return new URL(own, __athanorBase ??= require("node:url").pathToFileURL(__filename).href).href; }',
    ...(usesPath ? ['function __athanorPath(own) { return require("node:path").join(__dirname, own); }'] : []),
    'var __athanorImport = typeof __athanorLauncherImport === "function" ? __athanorLauncherImport : (specifier) => import(specifier);',
    "var __athanorTraceFile = process.env.ATHANOR_DEBUG_MODULES;",
    'function __athanorTraceModule(own) { if (__athanorTraceFile) require("node:fs").appendFileSync(__athanorTraceFile, `${__athanorUrl(own)}\\n`); }',
    ...(isEntry ? ['if (__athanorTraceFile) process.on("exit", () => require("node:fs").appendFileSync(__athanorTraceFile, Object.keys(require.cache).map((file) => `require ${require("node:url").pathToFileURL(file).href}\\n`).join("")));'] : []),
  ].join(" ");
}

/** Options both passes share: Node 20, ASCII, white space and syntax minified (names stay, so do class names and messages). */
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  target: "node20",
  charset: "ascii",
  // Every command reads what it loads as a string before V8 restores its code cache, and
  // on a virtual machine that bills each new page of memory (~12 µs a page fault measured
  // here) the smaller text is time saved at every start. Stacks still map to dist/ (the source maps).
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
  metafile: true,
};

/**
 * The packs, in order: a chunk goes into the first whose seeds reach it (`dynamic`: through
 * `import()` too, up to the `stop` modules), else into the last. What each command reads
 * at start: `heads`, `history`, `branches`, `show` and `revision` the bundle and
 * bundle-read.cjs (~0.2 MB of ~1 MB); `upgrade`, `current`, `status` and `check` on
 * PostgreSQL those and bundle-run.cjs (~0.6 MB); autogenerate, review, lint, fleets, init,
 * baseline, PGlite's session and backups also bundle-rest.cjs. Seeds are dist/ modules.
 */
const PACKS = [
  { file: "bundle.cjs", seeds: ["dist/cli/bin.js"], dynamic: false },
  {
    file: "bundle-read.cjs",
    seeds: ["dist/cli/commands/revisions.js", "dist/commands/heads.js", "dist/commands/history.js", "dist/commands/branches.js", "dist/commands/show.js", "dist/revisions/script-directory.js"],
    dynamic: false,
  },
  {
    file: "bundle-run.cjs",
    seeds: ["dist/cli/commands/migrate.js", "dist/cli/commands/versions.js", "dist/cli/commands/status.js", "dist/cli/commands/check.js", "dist/config/resolve.js", "dist/dialects/postgres-session.js"],
    dynamic: true,
    stop: [
      "dist/commands/autogenerate.js", "dist/cli/commands/review.js", "dist/cli/commands/diff.js", "dist/cli/commands/lint.js", "dist/lint/lint.js", "dist/cli/fleet.js", "dist/commands/fleet.js",
      "dist/cli/commands/init.js", "dist/cli/commands/baseline.js", "dist/dialects/pglite-session.js", "dist/autogenerate/declared.js", "dist/guard/backup.js", "dist/cli/commands/backups.js",
    ],
  },
  { file: "bundle-rest.cjs", seeds: [], dynamic: false },
];

/** How a chunk's require names its pack: `main` for bundle.cjs, `read` for bundle-read.cjs... (src/cli/launch.ts reads it back). */
function packKey(file) {
  return file === "bundle.cjs" ? "main" : /^bundle-([a-z]+)\.cjs$/.exec(file)[1];
}

/** The pack file of each first-pass output (absolute paths), from the first pass's metafile. */
function assignPacks(metafile) {
  const outputs = new Map(Object.entries(metafile.outputs).filter(([file]) => file.endsWith(".mjs")).map(([file, output]) => [resolve(root, file), output]));
  const byEntry = new Map();
  for (const [file, output] of outputs) if (output.entryPoint !== undefined) byEntry.set(output.entryPoint, file);
  const chunkOf = (module) => {
    const file = byEntry.get(module);
    if (file === undefined) throw new Error(`scripts/build-cli.mjs: ${module} starts no chunk (is it still loaded with import()?); update PACKS`);
    return file;
  };
  const packOf = new Map();
  for (const pack of PACKS) {
    const stop = new Set((pack.stop ?? []).map(chunkOf));
    const stack = pack.seeds.map(chunkOf);
    const seen = new Set();
    while (stack.length > 0) {
      const file = stack.pop();
      if (seen.has(file) || stop.has(file)) continue;
      seen.add(file);
      if (!packOf.has(file)) packOf.set(file, pack.file);
      for (const imported of outputs.get(file)?.imports ?? []) {
        if (!imported.external && (imported.kind === "import-statement" || (pack.dynamic && imported.kind === "dynamic-import"))) stack.push(resolve(root, imported.path));
      }
    }
  }
  for (const file of outputs.keys()) if (!packOf.has(file)) packOf.set(file, PACKS[PACKS.length - 1].file);
  return { packOf, inputsOf: (file) => Object.keys(outputs.get(file)?.inputs ?? {}).map((input) => resolve(root, input)) };
}

/**
 * One source map for a pack, from its chunks' maps placed at their lines. Flat, not an
 * index map of sections: Node's loader (which maps --verbose stacks) reads `sources` at
 * the top level and ignores a map without it.
 */
class PackMap {
  #sources = [];
  #sourcesContent = [];
  #names = [];
  #lines = [];

  /** Adds `map`, whose first line is the pack's line `line` (from 0). */
  add(line, map) {
    while (this.#lines.length < line) this.#lines.push([]);
    const sourceBase = this.#sources.length;
    const nameBase = this.#names.length;
    this.#sources.push(...map.sources);
    this.#sourcesContent.push(...map.sources.map((_, i) => map.sourcesContent?.[i] ?? null));
    this.#names.push(...(map.names ?? []));
    for (const segments of decode(map.mappings)) {
      this.#lines.push(segments.map((segment) => (segment.length === 1 ? segment : segment.length === 4 ? [segment[0], segment[1] + sourceBase, segment[2], segment[3]] : [segment[0], segment[1] + sourceBase, segment[2], segment[3], segment[4] + nameBase])));
    }
  }

  toJSON(file) {
    return { version: 3, file, sources: this.#sources, sourcesContent: this.#sourcesContent, names: this.#names, mappings: encode(this.#lines) };
  }
}

/**
 * Writes dist/revisions/parser-stamp.js (tsc's says undefined): the SHA-256 of the header
 * parser's modules as tsc wrote them, which keys the header cache (src/revisions/header-cache.ts)
 * instead of seven `stat`s at every run. Before the bundle is built, so the CLI and the
 * library read the same stamp.
 */
async function stampHeaderParser() {
  const folder = `${root}dist/revisions`;
  const { HEADER_PARSER_MODULES } = await import(pathToFileURL(`${folder}/header-cache.js`).href);
  const hash = createHash("sha256");
  for (const module of HEADER_PARSER_MODULES) hash.update(`${module}\0${await readFile(join(folder, `${module}.js`), "utf8")}\0`);
  const stamp = `${folder}/parser-stamp.js`;
  const compiled = await readFile(stamp, "utf8");
  // tsc's `undefined`, or the stamp of an earlier run of this script over the same tsc output.
  const declaration = /^export const HEADER_PARSER_STAMP = (?:undefined|"[0-9a-f]{64}");$/m;
  if (!declaration.test(compiled)) throw new Error(`${stamp}: tsc no longer writes \`export const HEADER_PARSER_STAMP = undefined;\` as the build expects; update stampHeaderParser in scripts/build-cli.mjs`);
  await writeFile(stamp, compiled.replace(declaration, `export const HEADER_PARSER_STAMP = ${JSON.stringify(hash.digest("hex"))};`));
}

await stampHeaderParser();

/**
 * The CLI is split by module, so that a command reads and restores only the code it can
 * reach (reading and decoding the whole 1 MB was ~11 ms of every start-up on the CI
 * machine, issue #15's start-up row):
 * 1. esbuild's code splitting (ES modules only): the entry holds what bin.js imports
 *    statically; every module first reached through `await import()` starts a chunk, and
 *    code two chunks share is a chunk of its own, so each module is in exactly one chunk.
 * 2. Each chunk converted to CommonJS, the other chunks kept as `require("<pack>#<chunk>")`
 *    (`read#heads-4WXQSTVC`; an `import()` of one becomes that require in a promise:
 *    laziness stays). esbuild reads the first pass's source maps, so the second's still map to dist/.
 * 3. The ~110 chunks gathered into four packs (PACKS): one file, one read and one code
 *    cache per pack, not per chunk (~0.45 ms a file, measured: 22 files cost `heads` more
 *    than the bytes they saved). The launcher loads a pack at the first require of one of
 *    its chunks and runs each chunk once, at its first require (one module registry: each
 *    class and each module's state exists once).
 */
const work = await mkdtemp(join(tmpdir(), "athanor-build-cli-"));
try {
  const first = await build({
    ...common,
    entryPoints: { bundle: entry },
    outdir: join(work, "esm"),
    format: "esm",
    splitting: true,
    chunkNames: "[name]-[hash]",
    outExtension: { ".js": ".mjs" },
    sourcemap: "linked",
    plugins: [keepModuleSemantics],
  });
  const { packOf, inputsOf } = assignPacks(first.metafile);
  const chunkName = (file) => basename(file).replace(/\.[cm]js$/, "");
  const second = await build({
    ...common,
    entryPoints: [...packOf.keys()],
    outdir: join(work, "cjs"),
    format: "cjs",
    outExtension: { ".js": ".cjs" },
    sourcemap: "external",
    // An import() of another chunk becomes Promise.resolve().then(() => require(...)): code compiled by
    // vm.Script has no import() of its own on Node 20 (without an experimental flag).
    supported: { "dynamic-import": false },
    plugins: [
      {
        name: "athanor-cli-chunks",
        setup(pluginBuild) {
          // Another chunk: named by its pack and its name, for the launcher's require.
          pluginBuild.onResolve({ filter: /^\.\.?\// }, (args) => {
            const target = resolve(dirname(args.importer), args.path);
            const pack = packOf.get(target);
            if (pack === undefined) throw new Error(`${args.importer} imports ${args.path}, which is no chunk of the first pass`);
            return { path: `${packKey(pack)}#${chunkName(target)}`, external: true };
          });
          pluginBuild.onResolve({ filter: /^[^./]/ }, (args) => ({ path: args.path, external: true }));
        },
      },
    ],
  });
  const chunks = new Map(PACKS.map((pack) => [pack.file, []]));
  for (const [file, pack] of packOf) {
    const from = join(work, "cjs", `${chunkName(file)}.cjs`);
    const code = (await readFile(from, "utf8")).replace(/\n?$/, "\n");
    // No import() is left: the preamble's fallback is the only one (strings and templates
    // may hold the word: the worker shadow's code runs in its own realm).
    walk(parse(code, { ecmaVersion: "latest", sourceType: "script", allowReturnOutsideFunction: true }), (node) => {
      if (node.type === "ImportExpression") throw new Error(`${chunkName(file)}: an import() the launcher does not route: ${code.slice(node.start, node.start + 200)}`);
      return true;
    });
    // The launcher gives a chunk's require of node:module only createRequire (src/cli/launch.ts).
    onlyCreateRequire(chunkName(file), code, [...code.matchAll(/\b(import_node_module\d*)\s*=\s*require\("node:module"\)/g)].map((match) => match[1]));
    const map = JSON.parse(await readFile(`${from}.map`, "utf8"));
    // A chunk that only re-exports another (esbuild makes one per dynamic import's target)
    // has no code of dist/ to map to: its source is the first pass's file, named as such.
    map.sources = map.sources.map((source) => {
      const absolute = resolve(join(work, "cjs"), source);
      return absolute.startsWith(work) ? `athanor-build:///${relative(work, absolute).split(sep).join("/")}` : relative(dist, absolute).split(sep).join("/");
    });
    chunks.get(pack).push({ name: chunkName(file), code, map, inputs: inputsOf(file) });
  }
  for (const pack of PACKS) {
    const members = chunks.get(pack.file).sort((a, b) => a.name.localeCompare(b.name));
    // Each chunk is a function of CommonJS's five parameters and the import() the launcher
    // routes, in parentheses of its own: V8 compiles such a function eagerly, so the code
    // cache holds the chunk's compiled top level (as an argument only, it was compiled lazily
    // at its call, and parsed again at every run).
    const lines = [];
    const map = new PackMap();
    for (const chunk of members) {
      lines.push(`${JSON.stringify(chunk.name)}: (function (exports, require, module, __filename, __dirname, __athanorLauncherImport) { ${preamble(chunk.name === "bundle", chunk.code.includes("__athanorPath("))}`);
      // +1: the first line of the file, which opens the pack.
      map.add(lines.length + 1, chunk.map);
      lines.push(...chunk.code.slice(0, -1).split("\n"));
      lines.push("}),");
    }
    // The notices of the packages whose code the pack holds, last.
    const inputs = members.flatMap((chunk) => chunk.inputs);
    const licences = inputs.some((input) => packageOf(input) !== null) ? await licenceComment(inputs) : "";
    const body = `${lines.join("\n")}\n})\n${licences}`;
    if (/[^\x00-\x7f]/.test(body)) throw new Error(`dist/cli/${pack.file} is not ASCII (the launcher reads it as Latin-1)`);
    const hash = createHash("sha256").update(body).digest("hex");
    // The file is an object of the pack's chunk functions. Compiled by the launcher
    // (`vm.Script`: top-level `this` is the global object) its value is that object; loaded by
    // `require` (the launcher's --verbose path, for source-mapped stacks) it is its exports.
    // The first line names the pack's SHA-256, part of its code cache's key.
    const opening = `(this === globalThis ? (pack) => pack : (pack) => void (module.exports = pack))({ // athanor-cli-bundle ${hash}`;
    const target = join(dist, pack.file);
    await writeFile(target, `${opening}\n${body}//# sourceMappingURL=${pack.file}.map\n`);
    await writeFile(`${target}.map`, JSON.stringify(map.toJSON(pack.file)));
  }
  await rm(join(dist, "chunks"), { recursive: true, force: true });
  console.log(`build-cli: ${PACKS.map((pack) => `dist/cli/${pack.file} (${chunks.get(pack.file).length} chunks)`).join(", ")}`);
} finally {
  await rm(work, { recursive: true, force: true });
}

// The launcher as CommonJS too, for bin/athanor.js, which is CommonJS (bin/package.json):
// an ES-module entry point makes Node set up its ES module loader (resolution, linking,
// ~6–8 ms of CPU) before the first line runs, and nothing on a command's path needs it;
// the launcher's own `import()` (kept as it is by esbuild) sets it up when a command loads
// an ES package (PGlite, jiti). dist/cli/launch.js stays tsc's ES module for the tests.
await build({
  entryPoints: [`${root}dist/cli/launch.js`],
  outfile: `${root}dist/cli/launch.cjs`,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  logLevel: "warning",
});
await writeFile(`${root}dist/cli/launch.cjs`, loaderForNodeModule(await readFile(`${root}dist/cli/launch.cjs`, "utf8")));

/**
 * The launcher takes `createRequire`, all it uses of node:module, from its own module's
 * constructor: CommonJS's Module, which is the object node:module exports, before that
 * module's file adds `register`, `SourceMap` and `findSourceMap` and, for them, loads the ES
 * module loader and the source map parser (~0.7 ms of every start-up). A launcher that
 * requires it otherwise or uses another of its exports fails the build.
 */
function loaderForNodeModule(source) {
  const required = 'var import_node_module = require("node:module");';
  if (source.split(required).length !== 2) throw new Error(`dist/cli/launch.cjs: node:module is not required once as the build expects; update loaderForNodeModule in scripts/build-cli.mjs`);
  onlyCreateRequire("dist/cli/launch.cjs", source, ["import_node_module"]);
  return source.replace(required, "var import_node_module = module.constructor;");
}

/** Throws unless every use of the bindings `names` (node:module, required) is its `createRequire`: what the launcher gives a chunk for node:module. */
function onlyCreateRequire(file, source, names) {
  for (const name of names) {
    const uses = source.match(new RegExp(`\\b${name}\\b(?!\\s*=)(.?\\w*)`, "g")) ?? [];
    const other = uses.filter((use) => use !== `${name}.createRequire`);
    if (other.length > 0) throw new Error(`${file}: uses ${other[0]} of node:module; the launcher gives the CLI's chunks only its createRequire (src/cli/launch.ts)`);
  }
}
