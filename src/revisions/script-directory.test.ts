import { createHash } from "node:crypto";
import { mkdir, mkdtemp, open, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevisionError } from "../errors.js";
import { RevisionGraph } from "./graph.js";
import { loadRevisionBody, loadRevisionGraph, MAX_REVISION_FILE_BYTES, readScriptDirectory, revisionChecksum, revisionFormatOf } from "./script-directory.js";
import type { RevisionFile } from "./types.js";
import { renderTsRevision } from "./write.js";

const A = "3f2a9c1d0b7e";
const B = "9c0d1e2f3a4b";
const C = "0123456789ab";
const D = "ddddddddddd1";
const E = "eeeeeeeeeee1";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "athanor-scripts-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
async function directory(files: Record<string, string | Buffer>): Promise<string> {
  counter += 1;
  const dir = join(root, `case-${counter}`);
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

function sqlRevision(id: string, down: string | null, body = "SELECT 1;"): string {
  return `-- athanor:revision ${id}\n${down === null ? "" : `-- athanor:down ${down}\n`}-- athanor:message m ${id}\n\n-- athanor:upgrade\n${body}\n\n-- athanor:downgrade\nSELECT 2;\n`;
}

function tsRevision(id: string, down: string | null, extra = ""): string {
  return `export default {\n  revision: "${id}",\n  down: ${down === null ? "null" : `"${down}"`},\n  async upgrade(ctx) { await ctx.sql.unsafe("SELECT 1"); },\n  async downgrade(ctx) {},\n${extra}};\n`;
}

async function caught(run: () => Promise<unknown>): Promise<RevisionError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof RevisionError) return error;
    throw error;
  }
  throw new Error("expected a RevisionError");
}

describe("revisionFormatOf", () => {
  const cases: [string, "sql" | "ts" | null][] = [
    ["3f2a_add.sql", "sql"],
    ["a.ts", "ts"],
    ["a.mts", "ts"],
    ["a.js", "ts"],
    ["a.mjs", "ts"],
    ["a.d.ts", null],
    ["a.d.mts", null],
    ["a.cjs", null],
    ["README.md", null],
    [".#a.sql", null],
    ["a.sql.bak", null],
  ];
  it.each(cases)("%s → %s", (name, expected) => {
    expect(revisionFormatOf(name)).toBe(expected);
  });
});

