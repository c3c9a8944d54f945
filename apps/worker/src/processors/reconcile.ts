import { queueScan } from "@airlock/shared/scan-queue";
import { enqueueDelivery } from "@airlock/shared/webhooks";
import type { WorkerContext } from "../context.ts";
import type { Registration } from "../registry.ts";

const BATCH = 500;

/**
 * `upload-reconcile` (scheduled): re-queues the scan of assets stuck in UPLOADED or SCANNING — Redis
 * was down when they were confirmed, or a worker died past BullMQ's stalled-job limit — so no file
 * ever stays unscanned. Queuing is idempotent (jobId = assetId), so an asset whose job is merely
 * waiting is left alone. Webhook deliveries whose next attempt is long overdue get the same care.
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
    const deliveries = await requeueOverdueDeliveries(ctx, cutoff);
    if (deliveries > 0) ctx.log.warn({ deliveries }, "re-queued overdue webhook deliveries");
    return requeued + deliveries > 0 ? "success" : "skipped";
  },
};

/**
 * A PENDING delivery whose attempt was due before `cutoff` lost its job (Redis flushed, or down when
 * the attempt was queued). Its next job id is `{id}-{attempt + 1}`, so a job that is merely late is not
 * doubled: BullMQ ignores an add with an existing id.
 */
export async function requeueOverdueDeliveries(ctx: WorkerContext, cutoff: Date): Promise<number> {
  const overdue = await ctx.db.webhookDelivery.findMany({
    where: {
      status: "PENDING",
      OR: [{ nextAttemptAt: { lt: cutoff } }, { nextAttemptAt: null, createdAt: { lt: cutoff } }],
    },
    select: { id: true, attempt: true },
    orderBy: { createdAt: "asc" },
    take: BATCH,
  });
  for (const { id, attempt } of overdue) await enqueueDelivery(ctx.queues, id, attempt + 1);
  return overdue.length;
}
