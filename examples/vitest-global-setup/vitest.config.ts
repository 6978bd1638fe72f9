import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Migrates a fresh database before the suite and removes it after (global-setup.ts).
    globalSetup: ["./global-setup.ts"],
    include: ["tests/**/*.test.ts"],
    // Starting PGlite takes a few seconds, and a test that migrates a PGlite database up
    // and down in its body (round-trip.test.ts) can pass Vitest's default 5 s on a busy
    // CI machine: both limits leave room for that.
    hookTimeout: 60_000,
    testTimeout: 60_000,
  },
});
