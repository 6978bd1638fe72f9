/**
 * The `settings` module of a config (the guide's Pydantic settings): a TypeScript or
 * JavaScript file whose `databaseUrl` (or `DATABASE_URL`) export — a string, or a
 * function of the environment's name, sync or async — gives the URL of an environment
 * that has none of its own.
 *
 * It is user code, so it is held to a deadline: a module whose top-level code or whose
 * `databaseUrl()` never settles would otherwise leave athanor waiting forever, or —
 * with nothing else keeping Node alive — end the process with status 13 and no word.
 * The pending timer keeps the process alive until the deadline, which is
 * {@link DEFAULT_SETTINGS_TIMEOUT_MS} unless `ATHANOR_SETTINGS_TIMEOUT` (a duration:
 * `30s`, `2m`, `500ms`; a bare number is seconds) says otherwise. A module that throws or
 * does not settle in time is a configuration error (exit 2) naming it; one that calls
 * `process.exit` under the CLI is a ProcessExitError (exit 1) naming it.
 */
import { isAbsolute, resolve } from "node:path";
import { ConfigError, ProcessExitError } from "../errors.js";
import { parseDuration } from "./duration.js";
import { importUserModule, loadFailureLine } from "./user-module.js";
import { redactUrl } from "../secrets/redact.js";

/** How long a settings module may take to load and give its URL, by default (10 s). */
export const DEFAULT_SETTINGS_TIMEOUT_MS = 10_000;

/** The variable that changes {@link DEFAULT_SETTINGS_TIMEOUT_MS}. */
export const SETTINGS_TIMEOUT_VARIABLE = "ATHANOR_SETTINGS_TIMEOUT";

/** The exports read, in order. */
const URL_EXPORTS = ["databaseUrl", "DATABASE_URL"] as const;

/** What the settings module gave. */
export interface SettingsUrl {
  readonly value: string;
  readonly exportName: (typeof URL_EXPORTS)[number];
}

/** The deadline from `ATHANOR_SETTINGS_TIMEOUT`'s value (undefined: the default). */
export function settingsTimeoutMs(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return DEFAULT_SETTINGS_TIMEOUT_MS;
  return parseDuration(value, "s", SETTINGS_TIMEOUT_VARIABLE);
}

/** Settles with `work`, or rejects with `onTimeout()` after `ms`; the timer keeps the process alive meanwhile. */
function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** The first line of the module's error, its URLs' passwords masked: it may hold the URL the module was building. */
function firstLine(error: unknown): string {
  return redactUrl(loadFailureLine(error));
}

/**
 * Loads the settings module and asks it for `environment`'s URL; null when it exports
 * none (or an empty string).
 * @param settings the `settings` value of the config, relative to `rootDir`
 * @throws ConfigError (exit 2) the module cannot be loaded, its `databaseUrl()` throws, or either takes longer than `timeoutMs`
 * @throws ProcessExitError (exit 1) it called `process.exit` (under the CLI)
 * @example
 * const url = await readSettingsUrl("./settings.ts", "/app", "production", 10_000);
 */
export async function readSettingsUrl(settings: string, rootDir: string, environment: string, timeoutMs: number): Promise<SettingsUrl | null> {
  const file = isAbsolute(settings) ? settings : resolve(rootDir, settings);
  const timedOut = (what: string) => () =>
    new ConfigError("settings-timeout", `the settings module ${settings} did not ${what} within ${timeoutMs / 1000} s (environment "${environment}")`, {
      hint: `Make sure every promise in ${settings} settles (a connection or a secret-manager call without a timeout?), or allow it more time with ${SETTINGS_TIMEOUT_VARIABLE}=30s.`,
      details: { file: settings, environment, timeoutMs },
    });

  let exports: Record<string, unknown>;
  try {
    exports = (await withDeadline(importUserModule(file, { projectDir: rootDir }), timeoutMs, timedOut("load"))) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof ProcessExitError || error instanceof ConfigError) throw error;
    throw new ConfigError("settings-unloadable", `the settings module ${settings} could not be loaded: ${firstLine(error)}`, {
      hint: "Fix the module, or give the environment its own url.",
      details: { file: settings, environment },
    });
  }
  for (const exportName of URL_EXPORTS) {
    let value = exports[exportName];
    if (value === undefined && typeof exports["default"] === "object" && exports["default"] !== null) {
      value = (exports["default"] as Record<string, unknown>)[exportName];
    }
    if (typeof value === "function") {
      const call = value as (env: string) => unknown;
      try {
        // A synchronous throw and a rejected promise are the same failure.
        value = await withDeadline(Promise.resolve().then(() => call(environment)), timeoutMs, timedOut(`give a URL from ${exportName}()`));
      } catch (error) {
        if (error instanceof ProcessExitError || error instanceof ConfigError) throw error;
        throw new ConfigError("settings-failed", `${exportName}() of the settings module ${settings} failed for environment "${environment}": ${firstLine(error)}`, {
          hint: `Fix ${exportName} in ${settings}, or give environments.${environment}.url in the config.`,
          details: { file: settings, environment, exportName },
        });
      }
    }
    if (typeof value === "string" && value !== "") return { value, exportName };
  }
  return null;
}
