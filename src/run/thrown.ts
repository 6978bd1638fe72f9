/**
 * The text of anything a revision's code may throw. `String(value)` itself throws for an
 * object without a prototype (`throw Object.create(null)`: no toString), which turned a
 * revision's failure into an athanor "internal error" with no FAILED line and no history row.
 */
export function thrownMessage(value: unknown): string {
  if (value instanceof Error) return value.message;
  // An error-shaped object that is not an Error (`throw { message: "..." }`, an error from another realm).
  if (typeof value === "object" && value !== null && typeof (value as { message?: unknown }).message === "string" && (value as { message: string }).message !== "") return (value as { message: string }).message;
  try {
    return String(value);
  } catch {
    try {
      return `a thrown ${JSON.stringify(value) ?? "value"}`;
    } catch {
      return `a thrown ${Object.prototype.toString.call(value)}`;
    }
  }
}
