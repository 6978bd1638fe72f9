import { describe, expect, it } from "vitest";
import { standardStringsOff } from "./standard-strings.js";

describe("standardStringsOff", () => {
  it.each([
    ["database", 'turn it on with ALTER DATABASE "app" SET standard_conforming_strings = on'],
    ["user", 'turn it on with ALTER ROLE "deploy" SET standard_conforming_strings = on'],
    ["database user", 'turn it on with ALTER ROLE "deploy" IN DATABASE "app" SET standard_conforming_strings = on'],
    ["client", "remove `-c standard_conforming_strings=off` from the URL's `options` parameter or from PGOPTIONS"],
    ["session", "pass a session without it"],
    ["configuration file", "(pg_settings.source: configuration file)"],
  ])("set by %s: the hint names the fix", (source, fix) => {
    const error = standardStringsOff("db.example:5432/app", { source, database: "app", role: "deploy" });
    expect([error.code, error.exitStatus]).toEqual(["standard-conforming-strings-off", 2]);
    expect(error.message).toContain("runs with standard_conforming_strings = off");
    expect(error.message).toContain("Nothing was run, nothing was recorded, and the lock was released");
    expect(error.hint).toContain(fix);
    expect(error.details).toMatchObject({ server: "db.example:5432/app", source });
  });

  it("origin unknown: every place it may come from", () => {
    const hint = standardStringsOff("x", null).hint ?? "";
    for (const place of ["ALTER DATABASE", "ALTER ROLE", "`options`", "PGOPTIONS"]) expect(hint).toContain(place);
  });
});
