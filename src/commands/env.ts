/** `athanor env`: the resolved configuration of an environment, redacted, with each value's source. */
import type { ResolvedEnvironment, ValueSource } from "../config/types.js";
import { describeSource } from "../config/expand.js";

export interface EnvironmentValue {
  key: string;
  value: string | number | boolean | null;
  sources: string[];
}

export interface EnvironmentDescription {
  environment: string;
  requested: string;
  selectedBy: string;
  configFile: string;
  url: string;
  driver: "postgres" | "pglite";
  values: EnvironmentValue[];
  envFiles: { file: string; exists: boolean }[];
}

const describeAll = (sources: readonly ValueSource[]) => sources.map((source) => describeSource(source));

/** The fleet's keys (issue #17): its targets' URLs redacted, or its queries, and how it runs. */
function fleetValues(env: ResolvedEnvironment, fromConfig: (key: string) => string[]): EnvironmentValue[] {
  const fleet = env.fleet;
  if (fleet === null) return [];
  const source = fleet.source;
  const listed: EnvironmentValue[] =
    source.kind === "targets"
      ? source.targets.map((target) => ({ key: `targets.${target.name}`, value: target.redactedUrl, sources: describeAll(target.url.sources) }))
      : source.kind === "targets-query"
        ? [
            { key: "targetsQuery.url", value: source.directory.redactedUrl, sources: describeAll(source.directory.url.sources) },
            { key: "targetsQuery.sql", value: source.sql, sources: fromConfig("targetsQuery.sql") },
          ]
        : [{ key: "tenantSchemas", value: source.sql, sources: fromConfig("tenantSchemas") }];
  return [
    ...listed,
    { key: "parallel", value: fleet.parallel, sources: fromConfig("parallel") },
    { key: "canary", value: fleet.canary, sources: fromConfig("canary") },
    { key: "onFailure", value: fleet.onFailure, sources: fromConfig("onFailure") },
  ];
}

/** Describes an environment for people and JSON; no secret is included (the URL is redacted). */
export function describeEnvironment(env: ResolvedEnvironment): EnvironmentDescription {
  const fromConfig = (key: string): string[] => [`environments.${env.name}.${key} (or the default)`];
  const values: EnvironmentValue[] = [
    ...(env.fleet === null || env.fleet.source.kind === "tenant-schemas" ? [{ key: "url", value: env.redactedUrl, sources: describeAll(env.url.sources) }] : []),
    ...fleetValues(env, fromConfig),
    { key: "migrations", value: env.migrationsDir, sources: ["migrations (or the default ./migrations)"] },
    { key: "echo", value: env.echo, sources: fromConfig("echo") },
    { key: "logLevel", value: env.logLevel, sources: fromConfig("logLevel") },
    { key: "pool", value: env.pool === "none" ? "none" : `max ${env.pool.max}`, sources: fromConfig("pool") },
    { key: "protected", value: env.protected, sources: fromConfig("protected") },
    { key: "backup", value: env.backup ? `${env.backup.dir} (keep ${env.backup.keep})` : null, sources: fromConfig("backup") },
    { key: "lockTimeout", value: env.lockTimeoutMs === null ? null : `${env.lockTimeoutMs}ms`, sources: fromConfig("lockTimeout") },
    { key: "statementTimeout", value: env.statementTimeoutMs === null ? null : `${env.statementTimeoutMs}ms`, sources: fromConfig("statementTimeout") },
    { key: "versionTable", value: `${env.versionTable.schema}.${env.versionTable.table}`, sources: fromConfig("versionTable") },
    { key: "schemas", value: env.schemas.join(", "), sources: fromConfig("schemas") },
    { key: "promoteFrom", value: env.promoteFrom, sources: fromConfig("promoteFrom") },
    { key: "schema", value: env.searchPath, sources: fromConfig("schema") },
    { key: "replicaLag", value: env.replicaLag === null ? null : `max ${env.replicaLag.maxMs}ms, wait ${env.replicaLag.waitMs}ms`, sources: fromConfig("replicaLag") },
    // The shadow server's URL, redacted like `url`.
    { key: "shadowUrl", value: env.shadow === null ? null : env.shadow.redactedUrl, sources: fromConfig("shadowUrl") },
  ];
  return {
    environment: env.name,
    requested: env.requestedName,
    selectedBy: describeSource(env.selectedBy, "the environment"),
    configFile: env.configFile,
    url: env.redactedUrl,
    driver: env.target.kind,
    values,
    envFiles: env.envFiles.map(({ file, exists }) => ({ file, exists })),
  };
}
