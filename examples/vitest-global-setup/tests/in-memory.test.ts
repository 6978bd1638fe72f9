/**
 * Without the global setup's database: a PGlite database in memory, in this test
 * file's own process, migrated in `beforeAll` with the same library calls. Nothing
 * touches the disk; each file that does this gets a database of its own.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { current, loadConfig, openSession, resolveEnvironment, upgrade, type Session } from "athanor";

let session: Session;

beforeAll(async () => {
  const config = await loadConfig({ cwd: fileURLToPath(new URL("..", import.meta.url)) });
  const env = await resolveEnvironment(config, { environment: "testing", processEnv: { TEST_DATABASE_URL: "pglite://memory" } });
  // An in-memory database lives as long as its session: open it, and give it to athanor.
  session = await openSession(env.target);
  await upgrade(env, { session });
  expect((await current(env, { session })).current).toEqual(["2aa51862e98e"]);
});

afterAll(async () => {
  await session?.close();
});

it("has the migrated schema", async () => {
  await session.query("INSERT INTO products (name, price, sku) VALUES ($1, $2, $3)", ["kettle", 25, "SKU-1"]);
  const rows = await session.query<{ sku: string }>("SELECT sku FROM products");
  expect(rows.rows).toEqual([{ sku: "SKU-1" }]);
});
