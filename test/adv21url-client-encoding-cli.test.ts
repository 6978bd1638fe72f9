/**
 * `client_encoding` (the URL's, else PGCLIENTENCODING) is a startup parameter libpq sends as
 * given: `psql 'postgresql://u@127.0.0.1:P/d?client_encoding=LATIN1'` announces LATIN1, and
 * the session converts text to and from LATIN1. node-postgres always announces UTF8 (it
 * decodes nothing else, and athanor reads revisions as UTF-8), so athanor refuses any other
 * encoding before anything is contacted, as it refuses the other parameters it cannot honour:
 * never run the migrations in another encoding than the URL names.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, runCli } from "./support/cli.js";
import { startFakePostgres, type FakePostgres } from "./support/fake-postgres.js";

let project: string;
const servers: FakePostgres[] = [];

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), "athanor-adv21url-encoding-"));
  mkdirSync(join(project, "migrations"));
  writeFileSync(join(project, "athanor.config.json"), JSON.stringify({ migrations: "./migrations", environments: { staging: { url: "${TURL}" } } }));
});

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

afterAll(() => rmSync(project, { recursive: true, force: true }));

describe("client_encoding: UTF8 or refused, never another encoding ignored", () => {
  it.each([
    ["?client_encoding=LATIN1", {}, "client_encoding"],
    ["", { PGCLIENTENCODING: "LATIN1" }, "PGCLIENTENCODING"],
    ["?client_encoding=auto", { LANG: "de_DE.ISO-8859-1" }, "client_encoding"],
  ])("URL %s with %j: refused before anything is contacted, naming %s", async (query, variables, named) => {
    const server = await startFakePostgres();
    servers.push(server);
    const result = await runCli(["-e", "staging", "current"], { cwd: project, env: baseEnv({ TURL: `postgresql://u:pw-test@127.0.0.1:${server.port}/d${query}`, ...variables }) });
    expect(server.connections).toHaveLength(0);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(named);
    expect(result.stderr).toContain("UTF8");
    expect(result.stderr).not.toContain("pw-test");
  });

  it.each([
    ["?client_encoding=UTF8", {}],
    ["?client_encoding=utf-8", {}],
    ["", { PGCLIENTENCODING: "unicode" }],
    ["?client_encoding=auto", { LANG: "C.UTF-8" }],
  ])("URL %s with %j: connects, announcing UTF8", async (query, variables) => {
    const server = await startFakePostgres();
    servers.push(server);
    await runCli(["-e", "staging", "current"], { cwd: project, env: baseEnv({ TURL: `postgresql://u:pw-test@127.0.0.1:${server.port}/d${query}`, ...variables }) });
    expect(server.connections[0]?.startup?.["client_encoding"]).toBe("UTF8");
  });
});
