/**
 * What every CLI command receives: the I/O streams, the global options, scrubbed
 * writers, the project's config and environments (loaded once, on demand), and the
 * abort signal that SIGINT/SIGTERM trip. Only src/cli/ prints; everything goes through
 * `out`/`err`, which mask every known secret.
 */
import { createRequire } from "node:module";
import type pc from "picocolors";
import { loadConfig, type LoadedConfig } from "../config/load.js";
import type { ResolvedEnvironment } from "../config/types.js";
import { parseDuration } from "../config/duration.js";
import { formatWait } from "../config/duration.js";
import { ConfigError } from "../errors.js";
import { knownSecrets } from "../secrets/redact.js";
import { escapeControlCharactersInJson } from "../control-characters.js";
import { formatMessageLine, plainText } from "../observe/message-line.js";
import { VERSION } from "../version.js";

// Loaded when first needed: the revision verbs never resolve an environment (nor read .env files).
const resolveEnvironment: typeof import("../config/resolve.js").resolveEnvironment = async (...args) => (await import("../config/resolve.js")).resolveEnvironment(...args);

/**
 * The input stream as the CLI uses it: `process.stdin` or any `stream.Readable` fits.
 * Structural, so that the published declarations need no Node.js types (@types/node).
 */
export interface CliInput {
  readonly isTTY?: boolean;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  read(size?: number): unknown;
}

/** The process's I/O, injectable so tests call `main(argv, io)` in-process. */
export interface CliIO {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  stdin: CliInput;
  /**
   * Whether standard input is a terminal, without building `stdin` (the process's stream
   * and the modules behind it, ~165 page faults, which only a prompt needs). Absent: `stdin.isTTY`.
   */
  stdinIsTTY?: () => boolean;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Tripped by SIGINT/SIGTERM; its reason is the signal name. */
  signal?: AbortSignal;
}

export interface GlobalOptions {
  env?: string;
  config?: string;
  json: boolean;
  logFormat: "text" | "json";
  quiet: boolean;
  verbose: boolean;
  yes: boolean;
  color: boolean;
  /** Milliseconds to wait for the migration lock. */
  lockWaitMs: number;
  /** CI mode: no prompts, no colours, no animation (`--ci` or CI=true). */
  ci: boolean;
  /** `--target` patterns: the fleet targets to run on (none: every target). */
  targets: string[];
}

export type Colors = ReturnType<typeof pc.createColors>;

/**
 * The colours of a run without them (not a terminal, --no-color, NO_COLOR, CI): every
 * style returns its text as a string, as picocolors' `createColors(false)` does, without
 * loading picocolors, whose evaluation reads `process.stdout.isTTY` and so builds Node's
 * stdout stream that a run writing to a file or pipe does without (src/cli/process-output.ts).
 */
const plainColors: Colors = new Proxy({ isColorSupported: false } as Colors, {
  get: (target, key) => (typeof key !== "string" || key in target || key === "then" ? (target as unknown as Record<string | symbol, unknown>)[key] : String),
});

/** picocolors' colours when `enabled` (a terminal, whose stream the CLI uses anyway, or FORCE_COLOR), else {@link plainColors}. */
function colorsFor(enabled: boolean): Colors {
  if (!enabled) return plainColors;
  return (createRequire(import.meta.url)("picocolors") as typeof import("picocolors")).createColors(true);
}

/** A command's view of the CLI. */
export class CommandContext {
  readonly colors: Colors;
  #project: Promise<LoadedConfig> | undefined;
  readonly #environments = new Map<string, Promise<ResolvedEnvironment>>();
  /** The selected environment's name once resolved, for JSON message lines. */
  #selectedName: string | undefined;

  constructor(
    readonly io: CliIO,
    readonly globals: GlobalOptions,
    /** The command being run (`upgrade`, `repair`...), when known. */
    readonly commandName?: string,
  ) {
    this.colors = colorsFor(globals.color);
  }

  get signal(): AbortSignal | undefined {
    return this.io.signal;
  }

