/**
 * Failures around the command rather than in it, each told in one line that names the fix
 * and exits 2, where Node's stack trace or a message about the user's code came before:
 * - a missing or damaged build (bin/athanor.js, src/cli/launch.ts): dist/cli/bundle.cjs
 *   missing (also under --verbose), not JavaScript, or compiling without being the
 *   bundle's wrapper; dist/cli/launch.cjs missing. Run from a copy of bin/ and dist/cli/launch.cjs;
 * - a working directory deleted under the shell (src/cli/bin.ts): "a promise rejected and
 *   nothing was waiting for it ... a missing await?" before;
 * - a revision name that is a dangling symbolic link (src/revisions/script-directory.ts):
 *   "does not exist, check the path" before, for a name the listing shows.
 * Needs `npm run build`.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, baseEnv, runCli, spawnCli, type CliResult } from "./support/cli.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const HINT = "hint: in a checkout of athanor, run `npm run build`; in an install, reinstall athanor";

let dir: string;
let project: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "athanor-broken-install-"));
  project = join(dir, "project");
  await mkdir(join(project, "migrations"), { recursive: true });
  await writeFile(join(project, "athanor.config.mjs"), 'export default { environments: { development: { url: "pglite://./.athanor/dev" } } };\n');
  await writeFile(join(project, "migrations", "a00000000001_one.sql"), "-- athanor:revision a00000000001\n-- athanor:message one\n\n-- athanor:upgrade\nSELECT 1;\n");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A copy of bin/ and dist/cli/launch.cjs, with `bundle` as dist/cli/bundle.cjs (none when null). */
async function install(name: string, bundle: string | null, launcher = true): Promise<string> {
  const root = join(dir, name);
  await cp(join(ROOT, "bin"), join(root, "bin"), { recursive: true });
  await mkdir(join(root, "dist", "cli"), { recursive: true });
  if (launcher) await cp(join(ROOT, "dist", "cli", "launch.cjs"), join(root, "dist", "cli", "launch.cjs"));
  if (bundle !== null) await writeFile(join(root, "dist", "cli", "bundle.cjs"), bundle);
  return root;
}

/** A working install (the built packs, package.json, node_modules) but for dist/cli/bundle-read.cjs. */
async function installWithoutReadPack(name: string): Promise<string> {
  const root = await install(name, null);
  for (const pack of ["bundle.cjs", "bundle-run.cjs", "bundle-rest.cjs"]) await cp(join(ROOT, "dist", "cli", pack), join(root, "dist", "cli", pack));
  await cp(join(ROOT, "package.json"), join(root, "package.json"));
  await symlink(join(ROOT, "node_modules"), join(root, "node_modules"));
  return root;
}

/** What a spawned process printed and its exit status, once it has ended. */
function outputOf(child: ChildProcessWithoutNullStreams): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}

function runInstalled(root: string, args: string[]): Promise<CliResult> {
  return outputOf(spawn(process.execPath, [join(root, "bin", "athanor.js"), ...args], { cwd: project, env: baseEnv({ ATHANOR_CACHE_DIR: "off" }) as NodeJS.ProcessEnv }));
}