describe("readScriptDirectory", () => {
  it("reads every revision format, ignores other files, sorts by name", async () => {
    const dir = await directory({
      [`b_${A}.sql`]: sqlRevision(A, null),
      [`c_${B}.ts`]: tsRevision(B, A),
      [`d_${C}.mjs`]: tsRevision(C, B),
      [`e_${D}.mts`]: tsRevision(D, C),
      [`a_${E}.js`]: tsRevision(E, D),
      "types.d.ts": "export {};\n",
      "notes.md": "# notes\n",
      ".hidden.sql": "garbage",
    });
    await mkdir(join(dir, "archive.sql"));
    await symlink(join(dir, `b_${A}.sql`), join(dir, "z_link.txt"));
    const files = await readScriptDirectory(dir);
    expect(files.map((file) => [file.relativePath, file.format, file.id])).toEqual([
      [`a_${E}.js`, "ts", E],
      [`b_${A}.sql`, "sql", A],
      [`c_${B}.ts`, "ts", B],
      [`d_${C}.mjs`, "ts", C],
      [`e_${D}.mts`, "ts", D],
    ]);
    expect(files[1]).toMatchObject({ path: join(dir, `b_${A}.sql`), parents: [], message: `m ${A}`, transactional: true });
    expect(files[2]).toMatchObject({ parents: [A] });
    expect(RevisionGraph.build(files).heads()).toEqual([E]);
  });

  // The listing gives names only: an entry that is not a file is found out when it is opened
  // or read, and skipped as before (a FIFO: test/special-entries-cli.test.ts, in a child process).
  it("skips directories named like revisions, with and without a header cache, and reports a link to a directory", async () => {
    const dir = await directory({ [`b_${A}.sql`]: sqlRevision(A, null), [`c_${B}.sql`]: sqlRevision(B, A) });
    await mkdir(join(dir, "a_folder.sql"));
    await mkdir(join(dir, "d_\u001b[31mred.sql"));
    const cacheDir = join(dir, "..", `cache-${counter}`);
    // No cache, the run that fills it, and a warm run: each reads the two revisions only.
    for (let run = 0; run < 3; run += 1) {
      const files = await readScriptDirectory(dir, { cacheDir, checksums: false });
      expect(files.map((file) => file.relativePath)).toEqual([`b_${A}.sql`, `c_${B}.sql`]);
    }
    await symlink(join(dir, "a_folder.sql"), join(dir, "f_link.sql"));
    const error = await caught(() => readScriptDirectory(dir));
    expect(error.code).toBe("unreadable-revision");
    expect(error.message).toContain("f_link.sql");
  });

  it("checksums the text with line endings normalised to LF", async () => {
    const text = sqlRevision(A, null);
    const dir = await directory({ "lf.sql": text, "crlf.sql": text.replace(/\n/g, "\r\n").replace(A, B) });
    const [crlf, lf] = (await readScriptDirectory(dir)) as [RevisionFile, RevisionFile];
    expect(lf.checksum).toBe(createHash("sha256").update(text).digest("hex"));
    expect(crlf.checksum).toBe(createHash("sha256").update(text.replace(A, B)).digest("hex"));
    expect(revisionChecksum(text.replace(/\n/g, "\r"))).toBe(lf.checksum);
    // Hashed as UTF-8, whichever of Node's hashing calls is used: the checksums already in version tables stay valid.
    const accented = "-- café, 🐘\nSELECT 'ü';\n";
    expect(revisionChecksum(accented)).toBe(createHash("sha256").update(Buffer.from(accented, "utf8")).digest("hex"));
  });

  it("follows symlinks to revision files", async () => {
    const target = await directory({ "real.sql": sqlRevision(A, null) });
    const dir = await directory({});
    await symlink(join(target, "real.sql"), join(dir, "linked.sql"));
    expect((await readScriptDirectory(dir)).map((file) => file.id)).toEqual([A]);
  });

  it("reads a file bigger than the first read in full", async () => {
    const body = "SELECT 1;\n".repeat(30_000);
    const dir = await directory({ "big.sql": sqlRevision(A, null, body) });
    const [file] = (await readScriptDirectory(dir)) as [RevisionFile];
    expect(file.checksum).toBe(revisionChecksum(sqlRevision(A, null, body)));
  });

  it("reads a U+FFFD written in the file as the character it is, and drops a leading byte-order mark", async () => {
    const dir = await directory({ "a.sql": `\ufeff${sqlRevision(A, null).replace("m " + A, "replaced \ufffd sign")}` });
    const [file] = (await readScriptDirectory(dir, { checksums: false })) as [RevisionFile];
    expect(file.message).toBe("replaced \ufffd sign");
    expect(file.checksum).toBe(revisionChecksum(sqlRevision(A, null).replace("m " + A, "replaced \ufffd sign")));
  });

  it("returns nothing for an empty directory", async () => {
    expect(await readScriptDirectory(await directory({ "README.md": "x" }))).toEqual([]);
  });

  const errors: { name: string; files: Record<string, string | Buffer>; code: string; message: RegExp }[] = [
    { name: "NUL bytes", files: { "bin.sql": Buffer.from([0x2d, 0x2d, 0x00, 0x01]) }, code: "unreadable-revision", message: /^bin\.sql: holds NUL bytes/ },
    { name: "invalid UTF-8", files: { "latin1.sql": Buffer.from("-- athanor:message caf\xe9\n", "latin1") }, code: "unreadable-revision", message: /^latin1\.sql: is not valid UTF-8/ },
    // U+D800 encoded (CESU-8) and an overlong "/": the text decoder makes U+FFFD of both, the check refuses them.
    { name: "an encoded surrogate", files: { "cesu.sql": Buffer.concat([Buffer.from("-- athanor:message "), Buffer.from([0xed, 0xa0, 0x80, 0x0a])]) }, code: "unreadable-revision", message: /^cesu\.sql: is not valid UTF-8/ },
    { name: "an overlong sequence", files: { "overlong.sql": Buffer.concat([Buffer.from("-- athanor:message "), Buffer.from([0xc0, 0xaf, 0x0a])]) }, code: "unreadable-revision", message: /^overlong\.sql: is not valid UTF-8/ },
    { name: "NUL bytes before invalid UTF-8", files: { "both.sql": Buffer.from([0x2d, 0x2d, 0xe9, 0x00, 0x0a]) }, code: "unreadable-revision", message: /^both\.sql: holds NUL bytes/ },
    { name: "a broken header, named by file and line", files: { "ok.sql": sqlRevision(A, null), "bad.sql": `-- athanor:revision ${B}\n-- athanor:revision ${C}\n` }, code: "malformed-header", message: /^bad\.sql:2: a second `-- athanor:revision` line/ },
    { name: "the first broken file by name", files: { "b.sql": "nothing", "a.ts": "export const x = 1;" }, code: "malformed-header", message: /^a\.ts: no migration object/ },
  ];
  it.each(errors)("rejects $name", async ({ files, code, message }) => {
    const dir = await directory(files);
    const error = await caught(() => readScriptDirectory(dir));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.hint).toBeTruthy();
  });

  it("refuses a 50 MB file from its size, without reading it", async () => {
    const dir = await directory({ "ok.sql": sqlRevision(A, null) });
    const handle = await open(join(dir, "huge.sql"), "w");
    await handle.truncate(50 * 1024 * 1024); // sparse: nothing is written
    await handle.close();
    const error = await caught(() => readScriptDirectory(dir));
    expect(error.code).toBe("unreadable-revision");
    expect(error.message).toBe(`huge.sql: is 50.0 MB; revision files are limited to ${MAX_REVISION_FILE_BYTES / 1024 / 1024} MB`);
  });

  it("says how to fix a missing directory", async () => {
    const error = await caught(() => readScriptDirectory(join(root, "nope")));
    expect(error.code).toBe("missing-migrations-dir");
    expect(error.message).toMatch(/nope does not exist/);
    expect(error.hint).toMatch(/athanor init/);
    expect(error.hint).toMatch(/`migrations`/);
    const file = join(await directory({ "x.sql": "" }), "x.sql");
    expect((await caught(() => readScriptDirectory(file))).message).toMatch(/is not a directory/);
  });

  it("loads the graph in one call", async () => {
    const dir = await directory({ "1.sql": sqlRevision(A, null), "2.sql": sqlRevision(B, A) });
    expect((await loadRevisionGraph(dir)).heads()).toEqual([B]);
  });
});

