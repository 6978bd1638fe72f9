import { describe, expect, it } from "vitest";
import {
  ROUND_TRIP_TIMING,
  deleteVersionRowSql,
  finishVersionRowSql,
  insertHistorySql,
  insertVersionRowSql,
  measuredTiming,
  versionTables,
  versionTablesDdl,
  type RunIdentity,
} from "./version-table.js";

const tables = versionTables({ schema: "ops", table: "my version" });
const identity: RunIdentity = { environment: "prod", osUser: "o'brien", host: "ci-1", toolVersion: "0.1.0" };

describe("version table names and SQL", () => {
  it("quotes every identifier and derives the history and meta tables", () => {
    expect(tables).toEqual({
      schema: "ops",
      table: "my version",
      versions: '"ops"."my version"',
      history: '"ops"."my version_history"',
      meta: '"ops"."my version_meta"',
      display: "ops.my version",
    });
  });

  it("creates the schema only when it is not public, everything IF NOT EXISTS", () => {
    const ddl = versionTablesDdl({ schema: "ops", table: "v" });
    expect(ddl.startsWith('CREATE SCHEMA IF NOT EXISTS "ops";\n')).toBe(true);
    expect(ddl.match(/CREATE TABLE IF NOT EXISTS/g)).toHaveLength(3);
    expect(versionTablesDdl({ schema: "public", table: "v" })).not.toContain("CREATE SCHEMA");
  });

  it("writes rows with literals quoted and the OS user beside the database user", () => {
    expect(insertVersionRowSql(tables, identity, "aaaaaaaaaaaa", "c0ffee", "applied", ROUND_TRIP_TIMING)).toBe(
      `INSERT INTO "ops"."my version" (revision, checksum, state, applied_at, applied_by, duration_ms) VALUES ('aaaaaaaaaaaa', 'c0ffee', 'applied', clock_timestamp(), current_user || ' (o''brien)', (extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::integer);`,
    );
    expect(insertVersionRowSql(tables, { ...identity, osUser: null }, "a", "c", "started", measuredTiming(12.4))).toContain("'started', clock_timestamp(), current_user, NULL)");
    expect(finishVersionRowSql(tables, identity, "a", "c", measuredTiming(5))).toContain("SET state = 'applied', checksum = 'c'");
    expect(deleteVersionRowSql(tables, "a")).toBe(`DELETE FROM "ops"."my version" WHERE revision = 'a';`);
  });

  it("writes history rows with the outcome, an error text and a note", () => {
    const sql = insertHistorySql(tables, identity, { direction: "up", revision: "a", outcome: "failed", error: "relation \"x\" doesn't exist" }, measuredTiming(7));
    expect(sql).toBe(
      `INSERT INTO "ops"."my version_history" (environment, direction, revision, db_user, os_user, host, tool_version, started_at, duration_ms, outcome, error, note) VALUES ('prod', 'up', 'a', current_user, 'o''brien', 'ci-1', '0.1.0', clock_timestamp() - interval '7 milliseconds', 7, 'failed', 'relation "x" doesn''t exist', NULL);`,
    );
  });
});
