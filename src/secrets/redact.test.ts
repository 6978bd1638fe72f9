import { describe, expect, it } from "vitest";
import { SecretRegistry, isSecretVariableName, passwordCandidates, redactUrl, registerVariableSecrets, scrubSecrets } from "./redact.js";

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
  it("masks a secret that is not word-like wherever it is, glued to letters, digits or _ too (adv15 F17)", () => {
    const secret = "Zq7-adv15-pw";
    expect(scrubSecrets(`a${secret}b _${secret}_ 1${secret} é${secret}é`, [secret])).toBe("a***b _***_ 1*** é***é");
  });
  it("masks a word-like secret (letters only, digits only) as a whole token only", () => {
    expect(scrubSecrets("user postgres at postgresql://h/db", ["postgres"])).toBe("user *** at postgresql://h/db");
    expect(scrubSecrets("pin 123456 in 91234567", ["123456"])).toBe("pin *** in 91234567");
  });
  it("masks a percent-encoded secret written in lower case (adv15 F15b)", () => {
    const secret = "p@ss/w}$x";
    expect(scrubSecrets(`upper ${encodeURIComponent(secret)} lower ${encodeURIComponent(secret).toLowerCase()}`, [secret])).toBe("upper *** lower ***");
  });
});

describe("password-like parameters", () => {
  it.each(["password", "sslpassword", "pass", "pwd", "passwd", "pasword", "passwrd", "db_password", "token"])("%s= is masked and registered (adv15 F18)", (key) => {
    const url = `postgresql://u@h/d?sslmode=require&${key}=Other-Pw9&application_name=x`;
    expect(redactUrl(url)).toBe(`postgresql://u@h/d?sslmode=require&${key}=***&application_name=x`);
    expect(passwordCandidates(url)).toEqual(["Other-Pw9"]);
  });
  it("passfile= names a file, not a secret", () => {
    expect(redactUrl("postgresql://u@h/d?passfile=/home/u/.pgpass")).toBe("postgresql://u@h/d?passfile=/home/u/.pgpass");
    expect(passwordCandidates("postgresql://u@h/d?passfile=/home/u/.pgpass")).toEqual([]);
  });
});

describe("registerVariableSecrets", () => {
  it("registers secret-named values and the passwords of URL-shaped values, nothing else (adv15 F9)", () => {
    const registry = new SecretRegistry();
    registerVariableSecrets({ DB_PASSWORD: "pw-one-1", API_TOKEN: "tok-two-2", DATABASE_URL: "postgresql://app:pw-three-3@db/app", DB_HOST: "db.internal", PWD: "/home/u", EMPTY_PASSWORD: "" }, registry);
    expect(registry.list().sort()).toEqual(["pw-one-1", "pw-three-3", "tok-two-2"]);
  });
});

describe("isSecretVariableName", () => {
  it.each([["DB_PASSWORD", true], ["PGPASSWORD", true], ["API_TOKEN", true], ["STRIPE_SECRET_KEY", true], ["PWD", false], ["OLDPWD", false], ["DB_HOST", false]])("%s → %s", (name, expected) => {
    expect(isSecretVariableName(name)).toBe(expected);
  });

  it.each([["DB_PASS", true], ["db_pass", true], ["KEY_ID", true], ["MY_AUTH_X", true], ["PRIVATEKEY", true], ["api_key", true], ["ApiKey", true], ["aws_secret_access_key", true], ["GITHUB_TOKEN", true], ["GOOGLE_CREDENTIALS", true], ["PASSPORT", false], ["KEYBOARD", false], ["MONKEY", false], ["AUTHOR", false], ["_PWD_", true], ["Pwd", false], ["ssh_auth_sock", false]])("whole words and any case: %s → %s", (name, expected) => {
    expect(isSecretVariableName(name)).toBe(expected);
  });

  it("says what the rule's regular expression says, for every name built from its parts", () => {
    // The rule as it was first written: one case-insensitive pattern (now `includes` and `split`, cheaper to start).
    const rule = /PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE_?KEY|API_?KEY|(?:^|_)(?:PASS|PWD|KEY|AUTH)(?:_|$)/i;
    const notSecret = new Set(["PWD", "OLDPWD", "XAUTHORITY", "SSH_AUTH_SOCK", "KRB5CCNAME"]);
    const parts = ["", "_", "DB", "pass", "PASSWORD", "passwd", "Secret", "TOKEN", "credential", "private", "KEY", "api", "pwd", "AUTH", "x", "AUTHOR", "PASSPORT"];
    let checked = 0;
    for (const a of parts) for (const b of parts) for (const c of parts) {
      const name = `${a}${b}${c}`;
      expect(isSecretVariableName(name), name).toBe(rule.test(name) && !notSecret.has(name.toUpperCase()));
      checked += 1;
    }
    expect(checked).toBe(parts.length ** 3);
  });
});
