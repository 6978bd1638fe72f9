#!/usr/bin/env node
/**
 * Part of `npm run build` (hence of `prepare`: `npm ci` in a clone, `npm pack`): makes
 * the PGlite template shipped in the package, dist/pglite-template/ (a gzipped pristine
 * data directory and a manifest naming the PGlite build), so that no user machine runs
 * PGlite's initdb (6 s, 0.8 GB) for its first database. It runs PGlite's initdb once
 * here, and nothing when the folder already holds a valid template for the installed
 * PGlite build. Downloads nothing. Run with --liftoff-only (package.json): initdb runs little
 * SQL, and V8 then skips optimising the WASM (8.5 s of CPU and 0.82 GB peak instead of 11.7 s
 * and 0.90 GB).
 */
import { fileURLToPath } from "node:url";

const { writeShippedTemplate } = await import("../dist/dialects/pglite-template.js");
const dir = fileURLToPath(new URL("../dist/pglite-template/", import.meta.url));
const started = Date.now();
if (await writeShippedTemplate(dir)) console.log(`pglite template written to dist/pglite-template/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
