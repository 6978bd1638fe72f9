#!/usr/bin/env node
/**
 * Part of `npm run build`, after tsc: bundles the CLI (dist/cli/bin.js and everything it
 * loads) into one CommonJS file, dist/cli/bundle.cjs, which bin/athanor.js runs through
 * the launcher (src/cli/launch.ts, with a V8 code cache; also bundled here as CommonJS,
 * dist/cli/launch.cjs). Start-up is part of every command's cost:
 * loading ~30 small ES modules (resolve, read, compile and link each) plus commander as
 * CommonJS cost more than `heads` itself on a small project. The library entry
 * (dist/index.js) is tsc's output, unchanged.
 *
 * Input is tsc's JavaScript in dist/, so the bundle runs the code the tests run. What it
 * keeps as it was:
 * - `import.meta.url`: each module sees its own dist/ file's URL (computed from the
 *   bundle's location), so package.json, the PGlite template, bin/athanor.js and sibling
 *   modules are found as before.
 * - Laziness: a module loaded with `await import("./x.js")` is evaluated only then, and
 *   the packages and Node built-ins it imports become `require` calls run at that moment
 *   (CommonJS output; `heads` loads neither pg nor node:crypto). Copied in: commander and
 *   picocolors, which every run loads, dotenv, and node-postgres with every package it loads
 *   (pg-protocol, pg-types, pg-pool, pgpass...): a command that connects then restores
 *   them from the code cache instead of resolving, reading and compiling ~26 CommonJS
 *   files. A bundled package is still evaluated only when first required (esbuild's
 *   `__commonJS` wrappers), so `heads` evaluates no pg. Every other package (PGlite,
 *   jiti, pino, picomatch...) is loaded from node_modules as before; so are `pg-native`
 *   (optional, not installed) and `pg-cloudflare` (only a Cloudflare Worker loads it).
 * - The licence notices of the copied packages: appended as one comment at the end (no
 *   bundled line moves), each package's LICENSE file, or the licence section of its
 *   README when it ships no such file (pg-types, pgpass).
 * - `import()` of a package or a computed URL (PGlite, jiti, a config file...): it goes
 *   through `__athanorImport`, the launcher's `import()` when launch.js runs the bundle
 *   (code compiled by `vm.Script` has no dynamic import of its own on Node 20 without an
 *   experimental flag, and loses it for functions restored from a code cache), else the
 *   bundle's own. The build fails if any other `import(` is left.
 * - Strict mode, as the ES modules had.
 * - A debug hook for tests (the loader hooks that saw each module no longer can): with
 *   ATHANOR_DEBUG_MODULES=<file> the bundle appends the URL of each of athanor's modules
 *   and of each copied package's files (as in node_modules) as it is evaluated and, at
 *   exit, every file loaded with `require`.
 * The first line names the bundle's SHA-256 (part of the code cache's key). A source map
 * to dist/'s modules is written next to it; the launcher enables it with --verbose.
 */
import { parse } from "acorn";
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const entry = `${root}dist/cli/bin.js`;
const outfile = `${root}dist/cli/bundle.cjs`;

/**
 * Packages copied into the bundle, with every package they load: commander and
 * picocolors (every command loads them), dotenv (every command that resolves an
 * environment: one small file), pg and pg-connection-string (every command that connects
 * to a server; athanor and pg share the one copy of the latter).
 */
const BUNDLED_PACKAGES = new Set(["commander", "picocolors", "dotenv", "pg", "pg-connection-string"]);
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
 * - `import.meta.url` becomes the module's own dist/ URL computed from the bundle's;
 * - `import(x)`, unless x is a relative string literal (esbuild bundles those), goes
 *   through `__athanorImport`.
 * Returned as [start, end, replacement] in source order.
 */
