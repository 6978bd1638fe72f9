/**
 * OpenTelemetry (DESIGN.md §7): the spans and metrics of an upgrade of three revisions,
 * the third failing, through the CLI on PostgreSQL and through the library on PGlite.
 * The SDK is the one an application would register: BasicTracerProvider with an
 * InMemorySpanExporter, AsyncLocalStorageContextManager for parents.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { context, createNoopMeter, metrics, SpanStatusCode, trace, type Attributes, type Counter, type Histogram, type Meter, type MeterProvider } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { baseEnv, runCli } from "./support/cli.js";
import type { TestDatabase } from "./support/databases.js";
import { GUARD_PASSWORD, createGuardProject, createGuardRole, createOwnedDatabase, guardUrlTemplate, writeRevision, type GuardProject } from "./support/guard-project.js";
import { loadConfig } from "../src/config/load.js";
import { resolveEnvironment } from "../src/config/resolve.js";
import { upgrade } from "../src/commands/upgrade.js";
import { createOtelSink } from "../src/observe/otel.js";
import { VERSION } from "../src/version.js";

const R1 = "0a1b2c3d4e5f";
const R2 = "1b2c3d4e5f60";
const R3 = "2c3d4e5f6071";
const REVISIONS = [
  { id: R1, down: null, message: "create widgets", upgrade: "CREATE TABLE widgets (id int PRIMARY KEY);", downgrade: "DROP TABLE widgets;" },
  { id: R2, down: R1, message: "add widget names", upgrade: "ALTER TABLE widgets ADD COLUMN name text;", downgrade: "ALTER TABLE widgets DROP COLUMN name;" },
  { id: R3, down: R2, message: "reference a missing table", upgrade: "INSERT INTO gadgets VALUES (1);" },
];

/** Metric calls, as a fake MeterProvider records them. */
interface Recorded {
  readonly instrument: string;
  readonly kind: "counter" | "histogram";
  readonly value: number;
  readonly attributes: Attributes;
}

function recordingMeterProvider(recorded: Recorded[]): MeterProvider {
  const meter: Meter = createNoopMeter();
  const counter = (name: string): Counter => ({ add: (value, attributes = {}) => void recorded.push({ instrument: name, kind: "counter", value, attributes }) });
  const histogram = (name: string): Histogram => ({ record: (value, attributes = {}) => void recorded.push({ instrument: name, kind: "histogram", value, attributes }) });
  return { getMeter: () => ({ ...meter, createCounter: counter, createHistogram: histogram }) };
}

const exporter = new InMemorySpanExporter();
const recorded: Recorded[] = [];

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  metrics.setGlobalMeterProvider(recordingMeterProvider(recorded));
});

afterAll(() => {
  trace.disable();
  metrics.disable();
  context.disable();
});

afterEach(() => {
  exporter.reset();
  recorded.length = 0;
});

