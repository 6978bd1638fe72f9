/**
 * The CLI's standard output and error. When a descriptor is a regular file or /dev/null,
 * athanor writes to it directly (`fs.writeSync`), in full and in order; a pipe, a socket,
 * a terminal or another device goes through Node's `process.stdout`/`process.stderr`
 * (for a pipe or a socket, built only when something is written there).
 *
 * Why: Node builds `process.stdout` on first access and, for it, loads node:stream and
 * the modules behind it: ~5 ms and ~250 page faults of every command on the CI machine,
 * ~8 % of a small `heads` (issue #15's start-up row). Node writes to files synchronously
 * anyway, so nothing changes for the reader: each `write` is in the file when it returns.
 *
 * Not pipes or sockets: a synchronous write to a pipe whose reader stalls (`athanor
 * upgrade | less` left open, a log shipper that hangs) blocks the whole process in the
 * kernel, where no signal handler runs: SIGINT and SIGTERM went unheard and the migration
 * lock stayed held for as long as the reader did not read (adv12 F1). Node's stream makes
 * the pipe non-blocking and queues what the reader has not taken, so the event loop (and
 * with it Ctrl-C) keeps running.
 *
 * The first time anyone reads `process.stdout` or `process.stderr` (a revision's
 * `console.log`, a prompt) the CLI's writes to that descriptor go through that stream too;
 * for a file it writes synchronously as well, so nothing is reordered. A write that fails
 * (ENOSPC: a full disk) is reported once through `onLost` and the stream's later writes
 * are dropped, as bin.ts does for Node's streams. Windows always uses Node's streams.
 */
import { fstatSync, statSync, writeSync } from "node:fs";

/** What the CLI writes to: `process.stdout`/`process.stderr`, or a direct writer with the same `write`. */
export interface OutputStream {
  write(text: string): boolean;
  readonly isTTY?: boolean;
}

/** The two output streams and how to wait until what was written reached the system. */
export interface ProcessOutput {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /**
   * Resolves once everything written so far was handed to the system (or lost), and a
   * failed write of Node's streams has been heard: they report it on a later tick.
   */
  flushed(): Promise<void>;
}

type StreamName = "stdout" | "stderr";

/**
 * How the CLI writes to descriptor `fd`:
 * - `direct`: a regular file or /dev/null (a character device like a terminal, told apart
 *   by its device number, since node:tty would load node:net), with `writeSync`;
 * - `stream-when-written`: a pipe or a socket, through Node's stream, built at the first
 *   write (a command that writes nothing there, as `heads` to its stderr, builds none);
 * - `stream`: anything else (a terminal, another device, a descriptor fstat cannot read),
 *   through Node's stream from the start, which says whether it is a terminal and how wide.
 * Windows always uses Node's streams.
 */
export function outputKind(fd: number, platform: NodeJS.Platform = process.platform): "direct" | "stream-when-written" | "stream" {
  if (platform === "win32") return "stream";
  try {
    const stats = fstatSync(fd);
    if (stats.isFile()) return "direct";
    if (stats.isFIFO() || stats.isSocket()) return "stream-when-written";
    return stats.isCharacterDevice() && stats.rdev === statSync("/dev/null").rdev ? "direct" : "stream";
  } catch {
    // A closed or unusual descriptor: Node's stream knows what to do with it.
    return "stream";
  }
}

/**
 * Calls `adopt` with Node's stream the first time anyone reads `process[name]` (a
 * revision's `console.log`, a prompt): from then on everything goes through that stream,
 * so nothing written later can overtake what it holds. False when the
 * property cannot be watched (then the stream is used from the start).
 */
function whenBuilt(name: StreamName, adopt: (stream: NodeJS.WriteStream) => void): boolean {
  const descriptor = Object.getOwnPropertyDescriptor(process, name);
  const build = descriptor?.get;
  if (descriptor === undefined || build === undefined || descriptor.configurable !== true) return false;
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: descriptor.enumerable ?? true,
    get() {
      Object.defineProperty(process, name, descriptor);
      const stream = build.call(process) as NodeJS.WriteStream;
      adopt(stream);
      return stream;
    },
  });
  return true;
}

/**
 * Makes a Node stream report a failed write once through `onLost` and drop later writes
 * (one to a broken stream would only raise another error); a write's callback still runs.
 */
function watchStream(stream: NodeJS.WriteStream, onLost: (code: string) => void): NodeJS.WriteStream {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    onLost(error.code ?? String(error));
    stream.write = ((_chunk: unknown, encoding?: unknown, callback?: unknown) => {
      const done = typeof encoding === "function" ? encoding : callback;
      if (typeof done === "function") process.nextTick(done as () => void);
      return true;
    }) as typeof stream.write;
  });
  return stream;
}

/** Resolves once what was written to `stream` so far has been handed to the system (or the write failed: a closed reader). */
function streamFlushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.write("", () => resolve());
  });
}

