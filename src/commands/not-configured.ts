/**
 * "Not configured yet": an environment whose url cannot be resolved only because
 * variables it uses are unset (a fresh project's testing and production, before their
 * .env files exist). `status` and `check --all` show it with the variables to set
 * instead of failing the whole command; `check --env NAME` still fails on it.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { LoadedConfig } from "../config/load.js";
import { ownEnvFileName } from "../config/env-files.js";
import { unsetUrlVariables } from "../config/resolve.js";
import { isAthanorError } from "../errors.js";

/** An environment not configured yet: the variables to set and the sentence that says so. */
export interface NotConfigured {
  readonly variables: readonly string[];
  /** `not configured yet: set DB_PASSWORD, DB_HOST, DB_NAME (in the environment, or in .env.production)` */
  readonly message: string;
  /** How to configure it: where the variables go (never a default password in the config). */
  readonly fix: string;
}

/** The environment's "not configured yet" when `error` (from resolving it) is an unset variable; null otherwise. */
export function notConfigured(project: LoadedConfig, environment: string, error: unknown, processEnv?: Readonly<Record<string, string | undefined>>): NotConfigured | null {
  if (!isAthanorError(error) || error.code !== "unset-variable") return null;
  const variables = unsetUrlVariables(project, environment, processEnv);
  if (variables.length === 0) return null;
  const file = ownEnvFileName(environment, project.config.environments[environment]?.envFile);
  const example = existsSync(join(project.rootDir, `${file}.example`)) ? ` (copy ${file}.example and fill it in)` : "";
  return {
    variables,
    message: `not configured yet: set ${variables.join(", ")} (in the environment, or in ${file})`,
    fix: `Export ${variables.join(", ")} where this environment runs, or write them into ${file}${example}, mode 0600 and out of git; a password never gets a default in the config.`,
  };
}
