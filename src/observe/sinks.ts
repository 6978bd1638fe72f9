/**
 * Composing event sinks: one runtime event stream feeds the text renderer, the JSON log,
 * OpenTelemetry and the progress line at once.
 */
import type { EventSink, MigrationEvent } from "../run/events.js";

/** A sink, or nothing (a disabled output). */
export type OptionalSink = EventSink | null | undefined | false;

/**
 * One sink that calls every given sink in order. A sink that throws is skipped for
 * that event and the others still receive it (a broken exporter must not hide the
 * text log, nor fail a migration).
 * @example
 * const events = composeSinks(renderText, jsonLog, otel);
 */
export function composeSinks(...sinks: readonly OptionalSink[]): EventSink {
  const active = sinks.filter((sink): sink is EventSink => typeof sink === "function");
  if (active.length === 1) {
    const only = active[0] as EventSink;
    return (event) => {
      try {
        only(event);
      } catch {
        // See above: a sink must never break the run.
      }
    };
  }
  return (event: MigrationEvent) => {
    for (const sink of active) {
      try {
        sink(event);
      } catch {
        // See above.
      }
    }
  };
}

/** A sink that keeps every event, for tests and for library users who render afterwards. */
export function collectEvents(): { readonly sink: EventSink; readonly events: MigrationEvent[] } {
  const events: MigrationEvent[] = [];
  return { sink: (event) => events.push(event), events };
}
