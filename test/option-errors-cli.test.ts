/**
 * Bad values of a command's own options are usage errors (exit 2) naming the option that
 * carried them: `log -n` past what the database takes, and an unknown environment given
 * to `diff --from`/`--to` (not "chosen by the --env flag").
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv, runCli } from "./support/cli.js";
import { tempDir } from "./support/databases.js";

describe("option values named in their errors", () => {
  let dir: string;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir("athanor-option-errors-"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: "pglite://memory" }, staging: { url: "pglite://memory" } } }));
  });
  afterAll(async () => {
    await remove();
  });

  it("log -n 99999999999999999999: exit 2 naming -n, under --json too", async () => {
    const text = await runCli(["log", "-n", "99999999999999999999"], { cwd: dir, env: baseEnv() });
    expect(text.status, text.stderr).toBe(2);
    expect(text.stderr).toContain("-n: 99999999999999999999 is too large a number of rows");
    const json = await runCli(["log", "--json", "-n", "99999999999999999999"], { cwd: dir, env: baseEnv() });
    expect(json.status, json.stderr).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: "malformed-count", exitStatus: 2 } });
  });

  it.each(["--from", "--to"])("diff %s with an unknown environment names that flag", async (flag) => {
    const argv = flag === "--from" ? ["diff", "--from", "x", "--to", "development"] : ["diff", "--from", "development", "--to", "x"];
    const result = await runCli(argv, { cwd: dir, env: baseEnv() });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(`unknown environment "x" (chosen by the ${flag} flag); this project has: development, staging`);
    expect(result.stderr).toContain(`Pass ${flag} with one of: development, staging`);
    expect(result.stderr).not.toContain("--env");
  });
});
