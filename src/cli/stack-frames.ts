/**
 * Reading V8 stack traces: which file (and line) a frame points at, so that an error
 * raised by code athanor loaded — a config, a settings module, a revision — can name it.
 */
import { fileURLToPath } from "node:url";

/** A frame's file (a path, or the URL as given when it is not a file: URL) and line. */
export interface StackFrame {
  readonly file: string;
  readonly line: number | null;
}

/** The location of a stack frame (`at f (file:///p/x.mjs:3:9)`, `at /p/x.ts:3:9`), or null for Node's own. */
export function parseStackFrame(text: string): StackFrame | null {
  const inParens = /\((.*)\)\s*$/.exec(text);
  const location = (inParens ? inParens[1] : text.replace(/^\s*at\s+(?:async\s+)?/, "")) ?? "";
  const position = /^(.*?)(?::(\d+))?(?::\d+)?$/.exec(location);
  const file = position?.[1] ?? location;
  const line = position?.[2] === undefined ? null : Number(position[2]);
  if (file === "" || file.startsWith("node:") || file === "native" || file === "<anonymous>") return null;
  if (file.startsWith("file://")) {
    try {
      return { file: fileURLToPath(file.replace(/\?.*$/, "")), line };
    } catch {
      return { file, line };
    }
  }
  return { file, line };
}

/** The frames of `stack` (its first line, the message, skipped) that are not Node's own, innermost first. */
export function stackFrames(stack: string | undefined): StackFrame[] {
  const frames: StackFrame[] = [];
  for (const text of (stack ?? "").split("\n")) {
    if (!/^\s+at\s/.test(text)) continue;
    const frame = parseStackFrame(text);
    if (frame !== null) frames.push(frame);
  }
  return frames;
}
