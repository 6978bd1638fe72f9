/**
 * The `.env` layering of DESIGN.md §3, lowest priority first: `.env`, `.env.local`,
 * the environment's `envFile` (default `.env.<name>`, plus `.env.test` for `testing`),
 * `.env.<name>.local`, then the real process environment, which always wins.
 * Files are parsed with dotenv (parse only: nothing is written to process.env, and
 * nothing is expanded here; see expand.ts).
 */
import { readFileSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { parse } from "dotenv";
import type { VariableValue } from "./expand.js";

export interface EnvFileInfo {
  readonly file: string;
  readonly exists: boolean;
  /** File mode bits, when it exists (for the group/other-readable warning of `check`). */
  readonly mode?: number;
  /** Names of the variables it sets. */
  readonly variables: readonly string[];
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

function defaultEnvFiles(environment: string): string[] {
  // The guide names the testing file `.env.test`; `.env.testing` works too.
  if (environment === "testing") return [".env.testing", ".env.test"];
  if (environment === "development") return [".env.development", ".env.dev"];
  if (environment === "production") return [".env.production", ".env.prod"];
  return [`.env.${environment}`];
}

/** Reads one .env file; a missing file is reported, not an error. */
export function readEnvFile(path: string): { info: EnvFileInfo; values: Record<string, string> } {
  let text: string;
  let mode: number;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, "utf8");
  } catch {
    return { info: { file: path, exists: false, variables: [] }, values: {} };
  }
  const values = parse(text);
  return { info: { file: path, exists: true, mode, variables: Object.keys(values) }, values };
}

/** Loads the layers for one environment. `rootDir` is the config file's directory. */
export function loadEnvLayers(
  rootDir: string,
  environment: string,
  envFile: string | readonly string[] | undefined,
  processEnv: Readonly<Record<string, string | undefined>>,
): EnvLayers {
  const variables = new Map<string, VariableValue>();
  const files: EnvFileInfo[] = [];
  for (const name of envFileNames(environment, envFile)) {
    const path = resolve(rootDir, name);
    const { info, values } = readEnvFile(path);
    files.push(info);
    for (const [key, value] of Object.entries(values)) {
      variables.set(key, { value, source: { kind: "env-file", file: basename(path) === name ? name : path, variable: key }, expand: true });
    }
  }
  for (const [key, value] of Object.entries(processEnv)) {
    if (value !== undefined) variables.set(key, { value, source: { kind: "process-env", variable: key }, expand: false });
  }
  return { variables, files };
}
