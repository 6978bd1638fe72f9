#!/usr/bin/env node
// The published entry point: the CLI bundled into one file by `npm run build`
// (scripts/build-cli.mjs; its code is src/cli/bin.ts and what it loads), run with a V8
// code cache by src/cli/launch.ts.
import { fileURLToPath } from "node:url";
import { launch } from "../dist/cli/launch.js";

launch(fileURLToPath(new URL("../dist/cli/bundle.cjs", import.meta.url)));
