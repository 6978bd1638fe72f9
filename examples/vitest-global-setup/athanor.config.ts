import { defineConfig } from "athanor";

export default defineConfig({
  migrations: "./migrations",
  environments: {
    // The test suite's database. The global setup points TEST_DATABASE_URL at a fresh
    // database before it resolves this environment; unset, it is a PGlite directory.
    testing: { url: "${TEST_DATABASE_URL:-pglite://./.athanor/test}", pool: "none" },
  },
});
