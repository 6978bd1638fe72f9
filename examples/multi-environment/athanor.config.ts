// The guide's three environments, the athanor way. Each `[alembic:<name>]` section of
// alembic.ini is an entry of `environments`; the `.env` files are read as the guide
// lays them out: `.env` for everyone, `.env.test` for testing, `.env.production` for
// production. The real process environment always wins over every file.
import { defineConfig } from "athanor";

export default defineConfig({
  migrations: "./migrations",
  defaultEnvironment: "development",
  environments: {
    // [alembic:development]: sqlalchemy.url = ${DATABASE_URL}, sqlalchemy.echo = true.
    // DATABASE_URL comes from .env; DEV_DATABASE_URL, when set, wins.
    development: {
      url: "${DEV_DATABASE_URL:-${DATABASE_URL}}",
      echo: true,
    },
    // [alembic:testing]: sqlalchemy.poolclass = NullPool. For testing, .env.test is read
    // over .env, so its DATABASE_URL is the one used; TEST_DATABASE_URL (CI) wins.
    testing: {
      url: "${TEST_DATABASE_URL:-${DATABASE_URL}}",
      pool: "none",
    },
    // [alembic:production]: sqlalchemy.poolclass = QueuePool. The URL is assembled here
    // from the parts in .env.production, never from DATABASE_URL: a DATABASE_URL exported
    // in a shell can not send a production run somewhere else (nor a development run to
    // production). PROD_DATABASE_URL, when set, replaces the whole URL.
    production: {
      url: "${PROD_DATABASE_URL:-postgresql+asyncpg://${DB_USER:-user}:${DB_PASSWORD}@${DB_HOST}:${DB_PORT:-5432}/${DB_NAME}}",
      pool: { max: 10 },
      protected: true, // the guide's "confirmation" before production (the default for production)
      backup: { dir: "./backups", keep: 10 }, // the guide's next step: a backup before every production run
      promoteFrom: "testing", // production refuses a revision testing has not applied
      lockTimeout: "5s",
      statementTimeout: "15min",
    },
  },
});
