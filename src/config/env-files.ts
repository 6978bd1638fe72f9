/**
 * The `.env` layering of DESIGN.md §3, lowest priority first: `.env`, `.env.local`,
 * the environment's `envFile` (default `.env.<name>`, plus `.env.test` for `testing`),
 * `.env.<name>.local`, then the real process environment, which always wins. A file that
 * `envFile` names must exist; the others are read when they do.
 * Files are parsed with python-dotenv's rules (dotenv-parse.ts; nothing is written to
 * process.env, and nothing is expanded here; see expand.ts).
 */
import { readFileSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { parse as parseWithNodeDotenv } from "dotenv";
import { dotenvValues, parseDotenv } from "./dotenv-parse.js";
import type { VariableValue } from "./expand.js";
import { ConfigError } from "../errors.js";
import { describeFsError, errnoCode } from "../fs-errors.js";

export interface EnvFileInfo {
  readonly file: string;
  readonly exists: boolean;
  /** File mode bits, when it exists (for the group/other-readable warning of `check`). */
  readonly mode?: number;
  /** Names of the variables it sets. */
  readonly variables: readonly string[];
  /** Variables that Node's dotenv would read with another value (or not at all), for a warning. */
  readonly dotenvDifferences?: readonly string[];
}

export interface EnvLayers {
  readonly variables: ReadonlyMap<string, VariableValue>;
  readonly files: readonly EnvFileInfo[];
}

/** The files read for an environment, in increasing priority. */
export function envFileNames(environment: string, envFile: string | readonly string[] | undefined): string[] {
  const specific = envFile === undefined ? defaultEnvFiles(environment) : typeof envFile === "string" ? [envFile] : [...envFile];
  const names = [".env", ".env.local", ...specific, `.env.${environment}.local`];
  return [...new Set(names)];
}

/** The .env file a user writes an environment's own variables into: `.env.test` for testing (as the guide names it), `.env.production`, or the configured `envFile`. */
export function ownEnvFileName(environment: string, envFile: string | readonly string[] | undefined): string {
  if (envFile !== undefined) return (typeof envFile === "string" ? envFile : envFile[0]) ?? `.env.${environment}`;
  const defaults = defaultEnvFiles(environment);
  return (environment === "testing" ? defaults.at(-1) : defaults[0]) ?? `.env.${environment}`;
}

function defaultEnvFiles(environment: string): string[] {
  // The guide names the testing file `.env.test`; `.env.testing` works too.
  if (environment === "testing") return [".env.testing", ".env.test"];
  if (environment === "development") return [".env.development", ".env.dev"];
  if (environment === "production") return [".env.production", ".env.prod"];
  return [`.env.${environment}`];
}

/** A variable whose line the parser could not read (python-dotenv skips it): using it is an error naming the line. */
export interface MalformedValue {
  /** 1-based line of its (last) definition. */
  readonly line: number;
  readonly message: string;
}

/** One variable of a .env file. `expand: false` for single-quoted values (literal, as python-dotenv reads them). */
export interface EnvFileValue {
  readonly value: string;
  readonly expand: boolean;
}

/**
 * Reads one .env file with python-dotenv's rules (src/config/dotenv-parse.ts); a missing
 * file is reported, not an error (whether it may be missing is the caller's call). Also
 * lists the variables Node's dotenv would read differently, for the warning of `check`.
 * @throws ConfigError `unreadable-env-file` (exit 2) when the file is there but cannot be
 *   read (permission denied, a directory, a symbolic link loop): skipped, its variables
 *   would silently come from elsewhere or be unset. `usedBy` says for what it was read.
 */
export function readEnvFile(path: string, usedBy: string): { info: EnvFileInfo; values: Record<string, EnvFileValue>; malformed: Record<string, MalformedValue> } {
  let text: string;
  let mode: number;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return { info: { file: path, exists: false, variables: [] }, values: {}, malformed: {} };
    const problem = describeFsError(error);
    throw new ConfigError("unreadable-env-file", `cannot read the .env file ${path} (${usedBy}): ${problem.reason}${problem.code === null ? "" : ` (${problem.code})`}`, {
      hint: `${problem.fix[0]?.toUpperCase() ?? ""}${problem.fix.slice(1)}.`,
      details: { file: path, errno: problem.code },
    });
  }
  const parsed = parseDotenv(text);
  const values: Record<string, EnvFileValue> = {};
  for (const [key, entry] of Object.entries(dotenvValues(parsed))) values[key] = { value: entry.value, expand: entry.expand };
  const malformed: Record<string, MalformedValue> = {};
  for (const problem of parsed.problems) {
    if (problem.key !== null && values[problem.key] === undefined) malformed[problem.key] = { line: problem.line, message: problem.message };
  }
  const node = parseWithNodeDotenv(text);
  const dotenvDifferences = [...new Set([...Object.keys(values), ...Object.keys(node)])].filter((key) => node[key] !== values[key]?.value).sort();
  return { info: { file: path, exists: true, mode, variables: Object.keys(values), dotenvDifferences }, values, malformed };
}

/**
 * Loads the layers for one environment. `rootDir` is the config file's directory,
 * `configFile` its name as shown in messages.
 * @throws ConfigError `missing-env-file` (exit 2) when a file the environment's `envFile`
 *   names does not exist: the defaults (`.env`, `.env.local`, `.env.<name>`,
 *   `.env.<name>.local`) are optional, a file the config asks for is not, or a typo in its
 *   name would let the variables come from the shell or nowhere.
 */
export function loadEnvLayers(
  rootDir: string,
  environment: string,
  envFile: string | readonly string[] | undefined,
  processEnv: Readonly<Record<string, string | undefined>>,
  configFile: string,
): EnvLayers {
  const variables = new Map<string, VariableValue>();
  const files: EnvFileInfo[] = [];
  const required = new Set(envFile === undefined ? [] : typeof envFile === "string" ? [envFile] : envFile);
  for (const name of envFileNames(environment, envFile)) {
    const path = resolve(rootDir, name);
    const { info, values, malformed } = readEnvFile(path, `environment "${environment}"`);
    if (!info.exists && required.has(name)) {
      throw new ConfigError("missing-env-file", `the .env file ${path} does not exist; environments.${environment}.envFile in ${configFile} names it (environment "${environment}")`, {
        hint: `Create it, or fix or remove environments.${environment}.envFile in ${configFile} (without envFile, athanor reads .env.${environment} when it exists).`,
        details: { file: path, environment, setting: `environments.${environment}.envFile` },
      });
    }
    files.push(info);
    const file = basename(path) === name ? name : path;
    for (const [key, problem] of Object.entries(malformed)) variables.set(key, { value: "", source: { kind: "env-file", file, variable: key }, expand: false, problem });
    for (const [key, entry] of Object.entries(values)) {
      variables.set(key, { value: entry.value, source: { kind: "env-file", file, variable: key }, expand: entry.expand });
    }
  }
  for (const [key, value] of Object.entries(processEnv)) {
    if (value !== undefined) variables.set(key, { value, source: { kind: "process-env", variable: key }, expand: false });
  }
  return { variables, files };
}
