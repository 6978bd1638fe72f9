import { describe, expect, it } from "vitest";
import { RULE_IDS, RULES } from "./catalog.js";
import { splitStatements } from "./parse.js";
import { checkStatements, requiresNoTransaction } from "./rules.js";

type Expected = readonly [rule: string, severity: "danger" | "warning"];

async function check(sql: string, transactional = true): Promise<Expected[]> {
  return checkStatements(await splitStatements(sql), { transactional }).map((f) => [f.rule, f.severity] as const);
}

const D = "danger";
const W = "warning";

describe("checkStatements", () => {
  it.each<[string, string, Expected[], boolean?]>([
    // drop-table / drop-schema / drop-column
    ["drop table", "DROP TABLE orders", [["drop-table", D]]],
    ["drop several tables once", "DROP TABLE IF EXISTS a, s.b CASCADE", [["drop-table", D]]],
    ["drop a table created here", "CREATE TABLE tmp (id int); DROP TABLE tmp", []],
    ["drop schema", "DROP SCHEMA legacy CASCADE", [["drop-schema", D]]],
    ["drop column", "ALTER TABLE t DROP COLUMN a", [["drop-column", D]]],
    ["drop column of a new table", "CREATE TABLE t (a int, b int); ALTER TABLE t DROP COLUMN b", []],
    ["drop view is not drop table", "DROP VIEW v", []],

    // alter-column-type
    ["int to bigint rewrites", "ALTER TABLE t ALTER COLUMN id TYPE bigint", [["alter-column-type", D]]],
    ["to text may be a widening", "ALTER TABLE t ALTER COLUMN a TYPE text", [["alter-column-type", W]]],
    ["to varchar(n) may be a widening", "ALTER TABLE t ALTER COLUMN a SET DATA TYPE varchar(200)", [["alter-column-type", W]]],
    ["to numeric may be a widening", "ALTER TABLE t ALTER COLUMN a TYPE numeric(12,2)", [["alter-column-type", W]]],
    ["trivial USING keeps the warning", "ALTER TABLE t ALTER COLUMN a TYPE text USING a::text", [["alter-column-type", W]]],
    ["USING that changes values rewrites", "ALTER TABLE t ALTER COLUMN a TYPE text USING lower(a)", [["alter-column-type", D]]],
    ["USING with a narrower cast rewrites", "ALTER TABLE t ALTER COLUMN a TYPE text USING a::varchar(5)", [["alter-column-type", D]]],
    ["COLLATE rebuilds indexes", 'ALTER TABLE t ALTER COLUMN a TYPE text COLLATE "C"', [["alter-column-type", D]]],
    ["arrays rewrite", "ALTER TABLE t ALTER COLUMN a TYPE text[]", [["alter-column-type", D]]],
    ["type change on a new table", "CREATE TABLE t (a int); ALTER TABLE t ALTER COLUMN a TYPE bigint", []],

    // set-not-null
    ["set not null", "ALTER TABLE t ALTER COLUMN a SET NOT NULL", [["set-not-null", D]]],
    [
      "set not null after a validated check (non-transactional)",
      "ALTER TABLE t ADD CONSTRAINT a_nn CHECK (a IS NOT NULL) NOT VALID; ALTER TABLE t VALIDATE CONSTRAINT a_nn; ALTER TABLE t ALTER COLUMN a SET NOT NULL",
      [],
      false,
    ],
    [
      "a check proving another column does not help",
      "ALTER TABLE t ADD CONSTRAINT b_nn CHECK (b IS NOT NULL) NOT VALID; ALTER TABLE t VALIDATE CONSTRAINT b_nn; ALTER TABLE t ALTER COLUMN a SET NOT NULL",
      [["set-not-null", D]],
      false,
    ],
    [
      "a check not yet validated does not help",
      "ALTER TABLE t ADD CONSTRAINT a_nn CHECK (a IS NOT NULL) NOT VALID; ALTER TABLE t ALTER COLUMN a SET NOT NULL",
      [["set-not-null", D]],
    ],
    [
      "an AND of IS NOT NULL tests proves each column",
      "ALTER TABLE t ADD CONSTRAINT nn CHECK (a IS NOT NULL AND b IS NOT NULL) NOT VALID; ALTER TABLE t VALIDATE CONSTRAINT nn; ALTER TABLE t ALTER COLUMN b SET NOT NULL",
      [],
      false,
    ],
    ["PG 18 NOT NULL constraint without NOT VALID", "ALTER TABLE t ADD CONSTRAINT a_nn NOT NULL a", [["set-not-null", D]]],
    ["PG 18 NOT NULL constraint NOT VALID", "ALTER TABLE t ADD CONSTRAINT a_nn NOT NULL a NOT VALID", []],

    // add-foreign-key / add-check / validate-in-transaction
    ["foreign key", "ALTER TABLE t ADD CONSTRAINT t_u FOREIGN KEY (u_id) REFERENCES u (id)", [["add-foreign-key", D]]],
    ["foreign key NOT VALID", "ALTER TABLE t ADD CONSTRAINT t_u FOREIGN KEY (u_id) REFERENCES u (id) NOT VALID", []],
    ["foreign key NOT ENFORCED", "ALTER TABLE t ADD CONSTRAINT t_u FOREIGN KEY (u_id) REFERENCES u (id) NOT ENFORCED", []],
    ["column with REFERENCES", "ALTER TABLE t ADD COLUMN u_id int REFERENCES u (id)", [["add-foreign-key", D]]],
    ["foreign key on a new table", "CREATE TABLE t (u_id int); ALTER TABLE t ADD FOREIGN KEY (u_id) REFERENCES u (id)", []],
    ["check", "ALTER TABLE t ADD CONSTRAINT pos CHECK (n > 0)", [["add-check", D]]],
    ["check NOT VALID", "ALTER TABLE t ADD CONSTRAINT pos CHECK (n > 0) NOT VALID", []],
    ["column with CHECK", "ALTER TABLE t ADD COLUMN n int CHECK (n > 0)", [["add-check", D]]],
    [
      "validate in the same transaction",
      "ALTER TABLE t ADD CONSTRAINT pos CHECK (n > 0) NOT VALID; ALTER TABLE t VALIDATE CONSTRAINT pos",
      [["validate-in-transaction", W]],
    ],
    ["validate a constraint added earlier", "ALTER TABLE t VALIDATE CONSTRAINT pos", []],

    // create-index / drop-index / requires-no-transaction
    ["create index", "CREATE INDEX t_a ON t (a)", [["create-index", D]]],
    ["create unique index", "CREATE UNIQUE INDEX t_a ON s.t (a)", [["create-index", D]]],
    ["index on a table created here", "CREATE TABLE t (a int); CREATE INDEX t_a ON t (a)", []],
    ["index on a table created in another schema", "CREATE TABLE audit.t (a int); CREATE INDEX t_a ON public.t (a)", [["create-index", D]]],
    ["index on a table created by CREATE TABLE AS", "CREATE TABLE t AS SELECT 1 AS a; CREATE INDEX ON t (a)", []],
    ["concurrently in a transaction", "CREATE INDEX CONCURRENTLY t_a ON t (a)", [["requires-no-transaction", D]]],
    ["drop index", "DROP INDEX t_a", [["drop-index", W]]],
    ["drop index created here", "CREATE TABLE t (a int); CREATE INDEX t_a ON t (a); DROP INDEX t_a", []],
    ["drop index concurrently in a transaction", "DROP INDEX CONCURRENTLY t_a", [["requires-no-transaction", D]]],
    ["vacuum in a transaction", "VACUUM t", [["requires-no-transaction", D]]],
    ["analyze in a transaction", "ANALYZE t", []],

    // rename
    ["rename table", "ALTER TABLE t RENAME TO u", [["rename", D]]],
    ["rename column", "ALTER TABLE t RENAME COLUMN a TO b", [["rename", D]]],
    ["rename view", "ALTER VIEW v RENAME TO w", [["rename", D]]],
    ["rename constraint", "ALTER TABLE t RENAME CONSTRAINT a TO b", []],
    ["rename index", "ALTER INDEX i RENAME TO j", []],
    ["rename a table created here, then index it", "CREATE TABLE t_new (a int); ALTER TABLE t_new RENAME TO t2; CREATE INDEX ON t2 (a)", []],

    // truncate / delete / update
    ["truncate", "TRUNCATE t", [["truncate", D]]],
    ["delete without where", "DELETE FROM t", [["delete-without-where", D]]],
    ["delete with where", "DELETE FROM t WHERE id = 1", []],
    ["delete in a CTE", "WITH d AS (DELETE FROM t RETURNING *) SELECT count(*) FROM d", [["delete-without-where", D]]],
    ["update without where", "UPDATE t SET a = 1", [["update-without-where", D]]],
    ["update with where", "UPDATE t SET a = 1 WHERE a IS NULL", []],
    ["update a table created here", "CREATE TABLE t (a int); UPDATE t SET a = 1", []],
    ["function bodies are not run", "CREATE FUNCTION f() RETURNS void LANGUAGE sql BEGIN ATOMIC DELETE FROM t; END", []],

    // add column
    ["nullable column", "ALTER TABLE t ADD COLUMN a int", []],
    ["constant default", "ALTER TABLE t ADD COLUMN a int NOT NULL DEFAULT 0", []],
    ["now() is stable", "ALTER TABLE t ADD COLUMN created timestamptz NOT NULL DEFAULT now()", []],
    ["CURRENT_TIMESTAMP is stable", "ALTER TABLE t ADD COLUMN created timestamptz DEFAULT CURRENT_TIMESTAMP", []],
    ["cast constant", "ALTER TABLE t ADD COLUMN meta jsonb NOT NULL DEFAULT '{}'::jsonb", []],
    ["volatile default", "ALTER TABLE t ADD COLUMN id uuid DEFAULT gen_random_uuid()", [["add-column-volatile-default", D]]],
    ["clock_timestamp", "ALTER TABLE t ADD COLUMN at timestamptz DEFAULT clock_timestamp()", [["add-column-volatile-default", D]]],
    ["unknown function", "ALTER TABLE t ADD COLUMN code text DEFAULT make_code()", [["add-column-volatile-default", W]]],
    ["serial", "ALTER TABLE t ADD COLUMN n bigserial", [["add-column-volatile-default", D]]],
    ["identity", "ALTER TABLE t ADD COLUMN n int GENERATED ALWAYS AS IDENTITY", [["add-column-volatile-default", D]]],
    ["stored generated", "ALTER TABLE t ADD COLUMN d int GENERATED ALWAYS AS (a * 2) STORED", [["add-column-volatile-default", D]]],
    ["virtual generated", "ALTER TABLE t ADD COLUMN d int GENERATED ALWAYS AS (a * 2) VIRTUAL", []],
    ["not null without default", "ALTER TABLE t ADD COLUMN a int NOT NULL", [["add-column-not-null", D]]],
    [
      "primary key column without default",
      "ALTER TABLE t ADD COLUMN a int PRIMARY KEY",
      [
        ["add-unique-constraint", W],
        ["add-column-not-null", D],
      ],
    ],
    ["not null on a new table", "CREATE TABLE t (id int); ALTER TABLE t ADD COLUMN a int NOT NULL", []],

    // add-unique-constraint
    ["add primary key", "ALTER TABLE t ADD PRIMARY KEY (id)", [["add-unique-constraint", W]]],
    ["add unique", "ALTER TABLE t ADD CONSTRAINT t_a UNIQUE (a)", [["add-unique-constraint", W]]],
    ["primary key using index", "ALTER TABLE t ADD CONSTRAINT t_pk PRIMARY KEY USING INDEX t_pk_idx", []],
    ["unique using index", "ALTER TABLE t ADD CONSTRAINT t_a UNIQUE USING INDEX t_a_idx", []],

    // harmless
    ["create table", "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, u int REFERENCES u (id) NOT NULL)", []],
    ["insert", "INSERT INTO t (a) VALUES (1)", []],
    ["comments and grants", "COMMENT ON TABLE t IS 'x'; GRANT SELECT ON t TO app", []],
  ])("%s", async (_name, sql, expected, transactional = true) => {
    expect(await check(sql, transactional)).toEqual(expected);
  });

  it("stays silent on concurrent operations and validation in a non-transactional revision", async () => {
    const sql = [
      "CREATE INDEX CONCURRENTLY t_a ON t (a)",
      "DROP INDEX CONCURRENTLY t_b",
      "ALTER TABLE t ADD CONSTRAINT t_u FOREIGN KEY (u_id) REFERENCES u (id) NOT VALID",
      "ALTER TABLE t VALIDATE CONSTRAINT t_u",
    ].join(";\n");
    expect(await check(sql, false)).toEqual([]);
  });

  it("reports each subcommand of one ALTER TABLE on the statement's line", async () => {
    const statements = await splitStatements("-- x\nALTER TABLE t\n  DROP COLUMN a,\n  ALTER COLUMN b TYPE bigint;", 10);
    expect(checkStatements(statements).map((f) => [f.rule, f.line, f.statement])).toEqual([
      ["drop-column", 11, "ALTER TABLE t DROP COLUMN a, ALTER COLUMN b TYPE bigint"],
      ["alter-column-type", 11, "ALTER TABLE t DROP COLUMN a, ALTER COLUMN b TYPE bigint"],
    ]);
  });

  it("gives each finding a message naming the object and the rule's safe pattern", async () => {
    const [finding] = checkStatements(await splitStatements("ALTER TABLE app.orders ALTER COLUMN total TYPE bigint"));
    expect(finding?.message).toContain("total of app.orders to bigint");
    expect(finding?.safe).toBe(RULES["alter-column-type"].safe);
  });

  it("leaves comments out of the excerpt", async () => {
    const [finding] = checkStatements(await splitStatements("TRUNCATE -- all of it\n  sessions /* yes */;"));
    expect(finding?.statement).toBe("TRUNCATE sessions");
  });

  it("cuts long statements to a one-line excerpt", async () => {
    const sql = `DELETE FROM t\n  USING ${Array.from({ length: 30 }, (_, i) => `u${i}`).join(", ")}`;
    const [finding] = checkStatements(await splitStatements(sql));
    expect(finding?.statement.length).toBeLessThanOrEqual(80);
    expect(finding?.statement.startsWith("DELETE FROM t USING u0, u1")).toBe(true);
    expect(finding?.statement.endsWith("…")).toBe(true);
  });
});

