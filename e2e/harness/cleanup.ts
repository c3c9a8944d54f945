/**
 * Everything global setup starts registers how to undo it here; global teardown undoes it in reverse
 * order. Playwright runs global teardown even when global setup failed halfway, so a partial start
 * is cleaned up too. The list hangs off globalThis because setup and teardown are loaded as separate
 * modules: this way they share it even if the loader gave each its own copy of this file.
 */
type Cleanup = { label: string; run: () => Promise<void> };

const registry = globalThis as typeof globalThis & { __airlockE2eCleanups?: Cleanup[] };
registry.__airlockE2eCleanups ??= [];
const cleanups = registry.__airlockE2eCleanups;

export function onCleanup(label: string, run: () => Promise<void>): void {
  cleanups.push({ label, run });
}

/** Runs every cleanup even if some fail, then reports all failures at once. */
export async function runCleanups(): Promise<void> {
  const errors: string[] = [];
  for (let next = cleanups.pop(); next; next = cleanups.pop()) {
    try {
      await next.run();
    } catch (error) {
      errors.push(`${next.label}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (errors.length) throw new Error(`e2e teardown failed:\n  ${errors.join("\n  ")}`);
}