describe("loadRevisionBody", () => {
  it("splits an SQL revision into sections with file lines", async () => {
    const dir = await directory({ "a.sql": sqlRevision(A, null, "CREATE TABLE t ();") });
    const [file] = (await readScriptDirectory(dir)) as [RevisionFile];
    expect(await loadRevisionBody(file)).toEqual({
      format: "sql",
      upgrade: { sql: "CREATE TABLE t ();\n\n", line: 5 },
      downgrade: { sql: "SELECT 2;\n", line: 8 },
    });
  });

  it.each([".ts", ".mts", ".js", ".mjs"])("imports the functions of a %s revision", async (extension) => {
    const dir = await directory({ [`a${extension}`]: tsRevision(A, null) });
    const [file] = (await readScriptDirectory(dir)) as [RevisionFile];
    const body = await loadRevisionBody(file);
    expect(body.format).toBe("ts");
    if (body.format !== "ts") return;
    const ran: string[] = [];
    await body.upgrade({ environment: "test", sql: Object.assign(async () => [], { unsafe: async (text: string) => void ran.push(text) }) });
    expect(ran).toEqual(["SELECT 1"]);
    expect(typeof body.downgrade).toBe("function");
  });

  it("imports TypeScript syntax with jiti", async () => {
    const text = `interface Ctx { sql: { unsafe(text: string): Promise<void> } }\nexport default {\n  revision: "${A}",\n  down: null,\n  async upgrade(ctx: Ctx): Promise<void> { await ctx.sql.unsafe("typed"); },\n} satisfies object;\n`;
    const dir = await directory({ "a.ts": text });
    const [file] = (await readScriptDirectory(dir)) as [RevisionFile];
    const body = await loadRevisionBody(file);
    expect(body.format === "ts" && body.downgrade).toBe(null);
  });

  it("resolves `athanor` imports in TypeScript revisions to this package", async () => {
    const dir = await directory({ "a.ts": renderTsRevision({ id: A, parents: [], message: "m", branchLabels: [], dependsOn: [], transactional: true, allow: [] }) });
    const [file] = (await readScriptDirectory(dir)) as [RevisionFile];
    const body = await loadRevisionBody(file);
    expect(body.format === "ts" && typeof body.upgrade).toBe("function");
  });

  const errors: { name: string; text: string; extension: string; code: string; message: RegExp }[] = [
    { name: "no upgrade function", text: `export default { revision: "${A}", down: null, upgrade: "SELECT 1" };`, extension: ".mjs", code: "malformed-revision", message: /default export must be an object with an `upgrade` function/ },
    { name: "a syntax error", text: `export default { revision: "${A}", down: null, upgrade() { return ) } };`, extension: ".ts", code: "unloadable-revision", message: /^a\.ts could not be loaded/ },
    { name: "a downgrade that is not a function", text: `export default { revision: "${A}", down: null, upgrade() {}, downgrade: 1 };`, extension: ".mjs", code: "malformed-revision", message: /`downgrade` must be a function/ },
  ];
  it.each(errors)("rejects $name", async ({ text, extension, code, message }) => {
    const dir = await directory({ [`a${extension}`]: text });
    const [file] = (await readScriptDirectory(dir)) as [RevisionFile];
    const error = await caught(() => loadRevisionBody(file));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it("rejects a module whose exported revision is not the one in its text", async () => {
    const dir = await directory({ "a.mjs": tsRevision(A, null) });
    const [file] = (await readScriptDirectory(dir)) as [RevisionFile];
    // The checksum and the path are getters (computed on demand): a spread copy must name them.
    const lying: RevisionFile = { ...file, path: file.path, checksum: file.checksum, id: B };
    const error = await caught(() => loadRevisionBody(lying));
    expect(error.code).toBe("malformed-revision");
    expect(error.message).toMatch(`the module's revision (${A}) is not the ${B} read from its text`);
  });

  it("refuses a file that changed since the directory was read", async () => {
    const dir = await directory({ "a.sql": sqlRevision(A, null) });
    const [file] = (await readScriptDirectory(dir)) as [RevisionFile];
    await writeFile(file.path, sqlRevision(A, null, "DROP TABLE users;"));
    const error = await caught(() => loadRevisionBody(file));
    expect(error.code).toBe("revision-changed");
  });
});

describe("10,000 revisions", () => {
  it("reads, builds and finds the head of a 10,000-revision chain", async () => {
    const dir = join(root, "ten-thousand");
    await mkdir(dir);
    const n = 10_000;
    const id = (i: number): string => (0x100000000000 + i * 7919).toString(16).slice(-12);
    const writes: Promise<void>[] = [];
    for (let i = 0; i < n; i += 1) {
      const text = sqlRevision(id(i), i === 0 ? null : id(i - 1), `CREATE TABLE t${i} (id int);`);
      writes.push(writeFile(join(dir, `${id(i)}_create_t${i}.sql`), text));
      if (writes.length >= 256) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);

    const timings: number[] = [];
    let heads: string[] = [];
    for (let round = 0; round < 3; round += 1) {
      const start = performance.now();
      const files = await readScriptDirectory(dir);
      const read = performance.now();
      const graph = RevisionGraph.build(files);
      heads = graph.heads();
      const built = performance.now();
      timings.push(built - start);
      console.log(`10,000 revisions, round ${round + 1}: read ${(read - start).toFixed(0)} ms, build + heads ${(built - read).toFixed(1)} ms, total ${(built - start).toFixed(0)} ms`);
      expect(files).toHaveLength(n);
      expect(graph.topologicalOrder()[0]).toBe(id(0));
    }
    expect(heads).toEqual([id(n - 1)]);

    // What a revision keeps once a run has read and hashed its text (loadRevisionBody, as
    // preparePlan does), from a warm header cache: its header, file name and checksum, but
    // no absolute path of its own and no stamp (docs/runtime.md, "Memory while a long plan
    // runs"). ~370 bytes here; with a path and a stamp kept, ~550.
    const cacheDir = join(root, "ten-thousand-cache");
    // The first run leaves an empty cache, the second fills it.
    for (let run = 0; run < 2; run += 1) await readScriptDirectory(dir, { cacheDir, checksums: false });
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    let files: RevisionFile[] | null = await readScriptDirectory(dir, { cacheDir, checksums: false });
    for (const file of files) await loadRevisionBody(file);
    expect(files).toHaveLength(n);
    gc();
    const held = process.memoryUsage().heapUsed;
    files = null;
    gc();
    const kept = (held - process.memoryUsage().heapUsed) / n;
    console.log(`10,000 revisions: ${kept.toFixed(0)} bytes kept per revision after its text was read`);
    expect(kept).toBeLessThan(450);
  });
});
