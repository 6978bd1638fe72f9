import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { openTestDatabase, type TestDatabase } from "./database.js";

let db: TestDatabase;

beforeAll(async () => {
  db = await openTestDatabase();
});

afterAll(async () => {
  await db?.close();
});

it("runs against a database at the head revision", () => {
  expect(inject("migratedTo")).toEqual(["2aa51862e98e"]);
});

it("has the migrated schema: products with a unique sku", async () => {
  // On a shared PostgreSQL database, each test keeps its rows to itself in a transaction it rolls back.
  await db.query("BEGIN");
  try {
    await db.query("INSERT INTO products (name, price, sku) VALUES ($1, $2, $3)", ["kettle", 25, "SKU-1"]);
    await expect(db.query("INSERT INTO products (name, price, sku) VALUES ($1, $2, $3)", ["pot", 10, "SKU-1"])).rejects.toThrow(/unique|duplicate/i);
  } finally {
    await db.query("ROLLBACK");
  }
});
