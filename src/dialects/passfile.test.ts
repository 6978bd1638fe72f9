import { describe, expect, it } from "vitest";
import { passwordFromPassfile } from "./passfile.js";

const key = { host: "db.internal", port: 5432, database: "app", user: "deploy" };

describe("passwordFromPassfile (libpq's passwordFromFile)", () => {
  it.each([
    ["db.internal:5432:app:deploy:s3cret", "s3cret"],
    ["*:*:*:*:any", "any"],
    ["# db.internal:5432:app:deploy:commented\ndb.internal:*:app:deploy:second", "second"],
    ["other:5432:app:deploy:no\ndb.internal:5433:app:deploy:no\ndb.internal:5432:app:deploy:yes", "yes"],
    ["db.internal:5432:app:deploy:pa\\:ss\\\\w:rd\r", "pa:ss\\w:rd"],
    ["db\\.internal:5432:app:deploy:x", "x"],
    ["db.internal:5432:app:someone:x", undefined],
    ["db.internal:5432:app", undefined],
  ])("%j → %j", (text, password) => {
    expect(passwordFromPassfile(text, key)).toBe(password);
  });

  it("matches a Unix-socket host as localhost", () => {
    expect(passwordFromPassfile("localhost:5432:*:deploy:sock", { ...key, host: "/var/run/postgresql" })).toBe("sock");
  });
});
