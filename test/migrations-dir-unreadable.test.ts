/**
 * A migrations directory that cannot be read is a RevisionError naming it (exit 2), also
 * through the real binary, whose read-only commands first stat the directory to size
 * V8's young generation (src/cli/bin.ts): that stat must not turn ELOOP (or EACCES) into
 * an "internal error" with exit 1.
 */
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, spawnCli } from "./support/cli.js";

describe("a migrations directory that is a symlink loop", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "athanor-loop-"));
    await symlink(join(dir, "migrations"), join(dir, "migrations"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: "pglite://memory" } } }));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  for (const command of ["heads", "history", "branches", "status"]) {
    it(`${command}: names the directory and why (exit ${command === "status" ? 5 : 2}), no internal error`, async () => {
      const result = await spawnCli([command], { cwd: dir, env: baseEnv() });
      const output = result.stdout + result.stderr;
      expect(output).not.toContain("internal error");
      // status reports it as the environment's problem (stdout, exit 5); the others as their error.
      expect(output).toContain(`${command === "status" ? "unreadable-revision: " : ""}the migrations directory ${join(dir, "migrations")} cannot be read: too many levels of symbolic links`);
      expect(result.status, result.stderr).toBe(command === "status" ? 5 : 2);
    }, 60_000);
  }
});
