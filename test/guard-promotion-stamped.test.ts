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
        expect(error.message).toContain(`"testing", which has only stamped ${a} (one), ${b} (two); nothing was changed`);
        expect(error.details["stamped"]).toEqual([a, b]);
        expect(error.hint).toContain("A stamp records a revision without running it");
        const status = await cli("status");
        expect(status.stdout).toContain(`promotion gate from testing refuses: testing has only stamped ${a}, ${b}`);
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

    it("a refusal of mixed kinds names each revision under what the source did with it", async () => {
      const project = await createEngineProject();
      const dbs = await engine.urls();
      try {
        const cli = (...argv: string[]) => runCli(argv, { cwd: project.dir, env: dbs.env });
        const [a, b, c] = ids(3, "d") as [string, string, string];
        const writeA = (extra: string) => project.write({ id: a, message: "one", upgrade: `CREATE TABLE one (x int);${extra}`, downgrade: "DROP TABLE one;" });
        await writeA("");
        await project.write({ id: b, down: a, message: "two", upgrade: "CREATE TABLE two (x int);", downgrade: "DROP TABLE two;" });
        await project.write({ id: c, down: b, message: "three", upgrade: "CREATE TABLE three (x int);", downgrade: "DROP TABLE three;" });
        await project.configure({
          testing: { url: "${TESTING_URL}" },
          production: { url: "${PRODUCTION_URL}", protected: true, promoteFrom: "testing" },
        });
        // a ran in testing and was edited since; b was only stamped there; c never reached it.
        expect((await cli("--env", "testing", "upgrade", a)).status).toBe(0);
        expect((await cli("--env", "testing", "stamp", b)).status).toBe(0);
        await writeA(" INSERT INTO one VALUES (1);");
        const refused = await cli("--env", "production", "--json", "--yes", "upgrade");
        expect(refused.status, refused.stderr).toBe(3);
        const error = (JSON.parse(refused.stdout) as JsonError).error;
        expect(error.code).toBe("promotion-gate");
        expect(error.message).toBe(`environment "production" is promoted from "testing", which has not applied ${c} (three), and has only stamped ${b} (two), and ran an earlier version of ${a} (one); nothing was changed`);
        expect(error.details).toMatchObject({ blocked: [a, b, c], stamped: [b], changed: [a] });
        expect(error.hint).toContain(`Apply ${c} to "testing" first (athanor --env testing upgrade ${c}).`);
        expect(error.hint).toContain(`so the gate does not count ${b}`);
        expect(error.hint).toContain(`"testing" applied an earlier version of the file of ${a}`);
        const status = await cli("status");
        expect(status.stdout).toContain(`promotion gate from testing refuses: testing has not applied ${c}, and has only stamped ${b}, and ran an earlier version of ${a}`);
      } finally {
        await dbs.drop();
        await project.remove();
      }
    }, 180_000);
  });
}
