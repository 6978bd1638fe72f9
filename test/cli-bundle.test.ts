/**
 * The CLI as bin/athanor.js runs it since the start-up work of issue #15: one bundled
 * file (dist/cli/bundle.cjs, scripts/build-cli.mjs) run by dist/cli/launch.js with a V8
 * code cache. What is checked: the bundle is what runs (athanor's modules are evaluated
 * inside it, not loaded as files); `heads` still evaluates no package but commander and
 * picocolors (no pg, no PGlite) while `upgrade` loads its driver, on PostgreSQL and PGlite,
 * pg and its packages from the bundle's copy, whose licence notices the bundle carries; the
 * code cache is written once to ATHANOR_CACHE_DIR, survives a cache with another key or
 * corrupt content (one byte flipped under an intact key included), and is not
 * written when the cache is off or cannot be written; paths found from the modules' own
 * location (package.json's version, bin/athanor.js for shell-init) are still right; an
 * athanor error from user code that imports the library is recognised as one.
 * Needs `npm run build`.
 */
import { spawn } from "node:child_process";
import { chmod, mkdir, readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, baseEnv, spawnCli } from "./support/cli.js";
import { createPostgresDatabase, tempDir, type TestDatabase } from "./support/databases.js";
import { createGuardProject, writeRevision, type GuardProject } from "./support/guard-project.js";
import { writeImportTraceHook } from "./support/import-trace.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ID = "0a1b2c3d4e5f";

