/**
 * Types of the configuration file (what users write) and of a resolved environment
 * (what every command receives: variables expanded, sources recorded, frozen).
 */

/** Where a resolved value came from, for `athanor env` and `check`. */
export type ValueSource =
  | { kind: "config"; path: string; file: string }
  | { kind: "env-file"; file: string; variable: string }
  | { kind: "process-env"; variable: string }
  | { kind: "default"; expression: string }
  | { kind: "settings"; file: string; exportName: string }
  | { kind: "flag"; flag: string }
  | { kind: "built-in" };

/** A value with the sources that made it (a template may use several variables). */
export interface Sourced<T> {
  readonly value: T;
  readonly sources: readonly ValueSource[];
}

export type PoolOption = "none" | { max: number };

export interface BackupOption {
  /** Directory where dumps are written (relative to the config file). */
  dir: string;
  /** How many backups to keep; older ones are pruned. */
  keep?: number;
}

export interface VersionTableOption {
  schema?: string;
  table?: string;
}

/** One environment as written in the config file. Strings may hold `${VAR}` templates. */
export interface EnvironmentConfig {
  url?: string;
  /** Migration-only URL, e.g. a direct connection when `url` goes through a pooler. */
  migrationUrl?: string;
  envFile?: string | string[];
  echo?: boolean;
  logLevel?: LogLevel;
  pool?: PoolOption;
  protected?: boolean;
  backup?: BackupOption;
  lockTimeout?: string | number;
  statementTimeout?: string | number;
  versionTable?: VersionTableOption;
  schemas?: string[];
  promoteFrom?: string;
  /**
   * A PostgreSQL server for autogenerate's shadow database instead of the in-memory
   * PGlite (like Prisma's shadowDatabaseUrl): athanor creates a fresh database there for
   * each comparison and drops it afterwards, so the role needs CREATEDB.
   */
  shadowUrl?: string;
  /**
   * Schema-scoped target: every session runs with `search_path` set to this schema, and
   * the version tables default into it (docs/replicas.md).
   */
  schema?: string;
  /** Wait between revisions until the standbys' replay lag is under `max` (docs/replicas.md). */
  replicaLag?: ReplicaLagOption;
  /** A fleet of databases: target name → URL (`${VAR}` templates allowed). Instead of `url`. */
  targets?: Record<string, string>;
  /** A fleet listed by a directory database: `sql` returns `name, url` rows. Instead of `url`. */
  targetsQuery?: { url: string; sql: string };
  /** Schema-per-tenant: a query run against `url` that returns schema names, one target each. */
  tenantSchemas?: string;
  /** How many targets of a fleet run at once (default 4). */
  parallel?: number;
  /** How many targets run first, alone, before the others (default 0). */
  canary?: number;
  /** After a target fails: start no new target (`stop`, the default) or run them all (`continue`). */
  onFailure?: FleetFailurePolicy;
}

/** `replicaLag` as written: durations such as "10s". */
export interface ReplicaLagOption {
  /** The most replay lag a standby may have before the next revision starts. */
  max: string | number;
  /** How long to wait for the standbys at one revision boundary before giving up (default 10 min). */
  wait?: string | number;
}

/** What a fleet does after one of its targets failed. */
export type FleetFailurePolicy = "stop" | "continue";

/** Where a fleet's targets come from, resolved (URLs expanded and parsed, secrets registered). */
export type FleetSource =
  | { readonly kind: "targets"; readonly targets: readonly FleetTargetUrl[] }
  | { readonly kind: "targets-query"; readonly directory: FleetTargetUrl; readonly sql: string }
  | { readonly kind: "tenant-schemas"; readonly sql: string };

/** One database of a fleet (or the directory database): its URL parsed. Holds secrets: never print `url`. */
export interface FleetTargetUrl {
  readonly name: string;
  readonly url: Sourced<string>;
  readonly redactedUrl: string;
  readonly target: DatabaseTarget;
}

/** A resolved fleet: where its targets come from and how they run. */
export interface ResolvedFleet {
  readonly source: FleetSource;
  readonly parallel: number;
  readonly canary: number;
  readonly onFailure: FleetFailurePolicy;
}

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "silent";

/** The whole config file, as `defineConfig` receives it. */
/** How `revision --autogenerate` and `diff` compare (config `autogenerate`). */
export interface AutogenerateConfig {
  /**
   * Compare grants (GRANT/REVOKE on tables, columns, sequences, functions, schemas, types)
   * and ALTER DEFAULT PRIVILEGES (default false: roles differ between environments, so
   * they are listed as not compared instead).
   */
  privileges?: boolean;
}

