import { describe, expect, it } from "vitest";
import { isSecretVariableName, redactUrl, scrubSecrets } from "./redact.js";

describe("redactUrl", () => {
  it.each([
    ["postgresql://app:secret@db:5432/prod", "postgresql://app:***@db:5432/prod"],
    ["postgresql+asyncpg://user:pass@localhost/db", "postgresql+asyncpg://user:***@localhost/db"],
    ["postgres://u@h/db", "postgres://u@h/db"],
    ["postgres://h/db?user=u&password=secret", "postgres://h/db?user=u&password=***"],
    ["host=h user=u password=secret dbname=d", "host=h user=u password=*** dbname=d"],
    ["pglite://./dev", "pglite://./dev"],
    // A server message quoting a connection string: the closing quote is the message's, not the password's.
    ['could not parse network address "1 password=Sekr3t"', 'could not parse network address "1 password=***"'],
    ['connection string "host=h password=Sekr3t".', 'connection string "host=h password=***".'],
    ['"host=h password=Sekr3t", and more', '"host=h password=***", and more'],
    // A quote inside the password is the password's.
    ['"host=h password=Se"kr3t"', '"host=h password=***"'],
    ["host=h password=Se\"kr3t dbname=d", "host=h password=*** dbname=d"],
    // A libpq single-quoted value is masked whole, its blanks and escaped quotes included.
    ["host=h password='Se kr\\'3t' dbname=d", "host=h password=*** dbname=d"],
    ["host=h password='Se kr3t", "host=h password=***"],
  ])("masks %s", (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
    expect(redactUrl(input)).not.toMatch(/Sekr|kr3t|Se"|Se /);
  });
});

describe("scrubSecrets", () => {
  it("masks raw and percent-encoded forms", () => {
    const secret = "p@ss:w/rd#%$x";
    const text = `raw ${secret} encoded ${encodeURIComponent(secret)}`;
    const out = scrubSecrets(text, [secret]);
    expect(out).not.toContain(secret);
    expect(out).not.toContain(encodeURIComponent(secret));
    expect(out).toBe("raw *** encoded ***");
  });
  it("ignores very short values", () => {
    expect(scrubSecrets("a b c", ["a"])).toBe("a b c");
  });
});

describe("isSecretVariableName", () => {
  it.each([["DB_PASSWORD", true], ["PGPASSWORD", true], ["API_TOKEN", true], ["STRIPE_SECRET_KEY", true], ["PWD", false], ["OLDPWD", false], ["DB_HOST", false]])("%s → %s", (name, expected) => {
    expect(isSecretVariableName(name)).toBe(expected);
  });
});