  /**
   * How a read-only command waits for a PGlite directory another process has open
   * (`--lock-wait`, SIGINT/SIGTERM), saying once on stderr whom it waits for.
   */
  directoryWait(): { lockWaitMs: number; signal: AbortSignal | undefined; onLockWait: (holder: string) => void } {
    return {
      lockWaitMs: this.globals.lockWaitMs,
      signal: this.signal,
      onLockWait: (holder) => {
        if (!this.globals.quiet) this.err(this.colors.yellow(`waiting up to ${formatWait(this.globals.lockWaitMs)} for the PGlite database, open in ${holder}`));
      },
    };
  }

  /** True when a person can answer a prompt. */
  get interactive(): boolean {
    return (this.io.stdinIsTTY?.() ?? Boolean(this.io.stdin.isTTY)) && !this.globals.ci;
  }

  /** Writes to stdout, secrets masked. Adds a newline when missing. */
  out(text = ""): void {
    this.io.stdout.write(knownSecrets.scrub(text.endsWith("\n") ? text : `${text}\n`));
  }

  /** Writes to stderr, secrets masked. With `--log-format json`, as one JSON line (`"event":"message"`). */
  err(text = ""): void {
    if (this.globals.logFormat === "json") {
      // Scrubbed before JSON escaping (a secret holding `"` would escape the scrubber) and after.
      const msg = plainText(knownSecrets.scrub(text));
      if (msg !== "") this.io.stderr.write(knownSecrets.scrub(formatMessageLine({ level: "info", event: "message", msg, toolVersion: VERSION, fields: this.#selectedName === undefined ? {} : { environment: this.#selectedName } })));
      return;
    }
    this.io.stderr.write(knownSecrets.scrub(text.endsWith("\n") ? text : `${text}\n`));
  }

  /** Prints one JSON document on stdout. */
  json(document: unknown): void {
    this.out(escapeControlCharactersInJson(JSON.stringify(document, null, 2)));
  }

  /**
   * A command that works on one database, given a fleet: the one target `--target` names.
   * Without exactly one, refused, so that a fleet is never quietly reduced to one database.
   */
  async #oneDatabase(env: ResolvedEnvironment): Promise<ResolvedEnvironment> {
    if (env.fleet === null || this.commandName === undefined || FLEET_COMMANDS.has(this.commandName)) return env;
    const { fleetTargets } = await import("../commands/fleet.js");
    const chosen = this.globals.targets.length === 0 ? [] : await fleetTargets(env, this.globals.targets);
    if (chosen.length === 1) return chosen[0] as ResolvedEnvironment;
    throw new ConfigError("fleet-needs-one-target", `\`${this.commandName}\` works on one database, and environment "${env.name}" is a fleet${chosen.length > 1 ? ` (--target chose ${chosen.length} targets)` : ""}`, {
      hint: `Name one target: athanor --env ${env.name} --target NAME ${this.commandName} ...; upgrade, downgrade, stamp, current, status and check run over the whole fleet.`,
      details: { environment: env.name, command: this.commandName, chosen: chosen.length },
    });
  }

  /** The config file, found and loaded once. */
  project(): Promise<LoadedConfig> {
    this.#project ??= loadConfig({ cwd: this.io.cwd, configFile: this.globals.config });
    return this.#project;
  }

  /** Resolves an environment (the selected one when `name` is undefined), once per name. */
  environment(name?: string, flag?: string): Promise<ResolvedEnvironment> {
    const key = name ?? "\0selected";
    let pending = this.#environments.get(key);
    if (pending === undefined) {
      pending = this.project()
        .then((project) => resolveEnvironment(project, { environment: name ?? this.globals.env, processEnv: this.io.env, ...(name === undefined ? {} : { flag }) }))
        .then((env) => (name === undefined ? this.#oneDatabase(env) : env))
        .then((env) => {
          if (name === undefined) this.#selectedName = env.name;
          return env;
        });
      this.#environments.set(key, pending);
    }
    return pending;
  }
}

/** The commands that run over a fleet's targets themselves (src/cli/fleet.ts). */
const FLEET_COMMANDS = new Set(["upgrade", "downgrade", "stamp", "current", "status", "check", "env"]);

/** Parses `--lock-wait` (seconds, or with a unit). */
export function parseLockWait(value: string | undefined): number {
  return value === undefined ? 60_000 : parseDuration(value, "s", "--lock-wait");
}
