#!/usr/bin/env node
// The published entry point: the compiled CLI does the work (see src/cli/bin.ts).
import "../dist/cli/bin.js";
