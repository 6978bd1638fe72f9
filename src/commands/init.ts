/**
 * `athanor init`: scaffolds a project: athanor.config.ts, migrations/, and `.env`
 * examples for development, testing and production. Development runs on PGlite, so
 * a new user migrates before installing any server. Never overwrites a file.
 */
import { appendFile, chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors.js";
import { CONFIG_FILE_NAMES } from "../config/load.js";

export interface InitResult {
  dir: string;
  created: string[];
  skipped: string[];
  /** Lines added to an existing .gitignore (empty when it had them all, or was created). */
  gitignoreAdded: string[];
}

const CONFIG_TEMPLATE = `import { defineConfig } from "athanor";

// Every environment's url may use \${VAR}, \${VAR:-default} and \${VAR:?message}.
// Values come from .env, .env.local, .env.<environment>, .env.<environment>.local,
// then the real process environment, which always wins.
export default defineConfig({
  migrations: "./migrations",
  defaultEnvironment: "development",
  environments: {
    // Embedded PostgreSQL (PGlite) on disk: no server needed. Set DATABASE_URL to use a server.
    development: { url: "\${DATABASE_URL:-pglite://./.athanor/dev}", echo: true },
    // Reads .env.test (as in the Alembic guide); one connection per command.
    testing: { url: "\${DATABASE_URL}", pool: "none" },
    production: {
      url: "postgresql://\${DB_USER:-app}:\${DB_PASSWORD}@\${DB_HOST}:\${DB_PORT:-5432}/\${DB_NAME}",
      pool: { max: 10 },
      protected: true,
      backup: { dir: "./backups", keep: 10 },
      lockTimeout: "5s",
      statementTimeout: "15min",
    },
  },
});
`;

const ENV_EXAMPLES: Record<string, string> = {
  ".env.example": `# Development (copy to .env). Leave DATABASE_URL unset to use the embedded PGlite database.
ENVIRONMENT=development
# DATABASE_URL=postgresql://user:pass@localhost:5432/app_dev
`,
  ".env.test.example": `# Testing (copy to .env.test).
DATABASE_URL=postgresql://user:pass@localhost:5432/app_test
`,
  ".env.production.example": `# Production (copy to .env.production, chmod 600). Keep the real password out of git.
ENVIRONMENT=production
DB_HOST=localhost
DB_PORT=5432
DB_NAME=app_prod
DB_USER=app
DB_PASSWORD=change-me
`,
};

const GITIGNORE_LINES = [".athanor/", ".env", ".env.local", ".env.*.local", ".env.test", ".env.production", "backups/"];

/** Creates the scaffold in `dir`; existing files are kept and reported as skipped. */
export async function initProject(dir: string): Promise<InitResult> {
  const existing = CONFIG_FILE_NAMES.find((name) => existsSync(join(dir, name)));
  if (existing !== undefined) {
    throw new ConfigError("already-initialised", `${join(dir, existing)} already exists`, {
      hint: "This project is set up already: run `athanor check`, or remove the config file to start over.",
    });
  }
  const created: string[] = [];
  const skipped: string[] = [];
  const write = async (name: string, text: string) => {
    const path = join(dir, name);
    if (existsSync(path)) {
      skipped.push(name);
      return;
    }
    await writeFile(path, text, { flag: "wx" });
    created.push(name);
  };
  await mkdir(dir, { recursive: true });
  await write("athanor.config.ts", CONFIG_TEMPLATE);
  await mkdir(join(dir, "migrations"), { recursive: true });
  await write("migrations/.gitkeep", "");
  for (const [name, text] of Object.entries(ENV_EXAMPLES)) await write(name, text);
  await write(".gitignore", `${GITIGNORE_LINES.join("\n")}\n`);
  const gitignoreAdded = skipped.includes(".gitignore") ? await completeGitignore(join(dir, ".gitignore")) : [];
  if (created.includes(".env.production.example")) await chmod(join(dir, ".env.production.example"), 0o600);
  return { dir, created, skipped, gitignoreAdded };
}

/**
 * Appends to a project's own .gitignore the lines athanor's files need and it lacks:
 * every real project has one, and keeping it unchanged offered `.env.production` (the
 * production password), `.athanor/` and `backups/` to the next commit (adv15 F13). A line
 * counts as present in the forms git reads alike (`/.athanor/`, `.athanor`); nothing is
 * removed or reordered. Returns the lines added.
 */
async function completeGitignore(path: string): Promise<string[]> {
  const text = await readFile(path, "utf8");
  const present = new Set(text.split(/\r?\n/).map((line) => line.trim().replace(/^\//, "").replace(/\/$/, "")));
  const missing = GITIGNORE_LINES.filter((line) => !present.has(line.replace(/\/$/, "")));
  if (missing.length === 0) return [];
  const separator = text === "" || text.endsWith("\n") ? "" : "\n";
  await appendFile(path, `${separator}\n# athanor: local databases, caches, secrets and backups\n${missing.join("\n")}\n`);
  return missing;
}
