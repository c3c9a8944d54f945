import { runCleanups } from "./harness/cleanup.ts";

/** Stops the API (SIGTERM, SIGKILL after 5 s), drops the database, deletes the Redis keys and DATA_DIR. */
export default async function globalTeardown(): Promise<void> {
  const started = performance.now();
  await runCleanups();
  process.stderr.write(`[e2e] stack torn down (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
}