/** Checks the tree and attributes of one upgrade's spans: a command span, three revision children. */
function expectUpgradeSpans(spans: readonly ReadableSpan[], environment: string, url: RegExp): ReadableSpan {
  const command = spans.find((span) => span.name === "athanor.upgrade");
  expect(command, spans.map((span) => span.name).join(", ")).toBeDefined();
  if (command === undefined) throw new Error("no command span");
  expect(command.attributes).toMatchObject({
    "athanor.command": "upgrade",
    "athanor.environment": environment,
    "athanor.mode": "online",
    "athanor.tool_version": VERSION,
    "db.system": "postgresql",
    "athanor.outcome": "failed",
    "athanor.completed": 2,
    "athanor.planned": 3,
    "athanor.direction": "up",
    "athanor.target": "head",
  });
  expect(String(command.attributes["athanor.url"])).toMatch(url);
  expect(command.status.code).toBe(SpanStatusCode.ERROR);
  expect(command.events.find((event) => event.name === "exception")?.attributes).toMatchObject({ "exception.type": "migration-failed" });

  const revisions = spans.filter((span) => span.name === "athanor.revision");
  expect(revisions.map((span) => span.attributes["athanor.revision"])).toEqual([R1, R2, R3]);
  for (const [index, span] of revisions.entries()) {
    // Children of the command span, in its trace.
    expect(span.parentSpanContext?.spanId).toBe(command.spanContext().spanId);
    expect(span.spanContext().traceId).toBe(command.spanContext().traceId);
    expect(span.attributes).toMatchObject({
      "athanor.environment": environment,
      "athanor.command": "upgrade",
      "athanor.direction": "up",
      "athanor.index": index + 1,
      "athanor.total": 3,
      "athanor.transactional": true,
      "db.system": "postgresql",
      "athanor.revision.message": REVISIONS[index]?.message,
    });
    expect(String(span.attributes["athanor.file"])).toMatch(/\.sql$/);
    expect(typeof span.attributes["athanor.duration_ms"]).toBe("number");
    // A revision ends before its command, and its span lasts as long as the revision took
    // (also for quick revisions that shared a round trip and reported together).
    const ms = (time: readonly [number, number]): number => time[0] * 1e3 + time[1] / 1e6;
    expect(ms(span.endTime)).toBeLessThanOrEqual(ms(command.endTime));
    expect(ms(span.endTime) - ms(span.startTime)).toBeGreaterThanOrEqual(Number(span.attributes["athanor.duration_ms"]) - 0.01);
  }
  const [first, second, third] = revisions as [ReadableSpan, ReadableSpan, ReadableSpan];
  for (const ok of [first, second]) {
    expect(ok.status.code).toBe(SpanStatusCode.OK);
    expect(ok.attributes["athanor.outcome"]).toBe("success");
    expect(ok.events.some((event) => event.name === "exception")).toBe(false);
  }
  expect(third.status.code).toBe(SpanStatusCode.ERROR);
  expect(third.status.message).toContain("gadgets");
  expect(third.attributes).toMatchObject({ "athanor.outcome": "failed", "error.type": "migration-failed" });
  const exception = third.events.find((event) => event.name === "exception");
  expect(exception?.attributes).toMatchObject({ "exception.type": "migration-failed" });
  expect(String(exception?.attributes?.["exception.message"])).toContain("gadgets");
  return command;
}

function expectMetrics(environment: string): void {
  const applied = recorded.filter((entry) => entry.instrument === "athanor.revisions.applied");
  expect(applied).toEqual([
    { instrument: "athanor.revisions.applied", kind: "counter", value: 1, attributes: { "athanor.environment": environment, "athanor.direction": "up" } },
    { instrument: "athanor.revisions.applied", kind: "counter", value: 1, attributes: { "athanor.environment": environment, "athanor.direction": "up" } },
  ]);
  const durations = recorded.filter((entry) => entry.instrument === "athanor.migration.duration");
  expect(durations.map((entry) => entry.attributes["athanor.outcome"])).toEqual(["success", "success", "failed"]);
  expect(recorded.filter((entry) => entry.instrument === "athanor.command.duration").map((entry) => entry.attributes)).toEqual([
    { "athanor.environment": environment, "athanor.command": "upgrade", "athanor.outcome": "failed" },
  ]);
}

