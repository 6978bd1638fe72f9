/** Durations as users write them: `90`, `90s`, `2m`, `15min`, `1h`, `500ms`, and as messages show them. Pure. */
import { ConfigError } from "../errors.js";

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000, sec: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hour: 3_600_000, hours: 3_600_000,
};

/**
 * Parses a duration to milliseconds. A bare number is in `bareUnit` ("s" for
 * `--lock-wait`, "ms" for `lockTimeout` as PostgreSQL reads it).
 */
export function parseDuration(input: string | number, bareUnit: "ms" | "s", where: string): number {
  if (typeof input === "number") {
    if (!Number.isFinite(input) || input < 0) throw badDuration(String(input), where);
    return Math.round(input * (bareUnit === "s" ? 1000 : 1));
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(input);
  if (!match) throw badDuration(input, where);
  const amount = Number(match[1]);
  const unit = (match[2] ?? "").toLowerCase();
  const factor = unit === "" ? (bareUnit === "s" ? 1000 : 1) : UNITS[unit];
  if (factor === undefined) throw badDuration(input, where);
  return Math.round(amount * factor);
}

function badDuration(input: string, where: string): ConfigError {
  return new ConfigError("malformed-duration", `${where}: "${input}" is not a duration`, {
    hint: "Write a number with a unit: 500ms, 5s, 2m, 15min, 1h.",
  });
}

/**
 * `1 s`, `1500 ms`: a wait as messages show it. Here, not beside the lock polling that
 * uses it, because the CLI's runtime shows it too and must not load a dialect module for
 * a command that opens no database (`heads`).
 */
export function formatWait(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
