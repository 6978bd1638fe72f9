/**
 * Lock connections shared by a fleet's tenants (issue #17), on a real PostgreSQL server:
 * each version table keeps its own advisory lock, and the sharing never lets two runs of
 * this process hold the same key (advisory locks are re-entrant within one backend).
 */
import { afterEach, describe, expect, it } from "vitest";
import { parseDatabaseUrl } from "../src/config/url.js";
import { lockDatabase, sharedLockConnections } from "../src/dialects/open.js";
import type { LockRequest } from "../src/dialects/types.js";
import { LockTimeoutError } from "../src/errors.js";
import { lockKey } from "../src/run/lock.js";
import { serverUrl } from "./support/databases.js";

const shared = sharedLockConnections();
afterEach(() => shared.close());

function request(schema: string, waitMs: number): LockRequest {
  return { key: lockKey({ schema, table: "athanor_version" }), waitMs, pollMs: 50, timeout: () => new LockTimeoutError(`lock of ${schema} busy`, { hint: "wait" }) };
}

describe("shared lock connections", () => {
  const target = parseDatabaseUrl(serverUrl(), process.cwd(), "DATABASE_URL").target;
  const options = { applicationName: "athanor test (shared locks)", display: "the migration lock", shared };

  it("holds different tenants' keys together, and refuses a second holder of one key until it is released", async () => {
    const a = await lockDatabase(target, request("tenant_a", 1_000), options);
    const b = await lockDatabase(target, request("tenant_b", 1_000), options);
    // The same key again, from this process: it must wait (and here give up), not re-enter.
    await expect(lockDatabase(target, request("tenant_a", 300), options)).rejects.toThrow(/lock of tenant_a busy/);
    await a();
    const again = await lockDatabase(target, request("tenant_a", 1_000), options);
    await again();
    await b();
  }, 20_000);
});
