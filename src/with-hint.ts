/**
 * An error with another hint, for the layers that add what a failure left behind to the
 * hint of an error raised below them (the runner, baseline). Internal: not in the package's API.
 */
import type { AthanorError } from "./errors.js";

/** The same error (class, code, message, details, stack) with another hint. */
export function withHint<E extends AthanorError>(error: E, hint: string): E {
  return Object.create(Object.getPrototypeOf(error) as object, {
    ...Object.getOwnPropertyDescriptors(error),
    hint: { value: hint, enumerable: true, writable: false, configurable: true },
  }) as E;
}
