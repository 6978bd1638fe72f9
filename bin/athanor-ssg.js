#!/usr/bin/env node
import v8 from "node:v8";
v8.setFlagsFromString(process.env.ATH_FLAG ?? "--semi-space-growth-factor=1");
await import("../dist/cli/bin.js");
