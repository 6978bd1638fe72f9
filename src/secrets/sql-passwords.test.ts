import { describe, expect, it } from "vitest";
import { maskPasswords } from "./sql-passwords.js";

describe("maskPasswords", () => {
  it("masks password literals in statements shown in errors and history", () => {
    expect(maskPasswords("CREATE ROLE app LOGIN PASSWORD 'it''s secret' VALID UNTIL 'infinity'")).toBe("CREATE ROLE app LOGIN PASSWORD '***' VALID UNTIL 'infinity'");
    expect(maskPasswords("ALTER USER x WITH password E'abc'")).toBe("ALTER USER x WITH password '***'");
    expect(maskPasswords("SELECT 'PASSWORD'")).toBe("SELECT 'PASSWORD'");
    expect(maskPasswords("ALTER ROLE r PASSWORD $$Hunter2Zq$$")).toBe("ALTER ROLE r PASSWORD '***'");
    expect(maskPasswords("ALTER ROLE r PASSWORD $pw$Hunter2Zq$pw$ VALID UNTIL 'infinity'")).toBe("ALTER ROLE r PASSWORD '***' VALID UNTIL 'infinity'");
    expect(maskPasswords("ALTER ROLE r PASSWORD U&'Hunter2Zq'")).toBe("ALTER ROLE r PASSWORD '***'");
    expect(maskPasswords("CREATE SUBSCRIPTION s CONNECTION 'host=127.0.0.1 port=1 password=Hunter2Zq' PUBLICATION p")).toBe("CREATE SUBSCRIPTION s CONNECTION 'host=127.0.0.1 port=1 password=***' PUBLICATION p");
    expect(maskPasswords("CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'app', password 'Hunter2Zq')")).toBe("CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'app', password '***')");
    expect(maskPasswords("SELECT dblink_connect('dbname=x password = Hunter2Zq user=u')")).toBe("SELECT dblink_connect('dbname=x password = *** user=u')");
  });
});

/** Each secret below must not survive masking. */
const secrets = /DynSecret42|QlSecret47|FmtSecret45|CmtSecret58|Hunter2Zq/;

describe("maskPasswords on dynamic SQL and other forms where the literal cannot be delimited", () => {
  it("masks a password doubled inside an EXECUTE string", () => {
    const masked = maskPasswords("DO $$ BEGIN EXECUTE 'ALTER ROLE adv9_nobody PASSWORD ''DynSecret42'''; END $$");
    expect(masked).not.toMatch(secrets);
    expect(masked).toBe("DO $$ BEGIN EXECUTE 'ALTER ROLE adv9_nobody PASSWORD ***");
  });

  it("masks a password concatenated after the string that names PASSWORD", () => {
    const masked = maskPasswords("DO $$ BEGIN EXECUTE 'ALTER ROLE adv9_nobody PASSWORD ' || quote_literal('QlSecret47'); END $$");
    expect(masked).not.toMatch(secrets);
    expect(masked).toBe("DO $$ BEGIN EXECUTE 'ALTER ROLE adv9_nobody PASSWORD ***");
  });

  it("masks a format() argument that %L puts after PASSWORD", () => {
    const masked = maskPasswords("DO $$ BEGIN EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L VALID UNTIL %L', 'adv9_app', 'FmtSecret45', 'bad'); END $$");
    expect(masked).not.toMatch(secrets);
    expect(masked).toBe("DO $$ BEGIN EXECUTE format('CREATE ROLE %I LOGIN PASSWORD ***");
  });

  it("masks a literal after a comment, and after a line comment and a newline", () => {
    expect(maskPasswords("CREATE ROLE r IN ROLE nosuch PASSWORD/**/'CmtSecret58'")).toBe("CREATE ROLE r IN ROLE nosuch PASSWORD/**/'***'");
    expect(maskPasswords("ALTER ROLE r PASSWORD -- rotated\n  'Hunter2Zq' VALID UNTIL 'infinity'")).toBe("ALTER ROLE r PASSWORD -- rotated\n  '***' VALID UNTIL 'infinity'");
  });

  it("masks the rest when PASSWORD is followed by something else and a literal comes later", () => {
    expect(maskPasswords(`INSERT INTO users (name, "password") VALUES ('a', 'Hunter2Zq')`)).toBe(`INSERT INTO users (name, "password" ***`);
    expect(maskPasswords("ALTER ROLE r PASSWORD 'Hunter2Zq")).toBe("ALTER ROLE r PASSWORD ***");
  });

  it("keeps statements where PASSWORD takes no literal", () => {
    expect(maskPasswords("ALTER ROLE r PASSWORD NULL")).toBe("ALTER ROLE r PASSWORD NULL");
    expect(maskPasswords("CREATE TABLE users (id int, password_hash text, password text)")).toBe("CREATE TABLE users (id int, password_hash text, password text)");
    expect(maskPasswords("COMMENT ON ROLE r IS 'password rotated yearly'")).toBe("COMMENT ON ROLE r IS 'password rotated yearly'");
  });

  it("still masks a plain CREATE ROLE inside a DO body, and a user mapping's option", () => {
    expect(maskPasswords("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app') THEN CREATE ROLE app LOGIN PASSWORD 'Hunter2Zq'; END IF; END $$")).toBe(
      "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app') THEN CREATE ROLE app LOGIN PASSWORD '***'; END IF; END $$",
    );
    expect(maskPasswords("CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'u', password 'Hunter2Zq')")).toBe("CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'u', password '***')");
  });
});

