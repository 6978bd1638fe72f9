// The quickstart: one environment on embedded PostgreSQL (PGlite), in .athanor/dev
// beside this file. No server, no credentials.
export default {
  migrations: "./migrations",
  environments: {
    development: { url: "pglite://./.athanor/dev", echo: false },
  },
};
