#!/usr/bin/env node
// The published entry point: the CLI bundled into four packs by `npm run build`
// (scripts/build-cli.mjs; its code is src/cli/bin.ts and what it loads), run with V8
// code caches by src/cli/launch.ts (built as dist/cli/launch.cjs).
//
// CommonJS (bin/package.json says so, in a package of ES modules): an ES-module entry
// point makes Node set up its ES module loader before this line runs, which no command
// needs at start-up (docs/architecture.md, "Start-up").
"use strict";
const { join } = require("node:path");
const launcher = join(__dirname, "../dist/cli/launch.cjs");
let launch;
try {
  launch = require(launcher).launch;
} catch (error) {
  // dist/ was never built (or was removed): one line naming the fix, status 2, as
  // launch.cjs says for a missing or damaged bundle (src/cli/launch.ts, BUILD_HINT).
  if (error === null || typeof error !== "object" || error.code !== "MODULE_NOT_FOUND" || !String(error.message).includes(launcher)) throw error;
  process.stderr.write(`error: athanor's built CLI ${launcher} is missing (MODULE_NOT_FOUND)\n  hint: in a checkout of athanor, run \`npm run build\`; in an install, reinstall athanor (\`npm install athanor\`, or \`npm ci\` in the project).\n`);
  process.exit(2);
}
launch(join(__dirname, "../dist/cli/bundle.cjs"));
