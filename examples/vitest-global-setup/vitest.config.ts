import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Migrates a fresh database before the suite and removes it after (global-setup.ts).
    globalSetup: ["./global-setup.ts"],
    include: ["tests/**/*.test.ts"],
    // Starting PGlite takes a few seconds.
    hookTimeout: 60_000,
  },
});
