/**
 * Git, for `athanor review`: which commit a branch is compared with, and the revision
 * files as they were at that commit. Every git command runs through `execFile`/`spawn`
 * with an argument array, never a shell, with prompts disabled; a ref that looks like an
 * option is refused before it reaches git. No credential is ever involved: only local
 * objects are read.
 */
import { execFile, spawn } from "node:child_process";
import { ConfigError } from "../errors.js";
import { MAX_REVISION_FILE_BYTES, revisionFormatOf } from "../revisions/script-directory.js";
import type { RevisionFormat } from "../revisions/header.js";

/** The commit the review compares with, and how it was chosen. */
export interface ReviewBase {
  /** The ref as given (`--base`), or the ref the merge base was computed with (`origin/HEAD`, `main`, ...). */
  readonly ref: string;
  /** The full commit id compared with. */
  readonly commit: string;
  /** `given`: `--base REF`; `merge-base`: the merge base of HEAD and `ref`. */
  readonly how: "given" | "merge-base";
}

/** Where the migrations directory sits in its git repository. */
export interface GitLocation {
  /** Absolute path of the repository's top level. */
  readonly root: string;
  /** The migrations directory relative to the top level, `/`-separated, ending in `/` (empty at the top level). */
  readonly prefix: string;
}

/** A revision file as stored in a commit. */
export interface GitRevisionBlob {
  /** The file's name inside the migrations directory. */
  readonly name: string;
  readonly format: RevisionFormat;
  /** The file's bytes. */
  readonly content: Buffer;
}

/** What {@link readRevisionBlobs} returns: the files, and those it left out with why. */
export interface GitRevisionFiles {
  readonly files: readonly GitRevisionBlob[];
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
}

/** The process environment git runs with (the CLI's, so PATH and HOME come from the user). */
export type GitEnv = Readonly<Record<string, string | undefined>>;

/** The refs whose merge base with HEAD is the default base, in order of preference. */
export const DEFAULT_BASE_REFS: readonly string[] = ["origin/HEAD", "main", "master", "origin/main", "origin/master"];

interface GitResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

function gitEnv(env: GitEnv): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) clean[key] = value;
  // Never wait for a credential prompt, never page, and read messages in one language.
  return { ...clean, GIT_TERMINAL_PROMPT: "0", GIT_PAGER: "cat", LC_ALL: "C" };
}

function runGit(cwd: string, env: GitEnv, args: readonly string[]): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile("git", ["--literal-pathspecs", ...args], { cwd, env: gitEnv(env), encoding: "buffer", maxBuffer: 512 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") {
        reject(
          new ConfigError("git-unavailable", `git could not be run (${error.code ?? error.message})`, {
            hint: "install git and make sure it is on PATH: `athanor review` compares revision files with a git commit",
            cause: error,
          }),
        );
        return;
      }
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr: stderr.toString("utf8").trim() });
    });
  });
}

/**
 * The repository that holds `migrationsDir`, and the directory's place in it.
 * Throws `not-a-git-repository` (exit 2) outside a repository.
 */
export async function locateMigrations(migrationsDir: string, env: GitEnv): Promise<GitLocation> {
  const result = await runGit(migrationsDir, env, ["rev-parse", "--show-toplevel", "--show-prefix"]);
  if (result.code !== 0) {
    throw new ConfigError("not-a-git-repository", `the migrations directory ${migrationsDir} is not inside a git repository (${result.stderr || `git exited with ${result.code}`})`, {
      hint: "run `athanor review` in a git clone of the project: it compares the revision files with a commit",
      details: { migrationsDir },
    });
  }
  const [root = "", prefix = ""] = result.stdout.toString("utf8").split("\n");
  return { root, prefix };
}

