/**
 * Drift between two real PostgreSQL databases (the `diff --from A --to B` case): they
 * differ by exactly one column, one index and one enum value, and the diff names exactly
 * those three operations. athanor's own version tables are left out.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import pg from "pg";
import type { DatabaseTarget } from "../src/config/types.js";
import { autogenerateRevisionSql, diffSchemas, introspectTarget } from "../src/autogenerate/compare.js";
import { createPostgresDatabase } from "./support/databases.js";
import type { TestDatabase } from "./support/databases.js";
import { parseDatabaseUrl } from "../src/config/url.js";

const base = `
CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped');
CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  status order_status NOT NULL DEFAULT 'new',
  total numeric(12,2) NOT NULL CHECK (total >= 0)
);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE VIEW open_orders AS SELECT o.id, c.email FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.status <> 'shipped';
CREATE SCHEMA athanor;
CREATE TABLE athanor.version (id text PRIMARY KEY);
CREATE TABLE public.athanor_history (id bigint GENERATED ALWAYS AS IDENTITY, revision text);
`;

let testing: TestDatabase;
let production: TestDatabase;

const target = (db: TestDatabase): DatabaseTarget => {
  return parseDatabaseUrl(db.url, "/", "test").target;
};

async function run(db: TestDatabase, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  [testing, production] = await Promise.all([createPostgresDatabase("athanor_drift"), createPostgresDatabase("athanor_drift")]);
  await Promise.all([run(testing, base), run(production, base)]);
  // Testing is ahead by one column, one index and one enum value; the version tables differ too, and do not count.
  await run(
    testing,
    `ALTER TYPE order_status ADD VALUE 'refunded';
     ALTER TABLE orders ADD COLUMN note text;
     CREATE INDEX orders_status_idx ON orders (status) WHERE status <> 'shipped';
     ALTER TABLE athanor.version ADD COLUMN applied_at timestamptz;
     INSERT INTO public.athanor_history (revision) VALUES ('x');
     ALTER TABLE public.athanor_history ADD COLUMN extra int;`,
  );
});

afterAll(async () => {
  await Promise.all([testing?.drop(), production?.drop()]);
});

const exclude = [
  { schema: "athanor", name: "version" },
  { schema: "public", name: "athanor_history" },
];

test("two databases that differ by a column, an index and an enum value: exactly those three operations", async () => {
  const [from, to] = await Promise.all([introspectTarget(target(production), ["public"], exclude), introspectTarget(target(testing), ["public"], exclude)]);
  const drift = diffSchemas(from, to);
  expect(drift.map((c) => c.summary)).toEqual([
    "add value 'refunded' to enum public.order_status",
    "add column public.orders.note (text)",
    "create index orders_status_idx on public.orders",
  ]);
  expect(drift.map((c) => c.destructive)).toEqual([false, false, false]);

  const back = diffSchemas(to, from);
  expect(back.map((c) => c.summary)).toEqual([
    "recreate enum public.order_status as ('new', 'paid', 'shipped')",
    "drop index orders_status_idx on public.orders",
    "drop column public.orders.note",
  ]);
  expect(back.map((c) => c.destructive)).toEqual([true, false, true]);
});

test("the version schema counts only when it is asked for, and the tables excluded never do", async () => {
  const [from, to] = await Promise.all([
    introspectTarget(target(production), ["public", "athanor"], exclude),
    introspectTarget(target(testing), ["public", "athanor"], [{ schema: "athanor", name: "version" }]),
  ]);
  expect(from.schemas).toEqual(["athanor", "public"]);
  expect(diffSchemas(from, to).map((c) => c.summary)).toEqual([
    "add value 'refunded' to enum public.order_status",
    "create table public.athanor_history",
    "add column public.orders.note (text)",
    "create index orders_status_idx on public.orders",
  ]);
});

test("the generated revision brings production to testing's schema and back", async () => {
  const [current, declared] = await Promise.all([introspectTarget(target(production), ["public"], exclude), introspectTarget(target(testing), ["public"], exclude)]);
  const revision = autogenerateRevisionSql(declared, current);
  expect(revision.empty).toBe(false);
  expect(revision.upgradeSql).toContain(`ALTER TYPE "public"."order_status" ADD VALUE 'refunded';`);
  expect(revision.upgradeSql).toContain(`CREATE INDEX "orders_status_idx" ON "public"."orders" USING btree (status) WHERE (status <> 'shipped'::public.order_status);`);
  expect(revision.warnings).toEqual([]);
  await run(production, revision.upgradeSql);
  expect(diffSchemas(await introspectTarget(target(production), ["public"], exclude), declared)).toEqual([]);
  await run(production, revision.downgradeSql);
  expect(diffSchemas(await introspectTarget(target(production), ["public"], exclude), current)).toEqual([]);
  expect(autogenerateRevisionSql(current, current)).toEqual({ upgradeSql: "", downgradeSql: "", operations: [], empty: true, warnings: [], transactional: true });
});
