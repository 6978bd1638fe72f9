/** The AthanorError a promise rejects with (the test fails when it resolves or rejects with anything else). */
import { expect } from "vitest";
import { AthanorError } from "../../src/errors.js";

export async function caught(promise: Promise<unknown>): Promise<AthanorError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AthanorError);
  return error as AthanorError;
}
