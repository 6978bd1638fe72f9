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