describe("requiresNoTransaction", () => {
  it.each([
    ["CREATE INDEX CONCURRENTLY i ON t (a)", "CREATE INDEX CONCURRENTLY"],
    ["DROP INDEX CONCURRENTLY i", "DROP INDEX CONCURRENTLY"],
    ["REINDEX INDEX CONCURRENTLY i", "REINDEX CONCURRENTLY"],
    ["REINDEX SCHEMA s", "REINDEX SCHEMA"],
    ["ALTER TABLE p DETACH PARTITION c CONCURRENTLY", "DETACH PARTITION CONCURRENTLY"],
    ["VACUUM (ANALYZE) t", "VACUUM"],
    ["CREATE DATABASE d", "CREATE DATABASE"],
    ["ALTER SYSTEM SET work_mem = '64MB'", "ALTER SYSTEM"],
    ["CREATE INDEX i ON t (a)", undefined],
    ["REINDEX INDEX i", undefined],
    ["ALTER TABLE p DETACH PARTITION c", undefined],
    ["ANALYZE t", undefined],
  ])("%s → %s", async (sql, expected) => {
    const [statement] = await splitStatements(sql);
    expect(statement && requiresNoTransaction(statement)).toBe(expected);
  });
});

describe("RULES", () => {
  it("has one entry per id, each with a reason and a safe pattern", () => {
    for (const id of RULE_IDS) {
      expect(RULES[id].id).toBe(id);
      expect(RULES[id].why.length).toBeGreaterThan(40);
      expect(RULES[id].safe.length).toBeGreaterThan(20);
    }
  });
});
