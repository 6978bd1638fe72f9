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
    expect(maskPasswords(`INSERT INTO users (name, "password") VALUES ('a', 'Hunter2Zq')`)).toBe(`INSERT INTO users (name, "password ***`);
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
