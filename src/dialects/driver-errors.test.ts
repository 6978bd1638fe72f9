import { describe, expect, it } from "vitest";
import { toDatabaseError } from "./driver-errors.js";

describe("toDatabaseError", () => {
  it("names PGlite's file-system errors (Emscripten's ErrnoError: no message, a WASI errno) instead of printing [object Object]", () => {
    const errnoError = Object.assign(Object.create(null) as object, { name: "ErrnoError", errno: 54 });
    const error = toDatabaseError(errnoError, { action: "connect", target: { kind: "pglite", dataDir: "/srv/app/db" }, secrets: [] });
    expect(error.message).toBe("cannot connect to the PGlite database in /srv/app/db: its data directory cannot be used: not a directory (ENOTDIR)");
    expect(error.hint).toContain("check that /srv/app/db is a directory you may write");
    const unknown = toDatabaseError({ name: "ErrnoError", errno: 7 }, { action: "connect", target: { kind: "pglite", dataDir: "/srv/app/db" }, secrets: [] });
    expect(unknown.message).toContain("file system error (errno 7)");
  });
});
