import { describe, expect, it } from "vitest";
import { passwordFromPassfile } from "./passfile.js";

const key = { host: "db.internal", port: "5432", database: "app", user: "deploy" };

describe("passwordFromPassfile (libpq's passwordFromFile)", () => {
  it.each([
    ["db.internal:5432:app:deploy:s3cret", "s3cret"],
    ["*:*:*:*:any", "any"],
    ["# db.internal:5432:app:deploy:commented\ndb.internal:*:app:deploy:second", "second"],
    ["other:5432:app:deploy:no\ndb.internal:5433:app:deploy:no\ndb.internal:5432:app:deploy:yes", "yes"],
    // libpq's password ends at the first unescaped ":" (test/adv21url-libpq-resolve.test.ts checks against libpq).
    ["db.internal:5432:app:deploy:pa\\:ss\\\\w:rd\r", "pa:ss\\w"],
    ["db.internal:5432:app:deploy:crlf\r\r\n", "crlf"],
    ["\\*:5432:app:deploy:literal-star\n*:5432:app:deploy:wild", "wild"],
    ["db.internal:5432:app:deploy:\n*:*:*:*:later", ""],
    ["db\\.internal:5432:app:deploy:x", "x"],
    ["db.internal:5432:app:someone:x", undefined],
    ["db.internal:5432:app", undefined],
  ])("%j → %j", (text, password) => {
    expect(passwordFromPassfile(text, key)).toBe(password);
  });

  it("matches an IPv6 host written with unescaped colons, as libpq does", () => {
    expect(passwordFromPassfile("::1:5432:app:deploy:v6", { ...key, host: "::1" })).toBe("v6");
  });

  it("matches a Unix-socket host as localhost", () => {
    expect(passwordFromPassfile("localhost:5432:*:deploy:sock", { ...key, host: "/var/run/postgresql" })).toBe("sock");
  });
});
