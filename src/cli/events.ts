/**
 * Builds the event sink of a changing command (`upgrade`, `downgrade`, `stamp`,
 * `resolve`, `repair`) from the CLI's options (DESIGN.md §7):
 *
 * - the command's text renderer, when `--log-format text` (the default);
 * - JSON lines on stderr, when `--log-format json` (pino, loaded only then);
 * - OpenTelemetry spans and metrics, when `@opentelemetry/api` is installed;
 * - the progress line, on an interactive stderr only (not `--ci`/CI, `--json`, `--quiet`
 *   or `--log-format json`).
 *
 * Every byte goes through the secret scrubber.
 */
import type { ResolvedEnvironment } from "../config/types.js";
import { createJsonLogSink } from "../observe/json-log.js";
import { createOtelSink, otelRegistered } from "../observe/otel.js";
import { createProgress, type Progress } from "../observe/progress.js";
import { composeSinks } from "../observe/sinks.js";
import type { EventSink } from "../run/events.js";
import { knownSecrets, scrubSecrets } from "../secrets/redact.js";
import { VERSION } from "../version.js";
import type { CommandContext } from "./runtime.js";

/** The composed sink of one command, with what to do when the command stops early. */
export interface CliEventSink extends EventSink {
  /** Erases the progress line and stops its timer. Safe to call twice; also done on `command-end`. */
  close(): void;
}

/** Options of {@link createEventSink}. */
export interface CreateEventSinkOptions {
  /**
   * Whether the text renderer already writes one line per finished revision. When it
   * does not (or there is none), the progress display leaves those lines itself.
   * Default: true when a renderer is given.
   */
  readonly rendererPrintsRevisions?: boolean | undefined;
}

/** True when the progress line may be drawn: a person watches stderr and asked for nothing machine-readable. */
export function progressEnabled(ctx: CommandContext): boolean {
  const { globals } = ctx;
  return Boolean(ctx.io.stderr.isTTY) && !globals.ci && !globals.json && !globals.quiet && globals.logFormat === "text";
}

/** The terminal's width, when stderr knows it. */
function stderrColumns(ctx: CommandContext): number | undefined {
  const stream: unknown = ctx.io.stderr;
  const columns = typeof stream === "object" && stream !== null && "columns" in stream ? (stream as { columns: unknown }).columns : undefined;
  return typeof columns === "number" && columns > 0 ? columns : undefined;
}

/**
 * The sink a changing command passes to the runtime: `[renderer, jsonLog?, otel?, progress?]`.
 * @param renderer the command's text renderer (used with `--log-format text` only)
 * @example
 * const events = await createEventSink(ctx, env, renderText);
 * try { await upgrade(env, { target, events }); } finally { events.close(); }
 */
export async function createEventSink(ctx: CommandContext, env: ResolvedEnvironment, renderer?: EventSink, options: CreateEventSinkOptions = {}): Promise<CliEventSink> {
  const scrub = (text: string): string => scrubSecrets(knownSecrets.scrub(text), env.secrets);
  const json = ctx.globals.logFormat === "json";
  const jsonLog = json
    ? await createJsonLogSink({ write: (line) => ctx.io.stderr.write(scrub(line)), level: env.logLevel, toolVersion: VERSION, scrub })
    : null;
  // No SDK registered: spans would go nowhere, so the API is not even imported.
  const otel = otelRegistered() ? await createOtelSink({ toolVersion: VERSION, scrub }, ctx.io.env) : null;
  const text = json ? undefined : renderer;
  const inner = composeSinks(text, jsonLog, otel);
  let progress: Progress | null = null;
  if (progressEnabled(ctx)) {
    const c = ctx.colors;
    progress = createProgress({
      write: (chunk) => ctx.io.stderr.write(scrub(chunk)),
      columns: stderrColumns(ctx),
      doneLines: text === undefined || options.rendererPrintsRevisions === false,
      paint: { ok: c.green, failed: c.red, dim: c.dim },
    });
  }
  const sink: EventSink = progress === null ? inner : progress.wrap(inner);
  const close = (): void => progress?.stop();
  return Object.assign((event: Parameters<EventSink>[0]) => sink(event), { close });
}
