import { describe, expect, it } from "vitest";
import { thrownMessage } from "./thrown.js";

describe("thrownMessage", () => {
  it("an Error's message, a string as it is", () => {
    expect(thrownMessage(new Error("boom"))).toBe("boom");
    expect(thrownMessage("plain")).toBe("plain");
  });
  it("an error-shaped object's message, not [object Object] (adv15 F15c)", () => {
    expect(thrownMessage({ message: "table missing", code: "E1" })).toBe("table missing");
  });
  it("anything else as text, an object without a prototype included", () => {
    expect(thrownMessage(null)).toBe("null");
    expect(thrownMessage({ message: "" })).toBe("[object Object]");
    expect(thrownMessage(Object.assign(Object.create(null) as object, { a: 1 }))).toBe('a thrown {"a":1}');
  });
});
