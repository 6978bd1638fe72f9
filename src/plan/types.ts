/** A plan is an ordered list of steps; planning is pure, running is in src/run/. */
import type { RevisionFile } from "../revisions/types.js";

export type Direction = "up" | "down";

export interface Step {
  readonly revision: RevisionFile;
  readonly direction: Direction;
}

export interface Plan {
  readonly direction: Direction;
  readonly steps: readonly Step[];
  /** The target as the user wrote it, for messages. */
  readonly target: string;
}
