import { describe, expect, it } from "vitest";
import { identityVerdict, type RecordedIdentity } from "./identity.js";

const env = { name: "development", configFile: "/p/athanor.config.json", redactedUrl: "postgresql://app:***@db/prod", versionTable: { schema: "public", table: "dev_version" } };
const at = (schema: string, table: string, environment: string): RecordedIdentity => ({ schema, table, environment });

describe("identityVerdict", () => {
  const cases: { name: string; records: RecordedIdentity[]; refused: string | null; elsewhere?: string }[] = [
    { name: "nothing recorded", records: [], refused: null },
    { name: "recorded beside its own table as itself", records: [at("public", "dev_version_meta", "development"), at("public", "athanor_version_meta", "production")], refused: null },
    { name: "recorded beside its own table as another", records: [at("public", "dev_version_meta", "production")], refused: "production" },
    { name: "another environment beside another table only", records: [at("public", "athanor_version_meta", "production")], refused: "production", elsewhere: "public.athanor_version_meta" },
    { name: "another schema records this environment too", records: [at("public", "athanor_version_meta", "production"), at("tenant_a", "dev_version_meta", "development")], refused: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const verdict = identityVerdict(env, c.records);
      if (c.refused === null) {
        expect(verdict).toBeNull();
        return;
      }
      expect(verdict?.code).toBe("environment-mismatch");
      expect(verdict?.exitStatus).toBe(3);
      expect(verdict?.details["recordedEnvironment"]).toBe(c.refused);
      expect(verdict?.details["recordedIn"]).toBe(c.elsewhere);
    });
  }
});
