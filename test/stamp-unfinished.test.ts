/**
 * `stamp` never settles an unfinished non-transactional revision (fix8c, finding 3): a
 * failed `transaction false` revision leaves its row `started`, and a stamp that would
 * record it as applied (its own target, `head`) or drop its row (a target below it,
 * `--purge`) is refused with exit 5 and the `resolve` fix, as `upgrade` is. Through the
 * CLI, on PostgreSQL and on a PGlite directory.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { cliTargets, withTargetProject } from "./support/cli-targets.js";
import { ids } from "./support/engine-project.js";

for (const target of cliTargets) {
  describe(`stamp over an unfinished revision (${target.name})`, () => {
    it("is refused (exit 5, naming resolve) whatever the target, and runs once the revision is resolved", () =>
      withTargetProject(target, async (project, setup) => {
        const cli = (...argv: string[]) => runCli(argv, { cwd: project.dir, env: setup.env });
        const [a, b] = ids(2, "a") as [string, string];
        await project.write({ id: a, message: "first", upgrade: "CREATE TABLE t_a (x int);", downgrade: "DROP TABLE t_a;" });
        await project.write({ id: b, down: a, message: "fails", transactional: false, upgrade: "SELECT 1/0;", downgrade: "SELECT 1;" });
        expect((await cli("upgrade")).status).toBe(1);
        const rows = () => setup.inspect<{ revision: string; state: string }>("SELECT revision, state FROM athanor_version ORDER BY revision");
        const before = await rows();
        expect(before).toEqual([
          { revision: a, state: "applied" },
          { revision: b, state: "started" },
        ]);

        for (const argv of [["--json", "stamp", b], ["stamp", "head"], ["stamp", a], ["stamp", b, "--purge"]]) {
          const refused = await cli(...argv);
          expect(refused.status, `${argv.join(" ")}: ${refused.stdout}${refused.stderr}`).toBe(5);
          expect(refused.stderr).toContain(`athanor resolve ${b} --applied`);
          expect(refused.stderr).toContain("nothing was changed");
          expect(await rows()).toEqual(before);
        }
        expect((await setup.inspect<{ n: number }>("SELECT count(*)::int AS n FROM athanor_version_history WHERE direction = 'stamp'"))[0]?.n).toBe(0);

        expect((await cli("resolve", b, "--rolled-back")).status).toBe(0);
        const stamped = await cli("stamp", b);
        expect(stamped.status, stamped.stderr).toBe(0);
        expect(await rows()).toEqual([
          { revision: a, state: "applied" },
          { revision: b, state: "applied" },
        ]);
      }));
  });
}
