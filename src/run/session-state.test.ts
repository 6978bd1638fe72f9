import { describe, expect, it } from "vitest";
import { mayChangeSession, mayDeallocate, parseBaseline, protectSql, restoreSql } from "./session-state.js";

describe("mayChangeSession", () => {
  it.each([
    ["SET ROLE other;", true],
    ["set search_path = x;", true],
    ["SET LOCAL statement_timeout = '1ms';", true],
    ["RESET ALL;", true],
    ["SELECT pg_catalog.set_config('x', 'y', false);", true],
    ["SELECT set_config('search_path', 'x', false);", true],
    ["DISCARD TEMP;", true],
    ["DEALLOCATE ALL;", true],
    ["SET SESSION AUTHORIZATION other;", true],
    ["SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;", true],
    ["DO $$ BEGIN EXECUTE 'set role other'; END $$;", true],
    ["CREATE TEMP TABLE scratch (x int);", true],
    ["CREATE TEMPORARY VIEW v AS SELECT 1;", true],
    ["SELECT 1 AS x INTO TEMP scratch;", true],
    ["CREATE TABLE pg_temp.scratch (x int);", true],
    ["LISTEN jobs;", true],
    // False positives only cost the restore.
    ["UPDATE t SET x = 1;", true],
    ["CREATE ROLE app;", true],
    ["-- call reset_things() here, which runs SET\nSELECT reset_things();", true],
    // What the fast path sends: nothing added.
    ["CREATE TABLE bench_1 (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());", false],
    ["CREATE INDEX t_x ON t (x);\nINSERT INTO settings_log VALUES (1);", false],
    ["ALTER TABLE t ADD COLUMN offset_x int;", false],
    ["CREATE TABLE temperature (x int);\nSELECT pg_my_temp_schema();", false],
  ])("%s → %s", (sql, expected) => {
    expect(mayChangeSession(sql)).toBe(expected);
  });
});

describe("mayDeallocate", () => {
  it.each([
    ["DEALLOCATE ALL;", true],
    ["deallocate prepare all", true],
    ["DEALLOCATE athanor_step_up_1_1;", true],
    ["SET ROLE other;", false],
    ["DISCARD PLANS;", false],
  ])("%s → %s", (sql, expected) => {
    expect(mayDeallocate(sql)).toBe(expected);
  });
});

describe("the baseline's statements", () => {
  const baseline = parseBaseline({
    session_user: "migrator",
    current_user: "app owner",
    settings: JSON.stringify([
      ["lock_timeout", "4s"],
      ["search_path", '"$user", public'],
      ["statement_timeout", "9s"],
    ]),
    temporary_objects: false,
    channels: "[]",
  });

  it("protects the rest of a transaction with SET LOCAL: the statement timeout first, the session user before the role", () => {
    expect(protectSql(baseline)).toEqual([
      "SET LOCAL statement_timeout = '9s';",
      'SET LOCAL SESSION AUTHORIZATION "migrator";',
      'SET LOCAL ROLE "app owner";',
      "SELECT pg_catalog.set_config(s.name, s.value, true) FROM (VALUES ('lock_timeout', '4s'), ('search_path', '\"$user\", public'), ('statement_timeout', '9s')) AS s(name, value);",
    ]);
  });

  it("restores the session: RESET ALL, then the identity and settings at session level", () => {
    expect(restoreSql(baseline)).toEqual([
      "RESET ALL;",
      'SET SESSION AUTHORIZATION "migrator";',
      'SET ROLE "app owner";',
      "SELECT pg_catalog.set_config(s.name, s.value, false) FROM (VALUES ('lock_timeout', '4s'), ('search_path', '\"$user\", public'), ('statement_timeout', '9s')) AS s(name, value);",
      "DISCARD TEMP;",
      "UNLISTEN *;",
    ]);
  });

  it("keeps a caller's session's temporary objects and listens again on its channels", () => {
    const callers = parseBaseline({ session_user: "u", current_user: "u", settings: "[]", temporary_objects: true, channels: JSON.stringify(["jobs", "Odd \"one\""]) });
    expect(restoreSql(callers)).toEqual(["RESET ALL;", 'SET SESSION AUTHORIZATION "u";', 'SET ROLE "u";', "UNLISTEN *;", 'LISTEN "jobs";', 'LISTEN "Odd ""one""";']);
  });

  it("sends no empty VALUES list", () => {
    const bare = parseBaseline({ session_user: "u", current_user: "u", settings: "[]", temporary_objects: false, channels: "[]" });
    expect(restoreSql(bare)).toEqual(["RESET ALL;", 'SET SESSION AUTHORIZATION "u";', 'SET ROLE "u";', "DISCARD TEMP;", "UNLISTEN *;"]);
  });

  it("quotes a value holding a quote", () => {
    const odd = parseBaseline({ session_user: "u", current_user: "u", settings: JSON.stringify([["application_name", "it's"]]), temporary_objects: false, channels: "[]" });
    expect(protectSql(odd)).toEqual(['SET LOCAL SESSION AUTHORIZATION "u";', 'SET LOCAL ROLE "u";', expect.stringContaining("('application_name', 'it''s')")]);
  });
});
