/**
 * Every CLI command module, in the order `--help` lists them. Modules load lazily: a
 * run of `athanor heads` imports the revision commands only, not the runtime, the
 * guards or autogenerate (start-up time is part of every command's cost).
 */
import type { CommandModule } from "../main.js";

type Loader = () => Promise<CommandModule[]>;

const LOADERS: [names: string[], load: Loader][] = [
  [["init"], async () => [(await import("./init.js")).registerInit]],
  [["env"], async () => [(await import("./env.js")).registerEnv]],
  [["check"], async () => [(await import("./check.js")).registerCheck]],
  [["shell-init"], async () => [(await import("./shell-init.js")).registerShellInit]],
  [["lint"], async () => [(await import("./lint.js")).registerLint]],
  [["backups"], async () => [(await import("./backups.js")).registerBackups]],
  [["upgrade", "downgrade"], async () => {
    const m = await import("./migrate.js");
    return [m.registerUpgrade, m.registerDowngrade];
  }],
  [["current", "stamp", "resolve", "repair"], async () => {
    const m = await import("./versions.js");
    return [m.registerCurrent, m.registerStamp, m.registerResolve, m.registerRepair];
  }],
  [["baseline"], async () => [(await import("./baseline.js")).registerBaseline]],
  [["status"], async () => [(await import("./status.js")).registerStatus]],
  [["log"], async () => [(await import("./log.js")).registerLog]],
  [["diff"], async () => [(await import("./diff.js")).registerDiff]],
  [["review"], async () => [(await import("./review.js")).registerReview]],
  [["revision", "heads", "branches", "history", "show", "merge", "graph"], async () => (await import("./revisions.js")).revisionCommandModules],
];

/** Every command name the CLI knows. */
export const COMMAND_NAMES: readonly string[] = LOADERS.flatMap(([names]) => names);

/**
 * The modules to register: only the one that defines `command` when it is known,
 * every module otherwise (help, an unknown command, no command).
 */
export async function loadCommandModules(command: string | undefined): Promise<CommandModule[]> {
  const entry = command === undefined ? undefined : LOADERS.find(([names]) => names.includes(command));
  const chosen = entry ? [entry] : LOADERS;
  return (await Promise.all(chosen.map(([, load]) => load()))).flat();
}
