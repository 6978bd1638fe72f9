/**
 * `athanor backups list`: the backups taken before protected runs, read from the backup
 * directory of every environment that has one (or of one environment). Needs no
 * database and resolves no variable: the directories come straight from the config.
 */
import { isAbsolute, resolve } from "node:path";
import type { LoadedConfig } from "../config/load.js";
import { listBackups, type BackupEntry } from "../guard/backup.js";

/** One backup, as `backups list` reports it. */
export interface BackupListing extends BackupEntry {
  /** The configured environment whose `backup.dir` holds it. */
  readonly directoryOf: readonly string[];
}

/**
 * Lists the backups of the project, newest first.
 * @param environment only this environment's backups (its own directory, its own files)
 * @example
 * const backups = await listProjectBackups(await loadConfig({ cwd: process.cwd() }));
 */
export async function listProjectBackups(project: LoadedConfig, environment?: string): Promise<{ directories: string[]; backups: BackupListing[] }> {
  const owners = new Map<string, string[]>();
  for (const [name, env] of Object.entries(project.config.environments)) {
    if (environment !== undefined && name !== environment) continue;
    const dir = env.backup?.dir;
    if (dir === undefined) continue;
    const absolute = isAbsolute(dir) ? dir : resolve(project.rootDir, dir);
    owners.set(absolute, [...(owners.get(absolute) ?? []), name]);
  }
  const backups: BackupListing[] = [];
  for (const [dir, names] of owners) {
    for (const entry of await listBackups(dir, environment)) backups.push({ ...entry, directoryOf: names });
  }
  backups.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.file.localeCompare(a.file));
  return { directories: [...owners.keys()], backups };
}
