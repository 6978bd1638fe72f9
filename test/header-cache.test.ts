/**
 * The header cache (issue #15, deliverable 2) and header-only reading (deliverable 1):
 * a cached header is used only for the very file it was parsed from, a doubtful cache
 * is ignored and rebuilt, concurrent writers leave a valid cache, checksums never come
 * from it, and the inspection commands read no more of a file than its header.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HEADER_PARSER_MODULES, RACY_WINDOW_MS } from "../src/revisions/header-cache.js";
import { loadRevisionBody, readScriptDirectory, revisionChecksum } from "../src/revisions/script-directory.js";
import type { RevisionFile } from "../src/revisions/types.js";
import { baseEnv, runCli, spawnCli } from "./support/cli.js";

const A = "3f2a9c1d0b7e";
const B = "9c0d1e2f3a4b";
const C = "0123456789ab";

function sqlRevision(id: string, down: string | null, message: string, body = "SELECT 1;"): string {
  return `-- athanor:revision ${id}\n${down === null ? "" : `-- athanor:down ${down}\n`}-- athanor:message ${message}\n\n-- athanor:upgrade\n${body}\n`;
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "athanor-header-cache-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
/** A project with two revisions, old enough to be cached (see RACY_WINDOW_MS). */
async function project(): Promise<{ migrations: string; cacheDir: string }> {
  counter += 1;
  const dir = join(root, `p${counter}`);
  const migrations = join(dir, "migrations");
  await mkdir(migrations, { recursive: true });
  await writeFile(join(migrations, `a_${A}.sql`), sqlRevision(A, null, "first"));
  await writeFile(join(migrations, `b_${B}.sql`), sqlRevision(B, A, "second"));
  return { migrations, cacheDir: join(dir, ".athanor") };
}

async function cacheFile(cacheDir: string): Promise<string> {
  const names = (await readdir(cacheDir)).filter((name) => name.endsWith(".txt"));
  expect(names).toHaveLength(1);
  return join(cacheDir, names[0] as string);
}

/** The cache file's first line (what it was written by and for) and its entries (name → tab-separated fields). */
async function readCache(cacheDir: string): Promise<{ head: string; entries: Map<string, string[]> }> {
  const [head, ...lines] = (await readFile(await cacheFile(cacheDir), "utf8")).split("\n").filter((line) => line !== "");
  return { head: head ?? "", entries: new Map(lines.map((line) => [line.split("\t")[0] ?? "", line.split("\t")])) };
}

/** Rewrites the cached message of every entry (the last field): a read that returns it used the cache. */
async function plantMessage(cacheDir: string, message: string): Promise<void> {
  const { head, entries } = await readCache(cacheDir);
  const lines = [...entries.values()].map((fields) => [...fields.slice(0, -1), JSON.stringify(message)].join("\t"));
  await writeFile(await cacheFile(cacheDir), `${head}\n${lines.map((line) => `${line}\n`).join("")}`);
}

async function messages(migrations: string, cacheDir: string): Promise<string[]> {
  return (await readScriptDirectory(migrations, { cacheDir, checksums: false })).map((file) => file.message);
}

/** Two runs: the first finds no cache and leaves an empty one, the second fills it. What the second read. */
async function fillCache(migrations: string, cacheDir: string): Promise<string[]> {
  await messages(migrations, cacheDir);
  return messages(migrations, cacheDir);
}

/** Waits until files written now are older than the racy window. */
const ageFiles = (): Promise<void> => sleep(RACY_WINDOW_MS + 150);

