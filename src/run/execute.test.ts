import { describe, expect, it } from "vitest";
import { maskPasswords, nextBatchSize } from "./execute.js";

describe("maskPasswords", () => {
  it("masks password literals in statements shown in errors and history", () => {
    expect(maskPasswords("CREATE ROLE app LOGIN PASSWORD 'it''s secret' VALID UNTIL 'infinity'")).toBe("CREATE ROLE app LOGIN PASSWORD '***' VALID UNTIL 'infinity'");
    expect(maskPasswords("ALTER USER x WITH password E'abc'")).toBe("ALTER USER x WITH password '***'");
    expect(maskPasswords("SELECT 'PASSWORD'")).toBe("SELECT 'PASSWORD'");
    expect(maskPasswords("ALTER ROLE r PASSWORD $$Hunter2Zq$$")).toBe("ALTER ROLE r PASSWORD '***'");
    expect(maskPasswords("ALTER ROLE r PASSWORD $pw$Hunter2Zq$pw$ VALID UNTIL 'infinity'")).toBe("ALTER ROLE r PASSWORD '***' VALID UNTIL 'infinity'");
    expect(maskPasswords("ALTER ROLE r PASSWORD U&'Hunter2Zq'")).toBe("ALTER ROLE r PASSWORD '***'");
    expect(maskPasswords("CREATE SUBSCRIPTION s CONNECTION 'host=127.0.0.1 port=1 password=Hunter2Zq' PUBLICATION p")).toBe("CREATE SUBSCRIPTION s CONNECTION 'host=127.0.0.1 port=1 password=***' PUBLICATION p");
    expect(maskPasswords("SELECT dblink_connect('dbname=x password = Hunter2Zq user=u')")).toBe("SELECT dblink_connect('dbname=x password = *** user=u')");
  });
});

describe("nextBatchSize", () => {
  it("doubles after a round trip within the budget, up to 64 revisions", () => {
    expect(nextBatchSize(1, 1, 5)).toBe(2);
    expect(nextBatchSize(32, 32, 60)).toBe(64);
    // 64 quick revisions that took 110 ms: the next round trip is as large, not back to one.
    expect(nextBatchSize(64, 64, 110)).toBe(64);
    // A short group (a TypeScript revision followed) keeps the allowance growing.
    expect(nextBatchSize(16, 3, 20)).toBe(32);
  });

  it("after a slow round trip, carries what its pace fits in the budget, at least one", () => {
    expect(nextBatchSize(64, 64, 1280)).toBe(25);
    expect(nextBatchSize(8, 8, 10_000)).toBe(1);
    expect(nextBatchSize(1, 1, 60_000)).toBe(1);
  });
});
