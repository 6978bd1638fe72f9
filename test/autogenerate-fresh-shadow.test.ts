/**
 * Which shadow `revision --autogenerate` replays the revisions and the round trip on,
 * after the declared schema was loaded and read: the same PGlite emptied (resetShadow),
 * or a fresh one. A large declared schema gets a fresh one (emptying 1,000 tables costs
 * 2.5 s of CPU and 80 MB of peak memory; a second start 0.65 s), a small one is emptied
 * (a start costs more than emptying 65 tables). The round trip itself is the same on both
 * (test/autogenerate-round-trip.test.ts; the 1,000-table test runs it on a fresh one).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDeclaredSchema } from "../src/autogenerate/declared.js";
import { introspect } from "../src/autogenerate/introspect.js";
import { listUnmodelledObjects } from "../src/autogenerate/not-compared.js";
import { extensionsCreatedBy, openShadowSession } from "../src/autogenerate/shadow.js";
import { FRESH_SHADOW_FROM_TABLES, reusableAfter, type LoadedSchema } from "../src/commands/autogenerate.js";
import type { Session } from "../src/dialects/types.js";
// @ts-expect-error -- plain JavaScript shared with the benchmark (no declarations)
import { generateStructureSql } from "./support/structure-sql.mjs";

// The generated structure.sql has two Rails tables besides the N records tables.
const structure = (generateStructureSql as (tables: number) => string)(FRESH_SHADOW_FROM_TABLES - 2);
const sources = [{ file: "structure.sql", kind: "sql" as const, sql: structure }];

describe("the shadow after the declared schema", () => {
  let session: Session;
  let loaded: LoadedSchema;

  beforeAll(async () => {
    session = await openShadowSession({ extensions: extensionsCreatedBy([structure]) });
    await applyDeclaredSchema(session, sources);
    loaded = { model: await introspect(session, { schemas: ["public"] }), unmodelled: await listUnmodelledObjects(session, ["public"], []) };
  }, 300_000);

  afterAll(async () => {
    await session?.close();
  });

  it(`is replaced by a fresh PGlite from ${FRESH_SHADOW_FROM_TABLES} tables on, emptied and used again below that`, () => {
    expect(loaded.model.tables).toHaveLength(FRESH_SHADOW_FROM_TABLES);
    expect(reusableAfter(loaded, sources)).toBe(false);
    const smaller: LoadedSchema = { ...loaded, model: { ...loaded.model, tables: loaded.model.tables.slice(1) } };
    expect(reusableAfter(smaller, sources)).toBe(true);
  });
});
