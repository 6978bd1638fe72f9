/**
 * Whether a plan's single transaction (`--single-transaction`) is open in this process:
 * its revisions ran, or are running, but nothing of them is committed yet. The CLI reads
 * it when code athanor loaded ends the process at once (an exception in a timer, a promise
 * rejected with nothing waiting: src/cli/bin.ts), to say what that leaves: inside the
 * plan's transaction, the connection's close rolls back every revision of the run, those
 * already reported too; outside it, the revisions reported stay (adv15 F19).
 */
let openPlans = 0;

/** True while a plan's single transaction has not reached its COMMIT. */
export function planTransactionOpen(): boolean {
  return openPlans > 0;
}

/** Runs `body` (a plan's single transaction's content, before its COMMIT) marked as {@link planTransactionOpen}. */
export async function inPlanTransaction<T>(body: () => Promise<T>): Promise<T> {
  openPlans += 1;
  try {
    return await body();
  } finally {
    openPlans -= 1;
  }
}
