import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // PGlite takes ~2 s and several hundred MB per instance: keep parallelism modest on 2 cores.
    pool: "forks",
    maxWorkers: 2,
  },
});
