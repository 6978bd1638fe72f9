#!/usr/bin/env node
// The published entry point: the CLI bundled into one file by `npm run build`
// (scripts/build-cli.mjs; its code is src/cli/bin.ts and what it loads), run with a V8
// code cache by src/cli/launch.ts (built as dist/cli/launch.cjs).
//
// CommonJS (bin/package.json says so, in a package of ES modules): an ES-module entry
// point makes Node set up its ES module loader before this line runs, which no command
// needs at start-up (docs/architecture.md, "Start-up").
"use strict";
const { join } = require("node:path");
require("../dist/cli/launch.cjs").launch(join(__dirname, "../dist/cli/bundle.cjs"));