async function commitOf(location: GitLocation, env: GitEnv, ref: string): Promise<string | null> {
  const result = await runGit(location.root, env, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  return result.code === 0 ? result.stdout.toString("utf8").trim() : null;
}

/**
 * The commit to compare with: `ref` when given (it must name a commit), otherwise the
 * merge base of HEAD with the first of {@link DEFAULT_BASE_REFS} that exists.
 * Throws `unknown-git-ref` (exit 2) for a ref that is not a commit, and
 * `no-review-base` when no default ref exists.
 * @example
 * const base = await resolveReviewBase(location, process.env, "origin/main");
 */
export async function resolveReviewBase(location: GitLocation, env: GitEnv, ref?: string): Promise<ReviewBase> {
  if (ref !== undefined) {
    // A ref starting with `-` would be read by git as an option.
    const commit = ref === "" || ref.startsWith("-") ? null : await commitOf(location, env, ref);
    if (commit === null) {
      throw new ConfigError("unknown-git-ref", `--base ${JSON.stringify(ref)} is not a commit of the repository at ${location.root}`, {
        hint: "give a branch, tag or commit that exists locally (`git fetch origin main` first, and in GitHub Actions check out with `fetch-depth: 0`)",
        details: { ref },
      });
    }
    return { ref, commit, how: "given" };
  }
  if ((await commitOf(location, env, "HEAD")) === null) {
    throw new ConfigError("no-review-base", `the repository at ${location.root} has no commit yet, so there is nothing to compare with`, {
      hint: "commit the base first, or pass --base REF",
    });
  }
  for (const candidate of DEFAULT_BASE_REFS) {
    if ((await commitOf(location, env, candidate)) === null) continue;
    const result = await runGit(location.root, env, ["merge-base", "HEAD", candidate]);
    if (result.code === 0) return { ref: candidate, commit: result.stdout.toString("utf8").trim(), how: "merge-base" };
  }
  throw new ConfigError("no-review-base", `no default branch to compare with: none of ${DEFAULT_BASE_REFS.join(", ")} shares history with HEAD`, {
    hint: "pass --base REF (in GitHub Actions: `--base origin/${{ github.base_ref }}` after a checkout with `fetch-depth: 0`)",
    details: { tried: DEFAULT_BASE_REFS },
  });
}

interface TreeEntry {
  readonly name: string;
  readonly format: RevisionFormat;
  readonly object: string;
}

/** Parses `git ls-tree -z -l` output: `<mode> <type> <object> <size>\t<path>\0`. */
function parseTree(output: Buffer, prefix: string): { entries: TreeEntry[]; skipped: { name: string; reason: string }[] } {
  const entries: TreeEntry[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const record of output.toString("utf8").split("\0")) {
    const tab = record.indexOf("\t");
    if (tab === -1) continue;
    const [mode = "", type = "", object = "", size = ""] = record.slice(0, tab).split(/ +/);
    const path = record.slice(tab + 1);
    const name = path.startsWith(prefix) ? path.slice(prefix.length) : path;
    const format = revisionFormatOf(name);
    if (type !== "blob" || format === null || name.includes("/")) continue;
    if (mode === "120000") skipped.push({ name, reason: "a symbolic link at the base" });
    else if (Number(size) > MAX_REVISION_FILE_BYTES) skipped.push({ name, reason: `larger than ${MAX_REVISION_FILE_BYTES / (1024 * 1024)} MB` });
    else entries.push({ name, format, object });
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { entries, skipped };
}

/** Reads blobs in one `git cat-file --batch` process (one process for thousands of files). */
function readBlobs(location: GitLocation, env: GitEnv, objects: readonly string[]): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", ["cat-file", "--batch"], { cwd: location.root, env: gitEnv(env), stdio: ["pipe", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", (error) => reject(new ConfigError("git-unavailable", `git could not be run (${error.message})`, { hint: "install git and make sure it is on PATH", cause: error })));
    child.on("close", (code) => {
      if (code !== 0) {
        reject(new ConfigError("git-failed", `git cat-file failed (${stderr.trim() || `exit ${String(code)}`})`, { hint: "check that the repository is not corrupt (`git fsck`)" }));
        return;
      }
      const output = Buffer.concat(chunks);
      const blobs = new Map<string, Buffer>();
      let at = 0;
      // Each answer: `<object> blob <size>\n<content>\n`.
      while (at < output.length) {
        const newline = output.indexOf(0x0a, at);
        if (newline === -1) break;
        const [object = "", type = "", size = "0"] = output.subarray(at, newline).toString("utf8").split(" ");
        const length = type === "missing" ? 0 : Number(size);
        if (type === "blob") blobs.set(object, output.subarray(newline + 1, newline + 1 + length));
        at = newline + 1 + (type === "missing" ? 0 : length + 1);
      }
      resolve(blobs);
    });
    child.stdin.end(objects.map((object) => `${object}\n`).join(""));
  });
}

/**
 * The revision files of the migrations directory as they are in `commit` (the
 * directory only, not its subdirectories, with the names `readScriptDirectory` reads).
 * A directory missing from the commit yields no files.
 * @example
 * const { files } = await readRevisionBlobs(location, process.env, base.commit);
 */
export async function readRevisionBlobs(location: GitLocation, env: GitEnv, commit: string): Promise<GitRevisionFiles> {
  const args = ["ls-tree", "-z", "-l", "--full-tree", commit];
  if (location.prefix !== "") args.push("--", location.prefix);
  const listing = await runGit(location.root, env, args);
  if (listing.code !== 0) {
    throw new ConfigError("git-failed", `git ls-tree ${commit} failed (${listing.stderr || `exit ${listing.code}`})`, { hint: "check that the base commit exists locally (`git fetch`)" });
  }
  const { entries, skipped } = parseTree(listing.stdout, location.prefix);
  const blobs = entries.length === 0 ? new Map<string, Buffer>() : await readBlobs(location, env, [...new Set(entries.map((entry) => entry.object))]);
  const files: GitRevisionBlob[] = [];
  for (const entry of entries) {
    const content = blobs.get(entry.object);
    if (content === undefined) skipped.push({ name: entry.name, reason: "its object is missing from the repository" });
    else files.push({ name: entry.name, format: entry.format, content });
  }
  return { files, skipped };
}
