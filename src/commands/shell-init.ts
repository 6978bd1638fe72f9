/**
 * `athanor shell-init`: shell functions like the guide's helper script:
 * `athanor-<env>` per environment, `athanor-dev`/`-test`/`-prod` where the aliases
 * apply, `athanor-check`, `athanor-status`, `athanor-help`. Pure.
 */
import { ConfigError } from "../errors.js";
import { ALIASES } from "../config/resolve.js";

export type Shell = "bash" | "zsh" | "fish";

export const SHELLS: readonly Shell[] = ["bash", "zsh", "fish"];

/** Single-quotes a word for POSIX shells and fish. */
function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Function name → environment, in a stable order. */
export function shellFunctions(environments: readonly string[]): [string, string][] {
  const pairs: [string, string][] = environments.map((env) => [`athanor-${env}`, env]);
  for (const [alias, full] of Object.entries(ALIASES)) {
    if (environments.includes(full) && !environments.includes(alias)) pairs.push([`athanor-${alias}`, full]);
  }
  return pairs;
}

/**
 * Renders the script. `command` is how to run athanor (absolute paths of node and
 * the CLI script, so the functions work without athanor on PATH).
 */
export function renderShellInit(shell: string, environments: readonly string[], command: readonly string[], configFile: string): string {
  if (!SHELLS.includes(shell as Shell)) {
    throw new ConfigError("unknown-shell", `unknown shell "${shell}"`, { hint: `Use one of: ${SHELLS.join(", ")}.` });
  }
  const run = command.map(quote).join(" ");
  const config = `--config ${quote(configFile)}`;
  const functions = shellFunctions(environments);
  const help = [
    "athanor helpers:",
    ...functions.map(([fn, env]) => `  ${fn} <command>   athanor --env ${env} <command>`),
    "  athanor-check      check every environment (athanor check --all)",
    "  athanor-status     status of every environment",
    "  athanor-help       this list",
  ];
  if (shell === "fish") {
    const lines = ["# athanor helpers for fish: npx athanor shell-init fish | source"];
    for (const [fn, env] of functions) lines.push(`function ${fn}; ${run} ${config} --env ${quote(env)} $argv; end`);
    lines.push(`function athanor-check; ${run} ${config} check --all $argv; end`);
    lines.push(`function athanor-status; ${run} ${config} status $argv; end`);
    lines.push(`function athanor-help; printf '%s\\n' ${help.map(quote).join(" ")}; end`);
    return `${lines.join("\n")}\n`;
  }
  const lines = [`# athanor helpers for ${shell}: eval "$(npx athanor shell-init ${shell})"`];
  for (const [fn, env] of functions) lines.push(`${fn}() { ${run} ${config} --env ${quote(env)} "$@"; }`);
  lines.push(`athanor-check() { ${run} ${config} check --all "$@"; }`);
  lines.push(`athanor-status() { ${run} ${config} status "$@"; }`);
  lines.push(`athanor-help() { printf '%s\\n' ${help.map(quote).join(" ")}; }`);
  return `${lines.join("\n")}\n`;
}