describe("the header cache", () => {
  it("is not built on a run that finds none: that run leaves an empty cache, the next fills it, the one after is served from it", async () => {
    const { migrations, cacheDir } = await project();
    await ageFiles();
    expect(await messages(migrations, cacheDir)).toEqual(["first", "second"]);
    const marker = await readCache(cacheDir);
    expect(JSON.parse(marker.head)).toMatchObject({ format: expect.stringMatching(/^athanor-header-cache\//) as string, directory: migrations });
    expect(marker.entries.size).toBe(0);
    expect(await messages(migrations, cacheDir)).toEqual(["first", "second"]);
    const built = await readCache(cacheDir);
    expect(built.head).toBe(marker.head);
    expect([...built.entries.keys()]).toEqual([`a_${A}.sql`, `b_${B}.sql`]);
    await plantMessage(cacheDir, "from the cache");
    expect(await messages(migrations, cacheDir)).toEqual(["from the cache", "from the cache"]);
    // Removing it starts again: no stamps, an empty cache.
    await rm(cacheDir, { recursive: true });
    expect(await messages(migrations, cacheDir)).toEqual(["first", "second"]);
    expect((await readCache(cacheDir)).entries.size).toBe(0);
  });

  it("reads every run when the cache cannot be written (its directory is a file)", async () => {
    const { migrations, cacheDir } = await project();
    await writeFile(cacheDir, "not a directory");
    await ageFiles();
    for (let run = 0; run < 3; run += 1) expect(await messages(migrations, cacheDir)).toEqual(["first", "second"]);
    expect(await readFile(cacheDir, "utf8")).toBe("not a directory");
  });

  it("checks a checksum read after a run without stamps against the header the run read", async () => {
    const { migrations, cacheDir } = await project();
    const files = await readScriptDirectory(migrations, { cacheDir, checksums: false });
    // Only the body changed: the checksum is that of the text as it is now, whose header the graph was built from.
    const edited = sqlRevision(A, null, "first", "SELECT 2;");
    await writeFile(join(migrations, `a_${A}.sql`), edited);
    expect(files[0]?.checksum).toBe(revisionChecksum(edited));
    // The header changed (another parent): the revision read is not the file any more.
    await writeFile(join(migrations, `b_${B}.sql`), sqlRevision(B, C, "second"));
    expect(() => files[1]?.checksum).toThrow(expect.objectContaining({ code: "revision-changed" }) as Error);
    await writeFile(join(migrations, `b_${B}.sql`), "-- not a revision any more\n");
    expect(() => files[1]?.checksum).toThrow(expect.objectContaining({ code: "revision-changed" }) as Error);
    // The read that loads a revision to run it is checked the same way, and its checksum then guards the next read.
    await writeFile(join(migrations, `b_${B}.sql`), sqlRevision(B, A, "second"));
    const again = await readScriptDirectory(migrations, { cacheDir: join(migrations, "..", "elsewhere"), checksums: false });
    await writeFile(join(migrations, `a_${A}.sql`), sqlRevision(A, null, "renamed"));
    await expect(loadRevisionBody(again[0] as RevisionFile)).rejects.toMatchObject({ code: "revision-changed" });
    const third = (await readScriptDirectory(migrations, { cacheDir: join(migrations, "..", "third"), checksums: false }))[0] as RevisionFile;
    const body = sqlRevision(A, null, "renamed", "SELECT 3;");
    await writeFile(join(migrations, `a_${A}.sql`), body);
    const loaded = await loadRevisionBody(third);
    expect(loaded.format === "sql" ? loaded.upgrade.sql : null).toContain("SELECT 3;");
    expect(third.checksum).toBe(revisionChecksum(body));
    await writeFile(join(migrations, `a_${A}.sql`), sqlRevision(A, null, "renamed", "SELECT 4;"));
    await expect(loadRevisionBody(third)).rejects.toMatchObject({ code: "revision-changed" });
  });

  it("serves unchanged files from the cache, and reads a file again when its size, mtime or inode changes", async () => {
    const { migrations, cacheDir } = await project();
    await ageFiles();
    expect(await fillCache(migrations, cacheDir)).toEqual(["first", "second"]);
    await plantMessage(cacheDir, "from the cache");
    // Nothing changed: both headers come from the cache (the files are not parsed).
    expect(await messages(migrations, cacheDir)).toEqual(["from the cache", "from the cache"]);

    const a = join(migrations, `a_${A}.sql`);
    const b = join(migrations, `b_${B}.sql`);
    // Size: same header, a longer body.
    await writeFile(a, sqlRevision(A, null, "first", "SELECT 11;"));
    expect(await messages(migrations, cacheDir)).toEqual(["first", "from the cache"]);

    // Mtime only (same content, same size, same inode): read again.
    await plantMessage(cacheDir, "from the cache");
    const before = await stat(b);
    await utimes(b, before.atime, new Date(before.mtimeMs - 60_000));
    expect((await messages(migrations, cacheDir))[1]).toBe("second");

    // Inode only: a new file with the same size renamed over it, its times set back to the old ones.
    await plantMessage(cacheDir, "from the cache");
    const old = await stat(b);
    const replacement = join(migrations, ".replacement");
    await writeFile(replacement, sqlRevision(B, A, "SECOND"));
    await utimes(replacement, old.atime, old.mtime);
    await rename(replacement, b);
    expect((await stat(b)).ino).not.toBe(old.ino);
    expect((await stat(b)).size).toBe(old.size);
    expect((await messages(migrations, cacheDir))[1]).toBe("SECOND");
  });

  it("takes a line only when its stamp holds the file's five numbers as athanor writes them", async () => {
    const { migrations, cacheDir } = await project();
    await ageFiles();
    expect(await fillCache(migrations, cacheDir)).toEqual(["first", "second"]);
    const { head, entries } = await readCache(cacheDir);
    expect(entries.size).toBe(2);
    const stamps = [...entries.values()].map((fields) => fields[1] ?? "");
    // Each stamp is size:mtimeMs:ctimeMs:ino:dev; a stamp changed in any way, or written
    // otherwise than athanor writes it (a sign, a blank, a field missing, the same number
    // spelt another way: 0136, 0x88, 136e0, 136.0), is not taken: the revision's stamp is
    // later compared with the file's as athanor prints it.
    const variants = (stamp: string): string[] => {
      const parts = stamp.split(":");
      const bump = (i: number): string => parts.map((part, k) => (k === i ? String(Number(part) + (k === 0 ? 1 : 0.5)) : part)).join(":");
      // The same number written another way (Number reads each as the file's number).
      const respell = (i: number, spell: (part: string) => string): string => parts.map((part, k) => (k === i ? spell(part) : part)).join(":");
      const otherSpellings = parts.flatMap((_, i) => [
        respell(i, (part) => `0${part}`),
        respell(i, (part) => `${part}e0`),
        respell(i, (part) => (part.includes(".") ? `${part}0` : `${part}.0`)),
      ]);
      return [
        bump(0),
        bump(1),
        bump(2),
        bump(3),
        bump(4),
        `+${stamp}`,
        ` ${stamp}`,
        parts.slice(0, 4).join(":"),
        `${stamp}:1`,
        parts.map((part, k) => (k === 1 ? "" : part)).join(":"),
        respell(0, (part) => `0x${Number(part).toString(16)}`),
        respell(0, (part) => `0b${Number(part).toString(2)}`),
        ...otherSpellings,
      ];
    };
    for (let v = 0; v < variants(stamps[0] ?? "").length; v += 1) {
      const lines = [...entries.values()].map((fields, i) => [fields[0], variants(stamps[i] ?? "")[v], ...fields.slice(2, -1), JSON.stringify("from the cache")].join("\t"));
      await writeFile(await cacheFile(cacheDir), `${head}\n${lines.map((line) => `${line}\n`).join("")}`);
      expect(await messages(migrations, cacheDir), `stamp variant ${v}`).toEqual(["first", "second"]);
    }
    // The stamps as written are taken.
    await plantMessage(cacheDir, "from the cache");
    expect(await messages(migrations, cacheDir)).toEqual(["from the cache", "from the cache"]);
  });

  it("reads a file again after an edit in place that keeps its size, inode and mtime (its ctime changed)", async () => {
    const { migrations, cacheDir } = await project();
    const a = join(migrations, `a_${A}.sql`);
    // A whole second, which utimes sets exactly (a Date or a fraction would lose nanoseconds).
    const hourAgo = Math.floor(Date.now() / 1000) - 3600;
    await utimes(a, hourAgo, hourAgo);
    await ageFiles();
    expect(await fillCache(migrations, cacheDir)).toEqual(["first", "second"]);
    await plantMessage(cacheDir, "from the cache");
    expect(await messages(migrations, cacheDir)).toEqual(["from the cache", "from the cache"]);
    const before = await stat(a);
    // Same length, same file: only the text and then, put back, the times differ.
    await writeFile(a, sqlRevision(A, null, "FIRST"));
    await utimes(a, hourAgo, hourAgo);
    const after = await stat(a);
    expect([after.size, after.ino, after.mtimeMs]).toEqual([before.size, before.ino, before.mtimeMs]);
    expect(after.ctimeMs).not.toBe(before.ctimeMs);
    expect(await messages(migrations, cacheDir)).toEqual(["FIRST", "from the cache"]);
  });

  it("serves names and messages beyond ASCII from the cache exactly as written", async () => {
    counter += 1;
    const migrations = join(root, `p${counter}`, "migrations");
    const cacheDir = join(root, `p${counter}`, ".athanor");
    await mkdir(migrations, { recursive: true });
    await writeFile(join(migrations, `a_${A}.sql`), sqlRevision(A, null, "plain"));
    await writeFile(join(migrations, `ü_${B}.sql`), sqlRevision(B, A, "café ☕ naïve"));
    await ageFiles();
    expect(await fillCache(migrations, cacheDir)).toEqual(["plain", "café ☕ naïve"]);
    expect([...(await readCache(cacheDir)).entries.keys()]).toEqual([`a_${A}.sql`, `ü_${B}.sql`]);
    await plantMessage(cacheDir, "größer — from the cache 🙂");
    expect(await messages(migrations, cacheDir)).toEqual(["größer — from the cache 🙂", "größer — from the cache 🙂"]);
  });

  it("writes a message that needs escaping as JSON, and a plain one between quotes, and keeps both lines when it rewrites the cache", async () => {
    counter += 1;
    const migrations = join(root, `p${counter}`, "migrations");
    const cacheDir = join(root, `p${counter}`, ".athanor");
    await mkdir(migrations, { recursive: true });
    const escaped = 'say "hi"\\ \t tab 🙂';
    await writeFile(join(migrations, `a_${A}.sql`), sqlRevision(A, null, "plain"));
    await writeFile(join(migrations, `b_${B}.sql`), sqlRevision(B, A, escaped));
    await ageFiles();
    expect(await fillCache(migrations, cacheDir)).toEqual(["plain", escaped]);
    const written = (await readCache(cacheDir)).entries;
    expect(written.get(`a_${A}.sql`)?.at(-1)).toBe('"plain"');
    expect(written.get(`b_${B}.sql`)?.at(-1)).toBe(JSON.stringify(escaped));
    // A third file makes the next run rewrite the cache: the two lines it kept are copied as they were.
    await writeFile(join(migrations, `c_${C}.sql`), sqlRevision(C, B, "third"));
    await ageFiles();
    expect(await messages(migrations, cacheDir)).toEqual(["plain", escaped, "third"]);
    const rewritten = (await readCache(cacheDir)).entries;
    expect([...rewritten.keys()]).toEqual([`a_${A}.sql`, `b_${B}.sql`, `c_${C}.sql`]);
    expect(rewritten.get(`a_${A}.sql`)).toEqual(written.get(`a_${A}.sql`));
    expect(rewritten.get(`b_${B}.sql`)).toEqual(written.get(`b_${B}.sql`));
  });

  it("does not cache a file written within the racy window (a second write in the same clock tick keeps every key)", async () => {
    const { migrations, cacheDir } = await project();
    // An mtime ahead of the clock stands for "just written", however slowly this test runs.
    const soon = new Date(Date.now() + 60_000);
    for (const name of [`a_${A}.sql`, `b_${B}.sql`]) await utimes(join(migrations, name), soon, soon);
    await fillCache(migrations, cacheDir);
    expect([...(await readCache(cacheDir)).entries.keys()]).toEqual([]);
    const past = new Date(Date.now() - 60_000);
    for (const name of [`a_${A}.sql`, `b_${B}.sql`]) await utimes(join(migrations, name), past, past);
    await ageFiles();
    await messages(migrations, cacheDir);
    expect([...(await readCache(cacheDir)).entries.keys()]).toEqual([`a_${A}.sql`, `b_${B}.sql`]);
  });

  it("treats a corrupt cache, or one written by another version or parser, as absent: the next run leaves an empty one, the run after rebuilds it", async () => {
    const { migrations, cacheDir } = await project();
    await ageFiles();
    await fillCache(migrations, cacheDir);
    const path = await cacheFile(cacheDir);
    const valid = await readFile(path, "utf8");

    const [head = "", first = "", second = ""] = valid.split("\n");
    // A file that cannot be read as a cache is no cache: the run reads the files without
    // their stamps and leaves an empty cache (its first line), which the next run fills.
    const unreadable = ["{ not json", "null\n", `${head}\n${first}` /* cut short: no final line feed */, ""];
    for (const corrupt of unreadable) {
      await writeFile(path, corrupt);
      expect(await messages(migrations, cacheDir)).toEqual(["first", "second"]);
      expect(await readFile(path, "utf8"), corrupt).toBe(`${head}\n`);
      expect(await messages(migrations, cacheDir)).toEqual(["first", "second"]);
      expect(await readFile(path, "utf8")).toBe(valid);
    }
    // A readable cache with a line that is not one: the files from there on are read and the cache rebuilt at once.
    const badLines = [
      `${head}\n${first.split("\t").slice(0, 4).join("\t")}\n${second}\n`, // a line with fields missing
      `${head}\n${first.replace(/\t[^\t]*$/, '\t"unterminated')}\n${second}\n`, // a message that is not JSON
      `${head}\n${first.replace("\tsql\t", "\tpython\t")}\n${second}\n`,
      // The section's check (the next-to-last field): empty, `x` or digits as athanor writes a number, nothing else.
      ...["-2", "01", "1.5", "y", "1e3", " 4"].map((check) => `${head}\n${first.replace(/\t[^\t]*(\t[^\t]*)$/, `\t${check}$1`)}\n${second}\n`),
    ];
    for (const corrupt of badLines) {
      await writeFile(path, corrupt);
      expect(await messages(migrations, cacheDir)).toEqual(["first", "second"]);
      expect(await readFile(path, "utf8"), corrupt).toBe(valid);
    }

    // Another key (athanor version, parser modules): the planted message must not be believed.
    await plantMessage(cacheDir, "from the cache");
    const planted = await readFile(path, "utf8");
    const plantedHead = JSON.parse(planted.slice(0, planted.indexOf("\n"))) as { key: string };
    await writeFile(path, `${JSON.stringify({ ...plantedHead, key: `${plantedHead.key}|other parser` })}${planted.slice(planted.indexOf("\n"))}`);
    expect(await messages(migrations, cacheDir)).toEqual(["first", "second"]);
  });

  it("never takes a checksum from the cache: it is computed from the file, and a file that changed after the scan is refused", async () => {
    const { migrations, cacheDir } = await project();
    await ageFiles();
    await fillCache(migrations, cacheDir);
    await plantMessage(cacheDir, "from the cache");
    const files = await readScriptDirectory(migrations, { cacheDir, checksums: false });
    expect(files[0]?.message).toBe("from the cache");
    expect(files[0]?.checksum).toBe(revisionChecksum(sqlRevision(A, null, "first")));
    await writeFile(join(migrations, `b_${B}.sql`), sqlRevision(B, A, "second", "DROP TABLE users;"));
    let error: unknown;
    try {
      void files[1]?.checksum;
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toMatchObject({ code: "revision-changed" });
  });

  it("is written atomically: concurrent processes leave one valid cache and no temporary file", async () => {
    const { migrations, cacheDir } = await project();
    for (let i = 0; i < 200; i += 1) {
      const id = createHash("sha256").update(String(i)).digest("hex").slice(0, 12);
      await writeFile(join(migrations, `c${String(i).padStart(3, "0")}_${id}.sql`), sqlRevision(id, null, `root ${i}`));
    }
    await ageFiles();
    const module = new URL("../dist/revisions/script-directory.js", import.meta.url).href;
    const script = `const { readScriptDirectory } = await import(${JSON.stringify(module)});
      for (let i = 0; i < 20; i += 1) await readScriptDirectory(${JSON.stringify(migrations)}, { cacheDir: ${JSON.stringify(cacheDir)}, checksums: false });`;
    // The cache is removed again and again meanwhile, so every writer keeps writing it.
    const writers = Array.from({ length: 4 }, async () => {
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "inherit" });
      return new Promise<number>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (code) => resolve(code ?? 1));
      });
    });
    const removing = (async () => {
      for (let i = 0; i < 20; i += 1) {
        // A writer may put a file in the folder while it is being removed (ENOTEMPTY at its
        // rmdir): that is the very race under test, and the next turn removes it again.
        await rm(cacheDir, { recursive: true, force: true }).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOTEMPTY") throw error;
        });
        await sleep(5);
      }
    })();
    expect(await Promise.all(writers)).toEqual([0, 0, 0, 0]);
    await removing;
    await fillCache(migrations, cacheDir);
    const names = await readdir(cacheDir);
    expect(names.filter((name) => name.endsWith(".tmp"))).toEqual([]);
    expect((await readCache(cacheDir)).entries.size).toBe(202);
    expect((await stat(await cacheFile(cacheDir))).mode & 0o777).toBe(0o600);
  });
});

