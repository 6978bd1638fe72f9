/**
 * The package as a user gets it: `npm pack`, the tarball installed (offline, from the
 * npm cache `npm ci` filled) into a fresh ESM project and a fresh CommonJS project; its
 * declarations type-checked in strict mode without skipLibCheck and without @types/node,
 * with TypeScript 5 and 7; `npx athanor init`, a revision, `upgrade head` on PGlite and
 * `status` (exit 0 on a fresh project); `upgrade head` and `current` on PostgreSQL with the
 * bundle's copies of pg and dotenv (their packages removed from node_modules); and what the tarball holds.
 * Needs `npm run build` (npm test builds first); packs with --ignore-scripts so that it
 * never rebuilds dist/ under the other test files.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createPostgresDatabase, tempDir, type TestDatabase } from "./support/databases.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TSC = { "5": join(ROOT, "node_modules/typescript/bin/tsc"), "7": join(ROOT, "node_modules/typescript7/bin/tsc") } as const;

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

function sh(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, [...args], { cwd, env, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ status, stdout, stderr });
    });
  });
}

/** The user's environment: no DATABASE_URL or test settings leaking into the project. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env["PATH"], HOME: process.env["HOME"] };
  for (const name of ["npm_config_cache", "XDG_CACHE_HOME", "ATHANOR_CACHE_DIR"]) if (process.env[name] !== undefined) env[name] = process.env[name];
  return env;
}

/**
 * A package-lock.json for a user project that depends on the tarball alone: athanor's
 * entry, and the repository's lock entries of its runtime dependencies (not the dev
 * ones). With it `npm ci --offline` installs from the npm cache `npm ci` filled, by
 * integrity, without asking the registry for any metadata.
 */
async function userLockfile(name: string, tarball: string): Promise<Record<string, unknown>> {
  const lock = JSON.parse(await readFile(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
  const manifest = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as Record<string, unknown>;
  const integrity = `sha512-${createHash("sha512").update(await readFile(tarball)).digest("base64")}`;
  const spec = `file:../${tarball.split("/").at(-1) ?? ""}`;
  const packages: Record<string, unknown> = {
    "": { name, version: "1.0.0", dependencies: { athanor: spec } },
    "node_modules/athanor": {
      version: manifest["version"],
      resolved: spec,
      integrity,
      license: manifest["license"],
      dependencies: manifest["dependencies"],
      bin: manifest["bin"],
      engines: manifest["engines"],
      peerDependencies: manifest["peerDependencies"],
      peerDependenciesMeta: manifest["peerDependenciesMeta"],
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path.startsWith("node_modules/") && entry.dev !== true && entry.devOptional !== true) packages[path] = entry;
  }
  return { name, version: "1.0.0", lockfileVersion: 3, requires: true, packages };
}

/** A fresh project with the tarball installed offline. */
async function userProject(dir: string, name: string, type: "module" | "commonjs", tarball: string): Promise<Run> {
  await mkdir(dir);
  await writeFile(join(dir, "package.json"), JSON.stringify({ name, version: "1.0.0", private: true, type, dependencies: { athanor: `file:../${tarball.split("/").at(-1) ?? ""}` } }, null, 2));
  await writeFile(join(dir, "package-lock.json"), JSON.stringify(await userLockfile(name, tarball), null, 2));
  return sh("npm", ["ci", "--offline", "--no-audit", "--no-fund"], dir, userEnv());
}

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    skipLibCheck: false,
    module: "nodenext",
    moduleResolution: "nodenext",
    target: "es2022",
    // No @types/node and no DOM lib: the published declarations need neither (the
    // options' signal is a structural AbortSignalLike).
    lib: ["es2022"],
    types: [],
    noEmit: true,
  },
  include: ["*.ts", "*.mts", "*.cts"],
};

const CONFIG_TS = `import { defineConfig } from "athanor";

export default defineConfig({
  migrations: "./migrations",
  environments: {
    development: { url: "pglite://./.athanor/dev" },
    production: { url: "postgresql://app:\${DB_PASSWORD}@db:5432/app", protected: true },
  },
});
`;

