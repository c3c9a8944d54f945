import { queueScan } from "@airlock/shared/scan-queue";
import type { Registration } from "../registry.ts";

const BATCH = 500;

/**
 * `upload-reconcile` (scheduled): re-queues the scan of assets stuck in UPLOADED or SCANNING — Redis
 * was down when they were confirmed, or a worker died past BullMQ's stalled-job limit — so no file
 * ever stays unscanned. Queuing is idempotent (jobId = assetId), so an asset whose job is merely
 * waiting is left alone.
 */
export const reconcileRegistration: Registration<"upload-reconcile"> = {
  concurrency: () => 1,
  async process(_job, ctx) {
    const cutoff = new Date(Date.now() - ctx.env.RECONCILE_AFTER_SECONDS * 1000);
    let requeued = 0;
    let cursor: string | undefined;
    for (;;) {
      const stuck = await ctx.db.asset.findMany({
        where: {
          OR: [
            { status: "UPLOADED", confirmedAt: { lt: cutoff } },
            { status: "SCANNING", scanStartedAt: { lt: cutoff } },
          ],
          ...(cursor ? { id: { gt: cursor } } : {}),
        },
        select: { id: true },
        orderBy: { id: "asc" },
        take: BATCH,
      });
      for (const { id } of stuck) {
        if ((await queueScan(ctx.queues, ctx.env, id)) === "queued") requeued++;
      }
      if (stuck.length < BATCH) break;
      cursor = stuck.at(-1)?.id;
    }
    if (requeued > 0) ctx.log.warn({ requeued }, "re-queued scans of stuck assets");
    return requeued > 0 ? "success" : "skipped";
  },
};