describe("the built parser's stamp", () => {
  const distRevisions = fileURLToPath(new URL("../dist/revisions/", import.meta.url));

  it("covers every module that decides what a cache line holds: the header parser's and the upgrade section check's, with all they import", async () => {
    const srcRevisions = fileURLToPath(new URL("../src/revisions/", import.meta.url));
    // Imported, but deciding nothing a line holds: error classes (the scan's check catches
    // them), athanor's version and the stamp itself (both in the key already), and SQL
    // quoting (session-state.ts quotes the statements that put a session back).
    const decidesNothing = new Set(["../errors", "../version", "parser-stamp", "../dialects/sql"]);
    const seen = new Set<string>();
    const pending = ["header", "header-cache", "../run/check-section"];
    while (pending.length > 0) {
      const module = pending.pop() as string;
      if (seen.has(module)) continue;
      seen.add(module);
      const text = await readFile(join(srcRevisions, `${module}.ts`), "utf8");
      // Value imports and re-exports of this project's modules (`import type` decides nothing at run time).
      for (const match of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?\sfrom\s+"(\.[^"]+)\.js";/gms)) {
        pending.push(join(module, "..", match[1] as string).replace(/\\/g, "/").replace(/^\.\.\/revisions\//, ""));
      }
    }
    // The scan, which reads the files, calls the parser and the check, and writes the lines
    // (what it imports besides them reads files and loads TypeScript revisions: not listed).
    const needed = [...seen, "script-directory"].filter((module) => !decidesNothing.has(module)).sort();
    expect(needed).toContain("header-ts");
    expect(needed).toContain("../run/transaction-check");
    expect([...HEADER_PARSER_MODULES].sort()).toEqual(needed);
  });

  it("keys the built CLI's cache by the SHA-256 of the header parser's modules, not their stats: a rebuild that changes no parser keeps every project's cache", async () => {
    // What `npm run build` wrote (scripts/build-cli.mjs): the hash of the modules as tsc wrote them.
    const hash = createHash("sha256");
    for (const module of HEADER_PARSER_MODULES) hash.update(`${module}\0${await readFile(join(distRevisions, `${module}.js`), "utf8")}\0`);
    const stamp = hash.digest("hex");
    expect(await readFile(join(distRevisions, "parser-stamp.js"), "utf8")).toContain(`export const HEADER_PARSER_STAMP = "${stamp}";`);

    counter += 1;
    const dir = join(root, `stamp${counter}`);
    const migrations = join(dir, "migrations");
    await mkdir(migrations, { recursive: true });
    await writeFile(join(migrations, `a_${A}.sql`), sqlRevision(A, null, "first"));
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: "pglite://./.athanor/dev" } } }));
    await ageFiles();
    const env = baseEnv();
    // The real binary (the bundle built from dist/): in-process, the source's modules carry no stamp.
    for (let run = 0; run < 2; run += 1) expect((await spawnCli(["heads"], { cwd: dir, env })).status).toBe(0);
    const cacheDir = join(dir, ".athanor");
    const { head, entries } = await readCache(cacheDir);
    expect((JSON.parse(head) as { key: string }).key).toMatch(new RegExp(`\\|parser:${stamp}$`));
    expect([...entries.keys()]).toEqual([`a_${A}.sql`]);

    // A rebuild rewrites the modules with the same text and new times: the cache is still believed.
    const files = HEADER_PARSER_MODULES.map((module) => join(distRevisions, `${module}.js`));
    const times = await Promise.all(files.map((file) => stat(file)));
    const now = new Date();
    try {
      for (const file of files) await utimes(file, now, now);
      await plantMessage(cacheDir, "from the cache");
      const heads = await spawnCli(["heads"], { cwd: dir, env });
      expect(heads.stdout).toMatch(new RegExp(`^${A} \\(head\\) \\(base\\) from the cache$`, "m"));
    } finally {
      for (const [i, file] of files.entries()) await utimes(file, times[i]!.atime, times[i]!.mtime);
    }
  });
});

