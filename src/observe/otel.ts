/**
 * OpenTelemetry (DESIGN.md §7): when `@opentelemetry/api` can be imported (an optional
 * peer dependency), the runtime's events become spans and metrics.
 *
 * - a span per command, `athanor.<command>` (`athanor.upgrade`, `athanor.downgrade`, ...),
 *   child of whatever span is active where the command started;
 * - a child span `athanor.revision` per revision, with its id, file, direction,
 *   duration, statement count and outcome; a failed revision records the exception and
 *   sets the status to ERROR (and so does its command);
 * - metrics: the counter `athanor.revisions.applied` and the histograms
 *   `athanor.migration.duration` (per revision) and `athanor.command.duration`, in ms.
 *
 * Nothing is loaded when the package is missing: {@link createOtelSink} imports it
 * dynamically inside a try/catch and returns `null`. Only the API is used: the
 * application (or `node --import ./otel-setup.mjs`) registers the SDK and exporters;
 * without one every call is a no-op.
 */
import type { Attributes, Context, Counter, Histogram, Span, Tracer } from "@opentelemetry/api";
import type { EventError, EventSink, MigrationEvent, Outcome } from "../run/events.js";

type OtelApi = typeof import("@opentelemetry/api");

/** Options of {@link createOtelSink}. */
export interface OtelSinkOptions {
  /** athanor's version: the tracer's and meter's version, and `athanor.tool_version`. */
  readonly toolVersion: string;
  /** Applied to every string attribute and exception message (the CLI's secret scrubber). */
  readonly scrub?: ((text: string) => string) | undefined;
}

/** The instrumentation scope name of athanor's tracer and meter. */
export const INSTRUMENTATION_NAME = "athanor";

let loaded: Promise<OtelApi | null> | undefined;

/**
 * Where `@opentelemetry/api` 1.x keeps what an application registered (tracer or meter
 * provider, context manager, propagator): a global any copy of the API shares.
 */
const OTEL_GLOBAL = Symbol.for("opentelemetry.js.api.1");

/**
 * True when something registered OpenTelemetry in this process (an SDK, e.g. through
 * `node --import ./otel-setup.mjs`). Without it every span would be a no-op, so the CLI
 * does not import the API at all (44 modules, a tenth of `upgrade`'s start-up).
 */
export function otelRegistered(): boolean {
  return OTEL_GLOBAL in globalThis;
}

/**
 * Imports `@opentelemetry/api` once; `null` when it is not installed (or when
 * `OTEL_SDK_DISABLED=true`, the standard switch, is given in `env`).
 */
function loadOtelApi(env: Readonly<Record<string, string | undefined>> = {}): Promise<OtelApi | null> {
  if (env["OTEL_SDK_DISABLED"]?.toLowerCase() === "true") return Promise.resolve(null);
  loaded ??= import("@opentelemetry/api").then(
    (api) => api,
    () => null,
  );
  return loaded;
}

/**
 * A sink that turns events into spans and metrics, or `null` when OpenTelemetry is not
 * installed. Cheap when no SDK is registered (the API's no-op tracer and meter).
 * @example
 * const otel = await createOtelSink({ toolVersion: VERSION });
 * await upgrade(env, { target: "head", events: composeSinks(renderer, otel) });
 */
export async function createOtelSink(options: OtelSinkOptions, env: Readonly<Record<string, string | undefined>> = {}): Promise<EventSink | null> {
  const api = await loadOtelApi(env);
  return api === null ? null : otelSink(api, options);
}

interface CommandState {
  readonly span: Span;
  readonly context: Context;
  readonly command: string;
}

/** A revision between its start and end events; its span exists once it has a start time. */
interface RevisionState {
  readonly attributes: Attributes;
  readonly parent: Context;
  /** Epoch milliseconds of the revision-start event. */
  readonly startedAt: number;
  span: Span | undefined;
}

