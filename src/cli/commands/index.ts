/**
 * Every CLI command module, in the order `--help` lists them. Modules load lazily: a
 * run of `athanor heads` imports the revision commands only, not the runtime, the
 * guards or autogenerate (start-up time is part of every command's cost).
 */
import type { CommandModule } from "../main.js";

type Loader = () => Promise<CommandModule>;

/**
 * One loader per command, in the order `--help` lists them. A run of a known command
 * registers that command alone (commander builds each command's options and help when it
 * is registered: the six other revision commands were ~1.5 ms of every `heads`).
 */
const LOADERS: [name: string, load: Loader][] = [
  ["init", async () => (await import("./init.js")).registerInit],
  ["env", async () => (await import("./env.js")).registerEnv],
  ["check", async () => (await import("./check.js")).registerCheck],
  ["shell-init", async () => (await import("./shell-init.js")).registerShellInit],
  ["lint", async () => (await import("./lint.js")).registerLint],
  ["backups", async () => (await import("./backups.js")).registerBackups],
  ["upgrade", async () => (await import("./migrate.js")).registerUpgrade],
  ["downgrade", async () => (await import("./migrate.js")).registerDowngrade],
  ["current", async () => (await import("./versions.js")).registerCurrent],
  ["stamp", async () => (await import("./versions.js")).registerStamp],
  ["resolve", async () => (await import("./versions.js")).registerResolve],
  ["repair", async () => (await import("./versions.js")).registerRepair],
  ["baseline", async () => (await import("./baseline.js")).registerBaseline],
  ["status", async () => (await import("./status.js")).registerStatus],
  ["log", async () => (await import("./log.js")).registerLog],
  ["diff", async () => (await import("./diff.js")).registerDiff],
  ["review", async () => (await import("./review.js")).registerReview],
  ["revision", async () => (await import("./revisions.js")).registerRevision],
  ["merge", async () => (await import("./revisions.js")).registerMerge],
  ["heads", async () => (await import("./revisions.js")).registerHeads],
  ["branches", async () => (await import("./revisions.js")).registerBranches],
  ["history", async () => (await import("./revisions.js")).registerHistory],
  ["show", async () => (await import("./revisions.js")).registerShow],
  ["graph", async () => (await import("./revisions.js")).registerGraph],
];

/** Every command name the CLI knows. */
export const COMMAND_NAMES: readonly string[] = LOADERS.map(([name]) => name);

/**
 * The modules to register: only the one that defines `command` when it is known,
 * every module otherwise (help, an unknown command, no command).
 */
export async function loadCommandModules(command: string | undefined): Promise<CommandModule[]> {
  const entry = command === undefined ? undefined : LOADERS.find(([name]) => name === command);
  const chosen = entry ? [entry] : LOADERS;
  return Promise.all(chosen.map(([, load]) => load()));
}
