/**
 * The promotion gate counts only revisions that ran in the source environment (trust7a,
 * finding 3): a `stamp` records a revision without running it, so a source stamped at
 * head does not let production apply anything, and the refusal says the source only
 * stamped them. A revision reverted in the source and stamped back is only stamped
 * there too; reverting in production stays ungated. Through the CLI, on PostgreSQL and
 * on PGlite directories.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { createEngineProject, ids } from "./support/engine-project.js";
import { promotionEngines, type JsonError } from "./support/promotion-engines.js";

for (const engine of promotionEngines) {
  describe(`promotion gate and stamps (${engine.name})`, () => {
    it("a source stamped at head gates nothing through; once the revisions ran there they pass; reverted and stamped back is stamped again", async () => {
      const project = await createEngineProject();
      const dbs = await engine.urls();
      try {
        const cli = (...argv: string[]) => runCli(argv, { cwd: project.dir, env: dbs.env });
        const [a, b, c] = ids(3, "f") as [string, string, string];
        await project.write({ id: a, message: "one", upgrade: "CREATE TABLE one (x int);", downgrade: "DROP TABLE one;" });
        await project.write({ id: b, down: a, message: "two", upgrade: "CREATE TABLE two (x int);", downgrade: "DROP TABLE two;" });
        await project.configure({
          testing: { url: "${TESTING_URL}" },
          production: { url: "${PRODUCTION_URL}", protected: true, promoteFrom: "testing" },
        });

        expect((await cli("--env", "testing", "stamp", "head")).status).toBe(0);
        const refused = await cli("--env", "production", "--json", "--yes", "upgrade");
        expect(refused.status, refused.stderr).toBe(3);
        const error = (JSON.parse(refused.stdout) as JsonError).error;
        expect(error.code).toBe("promotion-gate");
        expect(error.message).toContain(`"testing", which has only stamped these 2 revisions`);
        expect(error.message).toContain(`${a} (one) — only stamped in "testing", never run there`);
        expect(error.details["stamped"]).toEqual([a, b]);
        expect(error.hint).toContain("A stamp records a revision without running it");
        const status = await cli("status");
        expect(status.stdout).toContain(`promotion gate from testing blocks ${a}, ${b} (only stamped in testing, never run there)`);
        const statusJson = JSON.parse((await cli("status", "--json")).stdout) as { environments: { name: string; promotion?: { stamped: string[]; blocked: string[] } }[] };
        expect(statusJson.environments.find((e) => e.name === "production")?.promotion).toMatchObject({ blocked: [a, b], stamped: [a, b] });

        // The revisions really run in testing: then they pass.
        expect((await cli("--env", "testing", "stamp", "base")).status).toBe(0);
        expect((await cli("--env", "testing", "upgrade")).status).toBe(0);
        const passed = await cli("--env", "production", "--yes", "upgrade");
        expect(passed.status, passed.stderr).toBe(0);

        // Testing reverts b (it runs its downgrade) and stamps it back; c runs there.
        await project.write({ id: c, down: b, message: "three", upgrade: "CREATE TABLE three (x int);", downgrade: "DROP TABLE three;" });
        expect((await cli("--env", "testing", "downgrade", a)).status).toBe(0);
        expect((await cli("--env", "testing", "stamp", b)).status).toBe(0);
        expect((await cli("--env", "testing", "upgrade")).status).toBe(0);
        // Reverting in production is not gated.
        const reverted = await cli("--env", "production", "--yes", "downgrade", a, "--allow-dangerous");
        expect(reverted.status, reverted.stderr).toBe(0);
        const again = await cli("--env", "production", "--json", "--yes", "upgrade");
        expect(again.status, again.stderr).toBe(3);
        const second = (JSON.parse(again.stdout) as JsonError).error;
        expect(second.details["blocked"]).toEqual([b]);
        expect(second.details["stamped"]).toEqual([b]);
      } finally {
        await dbs.drop();
        await project.remove();
      }
    }, 180_000);
  });
}
