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

/** A variable whose line dotenv read in a way the author surely did not mean. */
export interface MalformedValue {
  /** 1-based line of its (last) definition. */
  readonly line: number;
  readonly message: string;
}

/** Reads one .env file; a missing file is reported, not an error. */
export function readEnvFile(path: string): { info: EnvFileInfo; values: Record<string, string>; malformed: Record<string, MalformedValue> } {
  let text: string;
  let mode: number;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, "utf8");
  } catch {
    return { info: { file: path, exists: false, variables: [] }, values: {}, malformed: {} };
  }
  const values = parse(text);
  return { info: { file: path, exists: true, mode, variables: Object.keys(values) }, values, malformed: findUnclosedQuotes(text, values) };
}

const QUOTES = new Set(['"', "'", "`"]);

/**
 * Values that open a quote dotenv did not close: it keeps the quote as part of the
 * value (`DB_PASSWORD="secret` gives `"secret`, and a comment after it is dropped), so
 * the password sent is not the one written. A properly quoted value never starts with
 * its own quote once parsed. Values are never part of the result, only lines.
 */
export function findUnclosedQuotes(text: string, values: Readonly<Record<string, string>>): Record<string, MalformedValue> {
  const suspects = Object.entries(values).filter(([, value]) => QUOTES.has(value.charAt(0)));
  if (suspects.length === 0) return {};
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const malformed: Record<string, MalformedValue> = {};
  for (const [key, value] of suspects) {
    const definition = new RegExp(`^\\s*(?:export\\s+)?${key.replace(/[.\\-]/g, "\\$&")}(?:\\s*=\\s*|:\\s+)(.?)`);
    for (let i = lines.length - 1; i >= 0; i--) {
      const match = definition.exec(lines[i] as string);
      if (match === null) continue;
      if (match[1] === value.charAt(0)) malformed[key] = { line: i + 1, message: `the value opens a ${value.charAt(0)} quote that is not closed at the end of its line` };
      break;
    }
  }
  return malformed;
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
    const { info, values, malformed } = readEnvFile(path);
    files.push(info);
    for (const [key, value] of Object.entries(values)) {
      variables.set(key, { value, source: { kind: "env-file", file: basename(path) === name ? name : path, variable: key }, expand: true, problem: malformed[key] });
    }
  }
  for (const [key, value] of Object.entries(processEnv)) {
    if (value !== undefined) variables.set(key, { value, source: { kind: "process-env", variable: key }, expand: false });
  }
  return { variables, files };
}
