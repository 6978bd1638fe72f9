/**
 * The promotion gate checks content, not ids (fix8c, finding 2): a revision file edited
 * after the source environment applied it is blocked — the source ran another version
 * of it — in the refusal, in `status` and in `status --json` (`promotion.changed`);
 * re-applying it in the source, or `repair` there, lets it through. Through the CLI, on
 * PostgreSQL and on PGlite directories.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { createEngineProject, ids } from "./support/engine-project.js";
import { promotionEngines, type JsonError } from "./support/promotion-engines.js";

for (const engine of promotionEngines) {
  describe(`promotion gate and edited files (${engine.name})`, () => {
    it("a file edited after the source applied it is blocked until the source re-applies or repairs it", async () => {
      const project = await createEngineProject();
      const dbs = await engine.urls();
      try {
        const cli = (...argv: string[]) => runCli(argv, { cwd: project.dir, env: dbs.env });
        const [a, b] = ids(2, "e") as [string, string];
        const writeB = (extra: string) => project.write({ id: b, down: a, message: "two", upgrade: `CREATE TABLE two (x int);${extra}`, downgrade: "DROP TABLE two;" });
        await project.write({ id: a, message: "one", upgrade: "CREATE TABLE one (x int);", downgrade: "DROP TABLE one;" });
        await writeB("");
        await project.configure({
          testing: { url: "${TESTING_URL}" },
          production: { url: "${PRODUCTION_URL}", protected: true, promoteFrom: "testing" },
        });
        expect((await cli("--env", "testing", "upgrade")).status).toBe(0);

        // Edited after testing ran it: production must not run what testing never ran.
        await writeB(" INSERT INTO one VALUES (666);");
        const refused = await cli("--env", "production", "--json", "--yes", "upgrade");
        expect(refused.status, refused.stderr).toBe(3);
        const error = (JSON.parse(refused.stdout) as JsonError).error;
        expect(error.code).toBe("promotion-gate");
        expect(error.message).toContain(`"testing", which ran an earlier version of ${b} (two); nothing was changed`);
        expect(error.details["blocked"]).toEqual([b]);
        expect(error.details["changed"]).toEqual([b]);
        expect(error.hint).toContain("athanor --env testing repair` there if the change is cosmetic");
        await expectProductionEmpty(cli);
        const status = await cli("status");
        expect(status.stdout).toContain(`promotion gate from testing refuses: testing ran an earlier version of ${b}`);
        const statusJson = JSON.parse((await cli("status", "--json")).stdout) as { environments: { name: string; promotion?: Record<string, unknown> }[] };
        expect(statusJson.environments.find((e) => e.name === "production")?.promotion).toMatchObject({ allowed: false, blocked: [b], stamped: [], changed: [b] });

        // Testing accepts the edit (repair: the stored checksum becomes the file's): the gate opens.
        expect((await cli("--env", "testing", "repair")).status).toBe(0);
        const passed = await cli("--env", "production", "--yes", "upgrade");
        expect(passed.status, passed.stderr).toBe(0);
      } finally {
        await dbs.drop();
        await project.remove();
      }
    }, 180_000);
  });
}

/** Nothing ran in production: no version row. */
async function expectProductionEmpty(cli: (...argv: string[]) => Promise<{ stdout: string }>): Promise<void> {
  const current = JSON.parse((await cli("--env", "production", "current", "--json")).stdout) as { current: string[] };
  expect(current.current).toEqual([]);
}
