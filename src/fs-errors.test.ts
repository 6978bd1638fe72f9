import { describe, expect, it } from "vitest";
import { describeFsError } from "./fs-errors.js";

const systemError = (code: string): Error => Object.assign(new Error(`${code}: something, open '/x'`), { code });

describe("describeFsError", () => {
  it.each([
    ["ENOENT", "does not exist"],
    ["EACCES", "permission denied"],
    ["EPERM", "operation not permitted"],
    ["ELOOP", "too many levels of symbolic links (a symbolic link that points back to itself?)"],
    ["ENOTDIR", "a part of its path is a file, not a directory"],
    ["EISDIR", "it is a directory"],
  ])("%s: %s", (code, reason) => {
    expect(describeFsError(systemError(code))).toMatchObject({ code, reason });
  });

  it("only ENOENT says the file does not exist", () => {
    for (const code of ["EACCES", "EPERM", "ELOOP", "ENOTDIR", "EISDIR", "EIO"]) expect(describeFsError(systemError(code)).reason).not.toContain("not exist");
  });

  it("an unknown code keeps the system's message", () => {
    expect(describeFsError(systemError("EIO"))).toEqual({ code: "EIO", reason: "EIO: something, open '/x'", fix: "check the path and its permissions" });
    expect(describeFsError("odd")).toEqual({ code: null, reason: "odd", fix: "check the path and its permissions" });
  });
});