describe("the bundled CLI", () => {
  let project: GuardProject;
  let database: TestDatabase;
  let cache: { dir: string; remove(): Promise<void> };
  let register: string;

  beforeAll(async () => {
    database = await createPostgresDatabase("athanor_bundle");
    project = await createGuardProject();
    cache = await tempDir("athanor-code-cache-");
    await project.writeConfig({ development: { url: database.url }, local: { url: "pglite://./.athanor/local" } });
    await writeRevision(project.migrationsDir, { id: ID, down: null, message: "one", upgrade: "CREATE TABLE one (id int);", downgrade: "DROP TABLE one;" }, 0);
    // Every URL resolved through import: bin, the launcher, packages loaded with import().
    register = await writeImportTraceHook(project.dir);
  });

  afterAll(async () => {
    await project?.remove();
    await database?.drop();
    await cache?.remove();
  });

  /** Runs bin/athanor.js in the project under `node <nodeArgs>`, with the code cache in its own folder; expects exit 0. */
  async function runBin(nodeArgs: string[], args: string[], env: Record<string, string | undefined> = {}, cwd = project.dir): Promise<void> {
    const status = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], {
        cwd,
        env: baseEnv({ ATHANOR_CACHE_DIR: cache.dir, ...env }) as NodeJS.ProcessEnv,
        stdio: "ignore",
      });
      child.on("error", reject);
      child.on("close", (code) => resolve(code ?? 1));
    });
    expect(status).toBe(0);
  }

  /** Runs bin/athanor.js with both traces; returns what import resolved and what the bundle's debug hook wrote. */
  async function traced(args: string[], name: string, cwd = project.dir): Promise<{ imported: string[]; bundle: string[] }> {
    const imports = join(project.dir, `${name}.imports`);
    const modules = join(project.dir, `${name}.modules`);
    await writeFile(imports, "");
    await writeFile(modules, "");
    await runBin(["--import", register], args, { IMPORT_TRACE: imports, ATHANOR_DEBUG_MODULES: modules }, cwd);
    const lines = async (file: string) => (await readFile(file, "utf8")).split("\n").filter((line) => line !== "");
    return { imported: await lines(imports), bundle: await lines(modules) };
  }

  it("runs athanor's modules inside the bundle, and `heads` loads no package at all (no pg, no PGlite)", async () => {
    const { imported, bundle } = await traced(["heads"], "heads");
    // Evaluated inside the bundle (only its debug hook writes these lines)...
    expect(bundle).toContain(new URL("dist/commands/heads.js", `file://${ROOT}`).href);
    expect(bundle).toContain(new URL("dist/cli/main.js", `file://${ROOT}`).href);
    // ...and not imported as files: nothing of dist/ goes through import (no ES module loader
    // work at start-up); the entry point and the launcher, CommonJS, are the only files required.
    // (With the trace's --import hook, Node resolves the main module through the hook too.)
    expect(imported.filter((url) => url.includes("/dist/"))).toEqual([]);
    // The only packages it evaluates are the two every command needs, copied into the bundle.
    expect(imported.filter((url) => url.includes("/node_modules/"))).toEqual([]);
    expect(bundle.filter((url) => url.includes("/node_modules/")).every((url) => /^file:\/\/\S+\/node_modules\/(commander|picocolors)\//.test(url))).toBe(true);
    expect(bundle.filter((url) => url.startsWith("require ")).sort()).toEqual([`require ${new URL("bin/athanor.js", `file://${ROOT}`).href}`, `require ${new URL("dist/cli/launch.cjs", `file://${ROOT}`).href}`]);
    expect(bundle.join("\n")).not.toMatch(/autogenerate|dialects\/|node_modules\/pg/);
  });

  it("`--version` prints the version from the first pack alone: no command's module is evaluated", async () => {
    const { bundle } = await traced(["--version"], "version");
    expect(bundle).toContain(new URL("dist/cli/main.js", `file://${ROOT}`).href);
    // The old build registered every command for it, reading all four packs (~0.12 s, against ~0.08 s for `heads`).
    expect(bundle.filter((url) => /\/dist\/(cli\/commands\/(?!index\.js)|commands\/)/.test(url))).toEqual([]);
  });

  it("a TypeScript config is loaded through jiti's CommonJS entry: nothing goes through the ES module loader", async () => {
    const { dir, remove } = await tempDir("athanor-bundle-ts-config-");
    try {
      await mkdir(join(dir, "migrations"));
      await writeFile(join(dir, "athanor.config.ts"), 'import { defineConfig } from "athanor";\nexport default defineConfig({ environments: { development: { url: "pglite://./.athanor/dev" } } });\n');
      await writeRevision(join(dir, "migrations"), { id: ID, down: null, message: "one", upgrade: "CREATE TABLE one (id int);", downgrade: "DROP TABLE one;" }, 0);
      const { imported, bundle } = await traced(["heads"], "heads-ts", dir);
      // import("jiti") had Node's ES loader resolve lib/jiti.mjs and scan jiti's 188 kB CommonJS file for its exports.
      expect(imported.filter((url) => url.includes("/node_modules/"))).toEqual([]);
      expect(bundle).toContain(`require ${new URL("node_modules/jiti/lib/jiti.cjs", `file://${ROOT}`).href}`);
    } finally {
      await remove();
    }
  });

  it("each pack's source map (what --verbose stacks use, through Node's loader) maps its code back to dist/'s modules", async () => {
    const { findSourceMap } = await import("node:module");
    const { createRequire } = await import("node:module");
    const require = createRequire(import.meta.url);
    process.setSourceMapsEnabled(true);
    const where: Record<string, [string, string]> = {
      "bundle.cjs": ["function buildProgram(", "dist/cli/main.js"],
      "bundle-read.cjs": ["async function readScriptDirectory(", "dist/revisions/script-directory.js"],
      "bundle-run.cjs": ["function acquireLock(", "dist/run/lock.js"],
    };
    for (const [pack, [text, module]] of Object.entries(where)) {
      const file = join(ROOT, "dist/cli", pack);
      require(file);
      const map = findSourceMap(file);
      expect(map, pack).toBeDefined();
      const source = await readFile(file, "latin1");
      const at = source.indexOf(text);
      expect(at, `${text} in ${pack}`).toBeGreaterThan(0);
      const line = source.slice(0, at).split("\n").length - 1;
      const column = at - (source.lastIndexOf("\n", at - 1) + 1);
      const entry = map?.findEntry(line, column) as { originalSource?: string } | undefined;
      expect(entry?.originalSource, pack).toBe(new URL(module, `file://${ROOT}`).href);
    }
  });

  /** The Node built-ins a run of `args` loaded (process.moduleLoadList, written at exit by a preloaded script). */
  async function builtinsLoaded(args: string[], name: string, env: Record<string, string | undefined> = {}): Promise<string[]> {
    const list = join(project.dir, `${name}.builtins`);
    const preload = join(project.dir, `${name}.cjs`);
    await writeFile(preload, `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join("\\n")));\n`);
    await runBin(["-r", preload], args, env);
    const loaded = (await readFile(list, "utf8")).split("\n");
    // The list is Node's own: the launcher's node:vm is in it.
    expect(loaded).toContain("NativeModule vm");
    return loaded;
  }

  it("loads no node:child_process for `heads` (commander's require of it is lazy) nor for an unprotected `upgrade` (the backup and the other gates load with a protected run)", async () => {
    expect((await builtinsLoaded(["heads"], "heads")).filter((entry) => /child_process|dgram/.test(entry))).toEqual([]);
    expect((await builtinsLoaded(["upgrade"], "upgrade")).filter((entry) => /child_process|dgram/.test(entry))).toEqual([]);
  });

  it("`heads` loads no built-in it does not use: node:os (the code cache's folder comes from $HOME), AbortController's module, node:console, node:timers/promises, node:process, node:module (with the ES module loader and the source map parser it loads), node:v8 (it sets no V8 flag)", async () => {
    const home = join(cache.dir, "home");
    await mkdir(home);
    const loaded = await builtinsLoaded(["heads"], "heads-unused", { ATHANOR_CACHE_DIR: undefined, HOME: home });
    expect(loaded.filter((entry) => /^NativeModule (os|console|timers\/promises|process|internal\/abort_controller|module|internal\/modules\/esm\/loader|internal\/source_map\/source_map|v8)$/.test(entry))).toEqual([]);
    // The code caches (the bundle's and bundle-read.cjs's) are where os.homedir() would have put them.
    expect((await readdir(join(home, ".cache", "athanor"))).filter((name) => /^cli-code-[0-9a-f]{16}\.bin$/.test(name))).toHaveLength(2);
  });

  it("an unprotected `upgrade` on PostgreSQL builds no stdin stream: no node:fs/promises, readline or file streams (whether a person can answer a prompt is asked of the descriptor)", async () => {
    // stdin is /dev/null here (stdio "ignore"): process.stdin would be a file stream, which loads all three.
    const loaded = await builtinsLoaded(["upgrade"], "upgrade-stdin");
    expect(loaded.filter((entry) => /readline|fs\/promises|fs\/streams/.test(entry))).toEqual([]);
  });

  it("`upgrade` loads pg on PostgreSQL and PGlite on PGlite (the lazy loads still happen where needed)", async () => {
    const postgres = await traced(["upgrade"], "upgrade-pg");
    // pg, the packages it loads and dotenv are evaluated from the bundle's copy: none of their files is loaded with require.
    expect(postgres.bundle.filter((url) => /^file:\/\/\S+\/node_modules\/(pg|pg-protocol|pg-types|pg-connection-string)\//.test(url)).length).toBeGreaterThanOrEqual(4);
    expect(postgres.bundle.filter((url) => url.startsWith("require ") && /\/node_modules\/(pg|pg-[a-z-]+|pgpass|postgres-[a-z]+|dotenv)\//.test(url))).toEqual([]);
    expect(postgres.imported.some((url) => url.includes("/node_modules/@electric-sql/pglite/"))).toBe(false);
    // Every package evaluated from the bundle has its notice in the files that hold its code (name, version, the licence's own text).
    const files = (await readdir(join(ROOT, "dist/cli"))).filter((name) => /^bundle.*\.cjs$/.test(name)).map((name) => join(ROOT, "dist/cli", name));
    expect(files).toHaveLength(4);
    let notices = "";
    for (const file of files) {
      const text = await readFile(file, "latin1");
      const at = text.lastIndexOf("/*!\nThis file contains code from the following packages");
      if (at !== -1) notices += text.slice(at);
    }
    const copied = new Set(postgres.bundle.flatMap((url) => /^file:\/\/\S+\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []));
    expect(copied.has("pg") && copied.has("commander")).toBe(true);
    for (const name of copied) {
      const manifest = JSON.parse(await readFile(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string; license: string };
      expect(notices).toContain(`\n${name}@${manifest.version} (${manifest.license}):\n`);
    }
    expect(notices).toContain("Copyright (c) 2010 - 2021 Brian Carlson");
    const pglite = await traced(["--env", "local", "upgrade"], "upgrade-pglite");
    expect(pglite.imported.some((url) => url.includes("/node_modules/@electric-sql/pglite/"))).toBe(true);
    expect(pglite.bundle.some((url) => url.includes("/node_modules/pg/"))).toBe(false);
    const current = await spawnCli(["--env", "local", "current"], { cwd: project.dir, env: baseEnv({ ATHANOR_CACHE_DIR: cache.dir }) });
    expect(current.stdout).toContain(`${ID} (head) one`);
  }, 120_000);

  describe("code cache", () => {
    let dir: string;
    const run = (args: string[], env: Record<string, string | undefined>) => spawnCli(args, { cwd: project.dir, env: baseEnv(env) });
    const cacheFiles = async (folder: string) => (await readdir(folder)).filter((name) => name.startsWith("cli-code-"));
    /** The bundle's own code cache in `folder` (each other pack a command loads has one too): the one whose key names the bundle's hash. */
    const bundleCacheFile = async (folder: string): Promise<string> => {
      const bundle = await readFile(join(ROOT, "dist/cli/bundle.cjs"), "latin1");
      const hash = /^[^\n]* \/\/ athanor-cli-bundle ([0-9a-f]{64})\n/.exec(bundle)?.[1];
      expect(hash).toBeDefined();
      const found: string[] = [];
      for (const name of await cacheFiles(folder)) {
        const data = await readFile(join(folder, name));
        if (data.toString("latin1", 0, data.indexOf(10)).includes(` ${hash as string} `)) found.push(name);
      }
      expect(found).toHaveLength(1);
      return found[0] as string;
    };

    beforeAll(async () => {
      dir = join(cache.dir, "own");
      await mkdir(dir);
    });

    it("is written once, on the first run, to ATHANOR_CACHE_DIR, keyed by the bundle (and one for each other pack the command loaded); the next runs read it", async () => {
      const first = await run(["heads"], { ATHANOR_CACHE_DIR: dir });
      expect(first.status, first.stderr).toBe(0);
      const all = await cacheFiles(dir);
      // One for each pack `heads` compiles: the bundle and bundle-read.cjs (its command, the
      // scan, the graph), not bundle-run.cjs (the database) nor bundle-rest.cjs.
      expect(all).toHaveLength(2);
      for (const name of all) expect(name).toMatch(/^cli-code-[0-9a-f]{16}\.bin$/);
      const file = await bundleCacheFile(dir);
      const written = await readFile(join(dir, file));
      const bundle = await readFile(join(ROOT, "dist/cli/bundle.cjs"), "latin1");
      // The bundle's function is compiled eagerly, so its top level is in the cache (~40 % of
      // the bundle's size); compiled lazily it was a tenth of that and the bundle was parsed at every run.
      expect(written.length).toBeGreaterThan(bundle.length / 5);
      const inodes = new Map<string, number>();
      for (const name of all) inodes.set(name, (await stat(join(dir, name))).ino);
      const second = await run(["heads"], { ATHANOR_CACHE_DIR: dir });
      expect(second.stdout).toBe(first.stdout);
      // Accepted: none rewritten (a rewrite renames a new file into place: another inode), none added.
      expect((await readFile(join(dir, file))).equals(written)).toBe(true);
      expect((await cacheFiles(dir)).sort()).toEqual([...all].sort());
      for (const name of all) expect((await stat(join(dir, name))).ino).toBe(inodes.get(name));
    });

    it("holds the code of every function the command ran, not only what V8 compiled before the pack ran (compiled again at every later run otherwise)", async () => {
      const folder = join(cache.dir, "ran");
      await mkdir(folder);
      expect((await run(["heads"], { ATHANOR_CACHE_DIR: folder })).status).toBe(0);
      const written = await readFile(join(folder, await bundleCacheFile(folder)));
      const code = written.length - (written.indexOf(10) + 1);
      // A cache made right after compiling the bundle holds what V8 compiled eagerly: the chunks' top levels.
      const bundle = join(ROOT, "dist/cli/bundle.cjs");
      const compiled = new Script(await readFile(bundle, "latin1"), { filename: bundle }).createCachedData();
      expect(code / 2).toBeGreaterThan(compiled.length * 1.5);
    });

    /** The first line of a cache file without its padding: the key, then what the cache holds (`ran` or `compiled`). */
    const firstLine = (data: Buffer) => data.toString("latin1", 0, data.indexOf(10)).trimEnd();
    /** The size of the bundle's code cache taken right after compiling it, before any of its code ran. */
    const compiledSize = async () => {
      const bundle = join(ROOT, "dist/cli/bundle.cjs");
      return new Script(await readFile(bundle, "latin1"), { filename: bundle }).createCachedData().length;
    };

    it("`current` (run with --liftoff-only, set before any pack is compiled) writes a bundle cache with every function it ran, not the one taken before its code ran", async () => {
      const folder = join(cache.dir, "current-first");
      await mkdir(folder);
      expect((await run(["current"], { ATHANOR_CACHE_DIR: folder })).status).toBe(0);
      const written = await readFile(join(folder, await bundleCacheFile(folder)));
      expect(firstLine(written)).toMatch(/ ran$/);
      const code = written.length - (written.indexOf(10) + 1);
      expect(code / 2).toBeGreaterThan((await compiledSize()) * 1.5);
    });

    it("a bundle cache taken before the code ran (the command set a V8 flag afterwards: `heads` in a large directory) is replaced once by the next command that sets none, with every function it ran, then kept", async () => {
      const folder = join(cache.dir, "compiled-first");
      await mkdir(folder);
      // A directory of more than 64 KiB (hidden files, which the scan skips): `heads` sets --semi-space-growth-factor=1 once the bundle runs.
      const large = join(cache.dir, "large-project");
      await mkdir(join(large, "migrations"), { recursive: true });
      await writeFile(join(large, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { development: {} } }));
      await writeRevision(join(large, "migrations"), { id: ID, down: null, message: "one", upgrade: "CREATE TABLE one (id int);", downgrade: "DROP TABLE one;" }, 0);
      for (let i = 0; i < 2_000; i++) await writeFile(join(large, "migrations", `.padding-${String(i).padStart(6, "0")}-so-that-the-directory-entry-is-long`), "");
      const inLarge = () => spawnCli(["heads"], { cwd: large, env: baseEnv({ ATHANOR_CACHE_DIR: folder }) });
      expect((await inLarge()).status).toBe(0);
      const file = join(folder, await bundleCacheFile(folder));
      const compiled = await readFile(file);
      expect(firstLine(compiled)).toMatch(/ compiled$/);
      // The next `heads` in a small directory (no flag) writes the bundle's cache again, with what it ran.
      expect((await run(["heads"], { ATHANOR_CACHE_DIR: folder })).status).toBe(0);
      const ran = await readFile(file);
      expect(firstLine(ran)).toMatch(/ ran$/);
      expect(ran.length).toBeGreaterThan(compiled.length * 1.5);
      // Then neither writes it again (a rewrite renames a new file into place: another inode).
      const inode = (await stat(file)).ino;
      expect((await inLarge()).status).toBe(0);
      expect((await run(["heads"], { ATHANOR_CACHE_DIR: folder })).status).toBe(0);
      expect((await stat(file)).ino).toBe(inode);
    });

    it("a first `--version` (it runs little of the bundle) writes a cache marked `compiled`, which the next real command replaces once with what it ran", async () => {
      const folder = join(cache.dir, "version-first");
      await mkdir(folder);
      expect((await run(["--version"], { ATHANOR_CACHE_DIR: folder })).status).toBe(0);
      const file = join(folder, await bundleCacheFile(folder));
      const thin = await readFile(file);
      expect(firstLine(thin)).toMatch(/ compiled$/);
      expect((await run(["heads"], { ATHANOR_CACHE_DIR: folder })).status).toBe(0);
      const ran = await readFile(file);
      expect(firstLine(ran)).toMatch(/ ran$/);
      expect(ran.length).toBeGreaterThan(thin.length * 1.5);
    });

    it("commands run in turn that set other V8 flags (`current` sets --liftoff-only, `heads` none) each keep their pack caches: none is rejected and rewritten at every run", async () => {
      const folder = join(cache.dir, "flags");
      await mkdir(folder);
      // One round to write each command's caches, then two more: no file written again (a rewrite renames a new file into place: another inode).
      for (const command of ["heads", "current"]) expect((await run([command], { ATHANOR_CACHE_DIR: folder })).status).toBe(0);
      const inodes = async () => new Map(await Promise.all((await cacheFiles(folder)).map(async (name) => [name, (await stat(join(folder, name))).ino] as const)));
      const written = await inodes();
      for (const command of ["heads", "current", "heads", "current"]) expect((await run([command], { ATHANOR_CACHE_DIR: folder })).status).toBe(0);
      expect(await inodes()).toEqual(written);
    });

    it("writing one removes this user's code caches not written for 30 days, and nothing else", async () => {
      const folder = join(cache.dir, "prune");
      await mkdir(folder);
      const day = 24 * 3600;
      const now = Date.now() / 1000;
      const planted = { stale: "cli-code-00000000000000aa.bin", staleTemporary: "cli-code-00000000000000aa.bin.1-x.tmp", recent: "cli-code-00000000000000bb.bin", other: "pglite-template-old.tar" };
      for (const name of Object.values(planted)) await writeFile(join(folder, name), "x");
      for (const name of [planted.stale, planted.staleTemporary, planted.other]) await utimes(join(folder, name), now - 40 * day, now - 40 * day);
      await utimes(join(folder, planted.recent), now - 20 * day, now - 20 * day);
      const result = await run(["heads"], { ATHANOR_CACHE_DIR: folder });
      expect(result.status, result.stderr).toBe(0);
      const left = (await readdir(folder)).sort();
      expect(left).toContain(planted.recent);
      expect(left).toContain(planted.other);
      expect(left).not.toContain(planted.stale);
      expect(left).not.toContain(planted.staleTemporary);
      // The ones just written (the bundle's and bundle-read.cjs's), beside the two kept.
      expect(left.filter((name) => /^cli-code-[0-9a-f]{16}\.bin$/.test(name) && name !== planted.recent).length).toBeGreaterThan(1);
      expect(left.filter((name) => !/^cli-code-[0-9a-f]{16}\.bin$/.test(name))).toEqual([planted.other]);
    });

    it("a cache with another key, or the right key and corrupt code, is not used as is: the command runs and the cache is rewritten", async () => {
      const path = join(dir, await bundleCacheFile(dir));
      const good = await readFile(path);
      const key = good.toString("latin1", 0, good.indexOf(10));
      // The first line is the key; the code follows it twice.
      const body = good.subarray(good.indexOf(10) + 1);
      const code = body.subarray(0, body.length / 2);
      expect(body.subarray(body.length / 2).equals(code)).toBe(true);
      const damaged = (...offsets: number[]): Buffer => {
        const copy = Buffer.from(body);
        for (const at of offsets) copy[at] = (copy[at] as number) ^ 0xff;
        return Buffer.concat([Buffer.from(`${key}\n`), copy]);
      };
      const stales = [
        Buffer.concat([Buffer.from(`${key.replace(/ [0-9a-f]{64} /, ` ${"0".repeat(64)} `)}\n`), body]),
        Buffer.from(`${key}\nnot V8's code cache at all`),
        // The code once (as the previous format wrote it), and the code twice with one byte more.
        Buffer.concat([Buffer.from(`${key}\n`), code]),
        Buffer.concat([Buffer.from(`${key}\n`), body, Buffer.from("x")]),
        // Larger than the bundle, whose bytes the launcher reuses to read a cache that fits in them.
        Buffer.concat([Buffer.from(`${key}\n`), body, Buffer.alloc(2 * 1024 * 1024, 0x41)]),
        // One byte damaged in either copy under an intact key line: V8 (release builds check no
        // checksum) segfaulted, hit "unreachable code" or spun on these, on every later run.
        ...[1000, 3000, 120_000, 140_000, 160_000, 170_000].filter((at) => at < code.length).map((at) => damaged(at)),
        damaged(code.length + 3000),
        damaged(body.length - 1),
        // Both copies damaged, at different places.
        damaged(5000, code.length + 9000),
      ];
      for (const stale of stales) {
        await writeFile(path, stale);
        const result = await spawnCli(["heads"], { cwd: project.dir, env: baseEnv({ ATHANOR_CACHE_DIR: dir }), timeoutMs: 30_000 });
        expect(result.status, result.stderr).toBe(0);
        expect(result.stdout).toContain(`${ID} (head) (base) one`);
        const rewritten = await readFile(path);
        expect(rewritten.toString("latin1", 0, rewritten.indexOf(10))).toBe(key);
        expect(rewritten.equals(stale)).toBe(false);
      }
    });

    it("a cache file that others can write is not used: it is replaced by one only its owner can write", async () => {
      const path = join(dir, await bundleCacheFile(dir));
      // A valid cache (V8 would take it): only the mode says it is not to be trusted.
      await chmod(path, 0o666);
      const result = await run(["heads"], { ATHANOR_CACHE_DIR: dir });
      expect(result.status, result.stderr).toBe(0);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
    });

    it("is not written with ATHANOR_CACHE_DIR=off, nor into a folder it cannot write, and the command works either way", async () => {
      const off = await run(["heads"], { ATHANOR_CACHE_DIR: "off" });
      expect(off.status, off.stderr).toBe(0);
      expect(off.stdout).toContain(`${ID} (head) (base) one`);
      const locked = join(cache.dir, "read-only");
      await mkdir(locked);
      await chmod(locked, 0o500);
      try {
        const result = await run(["heads"], { ATHANOR_CACHE_DIR: locked });
        expect(result.status, result.stderr).toBe(0);
        expect(result.stderr).toBe("");
        if (process.getuid?.() !== 0) expect(await readdir(locked)).toEqual([]);
      } finally {
        await chmod(locked, 0o700);
      }
    });
  });

  it("an athanor error thrown by user code that imports the library (another copy of the classes) is still athanor's error", async () => {
    const { dir, remove } = await tempDir("athanor-bundle-settings-");
    try {
      await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", settings: "./settings.mjs", environments: { development: {} } }));
      await mkdir(join(dir, "migrations"));
      const library = new URL("dist/index.js", `file://${ROOT}`).href;
      await writeFile(join(dir, "settings.mjs"), `import { ConfigError } from ${JSON.stringify(library)};\nexport function databaseUrl() { throw new ConfigError("vault-locked", "the vault is locked", { hint: "unlock it first" }); }\n`);
      const result = await spawnCli(["current"], { cwd: dir, env: baseEnv({ ATHANOR_CACHE_DIR: cache.dir }) });
      expect(result.status).toBe(2);
      // Passed on as the user's ConfigError, not wrapped as a failure of the settings module.
      expect(result.stderr).toBe("error: the vault is locked\n  hint: unlock it first\n");
    } finally {
      await remove();
    }
  });

  it("finds what it finds from the modules' own location: package.json's version, bin/athanor.js for shell-init", async () => {
    const manifest = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { version: string };
    const version = await spawnCli(["--version"], { cwd: project.dir, env: baseEnv({ ATHANOR_CACHE_DIR: cache.dir }) });
    expect(version.stdout.trim()).toBe(manifest.version);
    const shell = await spawnCli(["shell-init", "bash"], { cwd: project.dir, env: baseEnv({ ATHANOR_CACHE_DIR: cache.dir }) });
    expect(shell.status, shell.stderr).toBe(0);
    expect(shell.stdout).toContain(BIN);
  });
});