describe("a missing or damaged build", () => {
  it.each([
    ["missing", null, [], "dist/cli/bundle.cjs is missing (ENOENT)"],
    ["missing, --verbose", null, ["--verbose"], "dist/cli/bundle.cjs is missing (MODULE_NOT_FOUND)"],
    ["not JavaScript", "garbage(\n", [], "dist/cli/bundle.cjs is damaged or incomplete (SyntaxError)"],
    ["JavaScript, not the bundle's wrapper", "1;\n", [], "dist/cli/bundle.cjs is damaged or incomplete (TypeError)"],
  ] as const)("bundle %s: one line naming the fix, exit 2", async (name, bundle, flags, said) => {
    const root = await install(name.replace(/\W+/g, "-"), bundle);
    const result = await runInstalled(root, ["heads", ...flags]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toBe(`error: athanor's built CLI ${join(root, said.split(" ")[0] as string)}${said.slice(said.indexOf(" "))}\n  ${HINT} (\`npm install athanor\`, or \`npm ci\` in the project).\n`);
  }, 30_000);

  it("a pack missing once the command runs (bundle-read.cjs, which `heads` loads after the bundle): a configuration error naming it, exit 2, no stack", async () => {
    const root = await installWithoutReadPack("no-read-pack");
    const result = await runInstalled(root, ["heads"]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toBe(`error: athanor's built CLI ${join(root, "dist", "cli", "bundle-read.cjs")} is missing (ENOENT)\n  ${HINT} (\`npm install athanor\`, or \`npm ci\` in the project).\n`);
    const json = await runInstalled(root, ["heads", "--json"]);
    expect(json.status).toBe(2);
    expect((JSON.parse(json.stdout) as { error: { code: string } }).error.code).toBe("broken-install");
    // bundle-run.cjs missing instead, which `current` loads from inside the command.
    await cp(join(ROOT, "dist", "cli", "bundle-read.cjs"), join(root, "dist", "cli", "bundle-read.cjs"));
    await rm(join(root, "dist", "cli", "bundle-run.cjs"));
    const current = await runInstalled(root, ["current"]);
    expect(current.status, current.stderr).toBe(2);
    expect(current.stderr).toBe(`error: athanor's built CLI ${join(root, "dist", "cli", "bundle-run.cjs")} is missing (ENOENT)\n  ${HINT} (\`npm install athanor\`, or \`npm ci\` in the project).\n`);
  }, 30_000);

  it("a FIFO where a pack should be: the command does not wait on it; a configuration error naming it, exit 2", async () => {
    const root = await installWithoutReadPack("fifo-pack");
    execFileSync("mkfifo", [join(root, "dist", "cli", "bundle-read.cjs")]);
    const result = await runInstalled(root, ["heads"]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toBe(`error: athanor's built CLI ${join(root, "dist", "cli", "bundle-read.cjs")} cannot be read (not a regular file)\n  ${HINT} (\`npm install athanor\`, or \`npm ci\` in the project).\n`);
  }, 30_000);

  it("launch.cjs missing: the same, from bin/athanor.js", async () => {
    const root = await install("no-launcher", null, false);
    const result = await runInstalled(root, ["heads"]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(`error: athanor's built CLI ${join(root, "dist", "cli", "launch.cjs")} is missing (MODULE_NOT_FOUND)\n  ${HINT}`);
    expect(result.stderr.split("\n")).toHaveLength(3);
  }, 30_000);
});

describe("a working directory deleted under the shell", () => {
  it.each([[[] as string[]], [["--json"]]])("says so and exits 2 (%j)", async (flags) => {
    const gone = join(dir, "gone");
    // A shell that stands in a directory, removes it, then runs athanor there (spawn cannot start in a missing cwd).
    const result = await outputOf(
      spawn("sh", ["-c", `mkdir "$1" && cd "$1" && rmdir "$1" && exec "$2" "$3" --config "$4" heads ${flags.join(" ")}`, "sh", gone, process.execPath, BIN, join(project, "athanor.config.mjs")], { env: baseEnv() as NodeJS.ProcessEnv }),
    );
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toBe("error: the current directory no longer exists (it was removed or moved while this shell was in it)\n  hint: cd to the project again (`cd /path/to/project`), then rerun the command\n");
    if (flags.length > 0) expect((JSON.parse(result.stdout) as { error: { code: string; exitStatus: number } }).error).toMatchObject({ code: "cwd-gone", exitStatus: 2 });
  }, 30_000);

  it("the built CLI still runs from a directory that exists", async () => {
    const result = await spawnCli(["heads"], { cwd: project, env: baseEnv({ ATHANOR_CACHE_DIR: "off" }) });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain("a00000000001 (head)");
  }, 30_000);
});

describe("a revision name that is a dangling symbolic link", () => {
  it("is said to be a link to a target that does not exist", async () => {
    const link = join(project, "migrations", "a00000000002_two.sql");
    await symlink(join(dir, "nowhere.sql"), link);
    try {
      const result = await runCli(["heads"], { cwd: project, env: baseEnv({ ATHANOR_CACHE_DIR: "off" }) });
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toBe(`error: a00000000002_two.sql: cannot be read: it is a symbolic link to ${join(dir, "nowhere.sql")}, which does not exist (ENOENT)\n  hint: point the link at the revision file (\`ln -sfn <file> a00000000002_two.sql\`), or remove it\n`);
    } finally {
      await rm(link);
    }
  }, 30_000);
});
