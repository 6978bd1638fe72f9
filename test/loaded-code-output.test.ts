/**
 * What code athanor loads (a config module, a TypeScript revision) prints itself, through
 * the real binary (`npm run build` first), on PGlite:
 * - a known secret is masked in it, whichever way it is written (`process.stdout.write` of
 *   a string or of bytes, `console.log`, `process.stderr.write`), to a file and to a pipe,
 *   glued to other characters too (adv15 F7, F17);
 * - under `--json`, its writes to `process.stdout` go to stderr, so stdout stays one JSON
 *   document, on a file and on a pipe (adv15 F8);
 * - an error a config module throws while it loads is masked although config resolution
 *   has registered nothing yet (adv15 F9).
 */
import { spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BIN, baseEnv, spawnCli } from "./support/cli.js";
import { tempDir } from "./support/databases.js";

/** Not word-like (letters, digits and a dash): masked wherever it occurs. */
const SECRET = "Zq7-loaded-pw";

const LOUD_REVISION = `// athanor:revision aaaaaaaaaaaa
// athanor:message loud
export default {
  async upgrade({ sql }) {
    await sql\`CREATE TABLE loud (id int)\`;
    const pw = process.env.DB_PASSWORD;
    process.stdout.write(\`out:\${pw}\\n\`);
    process.stdout.write(Buffer.from(\`bytes:pw_\${pw}_x\\n\`));
    console.log("log:", pw);
    process.stderr.write(\`err:\${pw}\\n\`);
  },
  async downgrade() {},
};
`;

const CONFIG = `export default { migrations: "./migrations", environments: { development: { url: "pglite://./.athanor/dev" } } };\n`;

let dir: string;
let remove: () => Promise<void>;

beforeEach(async () => {
  ({ dir, remove } = await tempDir("athanor-loaded-output-"));
  await mkdir(join(dir, "migrations"));
  await writeFile(join(dir, "athanor.config.mjs"), CONFIG);
  await writeFile(join(dir, "migrations", "r1.ts"), LOUD_REVISION);
});

afterEach(async () => {
  await remove();
});

const env = () => baseEnv({ DB_PASSWORD: SECRET });

/** Runs the binary with stdout into a file and stderr on a pipe. */
function runToFile(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const path = join(dir, "stdout.txt");
  const fd = openSync(path, "w");
  try {
    const result = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: env() as NodeJS.ProcessEnv, stdio: ["ignore", fd, "pipe"], encoding: "utf8" });
    return { status: result.status, stdout: readFileSync(path, "utf8"), stderr: result.stderr };
  } finally {
    closeSync(fd);
  }
}

describe("what loaded code prints itself", { timeout: 60_000 }, () => {
  it("a revision's own writes of a secret are masked, on a file and on a pipe", async () => {
    const onFile = runToFile(["upgrade"]);
    expect(onFile.status).toBe(0);
    expect(`${onFile.stdout}${onFile.stderr}`).not.toContain(SECRET);
    expect(onFile.stdout).toContain("out:***\n");
    expect(onFile.stdout).toContain("bytes:pw_***_x\n");
    expect(onFile.stdout).toContain("log: ***\n");
    expect(onFile.stderr).toContain("err:***\n");

    // A new database (PGlite's, in .athanor/) for the same revision.
    await rm(join(dir, ".athanor"), { recursive: true, force: true });
    const onPipe = await spawnCli(["upgrade"], { cwd: dir, env: env() });
    expect(onPipe.status).toBe(0);
    expect(`${onPipe.stdout}${onPipe.stderr}`).not.toContain(SECRET);
    expect(onPipe.stdout).toContain("out:***\n");
    expect(onPipe.stdout).toContain("bytes:pw_***_x\n");
    expect(onPipe.stdout).toContain("log: ***\n");
  });

  it("--json: a revision's writes to process.stdout go to stderr; stdout stays one JSON document (file and pipe)", async () => {
    const onFile = runToFile(["upgrade", "--json"]);
    expect(onFile.status).toBe(0);
    expect((JSON.parse(onFile.stdout) as { current: string[] }).current).toEqual(["aaaaaaaaaaaa"]);
    expect(onFile.stderr).toContain("out:***\n");
    expect(onFile.stderr).toContain("bytes:pw_***_x\n");
    expect(onFile.stderr).toContain("log: ***\n");
    expect(onFile.stderr).not.toContain(SECRET);

    await rm(join(dir, ".athanor"), { recursive: true, force: true });
    const onPipe = await spawnCli(["upgrade", "--json"], { cwd: dir, env: env() });
    expect(onPipe.status).toBe(0);
    expect((JSON.parse(onPipe.stdout) as { current: string[] }).current).toEqual(["aaaaaaaaaaaa"]);
    expect(onPipe.stderr).toContain("out:***\n");
  });

  it("an error a config module throws while it loads is masked, in text and in --json", async () => {
    await writeFile(join(dir, "athanor.config.mjs"), `if (process.env.DB_PASSWORD.length < 20) throw new Error("DB_PASSWORD is too short: " + process.env.DB_PASSWORD + " (" + "pg:" + process.env.PGPASSWORD + ")");\n${CONFIG}`);
    const withPg = { ...env(), PGPASSWORD: "PgPw-7xyz" };
    const text = await spawnCli(["current"], { cwd: dir, env: withPg });
    expect(text.status).toBe(2);
    expect(text.stderr).toContain("DB_PASSWORD is too short: *** (pg:***)");
    const json = await spawnCli(["current", "--json"], { cwd: dir, env: withPg });
    expect(json.status).toBe(2);
    expect((JSON.parse(json.stdout) as { error: { message: string } }).error.message).toContain("DB_PASSWORD is too short: *** (pg:***)");
    expect(`${text.stdout}${text.stderr}${json.stdout}${json.stderr}`).not.toMatch(/Zq7-loaded-pw|PgPw-7xyz/);
  });
});
