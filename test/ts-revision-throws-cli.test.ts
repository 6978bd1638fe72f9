/**
 * A TypeScript revision that throws something other than an Error — here an object
 * without a prototype, which `String()` cannot convert — fails as its revision, like
 * `throw new Error(...)`: exit 1, a FAILED line naming it, a `failed` history row, its
 * statement rolled back (the real binary, `npm run build` first; PGlite).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { baseEnv, spawnCli } from "./support/cli.js";
import { tempDir } from "./support/databases.js";

const R = "c7c7c7c7c7c7";
const THROWING_REVISION = `import { defineMigration } from "athanor";

export default defineMigration({
  revision: "${R}",
  down: null,
  message: "throws",
  async upgrade({ sql }) {
    await sql\`CREATE TABLE thrown (x int)\`;
    throw Object.create(null);
  },
});
`;

let project: { dir: string; remove(): Promise<void> };

beforeAll(async () => {
  project = await tempDir("athanor-ts-throws-");
  await mkdir(join(project.dir, "migrations"));
  await writeFile(join(project.dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: "pglite://./data" } } }));
  await writeFile(join(project.dir, "migrations", `${R}_throws.ts`), THROWING_REVISION);
});
afterAll(() => project.remove());

it("a revision that throws a null-prototype object is the revision's failure, recorded, not an internal error", async () => {
  const run = await spawnCli(["upgrade"], { cwd: project.dir, env: baseEnv() });
  expect(run.status).toBe(1);
  expect(run.stdout + run.stderr).toContain(`FAILED upgrade ${R}`);
  expect(run.stderr).toContain(`revision ${R} (throws) failed to upgrade`);
  expect(run.stderr).not.toContain("internal error");
  const log = await spawnCli(["log", "--json"], { cwd: project.dir, env: baseEnv() });
  const entries = (JSON.parse(log.stdout) as { entries: { revision: string; outcome: string }[] }).entries;
  expect(entries.map((e) => [e.revision, e.outcome])).toEqual([[R, "failed"]]);
  const tables = await spawnCli(["current", "--json"], { cwd: project.dir, env: baseEnv() });
  expect((JSON.parse(tables.stdout) as { current: string[] }).current).toEqual([]);
});