/** Builds the sink from a loaded API (separate so the mapping reads without the loading). */
function otelSink(api: OtelApi, options: OtelSinkOptions): EventSink {
  const scrub = options.scrub ?? ((text: string) => text);
  const tracer: Tracer = api.trace.getTracer(INSTRUMENTATION_NAME, options.toolVersion);
  const meter = api.metrics.getMeter(INSTRUMENTATION_NAME, options.toolVersion);
  const applied: Counter = meter.createCounter("athanor.revisions.applied", {
    description: "Revisions applied (direction up) or reverted (direction down) successfully",
    unit: "{revision}",
  });
  const revisionDuration: Histogram = meter.createHistogram("athanor.migration.duration", {
    description: "Duration of one revision's migration, by direction and outcome",
    unit: "ms",
  });
  const commandDuration: Histogram = meter.createHistogram("athanor.command.duration", {
    description: "Duration of an athanor command (upgrade, downgrade, stamp...), by outcome",
    unit: "ms",
  });
  const commands = new Map<string, CommandState>();
  const revisions = new Map<string, RevisionState>();
  const key = (environment: string, revision: string): string => `${environment}\0${revision}`;
  // Epoch milliseconds with sub-millisecond precision, as span times accept them.
  const now = (): number => performance.timeOrigin + performance.now();
  /** Starts a revision's span (at most once), at the time it began. */
  const open = (state: RevisionState, startTime: number): Span => {
    state.span ??= tracer.startSpan("athanor.revision", { kind: api.SpanKind.INTERNAL, attributes: state.attributes, startTime }, state.parent);
    return state.span;
  };

  const fail = (span: Span, outcome: Outcome, error: EventError | undefined): void => {
    const message = scrub(error?.message ?? outcome);
    span.recordException({ name: error?.code ?? outcome, message, ...(error?.code === undefined ? {} : { code: error.code }) });
    span.setStatus({ code: api.SpanStatusCode.ERROR, message });
    if (error?.code !== undefined) span.setAttribute("error.type", error.code);
  };

  return (event: MigrationEvent) => {
    // One run per environment, or per fleet target: a fleet's targets run at once.
    const run = event.fleetTarget === undefined ? event.environment : `${event.environment}\u0001${event.fleetTarget}`;
    const base: Attributes = { "athanor.environment": event.environment, ...(event.fleetTarget === undefined ? {} : { "athanor.fleet.target": event.fleetTarget }), "db.system": "postgresql", "db.system.name": "postgresql" };
    const running = commands.get(run);
    switch (event.type) {
      case "command-start": {
        const span = tracer.startSpan(
          `athanor.${event.command}`,
          {
            kind: api.SpanKind.INTERNAL,
            attributes: { ...base, "athanor.command": event.command, "athanor.url": scrub(event.url), "athanor.mode": event.mode, "athanor.tool_version": options.toolVersion },
          },
          api.context.active(),
        );
        commands.set(run, { span, context: api.trace.setSpan(api.context.active(), span), command: event.command });
        return;
      }
      case "lock-wait":
        running?.span.addEvent("athanor.lock.wait", { "athanor.lock.holder": scrub(event.holder), "athanor.lock.wait_ms": event.waitMs });
        return;
      case "replica-wait":
        running?.span.addEvent("athanor.replica.wait", { "athanor.replica.standby": event.standby, "athanor.replica.lag_ms": event.lagMs ?? -1, "athanor.replica.max_ms": event.maxMs, "athanor.replica.done": event.done });
        return;
      case "lock-acquired":
        running?.span.addEvent("athanor.lock.acquired", { "athanor.lock.waited_ms": event.waitedMs });
        return;
      case "plan":
        running?.span.setAttributes({
          "athanor.direction": event.direction,
          "athanor.target": scrub(event.target),
          "athanor.current": [...event.current],
          "athanor.planned": event.revisions.length,
          "athanor.single_transaction": event.singleTransaction,
        });
        return;
      case "revision-start": {
        // The span starts lazily: quick revisions that share a round trip report their start
        // and end together, once it is back, and their span is placed by the measured duration.
        revisions.set(key(run, event.revision), {
          attributes: {
            ...base,
            ...(running === undefined ? {} : { "athanor.command": running.command }),
            "athanor.revision": event.revision,
            "athanor.revision.message": scrub(event.message),
            "athanor.file": event.file,
            "athanor.direction": event.direction,
            "athanor.transactional": event.transactional,
            "athanor.index": event.index,
            "athanor.total": event.total,
          },
          parent: running?.context ?? api.context.active(),
          startedAt: now(),
          span: undefined,
        });
        return;
      }
      case "statement": {
        const state = revisions.get(key(run, event.revision));
        const duration = event.durationMs;
        const span = state === undefined ? undefined : open(state, state.startedAt);
        span?.addEvent("athanor.statement", {
          "db.query.text": scrub(event.sql),
          ...(event.line === null ? {} : { "code.line.number": event.line }),
          ...(typeof duration === "number" ? { "athanor.duration_ms": duration } : {}),
        });
        return;
      }
      case "notice": {
        const state = revisions.get(key(run, event.revision));
        const span = state === undefined ? undefined : open(state, state.startedAt);
        span?.addEvent("athanor.notice", {
          "athanor.notice.severity": event.severity,
          "athanor.notice.message": scrub(event.message),
          ...(event.code === undefined ? {} : { "athanor.notice.code": event.code }),
        });
        return;
      }
      case "revision-end": {
        const k = key(run, event.revision);
        const state = revisions.get(k);
        revisions.delete(k);
        const statements = event.statements;
        const endTime = now();
        const attributes: Attributes = { "athanor.environment": event.environment, "athanor.direction": event.direction, "athanor.outcome": event.outcome };
        // An unknown duration (connection lost after the commit) is left out, not recorded as 0.
        if (event.durationMs !== null) revisionDuration.record(event.durationMs, attributes);
        if (event.outcome === "success") applied.add(1, { "athanor.environment": event.environment, "athanor.direction": event.direction });
        if (state === undefined) return;
        const span = open(state, event.durationMs === null ? state.startedAt : Math.min(state.startedAt, endTime - event.durationMs));
        span.setAttributes({ ...(event.durationMs === null ? {} : { "athanor.duration_ms": event.durationMs }), "athanor.outcome": event.outcome, ...(typeof statements === "number" ? { "athanor.statements": statements } : {}) });
        if (event.outcome !== "success") fail(span, event.outcome, event.error);
        else span.setStatus({ code: api.SpanStatusCode.OK });
        span.end(endTime);
        return;
      }
      case "command-end": {
        commands.delete(run);
        commandDuration.record(event.durationMs, { "athanor.environment": event.environment, "athanor.command": event.command, "athanor.outcome": event.outcome });
        // A revision left open (the runtime stopped without its end event) ends with its command.
        for (const [k, state] of revisions) {
          if (!k.startsWith(`${run}\0`)) continue;
          revisions.delete(k);
          const span = open(state, state.startedAt);
          fail(span, event.outcome === "success" ? "interrupted" : event.outcome, event.error);
          span.end();
        }
        if (running === undefined) return;
        running.span.setAttributes({
          "athanor.duration_ms": event.durationMs,
          "athanor.outcome": event.outcome,
          "athanor.completed": event.completed,
          ...(event.current === undefined ? {} : { "athanor.current": [...event.current] }),
        });
        if (event.outcome !== "success") fail(running.span, event.outcome, event.error);
        else running.span.setStatus({ code: api.SpanStatusCode.OK });
        running.span.end();
        return;
      }
    }
  };
}

