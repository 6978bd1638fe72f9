#!/usr/bin/env node
/**
 * Part of `npm run build`, after tsc: bundles the CLI (dist/cli/bin.js and everything it
 * loads) into one CommonJS file, dist/cli/bundle.cjs, which bin/athanor.js runs through
 * dist/cli/launch.js (with a V8 code cache). Start-up is part of every command's cost:
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
 *   (CommonJS output; `heads` loads neither pg nor node:crypto). Only commander and
 *   picocolors, which every run loads, are copied in; every other package is loaded
 *   from node_modules as before.
 * - `import()` of a package or a computed URL (PGlite, jiti, a config file...): it goes
 *   through `__athanorImport`, the launcher's `import()` when launch.js runs the bundle
 *   (code compiled by `vm.Script` has no dynamic import of its own on Node 20 without an
 *   experimental flag, and loses it for functions restored from a code cache), else the
 *   bundle's own. The build fails if any other `import(` is left.
 * - Strict mode, as the ES modules had.
 * - A debug hook for tests (the loader hooks that saw each module no longer can): with
 *   ATHANOR_DEBUG_MODULES=<file> the bundle appends the dist/ URL of each of athanor's
 *   modules as it is evaluated and, at exit, every file loaded with `require`.
 * The first line names the bundle's SHA-256 (part of the code cache's key). A source map
 * to dist/'s modules is written next to it; the launcher enables it with --verbose.
 */
import { parse } from "acorn";
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const entry = `${root}dist/cli/bin.js`;
const outfile = `${root}dist/cli/bundle.cjs`;

/** Packages copied into the bundle: small, and loaded by every command. */
const BUNDLED_PACKAGES = new Set(["commander", "picocolors"]);

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
  const visit = (node) => {
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const child of node) visit(child);
      return;
    }
    if (typeof node.type !== "string") return;
    if (node.type === "MemberExpression" && node.object.type === "MetaProperty" && !node.computed && node.property.name === "url") {
      edits.push([node.start, node.end, `new URL(${JSON.stringify(own)}, __athanorBundleUrl).href`]);
      return;
    }
    if (node.type === "ImportExpression") {
      const relativeLiteral = node.source.type === "Literal" && typeof node.source.value === "string" && /^\.{1,2}\//.test(node.source.value);
      if (!relativeLiteral) edits.push([node.start, node.start + "import".length, "__athanorImport"]);
    }
    for (const key of Object.keys(node)) if (key !== "type" && key !== "start" && key !== "end") visit(node[key]);
  };
  visit(parse(source, { ecmaVersion: "latest", sourceType: "module" }));
  return edits.sort((a, b) => a[0] - b[0]);
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

/** @type {import("esbuild").Plugin} */
const keepModuleSemantics = {
  name: "athanor-cli",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) => (BUNDLED_PACKAGES.has(packageName(args.path)) ? undefined : { path: args.path, external: true }));
    pluginBuild.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async (args) => {
      const own = relative(dirname(outfile), args.path).split("\\").join("/");
      const source = await readFile(args.path, "utf8");
      // On the module's first line: its lines stay where the source map says.
      return { contents: `__athanorTraceModule(${JSON.stringify(own)}); ${applyEdits(source, moduleEdits(source, own))}`, loader: "js" };
    });
  },
};

const BANNER = [
  '"use strict";',
  'var __athanorBundleUrl = require("node:url").pathToFileURL(__filename).href;',
  'var __athanorImport = typeof __athanorLauncherImport === "function" ? __athanorLauncherImport : (specifier) => import(specifier);',
  // The debug hook: with ATHANOR_DEBUG_MODULES=<file>, the URL of each of athanor's modules as it is
  // evaluated, and at exit every file loaded with require (packages such as pg), one a line.
  "var __athanorTraceFile = process.env.ATHANOR_DEBUG_MODULES;",
  'function __athanorTraceModule(own) { if (__athanorTraceFile) require("node:fs").appendFileSync(__athanorTraceFile, `${new URL(own, __athanorBundleUrl).href}\\n`); }',
  'if (__athanorTraceFile) process.on("exit", () => require("node:fs").appendFileSync(__athanorTraceFile, Object.keys(require.cache).map((file) => `${require("node:url").pathToFileURL(file).href}\\n`).join("")));',
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
  logLevel: "warning",
  banner: { js: BANNER },
  plugins: [keepModuleSemantics],
  write: false,
});
const code = result.outputFiles.find((file) => file.path === outfile);
const map = result.outputFiles.find((file) => file.path === `${outfile}.map`);
if (code === undefined || map === undefined) throw new Error("esbuild wrote no bundle");
const text = code.text.replace(/^(\/\/[^\n]*\n)?/, "");
// The only import() left in the bundle's code is the banner's fallback (strings and
// templates may hold the word: the worker shadow's code runs in its own realm).
const left = [];
(function find(node) {
  if (node === null || typeof node !== "object") return;
  if (Array.isArray(node)) return node.forEach(find);
  if (node.type === "ImportExpression" && !(node.source.type === "Identifier" && node.source.name === "specifier")) left.push(text.slice(node.start, node.start + 200));
  for (const key of Object.keys(node)) if (key !== "type" && key !== "start" && key !== "end") find(node[key]);
})(parse(text, { ecmaVersion: "latest", sourceType: "script", allowReturnOutsideFunction: true }));
if (left.length > 0) throw new Error(`dist/cli/bundle.cjs: an import() the launcher does not route: ${left[0]}`);
if (/[^\x00-\x7f]/.test(text)) throw new Error("dist/cli/bundle.cjs is not ASCII (the launcher reads it as Latin-1)");
const hash = createHash("sha256").update(text).digest("hex");
// One line more at the top: the source map's lines move by one.
await writeFile(outfile, `// athanor-cli-bundle ${hash}\n${text}`);
await writeFile(`${outfile}.map`, map.text.replace('"mappings": "', '"mappings": ";'));
