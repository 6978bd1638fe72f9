/**
 * `revision --autogenerate` refuses a revision that does not round-trip on the shadow:
 * checkRoundTrip runs the upgrade, compares with the declared model, runs the downgrade,
 * compares with the starting model, and throws RoundTripError (exit 2) naming what is left.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { autogenerateRevisionSql } from "../src/autogenerate/compare.js";
import { RoundTripError } from "../src/autogenerate/errors.js";
import { introspect } from "../src/autogenerate/introspect.js";
import type { SchemaModel } from "../src/autogenerate/model.js";
import { openShadowSession, resetShadow } from "../src/autogenerate/shadow.js";
import { checkRoundTrip } from "../src/commands/autogenerate.js";
import type { Session } from "../src/dialects/types.js";

let session: Session;
let declared: SchemaModel;
let before: SchemaModel;

beforeAll(async () => {
  session = await openShadowSession();
  await session.exec("CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL)");
  declared = await introspect(session, { schemas: ["public"] });
  await resetShadow(session);
  before = await introspect(session, { schemas: ["public"] });
}, 300_000);

afterAll(async () => {
  await session?.close();
});

beforeEach(async () => {
  await resetShadow(session);
});

const refusal = (promise: Promise<void>): Promise<unknown> =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

describe("checkRoundTrip", () => {
  test("a revision that reproduces the declared schema and undoes itself passes", async () => {
    await checkRoundTrip(session, autogenerateRevisionSql(declared, before), declared, before, ["public"]);
  });

  test("an upgrade that leaves a difference is refused, naming it", async () => {
    const revision = { ...autogenerateRevisionSql(declared, before), upgradeSql: "CREATE TABLE t (id int PRIMARY KEY);" };
    const error = await refusal(checkRoundTrip(session, revision, declared, before, ["public"]));
    expect(error).toBeInstanceOf(RoundTripError);
    expect((error as RoundTripError).exitStatus).toBe(2);
    expect((error as RoundTripError).message).toContain("still different: add column public.t.name (text)");
    expect((error as RoundTripError).message).toContain("nothing was written");
  });

  test("an upgrade that fails, and a downgrade that does not undo it, are refused", async () => {
    const failing = { ...autogenerateRevisionSql(declared, before), upgradeSql: "CREATE TABLE t (id nosuchtype);" };
    expect(((await refusal(checkRoundTrip(session, failing, declared, before, ["public"]))) as Error).message).toMatch(/^the generated upgrade fails on the shadow database: type "nosuchtype" does not exist/);
    await resetShadow(session);
    const sticky = { ...autogenerateRevisionSql(declared, before), downgradeSql: "SELECT 1;" };
    expect(((await refusal(checkRoundTrip(session, sticky, declared, before, ["public"]))) as Error).message).toContain(
      "the generated downgrade does not give back the schema the revisions produce (still different: drop table public.t)",
    );
  });
});
