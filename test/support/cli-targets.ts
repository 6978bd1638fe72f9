/**
 * The two databases a CLI test runs against, set up the same way: a fresh PostgreSQL
 * database (URL in DATABASE_URL) or a PGlite directory in the project
 * (`.athanor/dev`), each with a way to run SQL once the CLI is done with it.
 */
import { join } from "node:path";
import { openSession } from "../../src/dialects/open.js";
import { baseEnv } from "./cli.js";
import { createPostgresDatabase, queryUrl } from "./databases.js";
import { createEngineProject, type EngineProject } from "./engine-project.js";

/** Runs SQL against the database after the CLI is done with it (a PGlite directory cannot be shared while a run holds it). */
export type Inspect = <Row>(sql: string) => Promise<Row[]>;

/** One database for one CLI test: the CLI's environment variables, SQL for assertions, and its removal. */
export interface CliTargetSetup {
  readonly env: Record<string, string | undefined>;
  readonly inspect: Inspect;
  drop(): Promise<void>;
}

/** A database kind that CLI tests run on, configured as the project's `development` environment. */
export interface CliTarget {
  readonly name: string;
  setUp(project: EngineProject): Promise<CliTargetSetup>;
}

export const cliTargets: readonly CliTarget[] = [
  {
    name: "PostgreSQL",
    async setUp(project) {
      const db = await createPostgresDatabase("athanor_cli");
      await project.configure({ development: { url: "${DATABASE_URL}" } });
      return {
        env: baseEnv({ DATABASE_URL: db.url }),
        inspect: async <Row>(sql: string) => (await queryUrl(db.url, sql)) as unknown as Row[],
        drop: () => db.drop(),
      };
    },
  },
  {
    name: "PGlite",
    async setUp(project) {
      await project.configure({ development: { url: "pglite://./.athanor/dev" } });
      return {
        env: baseEnv(),
        async inspect<Row>(sql: string) {
          const session = await openSession({ kind: "pglite", dataDir: join(project.dir, ".athanor", "dev") });
          try {
            return (await session.query<Row>(sql)).rows;
          } finally {
            await session.close();
          }
        },
        drop: async () => {},
      };
    },
  },
];

/** Runs `test` on a new engine project set up on `target`; then drops its database and removes the project. */
export async function withTargetProject(target: CliTarget, test: (project: EngineProject, setup: CliTargetSetup) => Promise<void>): Promise<void> {
  const project = await createEngineProject();
  const setup = await target.setUp(project);
  try {
    await test(project, setup);
  } finally {
    await setup.drop();
    await project.remove();
  }
}
