/**
 * Finds and loads the config file: `athanor.config.ts`, `.mts`, `.js`, `.mjs`, `.json`,
 * found by walking up from the working directory or given with `--config`.
 * TypeScript is loaded with jiti (lazily, src/config/user-module.ts: no readable copy
 * left on disk); `import ... from "athanor"` inside the config resolves to this very
 * copy of athanor, even when it is not installed in the project (npx, a global install).
 */
import { closeSync, fstatSync, lstatSync, openSync, readFileSync, readlinkSync } from "node:fs";
import { describeFsError, errnoCode } from "../fs-errors.js";
import { dirname, extname, join, resolve } from "node:path";
import { ConfigError, ProcessExitError } from "../errors.js";
import { findConfigFile } from "./find.js";
import type { AthanorConfig } from "./types.js";
import { importUserModule, loadFailureLine } from "./user-module.js";
import { redactUrl } from "../secrets/redact.js";
import { validateConfig } from "./validate.js";

export { CONFIG_FILE_NAMES, findConfigFile } from "./find.js";

export interface LoadedConfig {
  readonly file: string;
  readonly rootDir: string;
  readonly config: AthanorConfig;
}

/** A config file that exists (or may) but cannot be read, told as what it is: permission denied, a symbolic link loop... */
export function unreadableConfig(path: string, error: unknown): ConfigError {
  const problem = describeFsError(error);
  return new ConfigError("unreadable-config", `cannot read config file ${path}: ${problem.reason}${problem.code === null ? "" : ` (${problem.code})`}`, {
    hint: `${problem.fix[0]?.toUpperCase() ?? ""}${problem.fix.slice(1)}.`,
    details: { file: path, errno: problem.code },
  });
}

/** Loads and validates a config file. Syntax and shape errors name the file. */
export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  const path = resolve(file);
  const json = extname(path) === ".json";
  // A JSON config's text, read from the descriptor opened here (one open, not two).
  let jsonText: string | undefined;
  try {
    // Opened, not only stat'ed: a file athanor may not read is told as such before jiti or import() gives its own error.
    const fd = openSync(path, "r");
    let directory: boolean;
    try {
      directory = fstatSync(fd).isDirectory();
      if (json && !directory) jsonText = readFileSync(fd, "utf8");
    } finally {
      closeSync(fd);
    }
    if (directory) {
      throw new ConfigError("config-not-found", `${path} is a directory, not a config file`, {
        hint: `Pass the file itself (--config ${join(file, "athanor.config.ts")}), or run athanor in that directory without --config.`,
      });
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    if (errnoCode(error) === "ENOENT") {
      const link = lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() === true ? readlinkSync(path) : null;
      const what = link === null ? "does not exist" : `is a symbolic link to ${link}, which does not exist`;
      throw new ConfigError("config-not-found", `config file ${path} ${what}`, { hint: "Check the --config path, or run `athanor init` to create one." });
    }
    throw unreadableConfig(path, error);
  }
  let raw: unknown;
  if (jsonText !== undefined) {
    try {
      raw = JSON.parse(jsonText);
    } catch (error) {
      throw new ConfigError("malformed-config", `${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, {
        hint: "Fix the JSON syntax (a trailing comma or a missing quote is the usual cause).",
      });
    }
  } else {
    let exports: Record<string, unknown>;
    try {
      exports = (await importUserModule(path, { projectDir: dirname(path) })) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof ProcessExitError) throw error;
      // The config's own message may hold a URL it was building, password and all.
      throw new ConfigError("malformed-config", `${path} could not be loaded: ${redactUrl(loadFailureLine(error))}`, {
        hint: "Fix the error in the config file; it must `export default defineConfig({...})`.",
      });
    }
    raw = "default" in exports ? exports["default"] : exports;
  }
  return { file: path, rootDir: dirname(path), config: validateConfig(raw, path) };
}

/** Finds (or takes) the config file and loads it. */
export async function loadConfig(options: { cwd: string; configFile?: string | undefined }): Promise<LoadedConfig> {
  const file = options.configFile !== undefined ? resolve(options.cwd, options.configFile) : findConfigFile(options.cwd);
  if (file === undefined) {
    throw new ConfigError("config-not-found", `no athanor config file in ${options.cwd} or any directory above it`, {
      hint: "Run `athanor init` to create athanor.config.ts, or pass --config path/to/athanor.config.ts.",
    });
  }
  return loadConfigFile(file);
}
