/**
 * After a `transaction false` revision fails part-way, `status`, `current` and `log` say
 * that it is neither cleanly applied nor cleanly removed, and which step began (trust7a,
 * finding 1): a failed downgrade is reported as a downgrade that began (not as "applied",
 * not as "up-to-date"), in the same words as a failed upgrade, text and `--json`, with
 * the exit statuses of DESIGN.md §5 (status 5, current 0, upgrade/downgrade refused 5).
 * Through the CLI, on PostgreSQL and on a PGlite directory.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { cliTargets, withTargetProject } from "./support/cli-targets.js";
import { ids } from "./support/engine-project.js";

interface StatusJson {
  environments: { state: string; current: string[]; problems: { code: string; message: string }[]; unfinished?: { revision: string; direction: string; startedAt: string; file: string | null }[] }[];
}

for (const target of cliTargets) {
  describe(`an unfinished non-transactional revision as status and current tell it (${target.name})`, () => {
    it("a failed non-transactional downgrade: status is unfinished (exit 5), current --json lists it as unfinished, the next runs refuse", () =>
      withTargetProject(target, async (project, setup) => {
        const cli = (...argv: string[]) => runCli(argv, { cwd: project.dir, env: setup.env });
        const [a, b] = ids(2, "a") as [string, string];
        await project.write({ id: a, message: "base", upgrade: "CREATE TABLE t1 (x int);", downgrade: "DROP TABLE t1;" });
        await project.write({ id: b, down: a, message: "index", transactional: false, upgrade: "CREATE INDEX t1_x ON t1 (x);", downgrade: "DROP INDEX t1_x;\nDROP TABLE missing;" });
        expect((await cli("upgrade")).status).toBe(0);
        const failed = await cli("downgrade", a);
        expect(failed.status, failed.stderr).toBe(1);
        expect(failed.stderr).toContain("neither cleanly applied nor cleanly reverted");

        const status = await cli("status");
        expect(status.status).toBe(5);
        expect(status.stdout).toContain("◐ unfinished");
        expect(status.stdout).not.toContain("up-to-date");
        expect(status.stdout).toContain(`revision ${b} (${b}_index.sql) is non-transactional; its downgrade started at`);
        expect(status.stdout).toContain(`athanor resolve ${b} --rolled-back`);
        const json = await cli("status", "--json");
        expect(json.status).toBe(5);
        const entry = (JSON.parse(json.stdout) as StatusJson).environments[0];
        expect(entry?.state).toBe("unfinished");
        expect(entry?.unfinished).toMatchObject([{ revision: b, direction: "down", file: `${b}_index.sql` }]);
        expect(entry?.problems.map((p) => p.code)).toEqual(["unfinished-revision"]);

        const current = await cli("current");
        expect(current.status).toBe(0);
        expect(current.stdout).toContain(`${b} (head, unfinished: its downgrade started at`);
        expect(current.stderr).toContain(`${b} is neither cleanly applied nor cleanly reverted`);
        const currentJson = JSON.parse((await cli("current", "--json")).stdout) as { current: string[]; unfinished?: { revision: string; direction: string; startedAt: string }[] };
        expect(currentJson.current).toEqual([b]);
        expect(currentJson.unfinished).toMatchObject([{ revision: b, direction: "down" }]);
        expect(currentJson.unfinished?.[0]?.startedAt).toBe(entry?.unfinished?.[0]?.startedAt);

        const log = JSON.parse((await cli("log", "--json")).stdout) as { entries: { direction: string; revision: string; outcome: string }[] };
        expect(log.entries.slice(0, 2)).toMatchObject([
          { direction: "down", revision: b, outcome: "failed" },
          { direction: "down", revision: b, outcome: "started" },
        ]);
        for (const argv of [["upgrade"], ["downgrade", a]]) {
          const refused = await cli(...argv);
          expect(refused.status, refused.stderr).toBe(5);
          expect(refused.stderr).toContain("its downgrade started at");
        }
        // Resolved as rolled back (the index is gone, the rest of the downgrade is done by hand): clean again.
        expect((await cli("resolve", b, "--rolled-back")).status).toBe(0);
        const after = JSON.parse((await cli("status", "--json")).stdout) as StatusJson;
        expect(after.environments[0]).toMatchObject({ state: "behind", current: [a] });
        expect(after.environments[0]?.unfinished).toBeUndefined();
      }), 120_000);

    it("a failed non-transactional upgrade reads the same way, as an upgrade that began", () =>
      withTargetProject(target, async (project, setup) => {
        const cli = (...argv: string[]) => runCli(argv, { cwd: project.dir, env: setup.env });
        const [a] = ids(1, "b") as [string];
        await project.write({ id: a, message: "half", transactional: false, upgrade: "CREATE TABLE t1 (x int);\nSELECT 1/0;", downgrade: "DROP TABLE t1;" });
        expect((await cli("upgrade")).status).toBe(1);
        const json = await cli("status", "--json");
        expect(json.status).toBe(5);
        const entry = (JSON.parse(json.stdout) as StatusJson).environments[0];
        expect(entry?.state).toBe("unfinished");
        expect(entry?.unfinished).toMatchObject([{ revision: a, direction: "up" }]);
        expect(entry?.problems[0]?.message).toContain(`revision ${a} (${a}_half.sql) is non-transactional; it started at`);
        const currentJson = JSON.parse((await cli("current", "--json")).stdout) as { unfinished?: { direction: string }[] };
        expect(currentJson.unfinished).toMatchObject([{ direction: "up" }]);
        expect((await cli("current")).stdout).toContain(`${a} (head, unfinished: its upgrade started at`);
      }), 120_000);
  });
}
