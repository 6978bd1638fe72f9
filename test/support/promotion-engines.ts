/**
 * The two engines the promotion-gate CLI tests run on: a `testing` and a `production`
 * database each, as TESTING_URL and PRODUCTION_URL in the CLI's environment (real
 * PostgreSQL databases, or PGlite directories in the project).
 */
import { baseEnv } from "./cli.js";
import { createPostgresDatabase } from "./databases.js";

export interface PromotionDatabases {
  readonly env: Record<string, string | undefined>;
  drop(): Promise<void>;
}

export const promotionEngines: readonly { readonly name: string; urls(): Promise<PromotionDatabases> }[] = [
  {
    name: "PostgreSQL",
    async urls() {
      const testing = await createPostgresDatabase("athanor_gate_t");
      const production = await createPostgresDatabase("athanor_gate_p");
      return { env: baseEnv({ TESTING_URL: testing.url, PRODUCTION_URL: production.url }), drop: async () => void (await Promise.all([testing.drop(), production.drop()])) };
    },
  },
  {
    name: "PGlite",
    async urls() {
      return { env: baseEnv({ TESTING_URL: "pglite://./.athanor/testing", PRODUCTION_URL: "pglite://./.athanor/production" }), drop: async () => {} };
    },
  },
];

/** A `--json` error document. */
export interface JsonError {
  error: { code: string; message: string; hint: string; details: Record<string, unknown> };
}