/** What the CLI does to what loaded code writes to `process.stdout`/`process.stderr` itself. */
export interface LoadedWrites {
  /** Masks known secrets in a text (adv15 F7: a revision that prints `process.env.DB_PASSWORD`). */
  readonly scrub: (text: string) => string;
  /**
   * With `--json`, stdout holds one JSON document: loaded code's writes to `process.stdout`
   * go to stderr instead, as its `console.log` does (src/cli/json-console.ts; adv15 F8).
   * Not on a terminal, where a person reads both and the stream is athanor's own writer too.
   */
  readonly divertStdout: boolean;
}

/**
 * Makes `stream.write`, as loaded code calls it, pass its text through `scrub` and, with
 * `divert`, hand it to `divert` instead of the stream. athanor's own writes call `raw`
 * directly. A chunk in another encoding than UTF-8 is written as given unless diverted.
 */
function guardLoadedWrites(stream: NodeJS.WriteStream, raw: NodeJS.WriteStream["write"], scrub: (text: string) => string, divert: ((text: string) => void) | null): void {
  stream.write = function write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    const done = typeof encoding === "function" ? (encoding as () => void) : typeof callback === "function" ? (callback as () => void) : undefined;
    const named = typeof encoding === "string" ? (encoding as BufferEncoding) : undefined;
    const utf8 = named === undefined || /^utf-?8$/i.test(named);
    let text: string | null = null;
    if (typeof chunk === "string") text = utf8 ? chunk : divert === null ? null : Buffer.from(chunk, named).toString("utf8");
    else if (chunk instanceof Uint8Array) text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("utf8");
    if (text === null) return (raw as (...args: unknown[]) => boolean).call(stream, chunk, encoding, callback);
    const clean = scrub(text);
    if (divert !== null) {
      divert(clean);
      if (done !== undefined) process.nextTick(done);
      return true;
    }
    // Bytes with no secret in them go out as they came (they may not be UTF-8 at all).
    if (clean === text && typeof chunk !== "string") return (raw as (...args: unknown[]) => boolean).call(stream, chunk, encoding, callback);
    return (raw as (...args: unknown[]) => boolean).call(stream, clean, done);
  } as NodeJS.WriteStream["write"];
}

/**
 * The process's standard output and error for the CLI. `onLost` hears, once per stream,
 * that output could not be written (the code: EPIPE, ENOSPC...). `loaded` says what
 * becomes of what loaded code writes to `process.stdout`/`process.stderr` directly.
 * @example
 * const output = processOutput((stream, code) => console.error(stream, code));
 * output.stdout.write("done\n");
 * await output.flushed();
 */
export function processOutput(onLost: (stream: StreamName, code: string) => void, loaded: LoadedWrites = { scrub: (text) => text, divertStdout: false }): ProcessOutput {
  const inUse: NodeJS.WriteStream[] = [];
  let stderr: OutputStream | null = null;
  const open = (name: StreamName, fd: number): OutputStream => {
    let lost = false;
    const lose = (code: string): void => {
      if (lost) return;
      lost = true;
      onLost(name, code);
    };
    /** athanor's own writes to Node's stream once there is one: past the guard on loaded code's. */
    let own = null as ((text: string) => boolean) | null;
    const kind = outputKind(fd);
    const adopt = (built: NodeJS.WriteStream): void => {
      const raw = built.write;
      inUse.push(watchStream(built, lose));
      own = (text) => (lost ? true : raw.call(built, text));
      const divert = name === "stdout" && loaded.divertStdout && kind !== "stream" ? (text: string) => void stderr?.write(text) : null;
      guardLoadedWrites(built, raw, loaded.scrub, divert);
    };
    if (kind === "stream" || !whenBuilt(name, adopt)) {
      // athanor writes through the stream itself (a prompt needs it whole): its text is scrubbed already, scrubbing it again changes nothing.
      const built = process[name];
      adopt(built);
      return built;
    }
    if (kind === "stream-when-written") {
      // Reading process[name] builds the stream, and whenBuilt's getter adopts it.
      return {
        isTTY: false,
        write: (text: string): boolean => {
          if (own === null) void process[name];
          return own?.(text) ?? true;
        },
      };
    }
    return {
      isTTY: false,
      write(text: string): boolean {
        if (own !== null) return own(text);
        if (lost) return true;
        let data = Buffer.from(text);
        try {
          while (data.length > 0) data = data.subarray(writeSync(fd, data));
        } catch (error) {
          lose((error as NodeJS.ErrnoException).code ?? String(error));
        }
        return true;
      },
    };
  };
  const stdout = open("stdout", 1);
  stderr = open("stderr", 2);
  return {
    stdout,
    stderr,
    // No Node stream (a file or /dev/null: every write was made, or failed, when it was
    // called): nothing to wait for, and no tick asked of Node, whose queue, async-context
    // bookkeeping and their ~20 functions a `heads` to a file otherwise set up just to exit.
    flushed: () => (inUse.length === 0 ? Promise.resolve() : Promise.all(inUse.map(streamFlushed)).then(nextTick)),
  };
}

/** A promise of the next tick: a Node stream's failed write (a device such as /dev/full) is reported on a later tick than the write's own callback. */
function nextTick(): Promise<void> {
  return new Promise((resolve) => process.nextTick(resolve));
}