const LIBRARY_TS = `import { loadConfig, resolveEnvironment, status, upgrade, ConfigError, type StatusReport } from "athanor";

export async function migrate(cwd: string): Promise<string[]> {
  const project = await loadConfig({ cwd });
  const env = await resolveEnvironment(project, { environment: "development", processEnv: {} });
  const result = await upgrade(env, { target: "head" });
  const report: StatusReport = await status(project, { processEnv: {} });
  if (report.environments.length === 0) throw new ConfigError("none", "no environment");
  return [result.environment, ...report.environments.map((entry) => entry.state)];
}
`;

describe("the packed tarball", () => {
  let work: { dir: string; remove(): Promise<void> };
  let tarball: string;
  let files: string[];

  beforeAll(async () => {
    work = await tempDir("athanor-packaging-");
    const pack = await sh("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work.dir], ROOT);
    expect(pack.status, pack.stderr).toBe(0);
    const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(work.dir, info?.filename ?? "missing.tgz");
    files = (info?.files ?? []).map((file) => file.path);
  }, 120_000);
  afterAll(async () => work.remove());

  it("holds LICENSE, README, bin and dist with declarations, and no tests", () => {
    expect(tarball).toMatch(/athanor-\d+\.\d+\.\d+\.tgz$/);
    for (const path of ["LICENSE", "README.md", "package.json", "bin/athanor.js", "dist/index.js", "dist/index.d.ts", "dist/cli/launch.js", "dist/cli/bundle.cjs", "dist/cli/bundle.cjs.map", "dist/cli/bundle-read.cjs", "dist/cli/bundle-run.cjs", "dist/cli/bundle-rest.cjs"]) expect(files, path).toContain(path);
    // The PGlite template `npm run build` made: no user machine runs initdb.
    for (const path of ["dist/pglite-template/manifest.json", "dist/pglite-template/pgdata.tar.gz"]) expect(files, path).toContain(path);
    expect(files.filter((path) => /(^|\/)test\/|\.test\.|\.fixture\.|tsbuildinfo/.test(path))).toEqual([]);
    expect(files.filter((path) => !/^(bin|dist)\/|^(LICENSE|README\.md|package\.json)$/.test(path))).toEqual([]);
  });

  describe("in a fresh ESM project", () => {
    let app: string;
    beforeAll(async () => {
      app = join(work.dir, "esm-app");
      const install = await userProject(app, "esm-app", "module", tarball);
      expect(install.status, install.stderr).toBe(0);
    }, 300_000);

    it("type-checks a config and a library call, strict, no skipLibCheck, no @types/node, on TypeScript 5 and 7", async () => {
      await writeFile(join(app, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2));
      await writeFile(join(app, "athanor.config.ts"), CONFIG_TS);
      await writeFile(join(app, "library.ts"), LIBRARY_TS);
      expect(await readdir(join(app, "node_modules"))).not.toContain("@types");
      for (const [version, tsc] of Object.entries(TSC)) {
        const check = await sh(process.execPath, [tsc, "-p", "."], app, userEnv());
        expect(check.status, `TypeScript ${version}: ${check.stdout}${check.stderr}`).toBe(0);
      }
    }, 120_000);

    it("runs init, a revision, upgrade head on PGlite, and status exits 0", async () => {
      const project = join(app, "project");
      await mkdir(project);
      const npx = (...args: string[]) => sh("npx", ["--no-install", "athanor", ...args], project, userEnv());
      const init = await npx("init");
      expect(init.status, init.stderr).toBe(0);
      expect(init.stdout).toContain("next: npx athanor revision");
      const revision = await npx("revision", "-m", "create users", "--json");
      expect(revision.status, revision.stderr).toBe(0);
      const { file } = JSON.parse(revision.stdout) as { file: string };
      // A machine that never ran athanor: an empty template cache, which stays without a
      // template (the installed package's template is used; initdb would cache its result).
      const cache = join(work.dir, "esm-cache");
      await mkdir(cache);
      const upgrade = await sh("npx", ["--no-install", "athanor", "upgrade", "head"], project, { ...userEnv(), ATHANOR_CACHE_DIR: cache });
      expect(upgrade.status, upgrade.stderr).toBe(0);
      // No template in it; the CLI's code cache (src/cli/launch.ts) goes there, not into the installed package.
      const cached = await readdir(cache);
      expect(cached.filter((name) => !/^cli-code-[0-9a-f]{16}\.bin$/.test(name))).toEqual([]);
      expect(cached.length).toBeGreaterThan(0);
      expect(upgrade.stderr + upgrade.stdout).toMatch(/upgraded development to [0-9a-f]{12}: 1 revision/);
      const status = await npx("status");
      expect(status.status, status.stdout + status.stderr).toBe(0);
      expect(status.stdout).toMatch(/development +pglite \.\/\.athanor\/dev +[0-9a-f]{12} +0 +✓ up-to-date/);
      expect(status.stdout).toContain("not configured yet");
      expect(file).toMatch(/create_users/);
    }, 300_000);
  });

  describe("on PostgreSQL, from the installed package", () => {
    let app: string;
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createPostgresDatabase("athanor_packed");
      app = join(work.dir, "pg-app");
      const install = await userProject(app, "pg-app", "module", tarball);
      expect(install.status, install.stderr).toBe(0);
    }, 300_000);
    afterAll(async () => database?.drop());

    it("runs upgrade head and current with the bundle's copies of pg and dotenv (their packages removed from node_modules)", async () => {
      // The CLI must not need them on disk: without the bundle's copies it could not start a PostgreSQL run.
      for (const name of ["pg", "pg-protocol", "pg-types", "pg-pool", "pgpass", "pg-connection-string", "dotenv"]) await rm(join(app, "node_modules", name), { recursive: true, force: true });
      const project = join(app, "project");
      await mkdir(join(project, "migrations"), { recursive: true });
      // The URL (and its password) reaches the process in the environment, never on a command line.
      await writeFile(join(project, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: { url: "\${PACKED_DB_URL}" } } }));
      await writeFile(join(project, "migrations", "0a1b2c3d4e5f_one.sql"), "-- athanor:revision 0a1b2c3d4e5f\n-- athanor:message one\n\n-- athanor:upgrade\nCREATE TABLE one (id int);\n\n-- athanor:downgrade\nDROP TABLE one;\n");
      const env = { ...userEnv(), PACKED_DB_URL: database.url };
      const upgrade = await sh("npx", ["--no-install", "athanor", "upgrade", "head"], project, env);
      expect(upgrade.status, upgrade.stderr).toBe(0);
      const current = await sh("npx", ["--no-install", "athanor", "current"], project, env);
      expect(current.status, current.stderr).toBe(0);
      expect(current.stdout).toContain("0a1b2c3d4e5f (head) one");
    }, 300_000);
  });

  describe("in a fresh CommonJS project", () => {
    let app: string;
    beforeAll(async () => {
      app = join(work.dir, "cjs-app");
      const install = await userProject(app, "cjs-app", "commonjs", tarball);
      expect(install.status, install.stderr).toBe(0);
    }, 300_000);

    it("require(\"athanor\") works (Node 20.19+ loads the ES module)", async () => {
      await writeFile(join(app, "index.js"), `const athanor = require("athanor");\nconsole.log(JSON.stringify([typeof athanor.defineConfig, typeof athanor.upgrade, typeof athanor.loadConfig]));\n`);
      const run = await sh(process.execPath, ["index.js"], app, userEnv());
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual(["function", "function", "function"]);
    });

    it("type-checks a CommonJS TypeScript file that imports athanor, on TypeScript 5 and 7", async () => {
      await writeFile(join(app, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2));
      await writeFile(join(app, "config.ts"), `import { defineConfig } from "athanor";\n\nexport = defineConfig({ environments: { development: { url: "pglite://memory" } } });\n`);
      for (const [version, tsc] of Object.entries(TSC)) {
        const check = await sh(process.execPath, [tsc, "-p", "."], app, userEnv());
        expect(check.status, `TypeScript ${version}: ${check.stdout}${check.stderr}`).toBe(0);
      }
    }, 120_000);
  });
});
