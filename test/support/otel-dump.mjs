// Loaded with `node --import` into a spawned athanor: registers a tracer provider that
// appends every finished span (name, attributes, events) as a JSON line to
// $ATHANOR_TEST_OTEL_FILE, so a test can read the OpenTelemetry attributes a real run set.
import { appendFileSync } from "node:fs";
import { trace } from "@opentelemetry/api";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";

const file = process.env.ATHANOR_TEST_OTEL_FILE;
if (file) {
  const processor = {
    onStart() {},
    onEnd(span) {
      appendFileSync(file, `${JSON.stringify({ name: span.name, attributes: span.attributes, events: span.events.map((event) => ({ name: event.name, attributes: event.attributes })), status: span.status })}\n`);
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [processor] }));
}
