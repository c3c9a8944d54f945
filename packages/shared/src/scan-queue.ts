import type { Env } from "./env.ts";
import type { Queues } from "./queue-client.ts";

/**
 * Queues the scan of an asset, once: the job id is the asset id, so concurrent confirms, retries and
 * the reconciler never queue it twice. A finished job of an earlier round (kept for inspection) is
 * removed first, otherwise BullMQ would silently ignore the new one.
 */
export async function queueScan(
  queues: Queues,
  env: Pick<Env, "SCAN_ATTEMPTS" | "SCAN_BACKOFF_MS">,
  assetId: string,
): Promise<"queued" | "already-queued"> {
  const queue = queues["asset-virus-scan"];
  const existing = await queue.getJob(assetId);
  if (existing) {
    const state = await existing.getState();
    if (state !== "completed" && state !== "failed" && state !== "unknown") return "already-queued";
    await existing.remove().catch(() => {});
  }
  await queue.add(
    "scan",
    { assetId },
    { jobId: assetId, attempts: env.SCAN_ATTEMPTS, backoff: { type: "exponential", delay: env.SCAN_BACKOFF_MS } },
  );
  return "queued";
}
