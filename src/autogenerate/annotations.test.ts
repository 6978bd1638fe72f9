import { describe, expect, test } from "vitest";
import { diffAnnotations, grantsAtCreation } from "./annotations.js";
import { diffModels } from "./diff.js";
import { emptyModel, type DefaultPrivilege, type Grant, type ObjectRef, type SchemaModel, type Trigger } from "./model.js";
import { renderScript } from "./render.js";
import { rolesNamedBy } from "./shadow.js";

const fn: ObjectRef = { kind: "function", schema: "public", name: "f", arguments: "" };
const table: ObjectRef = { kind: "table", schema: "app", name: "t" };
const defaults = (entry: Partial<DefaultPrivilege>): DefaultPrivilege => ({
  role: null,
  schema: null,
  objects: "FUNCTIONS",
  grantee: "PUBLIC",
  privilege: "EXECUTE",
  grantable: false,
  revoked: false,
  ...entry,
});

describe("grantsAtCreation", () => {
  test.each<[string, ObjectRef, DefaultPrivilege[], string[]]>([
    ["a function: EXECUTE for PUBLIC", fn, [], ["PUBLIC EXECUTE"]],
    ["a function under a database-wide revocation", fn, [defaults({ revoked: true })], []],
    ["a table: nothing", table, [], []],
    ["a table in a schema with default privileges", table, [defaults({ schema: "app", objects: "TABLES", grantee: "reader", privilege: "SELECT" })], ["reader SELECT"]],
    ["another schema's default privileges do not apply", table, [defaults({ schema: "other", objects: "TABLES", grantee: "reader", privilege: "SELECT" })], []],
    ["another role's default privileges do not apply", table, [defaults({ role: "owner", objects: "TABLES", grantee: "reader", privilege: "SELECT" })], []],
    ["a column: nothing", { kind: "column", schema: "app", table: "t", column: "c" }, [defaults({ objects: "TABLES" })], []],
  ])("%s", (_, ref, entries, expected) => {
    expect(grantsAtCreation(ref, entries).map((g) => `${g.grantee} ${g.privilege}`)).toEqual(expected);
  });
});

const trigger = (definition: string): Trigger => ({ schema: "public", table: "t", name: "audit", definition });
const withTrigger = (definition: string, extra: Partial<SchemaModel> = {}): SchemaModel => ({
  ...emptyModel(),
  tables: [{ schema: "public", name: "t", columns: [], primaryKey: null, constraints: [], foreignKeys: [], indexes: [], comment: null }],
  triggers: [trigger(definition)],
  ...extra,
});
const audit: ObjectRef = { kind: "trigger", schema: "public", table: "t", name: "audit" };
const grant = (grantee: string, privilege: string, object: ObjectRef = table): Grant => ({ object, grantee, privilege, grantable: false });

describe("diffAnnotations", () => {
  test("a rebuilt trigger's comment is taken off before the drop and put back after the creation", () => {
    const from = withTrigger("CREATE TRIGGER audit BEFORE UPDATE", { comments: [{ target: audit, text: "old" }] });
    const to = withTrigger("CREATE TRIGGER audit BEFORE INSERT", { comments: [{ target: audit, text: "old" }] });
    const changes = diffModels(from, to);
    expect(changes.map((c) => c.summary)).toEqual(["remove comment on trigger audit on public.t", "drop trigger audit on public.t", "create trigger audit on public.t", "comment on trigger audit on public.t"]);
    expect(renderScript(changes, "downgrade", { comments: false })).toContain(`CREATE TRIGGER audit BEFORE UPDATE;\n\nCOMMENT ON TRIGGER "audit" ON "public"."t" IS 'old';`);
  });

  test("an unchanged object's comment change is one statement; grants are left alone unless asked for", () => {
    const from = withTrigger("x", { comments: [{ target: audit, text: "old" }], grants: [grant("reader", "SELECT")] });
    const to = withTrigger("x", { comments: [{ target: audit, text: "new" }], grants: [grant("writer", "SELECT")] });
    expect(diffAnnotations(from, to, [], { privileges: false })).toEqual({ early: [], late: [{ kind: "set-comment", target: audit, from: "old", to: "new" }] });
    const withGrants = diffAnnotations(from, to, [], { privileges: true });
    expect(withGrants.early).toEqual([{ kind: "revoke", grant: grant("reader", "SELECT") }]);
    expect(withGrants.late).toEqual([{ kind: "set-comment", target: audit, from: "old", to: "new" }, { kind: "grant", grant: grant("writer", "SELECT") }]);
  });

  test("a new function without EXECUTE for PUBLIC gets it revoked; a changed grant option is revoked, then granted", () => {
    const routine = { schema: "public", name: "f", kind: "function" as const, arguments: "", definition: "CREATE FUNCTION f()", usesRelations: [] };
    const script = renderScript(diffModels(emptyModel(), { ...emptyModel(), routines: [routine] }, { privileges: true }), "upgrade", { comments: false });
    expect(script).toContain(`REVOKE EXECUTE ON FUNCTION "public"."f"() FROM PUBLIC;`);
    const from = { ...emptyModel(), grants: [grant("reader", "SELECT")] };
    const to = { ...emptyModel(), grants: [{ ...grant("reader", "SELECT"), grantable: true }] };
    expect(renderScript(diffModels(from, to, { privileges: true }), "upgrade", { comments: false })).toBe(
      `REVOKE SELECT ON TABLE "app"."t" FROM reader;\n\nGRANT SELECT ON TABLE "app"."t" TO reader WITH GRANT OPTION;\n`,
    );
  });

  test("default privileges are undone early and made late, a revoked built-in one as REVOKE", () => {
    const entry = defaults({ revoked: true });
    const changes = diffModels(emptyModel(), { ...emptyModel(), defaultPrivileges: [entry] }, { privileges: true });
    expect(renderScript(changes, "upgrade", { comments: false })).toBe("ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;\n");
    expect(renderScript(changes, "downgrade", { comments: false })).toBe("ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO PUBLIC;\n");
  });
});

describe("rolesNamedBy", () => {
  test("finds grantees, FOR ROLE and OWNER TO; not PUBLIC, CURRENT_USER, nor a policy expression's FROM", () => {
    expect(
      rolesNamedBy([
        `GRANT SELECT ON t TO reader, GROUP "Writers" WITH GRANT OPTION;
         REVOKE ALL ON t FROM PUBLIC, current_user;
         ALTER DEFAULT PRIVILEGES FOR ROLE owner IN SCHEMA app GRANT SELECT ON TABLES TO auditor;
         ALTER TABLE t OWNER TO admin;
         ALTER TABLE t RENAME TO u;
         CREATE POLICY p ON t TO member USING (id IN (SELECT id FROM allowed));`,
      ]),
    ).toEqual(["Writers", "admin", "auditor", "member", "owner", "reader"]);
  });
});
