/** Every CLI command module, in the order `--help` lists them. */
import type { CommandModule } from "../main.js";
import { registerInit } from "./init.js";
import { registerEnv } from "./env.js";
import { registerCheck } from "./check.js";
import { registerShellInit } from "./shell-init.js";
import { registerLint } from "./lint.js";
import { registerBackups } from "./backups.js";
import { registerStatus } from "./status.js";
import { registerLog } from "./log.js";
import { registerDowngrade, registerUpgrade } from "./migrate.js";
import { registerCurrent, registerRepair, registerResolve, registerStamp } from "./versions.js";
import { revisionCommandModules } from "./revisions.js";
import { registerBaseline } from "./baseline.js";
import { registerDiff } from "./diff.js";

export const commandModules: CommandModule[] = [registerInit, registerEnv, registerCheck, registerShellInit, registerLint, registerBackups, registerUpgrade, registerDowngrade, registerCurrent, registerStamp, registerBaseline, registerResolve, registerRepair, registerStatus, registerLog, registerDiff, ...revisionCommandModules];