describe("OpenTelemetry through the CLI, on PostgreSQL", () => {
  let project: GuardProject;
  let role: { name: string; drop(): Promise<void> };
  let database: TestDatabase;

  beforeAll(async () => {
    role = await createGuardRole();
    database = await createOwnedDatabase(role.name);
    project = await createGuardProject();
    await project.writeConfig({ testing: { url: guardUrlTemplate(role.name, database.name) } });
    for (const [index, spec] of REVISIONS.entries()) await writeRevision(project.migrationsDir, spec, index);
  });

  afterAll(async () => {
    await project?.remove();
    await database?.drop();
    await role?.drop();
  });

  it("makes a span per command and a child per revision, the failure recorded, no secret in any attribute", async () => {
    const result = await runCli(["--env", "testing", "upgrade"], { cwd: project.dir, env: baseEnv({ DB_PASSWORD: GUARD_PASSWORD }) });
    expect(result.status).toBe(1);
    const spans = exporter.getFinishedSpans();
    expectUpgradeSpans(spans, "testing", new RegExp(`^postgresql://${role.name}:\\*\\*\\*@`));
    expectMetrics("testing");
    const everything = JSON.stringify(spans.map((span) => ({ attributes: span.attributes, events: span.events, status: span.status })));
    for (const form of [GUARD_PASSWORD, encodeURIComponent(GUARD_PASSWORD), "S3cr3t"]) expect(everything).not.toContain(form);
  });

  it("is switched off by OTEL_SDK_DISABLED=true", async () => {
    const result = await runCli(["--env", "testing", "upgrade"], { cwd: project.dir, env: baseEnv({ DB_PASSWORD: GUARD_PASSWORD, OTEL_SDK_DISABLED: "true" }) });
    expect(result.status).toBe(1);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});

describe("OpenTelemetry through the library, on PGlite", () => {
  let project: GuardProject;

  beforeAll(async () => {
    project = await createGuardProject();
    await project.writeConfig({ development: { url: "pglite://./.athanor/dev" } });
    for (const [index, spec] of REVISIONS.entries()) await writeRevision(project.migrationsDir, spec, index);
  });

  afterAll(async () => {
    await project?.remove();
  });

  it("nests the command span under the caller's active span", async () => {
    const env = await resolveEnvironment(await loadConfig({ cwd: project.dir }), { environment: "development", processEnv: {} });
    const events = await createOtelSink({ toolVersion: VERSION });
    expect(events).not.toBeNull();
    const tracer = trace.getTracer("test");
    await tracer.startActiveSpan("global-setup", async (outer) => {
      await expect(upgrade(env, { events: events ?? undefined })).rejects.toMatchObject({ code: "migration-failed" });
      outer.end();
    });
    const spans = exporter.getFinishedSpans();
    const command = expectUpgradeSpans(spans, "development", /^pglite:\/\//);
    const outer = spans.find((span) => span.name === "global-setup");
    expect(command.parentSpanContext?.spanId).toBe(outer?.spanContext().spanId);
    expectMetrics("development");
  });
});

describe("OpenTelemetry statement events with echo: true, on PGlite", () => {
  let project: GuardProject;
  const secret = "OtelEchoPw4821";

  beforeAll(async () => {
    project = await createGuardProject();
    await project.writeConfig({ development: { url: "pglite://./.athanor/dev", echo: true } });
    await writeRevision(project.migrationsDir, { id: R1, down: null, message: "a role", upgrade: `CREATE ROLE otel_echo LOGIN PASSWORD '${secret}';`, downgrade: "DROP ROLE otel_echo;" }, 0);
  });

  afterAll(async () => {
    await project?.remove();
  });

  it("carries the statement with its password literal masked (db.query.text)", async () => {
    const env = await resolveEnvironment(await loadConfig({ cwd: project.dir }), { environment: "development", processEnv: {} });
    const events = await createOtelSink({ toolVersion: VERSION });
    await upgrade(env, { events: events ?? undefined });
    const revision = exporter.getFinishedSpans().find((span) => span.name === "athanor.revision");
    expect(revision?.events.filter((event) => event.name === "athanor.statement").map((event) => event.attributes?.["db.query.text"])).toEqual(["CREATE ROLE otel_echo LOGIN PASSWORD '***'"]);
    expect(JSON.stringify(exporter.getFinishedSpans().map((span) => ({ attributes: span.attributes, events: span.events })))).not.toContain(secret);
  });
});

describe("OpenTelemetry notice events, on PGlite", () => {
  let project: GuardProject;
  const secret = "OtelNoticePw7391";

  beforeAll(async () => {
    project = await createGuardProject();
    await project.writeConfig({ development: { url: "pglite://./.athanor/dev" } });
    await writeRevision(project.migrationsDir, { id: R1, down: null, message: "notices", upgrade: `DROP TABLE IF EXISTS nowhere;\nDO $$ BEGIN RAISE WARNING 'the key is %', '${secret}'; END $$;`, downgrade: "SELECT 1;" }, 0);
  });

  afterAll(async () => {
    await project?.remove();
  });

  it("are events of the revision's span, in order, with the severity, the code and the text scrubbed of the environment's secrets", async () => {
    const env = await resolveEnvironment(await loadConfig({ cwd: project.dir }), { environment: "development", processEnv: {} });
    const events = await createOtelSink({ toolVersion: VERSION, scrub: (text) => text.replaceAll(secret, "***") });
    await upgrade(env, { events: events ?? undefined });
    const revision = exporter.getFinishedSpans().find((span) => span.name === "athanor.revision");
    expect(revision?.events.filter((event) => event.name === "athanor.notice").map((event) => event.attributes)).toEqual([
      { "athanor.notice.severity": "NOTICE", "athanor.notice.message": 'table "nowhere" does not exist, skipping', "athanor.notice.code": "00000" },
      { "athanor.notice.severity": "WARNING", "athanor.notice.message": "the key is ***", "athanor.notice.code": "01000" },
    ]);
  });
});
