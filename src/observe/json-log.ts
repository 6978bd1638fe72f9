/**
 * JSON-lines logs (`--log-format json`, DESIGN.md §7): every event becomes one line
 * written through pino, with the stable field set of {@link LogRecordFormatter}. pino is
 * loaded lazily, on the first call of {@link createJsonLogSink}: a text run never
 * imports it. The destination is a plain function, so the CLI passes its own stderr
 * writer, which scrubs every known secret from each line before it leaves the process.
 */
import type { EventSink, MigrationEvent } from "../run/events.js";
import type { LogLevel } from "../config/types.js";
import { LOG_LEVEL_RANK, LogRecordFormatter } from "./log-record.js";
import { escapeControlCharactersInJson } from "../control-characters.js";

/** Options of {@link createJsonLogSink}. */
export interface JsonLogOptions {
  /** Receives each line (with its trailing newline). Must not throw. */
  readonly write: (line: string) => void;
  /** Lowest level written (the environment's `logLevel`; default `info`). `echo` statements are always written. */
  readonly level?: LogLevel | undefined;
  /** athanor's version, written as `toolVersion` on every line. */
  readonly toolVersion: string;
  /**
   * Masks secrets in every string field before the line is serialised (JSON escaping
   * would otherwise hide a secret holding `"` or `\\` from a scrubber run on the line).
   */
  readonly scrub?: ((text: string) => string) | undefined;
}

/** Applies `scrub` to every string inside a JSON-like value. */
function scrubDeep(value: unknown, scrub: (text: string) => string): unknown {
  if (typeof value === "string") return scrub(value);
  if (Array.isArray(value)) return value.map((item: unknown) => scrubDeep(item, scrub));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = scrubDeep(item, scrub);
    return out;
  }
  return value;
}

/**
 * Builds a sink that writes one JSON line per event through pino.
 * @example
 * const sink = await createJsonLogSink({ write: (line) => process.stderr.write(line), toolVersion: VERSION });
 * await upgrade(env, { target: "head", events: sink });
 */
export async function createJsonLogSink(options: JsonLogOptions): Promise<EventSink> {
  const { pino } = await import("pino");
  const threshold = LOG_LEVEL_RANK[options.level ?? "info"];
  const logger = pino(
    {
      // Every event carries its own time; pino's would be a second, later one.
      timestamp: false,
      level: "trace",
      formatters: { level: (label: string) => ({ level: label }) },
    },
    // pino leaves DEL, C1, bidirectional and invisible characters raw, as JSON.stringify does.
    { write: (line: string) => options.write(escapeControlCharactersInJson(line)) },
  );
  const formatter = new LogRecordFormatter(options.toolVersion);
  return (event: MigrationEvent) => {
    const record = formatter.format(event);
    // `echo: true` asked for statements explicitly: they pass whatever the level.
    if (event.type !== "statement" && LOG_LEVEL_RANK[record.level] < threshold) return;
    const scrub = options.scrub;
    if (scrub === undefined) logger[record.level](record.fields, record.msg);
    else logger[record.level](scrubDeep(record.fields, scrub) as object, scrub(record.msg));
  };
}