describe("maskPasswords on connection URLs, SSLPASSWORD and foreign-data options", () => {
  /** Each secret below must not survive masking. */
  const leaked = /UrlPw\d|SslPw\d|FdwPw\d/;

  it.each([
    ["SELECT dblink_connect('postgresql://u:UrlPw1@h/db')", "SELECT dblink_connect('postgresql://u:***@h/db')"],
    ["CREATE SUBSCRIPTION s CONNECTION 'postgresql://rep:UrlPw2@10.0.0.1:5432/db?sslmode=require' PUBLICATION p", "CREATE SUBSCRIPTION s CONNECTION 'postgresql://rep:***@10.0.0.1:5432/db?sslmode=require' PUBLICATION p"],
    ["SELECT dblink_connect('postgres://u:Url''Pw3@h/db')", "SELECT dblink_connect('postgres://u:***@h/db')"],
    ["SELECT dblink_connect(E'postgresql://u:Url\\'Pw4@h/db')", "SELECT dblink_connect(E'postgresql://u:***@h/db')"],
    ["SELECT dblink_connect($c$postgresql://u:UrlPw5@h/db$c$)", "SELECT dblink_connect($c$postgresql://u:***@h/db$c$)"],
    ["SELECT dblink_connect('postgresql://u:Url@Pw6@h/db')", "SELECT dblink_connect('postgresql://u:***@h/db')"],
    ["CREATE SUBSCRIPTION s CONNECTION 'host=h sslpassword=SslPw1 user=u' PUBLICATION p", "CREATE SUBSCRIPTION s CONNECTION 'host=h sslpassword=*** user=u' PUBLICATION p"],
    ["SELECT dblink_connect('host=h SSLPassword = SslPw2')", "SELECT dblink_connect('host=h SSLPassword = ***')"],
    ["CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'h', sslpassword 'SslPw3')", "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'h', sslpassword '***')"],
    ["CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password 'FdwPw1')", "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password '***')"],
    ["CREATE USER MAPPING FOR u SERVER s OPTIONS (password $$FdwPw2$$)", "CREATE USER MAPPING FOR u SERVER s OPTIONS (password '***')"],
    ["ALTER USER MAPPING FOR u SERVER s OPTIONS (SET password 'FdwPw3', ADD sslpassword E'SslPw4')", "ALTER USER MAPPING FOR u SERVER s OPTIONS (SET password '***', ADD sslpassword '***')"],
    ["ALTER SERVER s OPTIONS (ADD PassWord\n  /* rotated */ -- yearly\n  'FdwPw4')", "ALTER SERVER s OPTIONS (ADD PassWord\n  /* rotated */ -- yearly\n  '***')"],
    // The option's name as a quoted identifier: only the literal is masked, not what follows.
    [`ALTER USER MAPPING FOR u SERVER s OPTIONS (ADD "password" 'FdwPw6', SET "user" 'app')`, `ALTER USER MAPPING FOR u SERVER s OPTIONS (ADD "password" '***', SET "user" 'app')`],
    [`CREATE USER MAPPING FOR u SERVER s OPTIONS ("user" 'app', "sslpassword" $$SslPw5$$); SELECT 1`, `CREATE USER MAPPING FOR u SERVER s OPTIONS ("user" 'app', "sslpassword" '***'); SELECT 1`],
    [`ALTER SERVER s OPTIONS (SET "password" /* new */ 'FdwPw7')`, `ALTER SERVER s OPTIONS (SET "password" /* new */ '***')`],
  ])("%s", (statement, masked) => {
    expect(maskPasswords(statement)).toBe(masked);
    expect(maskPasswords(statement)).not.toMatch(leaked);
  });

  it("masks a URL's password and the rest after a PASSWORD it cannot delimit, in one statement", () => {
    const masked = maskPasswords(`SELECT dblink_connect('postgresql://u:UrlPw7@h/db'), dblink_exec('ALTER ROLE r PASSWORD ''FdwPw5''')`);
    expect(masked).toBe("SELECT dblink_connect('postgresql://u:***@h/db'), dblink_exec('ALTER ROLE r PASSWORD ***");
  });

  it("masks a URL cut short inside its password (a lock holder's query is truncated at 1 kB)", () => {
    expect(maskPasswords("SELECT dblink_connect('postgresql://app:UrlPw8")).toBe("SELECT dblink_connect('postgresql://app:***");
    expect(maskPasswords("SELECT dblink_connect('postgresql://db.internal:5432/prod')")).toBe("SELECT dblink_connect('postgresql://db.internal:5432/prod')");
  });

  it("keeps URLs without a password and options that are no password", () => {
    for (const statement of [
      "SELECT dblink_connect('postgresql://u@h/db')",
      "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'h', password_required 'false')",
      "SELECT 'mailto:a@b', 'http://example.com/a@b'",
    ]) expect(maskPasswords(statement)).toBe(statement);
  });
});
