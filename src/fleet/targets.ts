/**
 * A fleet's targets (issue #17): each database (`targets`, `targetsQuery`) or tenant
 * schema (`tenantSchemas`) of a fleet environment becomes a ResolvedEnvironment of its
 * own, so every command runs on a target exactly as on one database — its own lock, its
 * own version and history rows. Pure: deriving targets, choosing them with `--target`
 * globs, ordering canaries. The queries that list targets live in ./list.ts.
 */
import picomatch from "picomatch";
import type { FleetTargetUrl, ResolvedEnvironment } from "../config/types.js";
import { closest } from "../config/suggest.js";
import { ConfigError } from "../errors.js";

/** The environment of one database of a fleet: its URL, its name; everything else the fleet's. */
export function databaseTargetEnvironment(fleet: ResolvedEnvironment, target: FleetTargetUrl, secrets: readonly string[] = []): ResolvedEnvironment {
  return Object.freeze({
    ...fleet,
    url: target.url,
    redactedUrl: target.redactedUrl,
    target: target.target,
    fleet: null,
    targetName: target.name,
    secrets: secrets.length === 0 ? fleet.secrets : [...fleet.secrets, ...secrets],
  });
}

/**
 * The environment of one tenant schema: the fleet's database, the version tables in the
 * tenant's schema, and `search_path` set to it (so unqualified names in revisions land there).
 */
export function tenantTargetEnvironment(fleet: ResolvedEnvironment, schema: string): ResolvedEnvironment {
  return Object.freeze({
    ...fleet,
    fleet: null,
    targetName: schema,
    searchPath: schema,
    schemas: [schema],
    versionTable: { schema, table: fleet.versionTable.table },
  });
}

/** True when `name` matches one of the `--target` patterns (globs: `eu-*`, `shard-?1`, `{a,b}`). */
export function targetMatcher(patterns: readonly string[]): (name: string) => boolean {
  const matchers = patterns.map((pattern) => picomatch(pattern, { dot: true }));
  return (name) => matchers.some((match) => match(name));
}

/**
 * The targets `--target` chose, in the fleet's order; every target when no pattern is
 * given. A pattern matching nothing is a usage error (a typo must not run nothing quietly).
 * @throws ConfigError `unknown-target` (exit 2)
 */
export function selectTargets<T extends { readonly targetName: string | null }>(environment: string, targets: readonly T[], patterns: readonly string[]): T[] {
  if (patterns.length === 0) return [...targets];
  const names = targets.map((target) => target.targetName ?? "");
  for (const pattern of patterns) {
    const match = targetMatcher([pattern]);
    if (names.some(match)) continue;
    const guess = closest(pattern, names);
    throw new ConfigError("unknown-target", `--target ${pattern} matches no target of the fleet "${environment}" (${names.length} target${names.length === 1 ? "" : "s"})`, {
      hint: `${guess === undefined ? "" : `Did you mean ${guess}? `}\`athanor --env ${environment} status\` lists the targets; globs such as "eu-*" are allowed.`,
      details: { environment, pattern },
    });
  }
  const chosen = targetMatcher(patterns);
  return targets.filter((target) => chosen(target.targetName ?? ""));
}

/** Duplicate target names (a directory query returning a name twice): refused, a name is an identity. */
export function assertUniqueNames(environment: string, names: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) {
      throw new ConfigError("duplicate-target", `the fleet "${environment}" lists the target "${name}" twice`, {
        hint: "Make the target query return each name once (SELECT DISTINCT, or a primary key on the name).",
        details: { environment, target: name },
      });
    }
    seen.add(name);
  }
}