function moduleEdits(source, own) {
  const edits = [];
  walk(parse(source, { ecmaVersion: "latest", sourceType: "module" }), (node) => {
    if (node.type === "MemberExpression" && node.object.type === "MetaProperty" && !node.computed && node.property.name === "url") {
      edits.push([node.start, node.end, `new URL(${JSON.stringify(own)}, __athanorBundleUrl).href`]);
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
      const source = lazyChildProcess(args.path, (await readFile(args.path, "utf8")).replace(/[^\x00-\x7f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`));
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

const BANNER = [
  '"use strict";',
  'var __athanorBundleUrl = require("node:url").pathToFileURL(__filename).href;',
  'var __athanorImport = typeof __athanorLauncherImport === "function" ? __athanorLauncherImport : (specifier) => import(specifier);',
  // The debug hook: with ATHANOR_DEBUG_MODULES=<file>, the URL of each of athanor's modules and copied
  // packages' files as it is evaluated, and at exit every file loaded with require (from node_modules:
  // picomatch...) as `require <URL>`, one a line.
  "var __athanorTraceFile = process.env.ATHANOR_DEBUG_MODULES;",
  'function __athanorTraceModule(own) { if (__athanorTraceFile) require("node:fs").appendFileSync(__athanorTraceFile, `${new URL(own, __athanorBundleUrl).href}\\n`); }',
  'if (__athanorTraceFile) process.on("exit", () => require("node:fs").appendFileSync(__athanorTraceFile, Object.keys(require.cache).map((file) => `require ${require("node:url").pathToFileURL(file).href}\\n`).join("")));',
].join("\n");

const result = await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  charset: "ascii",
  sourcemap: "linked",
  // White space and syntax only (names stay, so do class names and messages): 1.35 → 1.0 MB.
  // Every command reads the bundle as a string before V8 restores its code cache, and on a
  // virtual machine that bills each new page of memory (~12 µs a page fault measured here),
  // the smaller text is ~3 ms of every start-up. Stacks still map to dist/ (the source map).
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
  banner: { js: BANNER },
  plugins: [keepModuleSemantics],
  metafile: true,
  write: false,
});
const code = result.outputFiles.find((file) => file.path === outfile);
const map = result.outputFiles.find((file) => file.path === `${outfile}.map`);
if (code === undefined || map === undefined) throw new Error("esbuild wrote no bundle");
// The notices go last, before the source map's comment: no bundled line moves.
const licences = await licenceComment(Object.keys(result.metafile.inputs).map((input) => join(root, input)));
const text = code.text.replace(/^(\/\/[^\n]*\n)?/, "").replace(/(\/\/# sourceMappingURL=[^\n]*\n?)$/, `${licences}$1`);
if (!text.includes(licences)) throw new Error("dist/cli/bundle.cjs: no source map comment to put the licence notices before");
// The only import() left in the bundle's code is the banner's fallback (strings and
// templates may hold the word: the worker shadow's code runs in its own realm).
const left = [];
walk(parse(text, { ecmaVersion: "latest", sourceType: "script", allowReturnOutsideFunction: true }), (node) => {
  if (node.type === "ImportExpression" && !(node.source.type === "Identifier" && node.source.name === "specifier")) left.push(text.slice(node.start, node.start + 200));
  return true;
});
if (left.length > 0) throw new Error(`dist/cli/bundle.cjs: an import() the launcher does not route: ${left[0]}`);
if (/[^\x00-\x7f]/.test(text)) throw new Error("dist/cli/bundle.cjs is not ASCII (the launcher reads it as Latin-1)");
const hash = createHash("sha256").update(text).digest("hex");
// The file is the bundle already wrapped in the function the launcher calls, so V8 compiles
// the file's text as it is read: a wrapper added at run time made a 1 MB concatenation that
// V8 copied flat before compiling (~340 page faults, ~4 ms of every start-up). Its first
// line opens the function and names the bundle's SHA-256 (part of the code cache's key);
// the source map's lines move by one. Run by the launcher (`vm.Script`, top-level `this`
// is the global object) the file's value is the function; loaded by `require` (the
// launcher's --verbose path, for source-mapped stacks; `this` is `module.exports`) it
// calls the function itself, as a CommonJS module, without the launcher's import().
// The function is in parentheses of its own: V8 compiles such a function eagerly, so the
// code cache holds the bundle's compiled top level (as an argument only, it was compiled
// lazily at its call: a 45 kB cache instead of ~410 kB, and the bundle parsed at every run).
const opening = `(this === globalThis ? (bundle) => bundle : (bundle) => void bundle.call(module.exports, exports, require, module, __filename, __dirname))((function (exports, require, module, __filename, __dirname, __athanorLauncherImport) { // athanor-cli-bundle ${hash}`;
await writeFile(outfile, `${opening}\n${text}\n}));\n`);
await writeFile(`${outfile}.map`, map.text.replace('"mappings": "', '"mappings": ";'));

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
