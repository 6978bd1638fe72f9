/**
 * Testing the migrations themselves: every revision applies, reverts and applies again
 * on an empty database (a downgrade that forgets an object fails the second upgrade).
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { collectEvents, downgrade, loadConfig, openSession, resolveEnvironment, upgrade, type ResolvedEnvironment, type Session } from "athanor";

let env: ResolvedEnvironment;
let session: Session;

beforeAll(async () => {
  const config = await loadConfig({ cwd: fileURLToPath(new URL("..", import.meta.url)) });
  env = await resolveEnvironment(config, { environment: "testing", processEnv: { TEST_DATABASE_URL: "pglite://memory" } });
  session = await openSession(env.target);
});

afterAll(async () => {
  await session?.close();
});

it("upgrades to head, downgrades to base, and upgrades again", async () => {
  const first = await upgrade(env, { session });
  expect(first.completed).toEqual(["457fc56393df", "2aa51862e98e"]);

  const { sink, events } = collectEvents();
  const down = await downgrade(env, { target: "base", session, events: sink });
  expect(down.current).toEqual([]);
  expect(events.filter((event) => event.type === "revision-end").map((event) => event.revision)).toEqual(["2aa51862e98e", "457fc56393df"]);
  const tables = await session.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'athanor%'");
  expect(tables.rows).toEqual([]);

  const again = await upgrade(env, { session });
  expect(again.current).toEqual(["2aa51862e98e"]);
});