describe("reading only what a command needs", () => {
  /** An SQL revision whose header is followed by 9 MB of body with a NUL byte in it (under the 10 MB limit, which every read enforces from the file's size). */
  async function hugeRevision(dir: string): Promise<void> {
    const body = `${"SELECT 1;\n".repeat(900_000)}\0 binary junk\n`;
    await writeFile(join(dir, `c_huge.sql`), sqlRevision("cccccccccccc", B, "huge"), { flag: "w" });
    await writeFile(join(dir, `c_huge.sql`), body, { flag: "a" });
  }

  it("`heads`, `history` and `graph` read a large SQL file only as far as its header; a command that compares checksums reads it whole", async () => {
    counter += 1;
    const dir = join(root, `cli${counter}`);
    const migrations = join(dir, "migrations");
    await mkdir(migrations, { recursive: true });
    await writeFile(join(migrations, `a_${A}.sql`), sqlRevision(A, null, "first"));
    await writeFile(join(migrations, `b_${B}.sql`), sqlRevision(B, A, "second"));
    await hugeRevision(migrations);
    await writeFile(join(dir, "athanor.config.json"), JSON.stringify({ environments: { development: { url: "pglite://./.athanor/dev" } } }));
    const env = baseEnv();

    const heads = await runCli(["heads"], { cwd: dir, env });
    expect(heads.stderr).toBe("");
    expect(heads.status).toBe(0);
    expect(heads.stdout).toMatch(/^cccccccccccc \(head\) huge$/m);
    const history = await runCli(["history"], { cwd: dir, env });
    expect(history.stderr).toBe("");
    expect(history.status).toBe(0);
    expect((await runCli(["graph"], { cwd: dir, env })).status).toBe(0);

    // Where the file's contents matter, all of it is read and checked.
    // (From the cache, or read now: either way its checksum reads the whole file.)
    const files = readScriptDirectory(migrations, { cacheDir: join(dir, ".athanor") }).then((read) => read.map((file) => file.checksum));
    await expect(files).rejects.toMatchObject({ code: "unreadable-revision", message: expect.stringMatching(/^c_huge\.sql: holds NUL bytes/) as string });
  });
});