/** An SDK object that can push out what it buffers (tracer and meter providers of the SDK). */
interface Flushable {
  forceFlush(): Promise<void>;
}

function flushable(value: unknown): Flushable | null {
  return typeof value === "object" && value !== null && "forceFlush" in value && typeof (value as { forceFlush: unknown }).forceFlush === "function" ? (value as Flushable) : null;
}

/**
 * Pushes out buffered spans and metrics before the CLI process exits (a batch span
 * processor would otherwise lose the run's spans). Does nothing when OpenTelemetry was
 * never loaded or no SDK is registered; never throws; gives up after `timeoutMs`.
 * Library users own their SDK and call its `shutdown()` themselves.
 */
export async function flushTelemetry(timeoutMs = 5_000): Promise<void> {
  if (loaded === undefined) return;
  const api = await loaded;
  if (api === null) return;
  const tracerProvider: unknown = api.trace.getTracerProvider();
  const delegate: unknown =
    typeof tracerProvider === "object" && tracerProvider !== null && "getDelegate" in tracerProvider ? (tracerProvider as { getDelegate(): unknown }).getDelegate() : tracerProvider;
  const targets = [flushable(delegate), flushable(api.metrics.getMeterProvider())].filter((target): target is Flushable => target !== null);
  if (targets.length === 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref?.();
  });
  try {
    await Promise.race([Promise.allSettled(targets.map((target) => target.forceFlush())), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
