/**
 * Finds and loads the config file: `athanor.config.ts`, `.mts`, `.js`, `.mjs`, `.json`,
 * found by walking up from the working directory or given with `--config`.
 * TypeScript is loaded with jiti (lazily, src/config/user-module.ts: no readable copy
 * left on disk); `import ... from "athanor"` inside the config resolves to this very
 * copy of athanor, even when it is not installed in the project (npx, a global install).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { ConfigError, ProcessExitError } from "../errors.js";
import { findConfigFile } from "./find.js";
import type { AthanorConfig } from "./types.js";
import { importUserModule } from "./user-module.js";
import { redactUrl } from "../secrets/redact.js";
import { validateConfig } from "./validate.js";

export { CONFIG_FILE_NAMES, findConfigFile } from "./find.js";

export interface LoadedConfig {
  readonly file: string;
  readonly rootDir: string;
  readonly config: AthanorConfig;
}

/** Loads and validates a config file. Syntax and shape errors name the file. */
export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new ConfigError("config-not-found", `config file ${path} does not exist`, { hint: "Check the --config path, or run `athanor init` to create one." });
  }
  let raw: unknown;
  if (extname(path) === ".json") {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new ConfigError("unreadable-config", `config file ${path} cannot be read (${code})`, { hint: "Check the file's permissions (and its directory's) for the user that runs athanor." });
    }
    try {
      raw = JSON.parse(text);
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
      const message = error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
      // The config's own message may hold a URL it was building, password and all.
      throw new ConfigError("malformed-config", `${path} could not be loaded: ${redactUrl(message)}`, {
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
