import { describe, expect, it } from "vitest";
import { maskPasswords } from "./execute.js";

describe("maskPasswords", () => {
  it("masks password literals in statements shown in errors and history", () => {
    expect(maskPasswords("CREATE ROLE app LOGIN PASSWORD 'it''s secret' VALID UNTIL 'infinity'")).toBe("CREATE ROLE app LOGIN PASSWORD '***' VALID UNTIL 'infinity'");
    expect(maskPasswords("ALTER USER x WITH password E'abc'")).toBe("ALTER USER x WITH password '***'");
    expect(maskPasswords("SELECT 'PASSWORD'")).toBe("SELECT 'PASSWORD'");
  });
});
