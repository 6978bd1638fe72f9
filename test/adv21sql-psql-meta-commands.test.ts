/**
 * adv21sql: a revision's text goes to the server online, and to psql offline. A backslash
 * outside a literal is a syntax error to the server (the online run refuses the revision,
 * exit 1, nothing applied), but psql reads `\!`, `\q`, `\i`, `\c`, `\set` as its own
 * commands: `\!` ran a shell command on the DBA's machine, and `\q` ended psql with exit 0
 * in the middle of the script (its open transaction rolled back, the later revisions never
 * ran), so the script "succeeded" with nothing applied. README, `--sql`: "The script does
 * what the online run does: it ... refuses (exit 2) what the online run refuses".
 * Either `--sql` refuses such a revision, or running its script neither runs the command
 * nor reports success.
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { diffProject, psql, sqlRevision, stateOf, type DiffProject } from "./support/offline-diff.js";

let project: DiffProject | undefined;
afterEach(async () => {
  await project?.remove();
  project = undefined;
});

const second = sqlRevision({ id: "3e7a00000002", down: "3e7a00000001", message: "second", upgrade: "CREATE TABLE second (v text);", downgrade: "DROP TABLE second;" });

describe("adv21sql: psql meta-commands in a revision", () => {
  it("\\! and \\q: the online run refuses; the offline script must not run the shell command nor end with success", async () => {
    const marker = join(tmpdir(), `adv21sql-shell-ran-${process.pid}-${Date.now()}`);
    project = await diffProject({
      "1.sql": sqlRevision({ id: "3e7a00000001", message: "meta", upgrade: `CREATE TABLE first (v text);\n\\! touch ${marker}\n\\q`, downgrade: "DROP TABLE first;" }),
      "2.sql": second,
    });
    const online = await project.database();
    const offline = await project.database();
    const ran = await project.cli(online.url, ["upgrade"]);
    expect(ran.status).not.toBe(0);
    expect(ran.stderr).toContain('syntax error at or near "\\"');

    const { result, file } = await project.script(offline.url, ["upgrade", "--sql"]);
    if (result.status === 0) {
      const run = psql(offline.url, file);
      const shellRan = existsSync(marker);
      await rm(marker, { force: true });
      expect(shellRan, "psql ran the revision's \\! shell command").toBe(false);
      expect(run.status, "psql ended the script with success while no revision was applied").not.toBe(0);
    } else {
      expect(result.status).toBe(2);
      expect(result.stdout).toBe("");
    }
    const state = await stateOf(offline.url);
    expect(state.versions).toEqual([]);
    expect(state.schema).not.toContain("second");
  }, 60_000);

  it("\\set between two statements: online a syntax error, offline it must not apply and record the revision", async () => {
    project = await diffProject({
      "1.sql": sqlRevision({ id: "3e7a00000001", message: "set", upgrade: "CREATE TABLE first (v text);\n\\set x 1\nINSERT INTO first VALUES ('after');", downgrade: "DROP TABLE first;" }),
    });
    const online = await project.database();
    const offline = await project.database();
    expect((await project.cli(online.url, ["upgrade"])).status).not.toBe(0);
    const { result, file } = await project.script(offline.url, ["upgrade", "--sql"]);
    if (result.status === 0) psql(offline.url, file);
    expect((await stateOf(offline.url)).versions).toEqual((await stateOf(online.url)).versions);
  }, 60_000);
});
