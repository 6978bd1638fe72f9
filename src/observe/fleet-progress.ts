/**
 * The one progress line of a fleet run (issue #17): how many targets are done, running
 * and failed, and how many revisions were applied, redrawn in place on a terminal. Pure.
 */
import { formatDuration } from "./progress.js";

/** What the fleet's progress line shows. */
export interface FleetProgressState {
  readonly environment: string;
  readonly total: number;
  readonly done: number;
  readonly running: number;
  readonly failed: number;
  readonly revisions: number;
  readonly elapsedMs: number;
}

/**
 * `production: 12/100 targets done · 4 running · 1 failed · 240 revisions applied · 4.0 s`,
 * cut to `width` characters (a wrapped line cannot be redrawn).
 * @example
 * formatFleetProgressLine({ environment: "prod", total: 3, done: 1, running: 2, failed: 0, revisions: 5, elapsedMs: 1200 }, 80)
 */
export function formatFleetProgressLine(state: FleetProgressState, width: number): string {
  const parts = [
    `${state.environment}: ${state.done}/${state.total} target${state.total === 1 ? "" : "s"} done`,
    `${state.running} running`,
    ...(state.failed > 0 ? [`${state.failed} failed`] : []),
    `${state.revisions} revision${state.revisions === 1 ? "" : "s"} applied`,
    formatDuration(state.elapsedMs),
  ];
  const line = parts.join(" · ");
  return line.length <= width ? line : `${line.slice(0, Math.max(0, width - 1))}…`;
}