export interface AthanorConfig {
  migrations?: string;
  schema?: string | string[];
  /** How autogenerate and `diff` compare. */
  autogenerate?: AutogenerateConfig;
  defaultEnvironment?: string;
  environments: Record<string, EnvironmentConfig>;
  settings?: string;
}

/** One entry of a URL's host list: a name, an IP address (IPv6 without brackets) or a Unix socket directory (starts with `/`). */
export interface PostgresHost {
  readonly host: string;
  readonly port: number;
  /** The port as the URL or PGPORT wrote it, when that is not `String(port)` ("01"): libpq's password-file key. */
  readonly portText?: string;
}

/** libpq's `target_session_attrs` (PostgreSQL 14+ values). */
export type TargetSessionAttrs = "any" | "read-write" | "read-only" | "primary" | "standby" | "prefer-standby";

/** A parsed database URL. `pglite` data directories are absolute paths (or memory). */
export type DatabaseTarget =
  | {
      kind: "postgres";
      /**
       * A single-host URL for the first host, every part percent-encoded (`+driver` removed),
       * meaning the same to libpq and WHATWG URL. Holds the password: never print it.
       */
      connectionString: string;
      /** The first host of `hosts` (kept for messages and tools that take one host). */
      host: string;
      port: number;
      /** Every host of the URL, in the order libpq tries them. */
      hosts: readonly PostgresHost[];
      database: string;
      user: string;
      /** Decoded password, or null. Never print it. */
      password: string | null;
      /** The other libpq parameters of the URL (sslmode, options, application_name, ...), decoded. */
      params: Readonly<Record<string, string>>;
      targetSessionAttrs: TargetSessionAttrs;
    }
  | { kind: "pglite"; dataDir: string | null /* null = in memory */ };

/** Everything a command needs about one environment, secrets included but never printed. */
export interface ResolvedEnvironment {
  readonly name: string;
  /** The config file this came from (absolute). */
  readonly configFile: string;
  /** Directory of the config file; relative paths resolve from here. */
  readonly rootDir: string;
  /** Absolute path of the migrations directory. */
  readonly migrationsDir: string;
  /** Absolute paths of the declared schema, if any. */
  readonly schemaPaths: readonly string[];
  /** The config's `autogenerate` settings, defaults filled in. */
  readonly autogenerate: { readonly privileges: boolean };
  readonly url: Sourced<string>;
  /** The URL with passwords masked, safe to print. */
  readonly redactedUrl: string;
  readonly target: DatabaseTarget;
  readonly echo: boolean;
  readonly logLevel: LogLevel;
  readonly pool: PoolOption;
  readonly protected: boolean;
  readonly backup: { dir: string; keep: number } | null;
  readonly lockTimeoutMs: number | null;
  readonly statementTimeoutMs: number | null;
  readonly versionTable: { schema: string; table: string };
  readonly schemas: readonly string[];
  readonly promoteFrom: string | null;
  /** The schema every session of this environment runs in (`SET search_path`), or null for the server's default. */
  readonly searchPath: string | null;
  /** `replicaLag` in milliseconds, or null: no waiting for standbys. */
  readonly replicaLag: { readonly maxMs: number; readonly waitMs: number } | null;
  /** The fleet this environment declares (`targets`, `targetsQuery`, `tenantSchemas`), or null for one database. */
  readonly fleet: ResolvedFleet | null;
  /** The fleet target this environment stands for (one database or tenant schema of a fleet), or null. */
  readonly targetName: string | null;
  /** The server of the shadow database (`shadowUrl`), or null for the in-memory PGlite. */
  readonly shadow: { readonly target: Extract<DatabaseTarget, { kind: "postgres" }>; readonly redactedUrl: string } | null;
  /** Every secret value this environment knows (passwords, secret variables): output scrubbers mask them. */
  readonly secrets: readonly string[];
  /**
   * Variables whose values are secrets: by name (DB_PASSWORD), by their value (a URL with a
   * password) or by their use (substituted after `user:` or into `password=` of a URL).
   * `check` warns about a readable .env file that defines one.
   */
  readonly secretVariables: readonly string[];
  /** The .env files that were read, in order, for `env` and `check`. */
  readonly envFiles: readonly { file: string; exists: boolean; mode?: number; variables: readonly string[]; dotenvDifferences?: readonly string[] }[];
  /** How this environment was chosen (flag, ATHANOR_ENV, ENVIRONMENT, defaultEnvironment, fallback). */
  readonly selectedBy: ValueSource;
  /** The name the user asked for, when it was an alias (`prod` for `production`). */
  readonly requestedName: string;
}
