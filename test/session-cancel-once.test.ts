/**
 * A session's cancel goes once: the interruption reaches it by two paths (the abortable
 * session's stop and the executor's), and a second cancel, arriving after a revision had
 * caught the first (`EXCEPTION WHEN query_canceled`), cancelled that revision's next
 * statement after all — a revision documented to run to its end was rolled back, on a
 * loaded machine only (the CI run of round 14). PostgreSQL, through the session itself.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDatabaseUrl } from "../src/config/url.js";
import { openSession } from "../src/dialects/open.js";
import type { Session } from "../src/dialects/types.js";
import { createPostgresDatabase, queryUrl, type TestDatabase } from "./support/databases.js";

/** Sleeps until cancelled, catches that, then sleeps 1.5 s more: a second cancel ends the second sleep with an error. */
const CATCHES_ONE_CANCEL = `DO $$
BEGIN
  BEGIN
    PERFORM pg_sleep(60);
  EXCEPTION WHEN query_canceled THEN
    NULL;
  END;
  PERFORM pg_sleep(1.5);
END $$`;

describe("Session.cancel (PostgreSQL)", { timeout: 60_000 }, () => {
  let db: TestDatabase;
  let session: Session;

  beforeAll(async () => {
    db = await createPostgresDatabase("athanor_cancel_once");
    session = await openSession(parseDatabaseUrl(db.url, process.cwd(), "the test").target);
  });
  afterAll(async () => {
    await session.close();
    await db.drop();
  });

  it("called twice, cancels once: a statement that caught the first cancel runs to its end", async () => {
    const running = session.exec(CATCHES_ONE_CANCEL);
    await expect
      .poll(async () => (await queryUrl<{ n: string }>(db.url, "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'"))[0]?.n, { timeout: 30_000, interval: 50 })
      .toBe("1");
    expect(await session.cancel()).toBeNull();
    // The first sleep was cancelled and caught; the second is running when the second call comes.
    await expect
      .poll(async () => (await queryUrl<{ n: string }>(db.url, "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep' AND query_start < now()"))[0]?.n, { timeout: 30_000, interval: 20 })
      .toBe("1");
    expect(await session.cancel()).toBeNull();
    await expect(running).resolves.toBeUndefined();
  });
});
